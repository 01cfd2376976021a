import type { ConsumerSource, PulledGroup } from './consumer-source.js';

/** A run of consecutive LogGroups of one shard: `[from, to)` in sequence numbers. */
export interface ShardBatch {
  readonly shard: number;
  readonly from: number;
  readonly to: number;
  readonly groups: readonly PulledGroup[];
  /** Raw (serialized) bytes of the groups. */
  readonly bytes: number;
}

export interface ResumePoint {
  /** Where to start reading; default the group's checkpoint, else `startFrom`. */
  readonly from?: number;
  /** Make the first batch end exactly here (redo of a batch whose output may be partly written). */
  readonly until?: number;
}

export interface ShardProcessor {
  /** Asked when the worker takes a shard: processors that commit their own position (a database) answer it. */
  resume?(shard: number, checkpoint: number | undefined): Promise<ResumePoint>;
  /** Handles a batch; the checkpoint moves past it only once this resolves. Throwing retries it with backoff. */
  process(batch: ShardBatch): Promise<void>;
}

export interface ConsumerEvents {
  /** A batch (or the shard loop) failed; it is retried after `delayMs`. */
  onError?(shard: number | undefined, err: unknown, attempt: number, delayMs: number): void;
  /** Something worth a log line that is not a failure. */
  onNotice?(shard: number, message: string): void;
}

export interface ConsumerWorkerOptions {
  readonly source: ConsumerSource;
  readonly consumer: string;
  readonly processor: ShardProcessor;
  readonly events?: ConsumerEvents;
  /** Group settings used when the worker creates the group. */
  readonly timeoutSec?: number;
  readonly order?: boolean;
  readonly heartbeatIntervalMs?: number;
  /** Where a shard without checkpoint starts. */
  readonly startFrom?: 'begin' | 'end';
  /** LogGroups per pull. */
  readonly pullCount?: number;
  /** A batch closes at this many raw bytes… */
  readonly batchMaxBytes?: number;
  /** …or this long after its first LogGroup arrived. */
  readonly batchMaxWaitMs?: number;
  /** Pause between pulls once caught up. */
  readonly idleWaitMs?: number;
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
}

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2000;
export const DEFAULT_GROUP_TIMEOUT_SEC = 60;

interface ShardTask {
  stopping: boolean;
  readonly done: Promise<void>;
}

/**
 * A consumer-group member: heartbeats, runs one loop per shard the server assigns, and checkpoints a batch only
 * after the processor handled it — at-least-once: a crash between processing and checkpoint replays that batch.
 * Shards the server moves away are finished (current batch processed and checkpointed) before they are released.
 */
export class ConsumerWorker {
  private readonly o: Required<Omit<ConsumerWorkerOptions, 'events'>> & Pick<ConsumerWorkerOptions, 'events'>;
  private readonly tasks = new Map<number, ShardTask>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private beating: Promise<void> = Promise.resolve();
  private wake: () => void = () => {};
  private wakeSignal: Promise<void>;

  constructor(options: ConsumerWorkerOptions) {
    this.o = {
      timeoutSec: DEFAULT_GROUP_TIMEOUT_SEC,
      order: false,
      heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
      startFrom: 'begin',
      pullCount: 100,
      batchMaxBytes: 8 * 1024 * 1024,
      batchMaxWaitMs: 1000,
      idleWaitMs: 200,
      retryInitialMs: 500,
      retryMaxMs: 30_000,
      ...options,
    };
    this.wakeSignal = this.newWakeSignal();
  }

  async start(): Promise<void> {
    await this.o.source.ensureGroup(this.o.timeoutSec, this.o.order);
    await this.beat();
    this.schedule();
  }

  /** Shards this worker is consuming now. */
  held(): number[] {
    return [...this.tasks.keys()].sort((a, b) => a - b);
  }

  /** Cuts every backoff wait short (a user asked to retry failed tasks). */
  retryNow(): void {
    this.wake();
  }

