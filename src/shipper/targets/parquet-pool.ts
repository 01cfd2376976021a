import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { DeclaredColumns } from '../rows.js';
import type { CloseMessage, StageJob, StageResult } from './parquet-thread.js';

interface Pending {
  readonly job: StageJob;
  readonly resolve: (rows: number) => void;
  readonly reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: Pending | undefined;
}

/**
 * Worker threads that stage Parquet batches (./parquet-thread.ts), one per core, shared by every Parquet target of
 * the process; a job waits for a free thread. Targets `retain` the pool when they open and `release` it when they
 * close; the last release ends the threads (each closes its DuckDB first: a thread with an open DuckDB cannot be
 * torn down, and would keep the process from exiting). A thread that dies is replaced, failing only its job.
 */
export class ParquetThreadPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private users = 0;

  constructor(private readonly size = availableParallelism()) {}

  retain(): void {
    this.users++;
  }

  /** The last user's release ends the threads, once their jobs are done. */
  async release(): Promise<void> {
    if (--this.users > 0) return;
    const slots = this.slots.splice(0);
    await Promise.all(
      slots.map(
        (slot) =>
          new Promise<void>((done) => {
            slot.worker.once('exit', () => done());
            slot.worker.postMessage({ type: 'close' } satisfies CloseMessage);
          }),
      ),
    );
  }

  stage(
    staging: string,
    compression: string,
    groups: readonly Uint8Array[],
    declared: DeclaredColumns = new Map(),
  ): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const job: StageJob = { id: ++this.nextId, staging, compression, groups, declared: [...declared] };
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.busy);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const pending = this.queue.shift()!;
      slot.busy = pending;
      slot.worker.postMessage(pending.job);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./parquet-thread.js', import.meta.url));
    const slot: Slot = { worker, busy: undefined };
    worker.on('message', (result: StageResult) => {
      const pending = slot.busy;
      slot.busy = undefined;
      if (pending && pending.job.id === result.id) {
        if ('error' in result) pending.reject(new Error(result.error));
        else pending.resolve(result.rows);
      }
      this.dispatch();
    });
    const fail = (err: Error) => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      slot.busy?.reject(err);
      slot.busy = undefined;
      this.dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`parquet worker thread exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }
}

let shared: ParquetThreadPool | undefined;

/** The process-wide pool, created on first use. */
export function parquetThreadPool(): ParquetThreadPool {
  shared ??= new ParquetThreadPool();
  return shared;
}
