import { Worker } from 'node:worker_threads';
import type { StoredRecord } from '../storage/shard-log/shard-log.js';
import type { BuildReply, BuildRequest } from './segment-builder-worker.js';

const BUILDER_HEAP_MB = 128;
/** Builds allocate few short-lived JS objects (their rows live in typed arrays): a small nursery keeps RSS down. */
const YOUNG_MB = 4;

/** A builder idle this long is stopped: its build buffers (tens of MB) go back to the system until the next build. */
const IDLE_STOP_MS = 3000;

/**
 * A build of this many raw bytes or more leaves its worker holding buffers of ~3.5x that (decoded LogGroups, token
 * table, postings): releaseIdle() stops such a worker at once instead of after IDLE_STOP_MS. Small builds (a trickle
 * of logs flushed every 250 ms) leave small buffers, and restarting their worker would only cost JIT warm-up.
 */
const BIG_BUILD_BYTES = 8 * 1024 * 1024;

/**
 * Size of the buffers LogstoreIndex copies queued payloads into (`slab`): a build's payloads lie back to back in a
 * few of them, the slabs move to the worker with the build and come back with its reply, to be used again. A buffer
 * allocated per payload (~350 KB each in a bulk load) cost the event loop ~10 % of its CPU in page faults on fresh
 * memory, against a copy into memory already mapped (docs/benchmarks.md, session 15).
 */
export const PAYLOAD_SLAB_BYTES = 4 * 1024 * 1024;
/** Slabs kept for reuse: a build's LZ4 payloads (16 MB raw) take about one, and two builds run at once. */
const MAX_POOLED_SLABS = 4;

interface Job {
  readonly req: BuildRequest;
  /** Buffers the request moves to the worker besides its own payloads (the slabs its payloads are views of). */
  readonly transfer: readonly ArrayBuffer[];
  readonly resolve: (r: BuildReply) => void;
  readonly reject: (e: Error) => void;
}

interface Slot {
  worker: Worker | undefined;
  idle: NodeJS.Timeout | undefined;
  /** The build running on this worker (one at a time). */
  job: Job | undefined;
  /** This worker has run a build of BIG_BUILD_BYTES or more (its buffers are large). */
  big: boolean;
}

/**
 * Builds segments from shard-log records on worker threads (two by default: one per core of the target machine, so
 * indexing uses both cores when ingestion leaves one idle). Builds wait in one queue and each goes to the first
 * worker that is free: with a queue per worker, chosen when the build was posted, a worker could sit idle while the
 * other still had builds queued (builds differ in length), which measured as idle cores during bulk loads. Builds
 * may complete out of order; the index's coverage ranges make that safe across crashes. Each build resolves when its
 * segment file is durable.
 */
export class SegmentBuilder {
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private next = 0;
  private readonly drained: { readonly max: number; readonly done: () => void }[] = [];
  private readonly slabs: ArrayBuffer[] = [];

  constructor(workers = 2) {
    this.slots = Array.from({ length: Math.max(1, workers) }, () => ({
      worker: undefined,
      idle: undefined,
      job: undefined,
      big: false,
    }));
  }

  /**
   * Queues a build. A record payload that is all of its own ArrayBuffer moves to the worker when the build starts
   * (`transferable`), and so do the request's `slabs` (from `slab`, holding payloads as views): the caller's views
   * are then empty, so it must not need those bytes again. The worker sends the slabs back with its reply.
   */
  build(req: Omit<BuildRequest, 'seq'>): Promise<BuildReply> {
    const seq = this.next++;
    return new Promise((resolve, reject) => {
      this.queue.push({ req: { ...req, seq }, transfer: req.slabs ?? [], resolve, reject });
      this.dispatch();
    });
  }

  /**
   * A buffer of at least `bytes` for payloads of a build to come: one a finished build gave back when it is large
   * enough, else a new one of PAYLOAD_SLAB_BYTES (or `bytes`, when more).
   */
  slab(bytes: number): ArrayBuffer {
    if (bytes <= PAYLOAD_SLAB_BYTES) {
      const pooled = this.slabs.pop();
      if (pooled) return pooled;
    }
    return new ArrayBuffer(Math.max(PAYLOAD_SLAB_BYTES, bytes));
  }

  /** Slabs kept for reuse (tests). */
  get pooledSlabs(): number {
    return this.slabs.length;
  }

  private keepSlabs(slabs: readonly ArrayBuffer[] | undefined): void {
    for (const s of slabs ?? []) {
      if (this.slabs.length >= MAX_POOLED_SLABS) break;
      if (s.byteLength === PAYLOAD_SLAB_BYTES) this.slabs.push(s);
    }
  }

  /** Builds queued or running. */
  get pending(): number {
    let n = this.queue.length;
    for (const s of this.slots) if (s.job) n++;
    return n;
  }

  /** Resolves once at most `max` builds are queued or running (backpressure for the indexer). */
  whenPendingAtMost(max: number): Promise<void> {
    if (this.pending <= max) return Promise.resolve();
    return new Promise((done) => this.drained.push({ max, done }));
  }

