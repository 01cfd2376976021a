import { parentPort } from 'node:worker_threads';
import { YOUNG_SEGMENT } from '../storage/segment/segment-writer.js';
import type { StoredRecord } from '../storage/shard-log/shard-log.js';
import { storedLogGroupBytes } from '../storage/shard-log/stored-payload.js';
import { type CompiledIndex, compileIndex, type IndexDocument } from './index-config.js';
import { SegmentBuild } from './segment-build.js';

/**
 * Worker-thread entry: turns shard-log records into one segment file. Decompressing, decoding, tokenizing and
 * encoding are the bulk of indexing CPU; here they run beside the event loop that acknowledges writes and answers
 * queries. Several of these may run at once; the shard-log ranges recorded in each segment let a restart find and
 * fill any gap left by a build that did not finish.
 */
export interface BuildRequest {
  readonly seq: number;
  readonly doc: IndexDocument;
  readonly ttlDays: number;
  readonly id: string;
  readonly path: string;
  readonly records: readonly (StoredRecord & { readonly shardKey: string })[];
  /** Buffers the payloads are views of (SegmentBuilder.slab), sent back with the reply to be used again. */
  readonly slabs?: readonly ArrayBuffer[];
}

export interface BuildReply {
  readonly seq: number;
  readonly ok: boolean;
  readonly error?: string;
  /** Records that could not be decoded (indexed as empty). */
  readonly skipped: readonly string[];
  /** The request's slabs, moved back. */
  readonly slabs?: readonly ArrayBuffer[];
}

let cached: { key: string; compiled: CompiledIndex; build: SegmentBuild } | undefined;

/**
 * The decoded LogGroups of the build in progress, back to back: a build keeps every record's bytes until it writes
 * (rows are built in time order), so they share one buffer reused by the next build instead of one allocation each.
 * Builds beyond MAX_ARENA decode their records into buffers of their own.
 */
let arena = Buffer.alloc(0);
const MAX_ARENA = 64 * 1024 * 1024;

function arenaFor(records: readonly StoredRecord[]): Buffer | undefined {
  let raw = 0;
  for (const r of records) if (r.codec !== 'none' && r.codec !== 'deflate') raw += r.rawSize;
  if (raw > MAX_ARENA) return undefined;
  // A little slack (builds flush at about the same size), not more: it stays resident while the worker runs.
  if (arena.length < raw) arena = Buffer.allocUnsafeSlow(Math.min(MAX_ARENA, Math.ceil(raw * 1.05)));
  return arena;
}

parentPort?.on('message', (req: BuildRequest) => {
  const skipped: string[] = [];
  try {
    const key = `${req.doc.version}:${JSON.stringify(req.doc.config)}:${req.ttlDays}`;
    if (cached?.key !== key) {
      const compiled = compileIndex(req.doc, req.ttlDays);
      cached = { key, compiled, build: new SegmentBuild(compiled) };
    }
    // One build per config, reset between requests: its buffers are reused instead of reallocated.
    const build = cached.build;
    build.reset();
    const into = arenaFor(req.records);
    let used = 0;
    for (const r of req.records) {
      let bytes: Uint8Array;
      try {
        bytes = storedLogGroupBytes(
          { ...r, payload: Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength) },
          into?.subarray(used),
        );
        if (into && bytes.buffer === into.buffer) used += bytes.byteLength;
      } catch (err) {
        skipped.push(`${r.shardKey}@${r.seq}: ${String(err)}`);
        build.skip(r.shardKey, r.seq);
        continue;
      }
      try {
        build.addGroup(r.shardKey, r.seq, bytes);
      } catch (err) {
        // Malformed protobuf (validated at ingest, so a damaged record): held without logs, reported.
        skipped.push(`${r.shardKey}@${r.seq}: ${String(err)}`);
        build.skip(r.shardKey, r.seq);
      }
    }
    // Rows are built first (copying what they need out of the arena), so the arena can hold the postings.
    // A young segment: merged with its neighbours soon, so written at the faster zstd level.
    build.write(req.path, req.id, cached.compiled.version, into, YOUNG_SEGMENT);
    reply({ seq: req.seq, ok: true, skipped }, req);
  } catch (err) {
    const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    reply({ seq: req.seq, ok: false, error, skipped }, req);
  }
});

/**
 * Answers `req`, moving its slabs back. The build is reset first: it may hold a record's bytes in place (a payload
 * stored uncompressed is built from the slab itself), and the slab is about to be filled with other payloads.
 */
function reply(answer: BuildReply, req: BuildRequest): void {
  const slabs = (req.slabs ?? []).filter((s) => s.byteLength > 0);
  if (slabs.length > 0) cached?.build.reset();
  parentPort!.postMessage({ ...answer, slabs }, slabs);
}
