import { Worker } from 'node:worker_threads';
import type { BuildReply, BuildRequest } from './segment-builder-worker.js';

/**
 * Builds segments from shard-log records on one worker thread, in request order. Several requests may be queued;
 * each resolves when its segment file is durable.
 */
export class SegmentBuilder {
  private worker: Worker | undefined;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (r: BuildReply) => void; reject: (e: Error) => void }>();

  build(req: Omit<BuildRequest, 'seq'>): Promise<BuildReply> {
    const worker = this.ensure();
    const seq = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      worker.postMessage({ ...req, seq } satisfies BuildRequest);
    });
  }

  get pending(): number {
    return this.waiting.size;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
    for (const w of this.waiting.values()) w.reject(new Error('segment builder closed'));
    this.waiting.clear();
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./segment-builder-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', (reply: BuildReply) => {
      const w = this.waiting.get(reply.seq);
      if (!w) return;
      this.waiting.delete(reply.seq);
      if (reply.ok) w.resolve(reply);
      else w.reject(new Error(`segment build failed: ${reply.error}`));
    });
    worker.on('error', (err) => {
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
      this.worker = undefined;
    });
    this.worker = worker;
    return worker;
  }
}
