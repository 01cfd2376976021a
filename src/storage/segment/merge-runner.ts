import { Worker } from 'node:worker_threads';
import { callWorker } from '../worker-call.js';
import type { MergeReply, MergeRequest, VerifyRequest } from './merge-worker.js';

const MERGE_HEAP_MB = 128;

/**
 * A merge worker idle this long is stopped: its isolate, heap and read buffers (~35 MB after merging ~300k rows) go
 * back to the system between bursts of merges (after a bulk load they stayed resident for the life of the server).
 */
const IDLE_STOP_MS = 5000;

/**
 * After a merge of at least this many rows the worker is stopped as soon as no merge is queued, not after
 * IDLE_STOP_MS: a worker kept through a run of 1–2M-row merges grew by ~25 MB a merge (bench:search's peak RSS
 * climbed from ~420 to ~500 MiB over the merges after a bulk load), while starting one costs ~40 ms.
 */
export const STOP_AFTER_ROWS = 262_144;

/**
 * Runs segment merges one at a time on a worker thread (started on first use, stopped after IDLE_STOP_MS without
 * merges, unref'd so it never holds exit).
 */
export class MergeRunner {
  private worker: Worker | undefined;
  private queue: Promise<void> = Promise.resolve();
  private active = 0;
  private idle: NodeJS.Timeout | undefined;

  /**
   * `beforeMerge`: called as each merge is queued (the indexer frees idle builders' memory there); the merge starts
   * once what it returns has settled, so a merge worker's memory never adds up with that of builders being stopped.
   */
  constructor(private readonly beforeMerge: () => Promise<void> | void = () => {}) {}

  /**
   * `rows`: the rows the merge writes (a large merge stops the worker once the queue is empty). Resolves with the
   * inputs found damaged (then nothing was written), rejects on any other failure.
   */
  merge(req: MergeRequest, rows = 0): Promise<MergeReply> {
    return this.enqueue(req, rows);
  }

  /**
   * Reads the segment files `paths` whole (SegmentReader.verify) on the worker, in turn with merges; resolves with
   * those that are damaged.
   */
  async verify(paths: readonly string[]): Promise<readonly string[]> {
    return (await this.enqueue({ verify: paths }, STOP_AFTER_ROWS)).damaged;
  }

  private enqueue(req: MergeRequest | VerifyRequest, rows: number): Promise<MergeReply> {
    const before = Promise.resolve(this.beforeMerge()).catch(() => {});
    this.active++;
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    const run = this.queue.then(async () => {
      await before;
      return this.run(req);
    });
    this.queue = run.then(
      () => {},
      () => {},
    );
    void this.queue.then(() => {
      if (--this.active > 0 || !this.worker) return;
      const worker = this.worker;
      this.idle = setTimeout(
        () => {
          this.idle = undefined;
          if (this.active > 0 || this.worker !== worker) return;
          this.worker = undefined;
          void worker.terminate();
        },
        rows >= STOP_AFTER_ROWS ? 0 : IDLE_STOP_MS,
      );
      this.idle.unref();
    });
    return run;
  }

  /** Whether a merge worker is running (an idle one stops after IDLE_STOP_MS). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  async close(): Promise<void> {
    await this.queue;
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private run(req: MergeRequest | VerifyRequest): Promise<MergeReply> {
    if (!this.worker) {
      // Bounded so the merge collects garbage early; a merge streams its inputs (one column block and one token
      // block per input at a time) and holds ~17 bytes per output row.
      this.worker = new Worker(new URL('./merge-worker.js', import.meta.url), {
        resourceLimits: { maxOldGenerationSizeMb: MERGE_HEAP_MB, maxYoungGenerationSizeMb: 4 },
      });
      this.worker.unref();
    }
    const worker = this.worker;
    return callWorker<MergeReply>(worker, req, 'segment merge failed', () => {
      if (this.worker === worker) this.worker = undefined;
    }).then((m) => ({ damaged: m.damaged }));
  }
}
