/**
 * Compaction of sealed shard-log files: each record's payload re-encoded from what the client sent (LZ4 blocks,
 * mostly) to zstd of the LogGroup transposed to columns (columnar-log-group.ts), into a `.zlog` file that replaces
 * the `.log`.
 *
 * Records keep the bytes clients sent while they are hot: a PutLogs acknowledges after one write, with no
 * recompression on the path. Once a file is sealed nothing changes in it, so it can be rewritten at leisure. On the
 * nginx logs of bench:search, LZ4 as sent weighs 0.201 x the LogGroup bytes, zstd level 3 per record 0.124 x, and
 * zstd of the columns 0.081 x at level 3 or 0.073 x at level 7, the default (options.ts); see docs/benchmarks.md,
 * sessions 13 and 14. A group the columnar form cannot rebuild byte for byte gets zstd of itself.
 *
 * Every record keeps its seq, receive time, raw size and idempotency id; only its codec byte, payload and CRC change.
 * A record whose payload this does not shrink keeps its payload and codec. The rewrite runs on a worker thread at the
 * lowest CPU priority, one file at a time for the whole process (`CompactionQueue`), and is written to a temporary
 * file and fsynced: the rename and the swap are the shard log's (file-shard-log.ts).
 */
import { closeSync, fdatasyncSync, openSync, readSync, writeSync } from 'node:fs';
import { setPriority } from 'node:os';
import { Worker } from 'node:worker_threads';
import zstdBinding from 'zstd-napi/binding.js';
import { callWorker } from '../../worker-call.js';
import { type ColumnarScratch, encodeColumnarLogGroup, newColumnarScratch } from '../columnar-log-group.js';
import { MAX_IDEMPOTENCY_ID_LENGTH, type PayloadCodec } from '../shard-log.js';
import { packColumns, packedColumnsBound, storedLogGroupBytes } from '../stored-payload.js';
import {
  codecId,
  decodeRecordHeader,
  encodeRecordHeader,
  idBlockBytes,
  isHeaderProblem,
  RECORD_HEADER_BYTES,
  recordCrcMatches,
  splitRecordBody,
} from './record-codec.js';

export interface CompactionRequest {
  /** The sealed file to read. */
  readonly source: string;
  /** Where to write the rewrite (a temporary name: the caller renames it once it has checked it). */
  readonly target: string;
  /** Its durable size: records past it are not read. */
  readonly sourceBytes: number;
  readonly level: number;
  readonly fsync: boolean;
}

export interface CompactionResult {
  readonly records: number;
  /** Per record of the rewrite, in seq order: its frame's offset and size, and its receive time. */
  readonly offsets: readonly number[];
  readonly frameBytes: readonly number[];
  readonly times: readonly number[];
  /** Idempotency ids of the records that carry one, with their seqs. */
  readonly ids: readonly (readonly [seq: number, id: string])[];
  /** Bytes of the source file and of the rewrite. */
  readonly sourceBytes: number;
  readonly targetBytes: number;
  /** Wall time the rewrite took, in ms (at the lowest priority, so more on a busy machine than its CPU time). */
  readonly elapsedMs: number;
}

/**
 * Rewrites `req.source` into `req.target` record by record, verifying every CRC on the way; throws (leaving a partial
 * target for the caller to remove) on any damaged or undecodable record, so a rewrite never carries damage forward.
 *
 * Synchronous, and with one set of buffers reused for every record (read, decoded, compressed): it runs alone on its
 * worker thread. A first version that allocated per record (async reads in 4 MiB chunks, a new buffer per decode and
 * per frame) left tens of MB of garbage buffers a file for the collector, and the process kept that memory (RSS +110
 * MB after three 64 MB files).
 */
