import { Worker } from 'node:worker_threads';
import type { MergeRequest } from './merge-worker.js';

const MERGE_HEAP_MB = 128;

/** Runs segment merges one at a time on a worker thread (started on first use, unref'd so it never holds exit). */
export class MergeRunner {
  private worker: Worker | undefined;
  private queue: Promise<void> = Promise.resolve();

  merge(req: MergeRequest): Promise<void> {
    const run = this.queue.then(() => this.run(req));
    this.queue = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private run(req: MergeRequest): Promise<void> {
    if (!this.worker) {
      // Bounded so the merge collects garbage early; a merge streams its inputs (one column block and one token
      // block per input at a time) and holds ~17 bytes per output row.
      this.worker = new Worker(new URL('./merge-worker.js', import.meta.url), {
        resourceLimits: { maxOldGenerationSizeMb: MERGE_HEAP_MB, maxYoungGenerationSizeMb: 4 },
      });
      this.worker.unref();
    }
    const worker = this.worker;
    return new Promise((resolve, reject) => {
      const onMessage = (m: { ok: boolean; error?: string }): void => {
        cleanup();
        if (m.ok) resolve();
        else reject(new Error(`segment merge failed: ${m.error}`));
      };
      const onError = (err: Error): void => {
        cleanup();
        this.worker = undefined;
        reject(err);
      };
      const cleanup = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.postMessage(req);
    });
  }
}
