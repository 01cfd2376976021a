import type { LogstoreMeta, MetaStore, ProjectMeta, ProjectQuota, ShardMeta } from '../meta/meta-store.js';
import { SlsError } from '../protocol/errors.js';
import {
  type AppendEntry,
  idempotencyIdProblem,
  type ShardLog,
  type StoredRecord,
} from '../storage/shard-log/shard-log.js';
import { WriteQuotas } from './quota.js';
import { planDelete, planInitialShards, planMerge, planSplit, requireShard, shardForKey } from './shard-plans.js';

/** Opens (creating if needed) the log of one shard; `removeShardLog` deletes its data for good. */
export interface ShardLogFactory {
  open(project: string, logstore: string, shard: ShardMeta): Promise<ShardLog>;
  remove(project: string, logstore: string, shard: ShardMeta): Promise<void>;
  /** Deletes the data of shards that no longer exist in the metadata (left behind by a crash mid-delete). */
  removeOrphans?(live: ReadonlySet<string>): Promise<void>;
}

export interface LogServiceOptions {
  readonly meta: MetaStore;
  readonly shardLogs: ShardLogFactory;
  readonly defaultProjectQuota: ProjectQuota;
  readonly maxShardsPerLogstore: number;
  readonly clock?: () => number;
}

export interface CreateLogstoreInput {
  readonly name: string;
  readonly ttl: number;
  readonly shardCount: number;
  readonly enableTracking?: boolean;
  readonly autoSplit?: boolean;
  readonly maxSplitShard?: number;
  readonly appendMeta?: boolean;
  readonly telemetryType?: string;
  readonly mode?: string;
  readonly hotTtl?: number;
}

export interface PutResult {
  readonly shardId: number;
  /** Sequence number of the batch's first record. */
  readonly seq: number;
  /**
   * True when nothing was written because the batch's idempotency id was already stored (or the write carrying it was
   * in flight and succeeded): `shardId` and `seq` then name the original batch.
   */
  readonly replay: boolean;
}

export interface PullResult {
  readonly records: StoredRecord[];
  /** Sequence number of the next unread record. */
  readonly nextSeq: number;
  readonly endSeq: number;
}

const FOREVER_DAYS = 3650;
const BASE_STEP = 1_000_000;
/** MetaStore document holding the cursor-base high-water mark (its key has no project prefix: never cascaded). */
const BASE_KIND = 'sluice';
const BASE_KEY = 'cursor-base-high-water';
/** Re-routing rounds of one write when its shard turns readonly while the shard log opens. */
const MAX_ROUTE_ATTEMPTS = 8;
const DAY_MS = 86_400_000;

/**
 * The backend of the embedded server: projects, logstores and shards (metadata), and the shard logs behind them.
 * It knows nothing of HTTP; the frontend decodes, validates and authenticates, then calls in here.
 */
export class LogService {
  private readonly meta: MetaStore;
  private readonly factory: ShardLogFactory;
  private readonly logs = new Map<string, Promise<ShardLog>>();
  private readonly quotas: WriteQuotas;
  private readonly clock: () => number;
  private readonly rr = new Map<string, number>();
  /** Appends in flight per shard log (shardLogKey). */
  private readonly appending = new Map<string, Set<Promise<unknown>>>();
  /** Puts with an idempotency id from lookup until durable (or failed), by `project/logstore/id`. */
  private readonly idempotentPuts = new Map<string, Promise<PutResult>>();
  private lastBase = 0;

  constructor(private readonly options: LogServiceOptions) {
    this.meta = options.meta;
    this.factory = options.shardLogs;
    this.clock = options.clock ?? Date.now;
    this.quotas = new WriteQuotas(this.clock);
    // Cursor bases must keep increasing across restarts even if the clock stepped back.
    for (const p of this.meta.listProjects()) {
      for (const ls of this.meta.listLogstores(p.name)) {
        for (const s of this.meta.listShards(p.name, ls.name)) this.lastBase = Math.max(this.lastBase, s.baseSeq);
      }
    }
    this.lastBase = Math.max(this.lastBase, this.meta.getResource<number>(BASE_KIND, BASE_KEY) ?? 0);
  }

  // ---- projects ------------------------------------------------------------------------------------------------

  listProjects(): readonly ProjectMeta[] {
    return this.meta.listProjects();
  }

  getProject(name: string): ProjectMeta {
    const p = this.meta.getProject(name);
    if (!p) throw new SlsError('ProjectNotExist', `The Project does not exist : ${name}`);
    return p;
  }

