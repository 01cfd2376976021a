import type { LogService } from '../backend/log-service.js';
import { SlsError } from '../protocol/errors.js';
import { storedLogGroupBytes } from '../storage/shard-log/stored-payload.js';
import type { ConsumerGroups } from './consumer-groups.js';
import { type ConsumerSource, type PullPage, pulledGroup, type ShardInfo } from './consumer-source.js';

/** Pulls at most this many payload bytes per read, like PullLogs. */
const MAX_PULL_BYTES = 16 * 1024 * 1024;

/**
 * A consumer group of this server, consumed in process: the same heartbeats and checkpoints as over HTTP (so users
 * see a shipper's progress as a consumer group), without signing, encoding and copying each page.
 */
export class LocalConsumerSource implements ConsumerSource {
  constructor(
    private readonly service: LogService,
    private readonly groups: ConsumerGroups,
    private readonly project: string,
    private readonly logstore: string,
    private readonly group: string,
  ) {}

  async ensureGroup(timeoutSec: number, order: boolean): Promise<void> {
    try {
      await this.groups.create(this.project, this.logstore, { name: this.group, timeout: timeoutSec, order });
    } catch (err) {
      if (!(err instanceof SlsError && err.code === 'ConsumerGroupAlreadyExist')) throw err;
    }
  }

  heartbeat(consumer: string, held: readonly number[]): Promise<number[]> {
    return this.groups.heartbeat(this.project, this.logstore, this.group, consumer, held);
  }

  async checkpoints(): Promise<Map<number, number>> {
    const list = await this.groups.getCheckpoints(this.project, this.logstore, this.group);
    return new Map(list.map((c) => [c.shard, c.seq]));
  }

  commit(consumer: string, shard: number, seq: number): Promise<void> {
    return this.groups.updateCheckpoint(this.project, this.logstore, this.group, { shard, seq, consumer, force: true });
  }

  async shards(): Promise<ShardInfo[]> {
    return this.service
      .listShards(this.project, this.logstore)
      .map((s) => ({ id: s.id, readonly: s.status === 'readonly' }));
  }

  cursor(shard: number, from: 'begin' | 'end'): Promise<number> {
    return this.service.cursorAt(this.project, this.logstore, shard, from);
  }

  async pull(
    shard: number,
    from: number,
    options: { count: number; maxBytes?: number; endSeq?: number },
  ): Promise<PullPage> {
    const r = await this.service.pull(this.project, this.logstore, shard, from, {
      maxCount: options.count,
      // Stored sizes are compressed; the limit is on raw sizes, so this may still overshoot (the worker trims).
      maxBytes: Math.max(1, Math.min(options.maxBytes ?? MAX_PULL_BYTES, MAX_PULL_BYTES)),
      ...(options.endSeq !== undefined ? { endSeq: options.endSeq } : {}),
    });
    const groups = r.records.map((rec) => pulledGroup(rec.seq, rec.receiveTimeMs, storedLogGroupBytes(rec)));
    return { groups, next: r.nextSeq, end: r.endSeq };
  }
}