  /**
   * Stops the workers that are idle now and hold a big build's buffers (see BIG_BUILD_BYTES). The indexer calls it
   * before a merge: after a bulk load, the merge worker started while both builders sat out their idle time, and
   * their memory added up (the peak RSS of a 5M-log load). Resolves once those threads have exited; MergeRunner
   * starts the merge only then (stopping is not instant: a 5M load peaked while stopped builders and a new merge
   * worker overlapped).
   */
  releaseIdle(): Promise<void> {
    this.slabs.length = 0;
    const stopping: Promise<number>[] = [];
    for (const slot of this.slots) {
      const worker = slot.worker;
      if (!worker || slot.job || !slot.big) continue;
      if (slot.idle) clearTimeout(slot.idle);
      slot.idle = undefined;
      slot.worker = undefined;
      stopping.push(worker.terminate());
    }
    // Resolves once their threads are gone (and with them their memory, native build state included).
    return Promise.all(stopping).then(() => {});
  }

  get workers(): number {
    return this.slots.length;
  }

  /** Worker threads running now (idle ones stop after IDLE_STOP_MS). */
  get running(): number {
    return this.slots.filter((s) => s.worker !== undefined).length;
  }

  async close(): Promise<void> {
    const closed = new Error('segment builder closed');
    this.slabs.length = 0;
    for (const job of this.queue.splice(0)) job.reject(closed);
    for (const slot of this.slots) {
      if (slot.idle) clearTimeout(slot.idle);
      slot.idle = undefined;
      const worker = slot.worker;
      slot.worker = undefined;
      const job = slot.job;
      slot.job = undefined;
      if (worker) await worker.terminate();
      job?.reject(closed);
    }
    this.settle();
  }

  /** Starts queued builds on free workers. */
  private dispatch(): void {
    for (let i = 0; i < this.slots.length && this.queue.length > 0; i++) {
      const slot = this.slots[i]!;
      if (slot.job) continue;
      const job = this.queue.shift()!;
      if (slot.idle) clearTimeout(slot.idle);
      slot.idle = undefined;
      slot.job = job;
      const worker = this.ensure(slot);
      let raw = 0;
      for (const r of job.req.records) raw += r.rawSize;
      if (raw >= BIG_BUILD_BYTES) slot.big = true;
      try {
        worker.postMessage(job.req, [...new Set([...transferable(job.req.records), ...job.transfer])]);
      } catch (err) {
        // A request that cannot be posted (a payload whose buffer was detached) fails alone, and the slot takes the
        // next one.
        slot.job = undefined;
        job.reject(err instanceof Error ? err : new Error(String(err)));
        this.settle();
        i--;
      }
    }
  }

  /** Wakes backpressure waiters whose bound is met. */
  private settle(): void {
    const pending = this.pending;
    for (let i = this.drained.length - 1; i >= 0; i--) {
      const d = this.drained[i]!;
      if (pending <= d.max) {
        this.drained.splice(i, 1);
        d.done();
      }
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
      const job = slot.job;
      if (!job || job.req.seq !== reply.seq || slot.worker !== worker) return;
      slot.job = undefined;
      this.keepSlabs(reply.slabs);
      if (reply.ok) job.resolve(reply);
      else job.reject(new Error(`segment build failed: ${reply.error}`));
      this.dispatch();
      this.settle();
      if (!slot.job && slot.worker === worker) {
        slot.idle = setTimeout(() => {
          slot.idle = undefined;
          if (slot.job || slot.worker !== worker) return;
          slot.worker = undefined;
          void worker.terminate();
          // Every builder idle: the pooled slabs go too, until builds come again.
          if (this.running === 0) this.slabs.length = 0;
        }, IDLE_STOP_MS);
        slot.idle.unref();
      }
    });
    worker.on('error', (err) => {
      if (slot.worker !== worker) return;
      const job = slot.job;
      slot.job = undefined;
      slot.worker = undefined;
      job?.reject(err);
      // The queue goes on with a new worker.
      this.dispatch();
      this.settle();
    });
    slot.worker = worker;
    slot.big = false;
    return worker;
  }
}

/**
 * The payload buffers a build request can move to its worker instead of copying: each one that is all of its own
 * ArrayBuffer (LogstoreIndex queues such copies). After the post they are detached here (empty). A payload that is a
 * view of a larger or shared buffer, or whose buffer another payload also uses, is copied by the post as before.
 */
function transferable(records: readonly StoredRecord[]): ArrayBuffer[] {
  const seen = new Set<ArrayBufferLike>();
  const dup = new Set<ArrayBufferLike>();
  for (const r of records) {
    const b = r.payload.buffer;
    if (seen.has(b)) dup.add(b);
    seen.add(b);
  }
  const out: ArrayBuffer[] = [];
  for (const r of records) {
    const p = r.payload;
    const b = p.buffer;
    // byteLength 0: nothing to move, and a buffer already detached cannot be listed.
    if (
      b instanceof ArrayBuffer &&
      b.byteLength > 0 &&
      !dup.has(b) &&
      p.byteOffset === 0 &&
      p.byteLength === b.byteLength
    )
      out.push(b);
  }
  return out;
}
