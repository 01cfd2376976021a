/**
 * Delivery of one logstore's batches: sends directly while the server answers, with a concurrency limit that halves
 * on quota errors and grows back by one per run of successes (AIMD, as iLogtail does per logstore); retries with
 * full-jitter capped backoff; after a few failed attempts a batch goes to the on-disk spool and, until the spool is
 * drained (oldest first), every new batch follows it there so order is kept. A batch the server can never accept
 * is reported and given up, never retried forever.
 */
import type { SlsClient } from '../../client/sls-client.js';
import type { AgentMetrics } from '../metrics.js';
import type { Spool } from '../spool/spool.js';
import type { Batch } from './batch.js';
import { backoffMs, classify, type Verdict } from './retry-policy.js';

export interface DeliveryEvents {
  /** The server stored the batch (or had it already). */
  delivered(b: Batch): void;
  /** The spool holds the batch durably. */
  spooled(b: Batch): void;
  /** The batch can never be stored: report it as lost. */
  givenUp(b: Batch, reason: string): void;
  /** The batch's memory is no longer used (delivered, spooled or given up). */
  released(b: Batch): void;
}

export interface DeliveryOptions {
  readonly project: string;
  readonly logstore: string;
  readonly maxConcurrency: number;
  /** Attempts of a direct send before the batch is spooled. */
  readonly directAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  /** In-memory bytes (queued + in flight) above which the collector stops reading. */
  readonly maxMemoryBytes: number;
}

export class Delivery {
  private readonly queue: Batch[] = [];
  private inflight = 0;
  private limit: number;
  private successRun = 0;
  private memBytes = 0;
  private draining = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  /**
   * v4 binds the body by SHA-256 (hashed ~2.5x faster than v1's Content-MD5 here, see SlsClient). A server that
   * refuses it (401: an SLS endpoint whose region the client could not tell from its name) gets v1 from then on.
   */
  private signature: 'v1' | 'v4' = 'v4';

  constructor(
    private readonly client: SlsClient,
    private readonly spool: Spool,
    private readonly o: DeliveryOptions,
    private readonly events: DeliveryEvents,
    private readonly metrics: AgentMetrics,
    private readonly log: (msg: string) => void,
  ) {
    this.limit = o.maxConcurrency;
    if (spool.count > 0) this.startDrain();
  }

  /** False while the collector should not produce more (memory budget used or spool full). */
  get accepting(): boolean {
    return this.memBytes < this.o.maxMemoryBytes && !(this.spooling && this.spool.full);
  }

  get memoryBytes(): number {
    return this.memBytes;
  }

  get concurrencyLimit(): number {
    return this.limit;
  }

  private get spooling(): boolean {
    return this.spool.count > 0 || this.draining;
  }

  submit(b: Batch): void {
    this.memBytes += b.body.length;
    this.queue.push(b);
    this.pump();
  }

  private pump(): void {
    if (this.closed) return;
    while (this.queue.length > 0) {
      if (this.spooling) {
        if (!this.toSpool(this.queue[0]!)) return; // spool full: the batch waits in memory
        this.release(this.queue.shift()!);
        continue;
      }
      if (this.inflight >= this.limit) return;
      const b = this.queue.shift()!;
      this.inflight++;
      void this.sendDirect(b).finally(() => {
        this.inflight--;
        this.release(b);
        this.pump();
      });
    }
    this.notifyIdle();
  }

  private release(b: Batch): void {
    this.memBytes -= b.body.length;
    this.events.released(b);
  }

  private toSpool(b: Batch): boolean {
    if (!this.spool.put(b)) return false;
    this.metrics.spooledBatches++;
    this.events.spooled(b);
    this.startDrain();
    return true;
  }