  async createProject(name: string, description: string, quota?: ProjectQuota): Promise<void> {
    const now = this.nowSec();
    await this.meta.createProject({
      name,
      description,
      createTime: now,
      lastModifyTime: now,
      quota: quota ?? this.options.defaultProjectQuota,
    });
  }

  async updateProject(name: string, change: { description?: string; quota?: ProjectQuota }): Promise<void> {
    await this.meta.updateProject(name, change);
    if (change.quota) this.quotas.reset(name);
  }

  async deleteProject(name: string): Promise<void> {
    this.getProject(name);
    const stores = this.meta
      .listLogstores(name)
      .map((l) => ({ name: l.name, shards: this.meta.listShards(name, l.name) }));
    await this.meta.deleteProject(name);
    this.quotas.reset(name);
    for (const ls of stores) await this.dropShards(name, ls.name, ls.shards);
  }

  // ---- logstores -----------------------------------------------------------------------------------------------

  listLogstores(project: string): readonly LogstoreMeta[] {
    this.getProject(project);
    return this.meta.listLogstores(project);
  }

  getLogstore(project: string, name: string): LogstoreMeta {
    this.getProject(project);
    const ls = this.meta.getLogstore(project, name);
    if (!ls) throw new SlsError('LogStoreNotExist', `logstore ${name} does not exist`);
    return ls;
  }

  async createLogstore(project: string, input: CreateLogstoreInput): Promise<void> {
    this.getProject(project);
    if (input.shardCount > this.options.maxShardsPerLogstore) {
      throw new SlsError(
        'ParameterInvalid',
        `shardCount ${input.shardCount} is over the limit of ${this.options.maxShardsPerLogstore} shards per logstore`,
      );
    }
    const now = this.nowSec();
    const meta: LogstoreMeta = {
      project,
      name: input.name,
      ttl: input.ttl,
      enableTracking: input.enableTracking ?? false,
      autoSplit: input.autoSplit ?? false,
      maxSplitShard: input.maxSplitShard ?? 64,
      appendMeta: input.appendMeta ?? false,
      telemetryType: input.telemetryType ?? '',
      mode: input.mode ?? 'standard',
      ...(input.hotTtl !== undefined ? { hotTtl: input.hotTtl } : {}),
      createTime: now,
      lastModifyTime: now,
    };
    const bases = await this.reserveBases(input.shardCount);
    await this.meta.createLogstore(meta, planInitialShards(input.shardCount, now, bases));
  }

  async updateLogstore(
    project: string,
    name: string,
    change: Partial<Omit<LogstoreMeta, 'project' | 'name' | 'createTime' | 'lastModifyTime'>>,
  ): Promise<void> {
    this.getLogstore(project, name);
    await this.meta.updateLogstore(project, name, change);
  }

  async deleteLogstore(project: string, name: string): Promise<void> {
    this.getLogstore(project, name);
    const shards = this.meta.listShards(project, name);
    await this.meta.deleteLogstore(project, name);
    this.quotas.resetLogstore(project, name);
    await this.dropShards(project, name, shards);
  }

  // ---- shards --------------------------------------------------------------------------------------------------

  listShards(project: string, logstore: string): readonly ShardMeta[] {
    this.getLogstore(project, logstore);
    return this.meta.listShards(project, logstore);
  }

  async splitShard(project: string, logstore: string, shardId: number, key: string): Promise<ShardMeta[]> {
    const shards = this.listShards(project, logstore);
    this.checkShardCount(shards, 2);
    const bases = await this.reserveBases(2);
    const next = await this.meta.mutateShards(project, logstore, (cur) =>
      planSplit(cur, shardId, key, this.nowSec(), bases),
    );
    await this.drainAppends(project, logstore, next, [shardId]);
    return pickResult(next, shardId, (s) => s.parents.includes(shardId));
  }

  async mergeShard(project: string, logstore: string, shardId: number): Promise<ShardMeta[]> {
    this.checkShardCount(this.listShards(project, logstore), 1);
    let partner = -1;
    const bases = await this.reserveBases(1);
    const next = await this.meta.mutateShards(project, logstore, (cur) => {
      const plan = planMerge(cur, shardId, this.nowSec(), bases);
      const merged = plan[plan.length - 1]!;
      partner = merged.parents[1]!;
      return plan;
    });
    await this.drainAppends(project, logstore, next, [shardId, partner]);
    return [...pickResult(next, shardId, () => false), ...next.filter((s) => s.id === partner), next[next.length - 1]!];
  }