export function compactFile(req: CompactionRequest, scratch: CompactionScratch = newScratch()): CompactionResult {
  const started = performance.now();
  const { cctx } = scratch;
  const source = openSync(req.source, 'r');
  let target: number | undefined;
  const offsets: number[] = [];
  const frameBytes: number[] = [];
  const times: number[] = [];
  const ids: [number, string][] = [];
  let written = 0;
  try {
    target = openSync(req.target, 'wx');
    const { head, out } = scratch;
    for (let at = 0; at < req.sourceBytes; ) {
      const damaged = (reason: string): Error => new Error(`${req.source} is damaged at byte ${at}: ${reason}`);
      if (at + RECORD_HEADER_BYTES > req.sourceBytes) throw damaged('short header');
      readExactly(source, head, RECORD_HEADER_BYTES, at);
      const header = decodeRecordHeader(head, 0);
      if (isHeaderProblem(header)) throw damaged(header);
      if (at + RECORD_HEADER_BYTES + header.bodyLength > req.sourceBytes) throw damaged('body runs past the end');
      if (scratch.body.length < header.bodyLength) scratch.body = Buffer.allocUnsafe(grow(header.bodyLength));
      const bodyView = scratch.body.subarray(0, header.bodyLength);
      readExactly(source, bodyView, header.bodyLength, at + RECORD_HEADER_BYTES);
      if (!recordCrcMatches(head, 0, header, bodyView)) throw damaged('CRC mismatch');
      const split = splitRecordBody(header, bodyView);
      if (typeof split === 'string') throw damaged(split);
      let payload: Uint8Array = split.payload;
      let codec: PayloadCodec = header.codec;
      if (codec !== 'zstd-columns') {
        if (scratch.raw.length < header.rawSize) scratch.raw = Buffer.allocUnsafe(grow(header.rawSize));
        let decoded: Uint8Array;
        try {
          decoded = storedLogGroupBytes({ ...header, payload: split.payload }, scratch.raw);
        } catch (err) {
          throw damaged(`record ${header.seq}: ${String((err as Error).cause ?? err)}`);
        }
        if (decoded.length !== header.rawSize) {
          throw damaged(`record ${header.seq} decodes to ${decoded.length} bytes, its header says ${header.rawSize}`);
        }
        // Transposed to columns when the form rebuilds the group byte for byte; otherwise zstd of the group itself.
        const columnar = encodeColumnarLogGroup(decoded, scratch.columns);
        const bound = columnar ? packedColumnsBound(columnar.length) : zstdBinding.compressBound(decoded.length);
        if (scratch.packed.length < bound) scratch.packed = Buffer.allocUnsafe(grow(bound));
        const packed = columnar
          ? packColumns(columnar, req.level, cctx, scratch.packed)
          : scratch.packed.subarray(0, cctx.compress(scratch.packed, decoded, req.level));
        const packedCodec: PayloadCodec = columnar ? 'zstd-columns' : 'zstd';
        if (packed.length < payload.length) {
          payload = packed;
          codec = packedCodec;
        }
      }
      const headBytes = RECORD_HEADER_BYTES + idBlockBytes(split.idempotencyId);
      encodeRecordHeader(
        out,
        0,
        header.seq,
        header.receiveTimeMs,
        codecId(codec)!,
        header.rawSize,
        payload,
        split.idempotencyId,
      );
      writeExactly(target, out.subarray(0, headBytes), written);
      writeExactly(target, payload, written + headBytes);
      offsets.push(written);
      frameBytes.push(headBytes + payload.length);
      times.push(header.receiveTimeMs);
      if (split.idempotencyId !== undefined) ids.push([header.seq, split.idempotencyId]);
      written += headBytes + payload.length;
      at += RECORD_HEADER_BYTES + header.bodyLength;
    }
    if (req.fsync) fdatasyncSync(target);
  } finally {
    closeSync(source);
    if (target !== undefined) closeSync(target);
  }
  return {
    records: offsets.length,
    offsets,
    frameBytes,
    times,
    ids,
    sourceBytes: req.sourceBytes,
    targetBytes: written,
    elapsedMs: performance.now() - started,
  };
}

/** What a rewrite reuses for every record, and a worker for every rewrite: the buffers only grow. */
export interface CompactionScratch {
  readonly cctx: InstanceType<typeof zstdBinding.CCtx>;
  readonly columns: ColumnarScratch;
  readonly head: Buffer;
  readonly out: Buffer;
  body: Buffer;
  raw: Buffer;
  packed: Buffer;
}