  private async sendDirect(b: Batch): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      const { verdict, detail } = await this.put(b);
      if (verdict === 'ok') {
        this.events.delivered(b);
        return;
      }
      if (verdict === 'permanent') {
        this.events.givenUp(b, detail);
        return;
      }
      if (verdict === 'retry' && attempt + 1 >= this.o.directAttempts && this.toSpool(b)) return;
      await this.sleep(backoffMs(attempt, this.o.backoffBaseMs, this.o.backoffCapMs));
    }
  }

  private startDrain(): void {
    if (this.draining || this.closed) return;
    this.draining = true;
    void this.drain().finally(() => {
      this.draining = false;
      this.pump();
    });
  }

  private async drain(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      const head = this.spool.peek();
      if (head === undefined) return;
      const { verdict, detail } = await this.put(head.batch);
      if (verdict === 'ok' || verdict === 'permanent') {
        if (verdict === 'permanent') this.events.givenUp(head.batch, detail);
        else this.metrics.drainedBatches++;
        this.spool.remove(head.entry);
        attempt = 0;
        this.pump(); // spool has room again
        continue;
      }
      await this.sleep(backoffMs(attempt++, this.o.backoffBaseMs, this.o.backoffCapMs));
    }
  }

  private async put(b: Batch): Promise<{ verdict: Verdict; detail: string }> {
    const r = await this.putSigned(b, this.signature);
    if (r.status !== 401 || this.signature === 'v1') return r;
    // Refused: a wrong key (v1 fails too, keep v4) or a v4 the server cannot check (v1 passes: keep v1).
    const v1 = await this.putSigned(b, 'v1');
    if (v1.status === 200) {
      this.log(
        `PutLogs ${this.o.logstore}: v4 signature refused (${r.detail}), v1 accepted: signing with v1 from now on`,
      );
      this.signature = 'v1';
    }
    return v1;
  }

  private async putSigned(
    b: Batch,
    signature: 'v1' | 'v4',
  ): Promise<{ verdict: Verdict; detail: string; status: number }> {
    this.metrics.sendRequests++;
    let status = 0;
    let code = 'NetworkError';
    let message = '';
    try {
      const res = await this.client.send({
        method: 'POST',
        project: this.o.project,
        path: `/logstores/${this.o.logstore}/shards/lb`,
        headers: {
          'content-type': 'application/x-protobuf',
          'x-log-compresstype': 'lz4',
          'x-log-bodyrawsize': String(b.rawSize),
          'x-log-idempotency-id': b.id,
        },
        body: b.body,
        signature,
      });
      status = res.status;
      if (status !== 200) {
        const text = res.body.toString('utf8').slice(0, 300);
        message = text;
        try {
          const j = JSON.parse(text) as { errorCode?: string; errorMessage?: string };
          code = j.errorCode ?? `HTTP${status}`;
          message = j.errorMessage ?? text;
        } catch {
          code = `HTTP${status}`;
        }
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      code = e.code ?? 'NetworkError';
      message = e.message;
    }
    const verdict = classify(status, code);
    if (verdict === 'ok') {
      this.metrics.sentBatches++;
      this.metrics.sentLogs += b.logCount;
      this.metrics.sentRawBytes += b.rawSize;
      if (++this.successRun >= this.limit && this.limit < this.o.maxConcurrency) {
        this.limit++;
        this.successRun = 0;
      }
    } else {
      this.metrics.sendErrors++;
      this.metrics.retries += verdict === 'permanent' ? 0 : 1;
      this.successRun = 0;
      if (verdict === 'throttle') {
        this.metrics.throttled++;
        this.limit = Math.max(1, Math.floor(this.limit / 2));
      }
      this.log(`PutLogs ${this.o.logstore} batch ${b.id}: ${status} ${code} ${message} (${verdict})`);
    }
    return { verdict, detail: `${status} ${code} ${message}`, status };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((done) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        done();
      }, ms);
      this.timers.add(t);
    });
  }

  private notifyIdle(): void {
    if (this.inflight > 0 || this.queue.length > 0 || this.spool.count > 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Resolves once nothing is queued, in flight or spooled. */
  whenIdle(): Promise<void> {
    return new Promise((done) => {
      this.idleWaiters.push(done);
      this.notifyIdle();
    });
  }

  spoolStats(): { bytes: number; count: number } {
    return { bytes: this.spool.bytes, count: this.spool.count };
  }

  /** Nothing queued in memory or in flight (the spool may still hold batches; it survives a restart). */
  get inMemoryIdle(): boolean {
    return this.inflight === 0 && this.queue.length === 0;
  }

  get idle(): boolean {
    return this.inflight === 0 && this.queue.length === 0 && this.spool.count === 0;
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