  async deleteShard(project: string, logstore: string, shardId: number): Promise<void> {
    const shard = requireShard(this.listShards(project, logstore), shardId);
    await this.meta.mutateShards(project, logstore, (cur) => planDelete(cur, shardId));
    await this.dropShards(project, logstore, [shard]);
  }

  // ---- write ---------------------------------------------------------------------------------------------------

  /**
   * Routes a validated LogGroup to a shard (by hash key, else round-robin over the readwrite shards), charges the
   * quotas, and resolves once the record is durable.
   *
   * With an `idempotencyId`, the batch is stored at most once per logstore for as long as it is retained: when a record
   * carrying the id is found in any shard of the logstore (readonly ones included: a resend may be routed elsewhere,
   * or a split may have happened since), nothing is written and the result says `replay`. A put with the same id still
   * in flight is waited for and answered alike; if it fails, this one is tried as a fresh write. The id is stored with
   * the batch's last record: a crash can keep only a prefix of a multi-record batch, so the id is present only when the
   * whole batch is.
   */
  async put(
    project: string,
    logstore: string,
    entries: readonly AppendEntry[],
    hashKey?: string,
    idempotencyId?: string,
  ): Promise<PutResult> {
    if (idempotencyId === undefined) return this.putRouted(project, logstore, entries, hashKey);
    const problem = idempotencyIdProblem(idempotencyId);
    if (problem !== undefined) throw new SlsError('ParameterInvalid', `x-log-idempotency-id ${problem}`);
    if (entries.length === 0) throw new SlsError('PostBodyInvalid', 'PutLogs holds no LogGroup');
    // Project and logstore names cannot hold '/', so the key is unambiguous whatever the id holds.
    const key = `${project}/${logstore}/${idempotencyId}`;
    for (let running = this.idempotentPuts.get(key); running !== undefined; running = this.idempotentPuts.get(key)) {
      try {
        return { ...(await running), replay: true };
      } catch {
        // The original failed, so none of it is visible or acknowledged (a failed commit is cut from the file): try
        // this one as a fresh write, unless another duplicate woke first and already took over.
      }
    }
    const attempt: Promise<PutResult> = this.putIdempotent(project, logstore, entries, hashKey, idempotencyId).finally(
      () => {
        if (this.idempotentPuts.get(key) === attempt) this.idempotentPuts.delete(key);
      },
    );
    this.idempotentPuts.set(key, attempt);
    return attempt;
  }

  private async putIdempotent(
    project: string,
    logstore: string,
    entries: readonly AppendEntry[],
    hashKey: string | undefined,
    idempotencyId: string,
  ): Promise<PutResult> {
    this.getLogstore(project, logstore);
    for (const shard of this.meta.listShards(project, logstore)) {
      // A readonly shard deleted while an earlier log opened is skipped, not opened again (that would recreate its
      // folder); checked only for logs not open yet, so a lookup over open logs stays linear in the shard count.
      const opened = this.logs.has(shardLogKey(project, logstore, shard));
      if (
        !opened &&
        !this.meta.listShards(project, logstore).some((s) => s.id === shard.id && s.baseSeq === shard.baseSeq)
      ) {
        continue;
      }
      const log = await this.shardLog(project, logstore, shard);
      const carrier = log.findIdempotencyId(idempotencyId);
      // The carrier is the batch's last record; a resend is the same batch, so its first record is this far back.
      if (carrier !== undefined) return { shardId: shard.id, seq: carrier - (entries.length - 1), replay: true };
    }
    const last = entries.length - 1;
    const tagged = entries.map((e, i) => (i === last ? { ...e, idempotencyId } : e));
    return this.putRouted(project, logstore, tagged, hashKey);
  }

