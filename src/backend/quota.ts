import type { ProjectQuota } from '../meta/meta-store.js';
import { SlsError } from '../protocol/errors.js';

/**
 * A token bucket refilled continuously at `rate` per second, holding at most one second's worth. A request costing
 * more than a full bucket is admitted only when the bucket is full and leaves it in debt, so large requests are
 * neither starved nor a way around the rate.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private rate: number,
    now: number,
  ) {
    this.tokens = rate;
    this.last = now;
  }

  setRate(rate: number): void {
    this.rate = rate;
    this.tokens = Math.min(this.tokens, rate);
  }

  /** Whether `cost` can be taken now (does not take it). */
  canTake(cost: number, now: number): boolean {
    this.refill(now);
    return this.tokens >= Math.min(cost, this.rate);
  }

  take(cost: number): void {
    this.tokens -= cost;
  }

  private refill(now: number): void {
    const elapsed = (now - this.last) / 1000;
    this.last = now;
    if (elapsed > 0) this.tokens = Math.min(this.rate, this.tokens + elapsed * this.rate);
  }
}

export interface WriteCost {
  readonly project: string;
  readonly quota: ProjectQuota;
  /** Key identifying the shard (project/logstore/id). */
  readonly shardKey: string;
  readonly rawBytes: number;
}

/**
 * Per-project write quotas (bytes/s, requests/s) and the per-shard byte rate. A request is checked against every
 * bucket it touches before any is charged, so a rejected request costs nothing and is written nowhere.
 */
export class WriteQuotas {
  private readonly projectBytes = new Map<string, TokenBucket>();
  private readonly projectRequests = new Map<string, TokenBucket>();
  private readonly shardBytes = new Map<string, TokenBucket>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** Throws `WriteQuotaExceed` / `ShardWriteQuotaExceed` or charges every bucket. */
  admit(cost: WriteCost): void {
    const now = this.clock();
    const { quota } = cost;
    const bytes = bucket(this.projectBytes, cost.project, quota.writeBytesPerSec, now);
    const reqs = bucket(this.projectRequests, cost.project, quota.writeRequestsPerSec, now);
    const shard = bucket(this.shardBytes, cost.shardKey, quota.shardWriteBytesPerSec, now);
    if (reqs && !reqs.canTake(1, now)) {
      throw new SlsError(
        'WriteQuotaExceed',
        `Project write quota exceed: qps: ${quota.writeRequestsPerSec} requests/s for project ${cost.project}`,
      );
    }
    if (bytes && !bytes.canTake(cost.rawBytes, now)) {
      throw new SlsError(
        'WriteQuotaExceed',
        `Project write quota exceed: inflow: ${quota.writeBytesPerSec} bytes/s for project ${cost.project}`,
      );
    }
    if (shard && !shard.canTake(cost.rawBytes, now)) {
      throw new SlsError(
        'ShardWriteQuotaExceed',
        `Shard write quota exceed: ${quota.shardWriteBytesPerSec} bytes/s for shard ${cost.shardKey}`,
      );
    }
    reqs?.take(1);
    bytes?.take(cost.rawBytes);
    shard?.take(cost.rawBytes);
  }

  /** Forgets the shard buckets of a deleted logstore, so a recreated one starts without the old debt. */
  resetLogstore(project: string, logstore: string): void {
    const prefix = `${project}/${logstore}/`;
    for (const key of this.shardBytes.keys()) if (key.startsWith(prefix)) this.shardBytes.delete(key);
  }

  /** Forgets the buckets of a project (deleted, or its quota changed). */
  reset(project: string): void {
    this.projectBytes.delete(project);
    this.projectRequests.delete(project);
    for (const key of this.shardBytes.keys()) if (key.startsWith(`${project}/`)) this.shardBytes.delete(key);
  }
}

function bucket(
  map: Map<string, TokenBucket>,
  key: string,
  rate: number | undefined,
  now: number,
): TokenBucket | undefined {
  if (rate === undefined) return undefined;
  let b = map.get(key);
  if (!b) {
    b = new TokenBucket(rate, now);
    map.set(key, b);
  }
  return b;
}