export function newScratch(): CompactionScratch {
  return {
    cctx: new zstdBinding.CCtx(),
    columns: newColumnarScratch(),
    head: Buffer.allocUnsafe(RECORD_HEADER_BYTES),
    out: Buffer.allocUnsafe(RECORD_HEADER_BYTES + 1 + MAX_IDEMPOTENCY_ID_LENGTH),
    body: Buffer.allocUnsafe(0),
    raw: Buffer.allocUnsafe(0),
    packed: Buffer.allocUnsafe(0),
  };
}

/** Buffers grow by a quarter more than needed, so a file of slowly growing records reallocates a few times only. */
function grow(bytes: number): number {
  return Math.ceil(bytes * 1.25);
}

function readExactly(fd: number, into: Buffer, length: number, position: number): void {
  for (let done = 0; done < length; ) {
    const n = readSync(fd, into, done, length - done, position + done);
    if (n === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
}

function writeExactly(fd: number, bytes: Uint8Array, position: number): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

/**
 * A worker idle this long is stopped. One worker serves every rewrite of a burst (shards rotate together under load):
 * a worker per file kept ~0.5 MB more of the process's memory after each (20 files: RSS 61 -> 91 MiB; scratch script
 * in docs/benchmarks.md, session 13), and reused buffers no longer grow again for every file.
 */
const IDLE_STOP_MS = 10_000;

/**
 * Runs compactions one at a time on a worker thread that lowers its own CPU priority (on Linux a thread's nice value
 * is its own), so a rewrite takes what ingestion and queries leave. One queue per process: shards rotate together
 * under load, and a rewrite per shard at once would take every core. The worker starts with the first job, holds
 * the process only while a job runs, and stops after IDLE_STOP_MS without one.
 */
export class CompactionQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private worker: Worker | undefined;
  private idle: NodeJS.Timeout | undefined;

  /** Compactions queued or running. */
  get pending(): number {
    return this.queued;
  }

  /** Whether a worker is running (an idle one stops after IDLE_STOP_MS). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /**
   * Runs `req` after every compaction queued before it; `wanted` is asked when its turn comes, and a job no longer
   * wanted (its shard log closed, its file trimmed) resolves undefined without running.
   */
  run(req: CompactionRequest, wanted: () => boolean = () => true): Promise<CompactionResult | undefined> {
    this.queued += 1;
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    const job = this.tail.then(() => (wanted() ? this.inWorker(req) : undefined));
    this.tail = job.then(
      () => undefined,
      () => undefined,
    );
    return job.finally(() => {
      this.queued -= 1;
      if (this.queued === 0 && this.worker) {
        this.idle = setTimeout(() => this.stop(), IDLE_STOP_MS);
        this.idle.unref();
      }
    });
  }

  /** Stops the worker now (it starts again with the next job). */
  stop(): Promise<void> {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    const worker = this.worker;
    this.worker = undefined;
    return worker ? worker.terminate().then(() => undefined) : Promise.resolve();
  }

  private inWorker(req: CompactionRequest): Promise<CompactionResult> {
    if (!this.worker) {
      this.worker = new Worker(new URL('./compaction-worker.js', import.meta.url), {
        // Its buffers live outside the heap and are reused; the heap holds a few arrays of per-record numbers.
        resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
      });
      this.worker.unref();
    }
    const worker = this.worker;
    return callWorker<{ result: CompactionResult }>(worker, req, 'compaction failed', () => {
      if (this.worker === worker) this.worker = undefined;
    }).then((reply) => reply.result);
  }
}

/** The process's queue (file-shard-log.ts uses it unless a test passes its own). */
export const compactionQueue = new CompactionQueue();

/** Lowest priority for the calling thread (Linux: setpriority on thread 0 is the calling thread); best effort. */
export function lowerThreadPriority(): void {
  try {
    setPriority(19);
  } catch {
    // Not permitted or not supported: the rewrite runs at normal priority.
  }
}
