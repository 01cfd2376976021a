import { randomUUID } from 'node:crypto';
import type { LogService } from '../backend/log-service.js';
import type { MetaStore, ShardMeta } from '../meta/meta-store.js';
import { SlsError } from '../protocol/errors.js';
import { assignShards } from './assignment.js';
import type { CheckpointStore, StoredCheckpoint } from './checkpoint-store.js';

export const CONSUMER_GROUP_KIND = 'consumer-group';

export interface ConsumerGroupMeta {
  readonly name: string;
  /** Seconds without a heartbeat after which a consumer is dropped. */
  readonly timeout: number;
  /** Finish a readonly parent shard before handing out its children. */
  readonly order: boolean;
  /** Identifies this incarnation of the name: checkpoints of a deleted group with the same name are not inherited. */
  readonly id: string;
  readonly createTime: number;
}

export interface CheckpointView {
  readonly shard: number;
  readonly seq: number;
  readonly consumer: string;
  readonly updateTimeUs: number;
}

interface Consumer {
  lastSeenMs: number;
  held: ReadonlySet<number>;
}

/** What the server remembers of a group between heartbeats; rebuilt from heartbeats after a restart. */
interface GroupRuntime {
  readonly id: string;
  readonly consumers: Map<string, Consumer>;
  owners: Map<number, string>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{1,127}$/;
export const MAX_GROUP_TIMEOUT_SEC = 86_400;

export function checkGroupName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new SlsError(
      'ParameterInvalid',
      `consumer group name must be 2 to 128 letters, digits, "_" or "-" starting with a letter or digit, got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/**
 * Consumer groups (sls-api.md §5.9): the group documents live in the metadata store (so they go with their
 * logstore), checkpoints in their own files (./checkpoint-store.ts), and liveness in memory — consumers heartbeat
 * every few seconds, so after a restart the picture is whole again within one heartbeat interval.
 */
export class ConsumerGroups {
  private readonly runtime = new Map<string, GroupRuntime>();

  constructor(
    private readonly meta: MetaStore,
    private readonly service: LogService,
    private readonly checkpoints: CheckpointStore,
    private readonly clock: () => number = Date.now,
  ) {}

  list(project: string, logstore: string): ConsumerGroupMeta[] {
    this.service.getLogstore(project, logstore);
    return this.meta
      .listResources<ConsumerGroupMeta>(CONSUMER_GROUP_KIND, `${project}/${logstore}/`)
      .map((d) => d.value);
  }

  get(project: string, logstore: string, name: string): ConsumerGroupMeta {
    this.service.getLogstore(project, logstore);
    const g = this.meta.getResource<ConsumerGroupMeta>(CONSUMER_GROUP_KIND, groupKey(project, logstore, name));
    if (!g) throw new SlsError('ConsumerGroupNotExist', `consumer group ${name} does not exist`);
    return g;
  }

  async create(project: string, logstore: string, input: { name: string; timeout: number; order: boolean }) {
    this.service.getLogstore(project, logstore);
    const key = groupKey(project, logstore, checkGroupName(input.name));
    const group: ConsumerGroupMeta = {
      name: input.name,
      timeout: input.timeout,
      order: input.order,
      id: randomUUID(),
      createTime: Math.floor(this.clock() / 1000),
    };
    await this.meta.updateResource<ConsumerGroupMeta>(CONSUMER_GROUP_KIND, key, (cur) => {
      if (cur) throw new SlsError('ConsumerGroupAlreadyExist', `consumer group ${input.name} already exists`);
      return group;
    });
    this.runtime.delete(key);
    await this.checkpoints.reset(key, group.id);
  }

  async update(project: string, logstore: string, name: string, change: { timeout?: number; order?: boolean }) {
    this.get(project, logstore, name);
    await this.meta.updateResource<ConsumerGroupMeta>(CONSUMER_GROUP_KIND, groupKey(project, logstore, name), (cur) => {
      if (!cur) throw new SlsError('ConsumerGroupNotExist', `consumer group ${name} does not exist`);
      return { ...cur, ...change };
    });
  }

  async delete(project: string, logstore: string, name: string): Promise<void> {
    this.get(project, logstore, name);
    const key = groupKey(project, logstore, name);
    await this.meta.updateResource<ConsumerGroupMeta>(CONSUMER_GROUP_KIND, key, (cur) => {
      if (!cur) throw new SlsError('ConsumerGroupNotExist', `consumer group ${name} does not exist`);
      return undefined;
    });
    this.runtime.delete(key);
    await this.checkpoints.remove(key);
  }

  /**
   * Records that `consumer` is alive and holds `held`, and answers the shards it should hold. A shard moving to this
   * consumer from another live one is handed over only once the other stops reporting it, so two consumers never
   * process a shard at the same time while both follow the protocol.
   */
  async heartbeat(
    project: string,
    logstore: string,
    name: string,
    consumer: string,
    held: readonly number[],
  ): Promise<number[]> {
    const group = this.get(project, logstore, name);
    const key = groupKey(project, logstore, name);
    const rt = this.runtimeOf(key, group.id);
    const now = this.clock();
    rt.consumers.set(consumer, { lastSeenMs: now, held: new Set(held) });
    for (const [c, state] of rt.consumers) {
      if (now - state.lastSeenMs > group.timeout * 1000) rt.consumers.delete(c);
    }
    const shards = await this.consumableShards(project, logstore, group);
    rt.owners = assignShards({ shards, consumers: [...rt.consumers.keys()], owners: rt.owners });
    const mine: number[] = [];
    for (const [shard, owner] of rt.owners) {
      if (owner !== consumer) continue;
      const heldElsewhere = [...rt.consumers].some(([c, s]) => c !== consumer && s.held.has(shard));
      if (!heldElsewhere) mine.push(shard);
    }
    return mine.sort((a, b) => a - b);
  }

  async updateCheckpoint(
    project: string,
    logstore: string,
    name: string,
    input: { shard: number; seq: number; consumer: string; force: boolean },
  ): Promise<void> {
    const group = this.get(project, logstore, name);
    const key = groupKey(project, logstore, name);
    const range = await this.service.cursorRange(project, logstore, input.shard);
    if (input.seq < range.begin || input.seq > range.end) {
      throw new SlsError(
        'InvalidCursor',
        `checkpoint ${input.seq} is out of the shard's range [${range.begin}, ${range.end}]`,
      );
    }
    if (!input.force) {
      // The owner, or a consumer still reporting the shard while it hands it over (its final commit).
      const rt = this.runtime.get(key);
      const holds =
        rt?.owners.get(input.shard) === input.consumer || rt?.consumers.get(input.consumer)?.held.has(input.shard);
      if (!holds) {
        throw new SlsError(
          'ConsumerNotMatchShard',
          `consumer ${input.consumer} does not hold shard ${input.shard} in consumer group ${name}`,
        );
      }
    }
    const cp: StoredCheckpoint = { seq: input.seq, consumer: input.consumer, updateTimeUs: this.clock() * 1000 };
    await this.checkpoints.update(key, group.id, input.shard, cp);
  }

  async getCheckpoints(project: string, logstore: string, name: string, shard?: number): Promise<CheckpointView[]> {
    const group = this.get(project, logstore, name);
    const live = new Set(this.service.listShards(project, logstore).map((s) => s.id));
    if (shard !== undefined && !live.has(shard)) throw new SlsError('ShardNotExist', `shard ${shard} does not exist`);
    const all = await this.checkpoints.list(groupKey(project, logstore, name), group.id);
    const out: CheckpointView[] = [];
    for (const [id, cp] of [...all].sort((a, b) => a[0] - b[0])) {
      if (!live.has(id) || (shard !== undefined && id !== shard)) continue;
      out.push({ shard: id, seq: cp.seq, consumer: cp.consumer, updateTimeUs: cp.updateTimeUs });
    }
    return out;
  }

  /**
   * Readwrite shards, and readonly ones not yet consumed to their end; with `order`, a shard waits until every
   * parent still present is finished.
   */
  private async consumableShards(project: string, logstore: string, group: ConsumerGroupMeta): Promise<number[]> {
    const shards = this.service.listShards(project, logstore);
    const cps = await this.checkpoints.list(groupKey(project, logstore, group.name), group.id);
    const finished = new Set<number>();
    for (const s of shards) {
      if (s.status !== 'readonly') continue;
      const range = await this.service.cursorRange(project, logstore, s.id);
      if ((cps.get(s.id)?.seq ?? range.begin) >= range.end) finished.add(s.id);
    }
    const present = new Set(shards.map((s) => s.id));
    const ready = (s: ShardMeta) => s.parents.every((p) => !present.has(p) || finished.has(p));
    return shards.filter((s) => !finished.has(s.id) && (!group.order || ready(s))).map((s) => s.id);
  }

  private runtimeOf(key: string, id: string): GroupRuntime {
    let rt = this.runtime.get(key);
    if (!rt || rt.id !== id) {
      rt = { id, consumers: new Map(), owners: new Map() };
      this.runtime.set(key, rt);
    }
    return rt;
  }
}

export function groupKey(project: string, logstore: string, name: string): string {
  return `${project}/${logstore}/${name}`;
}