  /** Finishes current batches, checkpoints them, releases every shard. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.beating;
    for (const t of this.tasks.values()) t.stopping = true;
    this.wake();
    await Promise.allSettled([...this.tasks.values()].map((t) => t.done));
    await this.o.source.heartbeat(this.o.consumer, []).catch(() => {});
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.beating = this.beat().finally(() => this.schedule());
    }, this.o.heartbeatIntervalMs);
  }

  private async beat(): Promise<void> {
    let target: number[];
    try {
      target = await this.o.source.heartbeat(this.o.consumer, this.held());
    } catch (err) {
      this.o.events?.onError?.(undefined, err, 1, this.o.heartbeatIntervalMs);
      // Someone deleted the group: create it again, so consuming goes on (from the positions held in memory).
      if ((err as { code?: unknown }).code === 'ConsumerGroupNotExist') {
        await this.o.source.ensureGroup(this.o.timeoutSec, this.o.order).catch(() => {});
      }
      return;
    }
    if (this.stopped) return;
    const wanted = new Set(target);
    for (const [shard, task] of this.tasks) if (!wanted.has(shard)) task.stopping = true;
    for (const shard of wanted) {
      if (this.tasks.has(shard)) continue;
      const task: { stopping: boolean; done: Promise<void> } = { stopping: false, done: Promise.resolve() };
      task.done = this.runShard(shard, task).finally(() => this.tasks.delete(shard));
      this.tasks.set(shard, task);
    }
  }

  private async runShard(shard: number, task: { stopping: boolean }): Promise<void> {
    for (let attempt = 1; !task.stopping; attempt++) {
      try {
        await this.consumeShard(shard, task);
        return;
      } catch (err) {
        // A batch abandoned because the worker stops is not a failure to report or wait out.
        if (this.stopped) return;
        const delay = this.backoff(attempt);
        this.o.events?.onError?.(shard, err, attempt, delay);
        await this.sleep(delay);
      }
    }
  }

  /** Reads a shard batch by batch until told to stop or a readonly shard is consumed to its end. */
  private async consumeShard(shard: number, task: { stopping: boolean }): Promise<void> {
    const source = this.o.source;
    const info = (await source.shards()).find((s) => s.id === shard);
    if (!info) return;
    const checkpoint = (await source.checkpoints()).get(shard);
    let resume = (await this.o.processor.resume?.(shard, checkpoint)) ?? {};
    if (resume.from !== undefined) {
      // A position outside the shard (output left by an earlier logstore of the same name, or trimmed by TTL) cannot
      // be read: fall back to the checkpoint rather than fail on it forever.
      const begin = await source.cursor(shard, 'begin');
      const end = await source.cursor(shard, 'end');
      const outside = (seq: number | undefined) => seq !== undefined && (seq < begin || seq > end);
      if (outside(resume.from) || outside(resume.until)) {
        this.o.events?.onNotice?.(
          shard,
          `resume point [${resume.from}, ${resume.until ?? ''}) is outside the shard [${begin}, ${end}]: using the checkpoint`,
        );
        resume = {};
      }
    }
    let pos = resume.from ?? checkpoint ?? (await source.cursor(shard, this.o.startFrom));
    let until = resume.until;
    let committed = checkpoint;
    for (;;) {
      const from = pos;
      const groups: PulledGroup[] = [];
      let bytes = 0;
      let firstAt = 0;
      let finished = false;
      const redo = until;
      for (;;) {
        if (task.stopping || this.stopped) break;
        const page = await source.pull(shard, pos, {
          count: this.o.pullCount,
          ...(redo !== undefined ? { endSeq: redo } : { maxBytes: this.o.batchMaxBytes - bytes }),
        });
        if (page.groups.length > 0 && groups.length === 0) firstAt = Date.now();
        pos = page.next;
        if (redo !== undefined) {
          // A redo covers exactly the range whose output may exist, whatever the size and time limits say now: a
          // shorter batch would be a different output (another file name) beside the half-written one.
          for (const g of page.groups) {
            groups.push(g);
            bytes += g.rawSize;
          }
          if (pos >= redo || page.groups.length === 0) break;
          continue;
        }
        // A page may overshoot the size limit: the batch ends with the group that reaches it, the rest is read again.
        let full = false;
        for (const g of page.groups) {
          groups.push(g);
          bytes += g.rawSize;
          if (bytes >= this.o.batchMaxBytes) {
            full = true;
            pos = g.seq + 1;
            break;
          }
        }
        if (full) break;
        const caughtUp = page.groups.length === 0 || pos >= page.end;
        if (caughtUp && info.readonly) {
          finished = true;
          break;
        }
        const waited = Date.now() - firstAt;
        if (groups.length > 0 && waited >= this.o.batchMaxWaitMs) break;
        if (caughtUp) {
          const pause =
            groups.length > 0 ? Math.min(this.o.idleWaitMs, this.o.batchMaxWaitMs - waited) : this.o.idleWaitMs;
          await this.sleep(pause);
        }
      }
      if (redo !== undefined && pos < redo) {
        if (task.stopping || this.stopped) return;
        throw new Error(`shard ${shard}: cannot read [${from}, ${redo}) again to redo a partly written batch`);
      }
      if (groups.length > 0) {
        await this.processWithRetry({ shard, from, to: pos, groups, bytes });
      }
      if (pos !== committed && (groups.length > 0 || finished)) {
        await source.commit(this.o.consumer, shard, pos);
        committed = pos;
      }
      until = undefined;
      if (finished || task.stopping || this.stopped) return;
    }
  }

  private async processWithRetry(batch: ShardBatch): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.o.processor.process(batch);
        return;
      } catch (err) {
        // Stopping abandons the batch unprocessed: it is read again from the checkpoint by whoever takes the shard.
        if (this.stopped) throw err;
        const delay = this.backoff(attempt);
        this.o.events?.onError?.(batch.shard, err, attempt, delay);
        await this.sleep(delay);
        if (this.stopped) throw err;
      }
    }
  }

  private backoff(attempt: number): number {
    return Math.min(this.o.retryInitialMs * 2 ** Math.min(attempt - 1, 20), this.o.retryMaxMs);
  }

  /** Waits `ms`, or less when woken by `retryNow()` or `stop()`. */
  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((done) => {
      const t = setTimeout(done, Math.max(0, ms));
      void this.wakeSignal.then(() => {
        clearTimeout(t);
        done();
      });
    });
  }

  private newWakeSignal(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = () => {
        resolve();
        this.wakeSignal = this.newWakeSignal();
      };
    });
  }
}
