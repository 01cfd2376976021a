import { Worker } from 'node:worker_threads';
import type { BuildReply, BuildRequest } from './segment-builder-worker.js';

const BUILDER_HEAP_MB = 128;
/** Builds allocate few short-lived JS objects (their rows live in typed arrays): a small nursery keeps RSS down. */
const YOUNG_MB = 4;

/** A builder idle this long is stopped: its build buffers (tens of MB) go back to the system until the next build. */
const IDLE_STOP_MS = 3000;

interface Slot {
  worker: Worker | undefined;
  idle: NodeJS.Timeout | undefined;
  readonly waiting: Map<number, { resolve: (r: BuildReply) => void; reject: (e: Error) => void }>;
}

/**
 * Builds segments from shard-log records on worker threads (two by default: one per core of the target machine, so
 * indexing uses both cores when ingestion leaves one idle). Builds may complete out of order; the index's coverage
 * ranges make that safe across crashes. Each build resolves when its segment file is durable.
 */
export class SegmentBuilder {
  private readonly slots: Slot[];
  private next = 0;

  constructor(workers = 2) {
    this.slots = Array.from({ length: Math.max(1, workers) }, () => ({
      worker: undefined,
      idle: undefined,
      waiting: new Map(),
    }));
  }

  build(req: Omit<BuildRequest, 'seq'>): Promise<BuildReply> {
    // The least busy worker.
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.waiting.size < slot.waiting.size) slot = s;
    if (slot.idle) clearTimeout(slot.idle);
    slot.idle = undefined;
    const worker = this.ensure(slot);
    const seq = this.next++;
    return new Promise((resolve, reject) => {
      slot.waiting.set(seq, { resolve, reject });
      worker.postMessage({ ...req, seq } satisfies BuildRequest);
    });
  }

  /** Builds queued or running. */
  get pending(): number {
    let n = 0;
    for (const s of this.slots) n += s.waiting.size;
    return n;
  }

  get workers(): number {
    return this.slots.length;
  }

  /** Worker threads running now (idle ones stop after IDLE_STOP_MS). */
  get running(): number {
    return this.slots.filter((s) => s.worker !== undefined).length;
  }

  async close(): Promise<void> {
    for (const slot of this.slots) {
      if (slot.idle) clearTimeout(slot.idle);
      slot.idle = undefined;
      const worker = slot.worker;
      slot.worker = undefined;
      if (worker) await worker.terminate();
      for (const w of slot.waiting.values()) w.reject(new Error('segment builder closed'));
      slot.waiting.clear();
    }
  }

  private ensure(slot: Slot): Worker {
    if (slot.worker) return slot.worker;
    // A bounded heap makes the worker collect its garbage instead of growing the process RSS. A build (SegmentBuild)
    // keeps its rows in typed arrays outside the JS heap (~0.9 KB per nginx log); the heap holds little more than
    // the request and the sorted token strings of one dictionary.
    const worker = new Worker(new URL('./segment-builder-worker.js', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: BUILDER_HEAP_MB, maxYoungGenerationSizeMb: YOUNG_MB },
    });
    worker.unref();
    worker.on('message', (reply: BuildReply) => {
      const w = slot.waiting.get(reply.seq);
      if (!w) return;
      slot.waiting.delete(reply.seq);
      if (reply.ok) w.resolve(reply);
      else w.reject(new Error(`segment build failed: ${reply.error}`));
      if (slot.waiting.size === 0 && slot.worker === worker) {
        slot.idle = setTimeout(() => {
          slot.idle = undefined;
          if (slot.waiting.size > 0 || slot.worker !== worker) return;
          slot.worker = undefined;
          void worker.terminate();
        }, IDLE_STOP_MS);
        slot.idle.unref();
      }
    });
    worker.on('error', (err) => {
      for (const w of slot.waiting.values()) w.reject(err);
      slot.waiting.clear();
      slot.worker = undefined;
    });
    slot.worker = worker;
    return worker;
  }
}