  private async putRouted(
    project: string,
    logstore: string,
    entries: readonly AppendEntry[],
    hashKey: string | undefined,
  ): Promise<PutResult> {
    let rawBytes = 0;
    for (const e of entries) rawBytes += e.rawSize;
    // Opening a shard log is asynchronous, and a split, merge or delete may commit meanwhile. The shard is checked
    // again once its log is open and the append starts in the same tick, so no write lands in a shard that has
    // become readonly (a consumer that read the parent to its end after the split would never see it).
    for (let attempt = 0; attempt < MAX_ROUTE_ATTEMPTS; attempt++) {
      const projectMeta = this.getProject(project);
      this.getLogstore(project, logstore);
      const shards = this.meta.listShards(project, logstore);
      const shard = hashKey !== undefined ? shardForKey(shards, hashKey) : this.nextWritable(project, logstore, shards);
      if (!shard) throw new SlsError('LogStoreWithoutShard', `logstore ${logstore} has no readwrite shard`);
      const log = await this.shardLog(project, logstore, shard);
      const now = this.meta.listShards(project, logstore).find((s) => s.id === shard.id && s.baseSeq === shard.baseSeq);
      if (now?.status !== 'readwrite') continue;
      this.quotas.admit({
        project,
        quota: projectMeta.quota,
        shardKey: `${project}/${logstore}/${shard.id}`,
        rawBytes,
      });
      const seq = await this.track(shardLogKey(project, logstore, shard), log.append(entries, this.clock()));
      return { shardId: shard.id, seq, replay: false };
    }
    throw new SlsError('ServerBusy', `logstore ${logstore} is changing its shards; retry the write`);
  }

  // ---- read ----------------------------------------------------------------------------------------------------

  async cursorRange(project: string, logstore: string, shardId: number): Promise<{ begin: number; end: number }> {
    const log = await this.openShard(project, logstore, shardId);
    return { begin: log.beginSeq(), end: log.endSeq() };
  }

  /** `from` is 'begin', 'end' or unix seconds (first record received at or after it). */
  async cursorAt(project: string, logstore: string, shardId: number, from: 'begin' | 'end' | number): Promise<number> {
    const log = await this.openShard(project, logstore, shardId);
    if (from === 'begin') return log.beginSeq();
    if (from === 'end') return log.endSeq();
    return log.seqAtTime(from * 1000);
  }

  /** Receive time (unix seconds) of the record at `seq`; the end cursor maps to the newest record's time. */
  async cursorTime(project: string, logstore: string, shardId: number, seq: number): Promise<number> {
    const log = await this.openShard(project, logstore, shardId);
    checkCursor(log, seq);
    const begin = log.beginSeq();
    const end = log.endSeq();
    if (begin === end) return this.nowSec();
    const at = seq === end ? end - 1 : seq;
    return Math.floor((await log.timeOfSeq(at)) / 1000);
  }

  async pull(
    project: string,
    logstore: string,
    shardId: number,
    fromSeq: number,
    options: { maxCount: number; maxBytes: number; endSeq?: number },
  ): Promise<PullResult> {
    const log = await this.openShard(project, logstore, shardId);
    checkCursor(log, fromSeq);
    if (options.endSeq !== undefined) checkCursor(log, options.endSeq);
    const end = log.endSeq();
    const stop = options.endSeq !== undefined ? Math.min(options.endSeq, end) : end;
    if (fromSeq >= stop) return { records: [], nextSeq: fromSeq, endSeq: end };
    const records = await log.read(fromSeq, { maxCount: options.maxCount, maxBytes: options.maxBytes, endSeq: stop });
    return { records, nextSeq: fromSeq + records.length, endSeq: end };
  }

  // ---- lifecycle -----------------------------------------------------------------------------------------------

  /** Drops whole shard-log files older than each logstore's TTL. */
  async enforceRetention(): Promise<void> {
    const now = this.clock();
    for (const p of this.meta.listProjects()) {
      for (const ls of this.meta.listLogstores(p.name)) {
        if (ls.ttl >= FOREVER_DAYS) continue;
        for (const shard of this.meta.listShards(p.name, ls.name)) {
          const log = await this.shardLog(p.name, ls.name, shard);
          await log.trimBefore(now - ls.ttl * DAY_MS);
        }
      }
    }
  }

  /** Keys of every live shard, as the factory names them, for orphan cleanup at start. */
  liveShardKeys(): Set<string> {
    const keys = new Set<string>();
    for (const p of this.meta.listProjects()) {
      for (const ls of this.meta.listLogstores(p.name)) {
        for (const s of this.meta.listShards(p.name, ls.name)) keys.add(shardLogKey(p.name, ls.name, s));
      }
    }
    return keys;
  }

  async close(): Promise<void> {
    const opened = [...this.logs.values()];
    this.logs.clear();
    await Promise.allSettled(opened.map(async (p) => (await p).close()));
  }

  // ---- internals -----------------------------------------------------------------------------------------------

  private async openShard(project: string, logstore: string, shardId: number): Promise<ShardLog> {
    const shard = requireShard(this.listShards(project, logstore), shardId);
    return this.shardLog(project, logstore, shard);
  }

