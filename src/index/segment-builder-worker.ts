import { parentPort } from 'node:worker_threads';
import { storedLogGroupBytes } from '../backend/stored-payload.js';
import { decodeLogGroup } from '../protocol/log-group.js';
import { writeSegment } from '../storage/segment/segment-writer.js';
import type { StoredRecord } from '../storage/shard-log/shard-log.js';
import { HeadPart } from './head-part.js';
import { type CompiledIndex, compileIndex, type IndexDocument } from './index-config.js';

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
}

export interface BuildReply {
  readonly seq: number;
  readonly ok: boolean;
  readonly error?: string;
  /** Records that could not be decoded (indexed as empty). */
  readonly skipped: readonly string[];
}

let cached: { key: string; compiled: CompiledIndex } | undefined;

parentPort?.on('message', (req: BuildRequest) => {
  const skipped: string[] = [];
  try {
    const key = `${req.doc.version}:${JSON.stringify(req.doc.config)}:${req.ttlDays}`;
    if (cached?.key !== key) cached = { key, compiled: compileIndex(req.doc, req.ttlDays) };
    const head = new HeadPart(req.id, cached.compiled);
    for (const r of req.records) {
      let bytes: Uint8Array;
      try {
        bytes = storedLogGroupBytes({
          ...r,
          payload: Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength),
        });
      } catch (err) {
        skipped.push(`${r.shardKey}@${r.seq}: ${String(err)}`);
        head.addGroup(r.shardKey, r.seq, [], '', '', []);
        continue;
      }
      const g = decodeLogGroup(bytes);
      head.addGroup(r.shardKey, r.seq, g.logs, g.topic ?? '', g.source ?? '', g.tags);
    }
    writeSegment(req.path, head.toSource(req.id, cached.compiled.version));
    const reply: BuildReply = { seq: req.seq, ok: true, skipped };
    parentPort!.postMessage(reply);
  } catch (err) {
    const reply: BuildReply = {
      seq: req.seq,
      ok: false,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      skipped,
    };
    parentPort!.postMessage(reply);
  }
});