  private shardLog(project: string, logstore: string, shard: ShardMeta): Promise<ShardLog> {
    const key = shardLogKey(project, logstore, shard);
    let log = this.logs.get(key);
    if (!log) {
      log = this.factory.open(project, logstore, shard);
      this.logs.set(key, log);
      log.catch(() => this.logs.delete(key));
    }
    return log;
  }

  private async dropShards(project: string, logstore: string, shards: readonly ShardMeta[]): Promise<void> {
    for (const shard of shards) {
      const key = shardLogKey(project, logstore, shard);
      const log = this.logs.get(key);
      this.logs.delete(key);
      if (log) await log.then((l) => l.close()).catch(() => {});
      await this.factory.remove(project, logstore, shard);
    }
  }

  /** Remembers an append until it settles, so a split or merge can wait for the writes its parents accepted. */
  private track<T>(key: string, append: Promise<T>): Promise<T> {
    let set = this.appending.get(key);
    if (!set) {
      set = new Set();
      this.appending.set(key, set);
    }
    const entry: Promise<unknown> = append.then(
      () => undefined,
      () => undefined,
    );
    set.add(entry);
    void entry.then(() => {
      set.delete(entry);
      if (set.size === 0 && this.appending.get(key) === set) this.appending.delete(key);
    });
    return append;
  }

  /**
   * Waits for the appends already accepted by shards that just became readonly: once a split or merge answers, the
   * parents' end cursors are final.
   */
  private async drainAppends(
    project: string,
    logstore: string,
    shards: readonly ShardMeta[],
    ids: readonly number[],
  ): Promise<void> {
    for (const shard of shards) {
      if (!ids.includes(shard.id)) continue;
      const pending = this.appending.get(shardLogKey(project, logstore, shard));
      if (pending) await Promise.all([...pending]);
    }
  }

  private nextWritable(project: string, logstore: string, shards: readonly ShardMeta[]): ShardMeta | undefined {
    const writable = shards.filter((s) => s.status === 'readwrite');
    if (writable.length === 0) return undefined;
    const key = `${project}/${logstore}`;
    const i = ((this.rr.get(key) ?? -1) + 1) % writable.length;
    this.rr.set(key, i);
    return writable[i];
  }

  private checkShardCount(shards: readonly ShardMeta[], adding: number): void {
    if (shards.length + adding > this.options.maxShardsPerLogstore) {
      throw new SlsError(
        'ParameterInvalid',
        `logstore would have ${shards.length + adding} shards, over the limit of ${this.options.maxShardsPerLogstore}; delete readonly shards first`,
      );
    }
  }

  /**
   * Reserves `count` cursor bases: microseconds since the epoch at shard creation, strictly increasing, `BASE_STEP`
   * apart. They keep cursors in the magnitude SLS clients expect and make a recreated logstore's cursors differ from
   * the old one's. The high-water mark is persisted before the bases are used, so they keep increasing across
   * restarts even when every logstore was deleted and the clock stepped back — a consumer holding an old cursor then
   * gets `InvalidCursor`, never a valid-looking position in a different logstore.
   */
  private async reserveBases(count: number): Promise<() => number> {
    const start = Math.max(this.lastBase + BASE_STEP, this.clock() * 1000);
    const end = start + (count - 1) * BASE_STEP;
    this.lastBase = end; // taken before the await, so concurrent reservations never overlap
    await this.meta.updateResource<number>(BASE_KIND, BASE_KEY, (cur) => Math.max(cur ?? 0, end));
    let next = start;
    return () => {
      if (next > end) throw new Error(`cursor base reservation of ${count} exhausted`);
      const base = next;
      next += BASE_STEP;
      return base;
    };
  }

  private nowSec(): number {
    return Math.floor(this.clock() / 1000);
  }
}

export function shardLogKey(project: string, logstore: string, shard: ShardMeta): string {
  return `${project}/${logstore}/${shard.id}-${shard.baseSeq}`;
}

function checkCursor(log: ShardLog, seq: number): void {
  const begin = log.beginSeq();
  const end = log.endSeq();
  if (seq < begin || seq > end) {
    throw new SlsError('InvalidCursor', `cursor ${seq} is out of the shard's range [${begin}, ${end}]`);
  }
}

function pickResult(shards: readonly ShardMeta[], parentId: number, isChild: (s: ShardMeta) => boolean): ShardMeta[] {
  return [...shards.filter((s) => s.id === parentId), ...shards.filter((s) => s.id !== parentId && isChild(s))];
}
