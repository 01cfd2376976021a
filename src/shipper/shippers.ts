import type { LogService } from '../backend/log-service.js';
import type { ConsumerGroups } from '../consumer/consumer-groups.js';
import type { MetaStore } from '../meta/meta-store.js';
import { encodeCursor } from '../protocol/cursor.js';
import { SlsError } from '../protocol/errors.js';
import { declaredColumns } from './index-columns.js';
import { checkShipperName, parseShipperSettings, SHIPPER_KIND, type ShipperDoc } from './shipper-config.js';
import { ShipperRunner, shipperGroupName } from './shipper-runner.js';
import type { ShipperTask } from './task-log.js';

export interface ShardLag {
  readonly shard: number;
  readonly checkpoint: string;
  readonly endCursor: string;
  /** LogGroups received but not shipped yet. */
  readonly lagGroups: number;
  /** Age of the oldest unshipped LogGroup, seconds (0 when caught up). */
  readonly lagSeconds: number;
}

export interface ShipperStatus {
  readonly running: boolean;
  readonly logsShipped: number;
  readonly batches: number;
  readonly failures: number;
  readonly lastError: string;
  readonly lagGroups: number;
  readonly lagSeconds: number;
  readonly shards: readonly ShardLag[];
}

/** How often running shippers are reconciled with the metadata (a deleted logstore takes its shippers along). */
const RECONCILE_MS = 5000;

/**
 * Shippers (sls-api.md §5.11): configurations in the metadata store, one ShipperRunner per shipper in this process.
 */
export class Shippers {
  private readonly runners = new Map<string, ShipperRunner>();
  /** The configuration each runner was started with, to restart it when the shipper is updated. */
  private readonly startedWith = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  /** Reconciles run one at a time (API calls and the timer both trigger them). */
  private reconciling: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly meta: MetaStore,
    private readonly service: LogService,
    private readonly groups: ConsumerGroups,
    private readonly log: (line: string) => void = () => {},
    private readonly clock: () => number = Date.now,
  ) {}

  /** Starts every configured shipper. */
  async start(): Promise<void> {
    await this.reconcile();
    const tick = () => {
      this.timer = setTimeout(() => {
        this.reconcile()
          .catch((err: unknown) => this.log(`shippers: reconcile failed: ${String(err)}`))
          .finally(() => {
            if (!this.stopped) tick();
          });
      }, RECONCILE_MS);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.reconciling;
    const all = [...this.runners.values()];
    this.runners.clear();
    await Promise.allSettled(all.map((r) => r.stop()));
  }

  list(project: string, logstore: string): ShipperDoc[] {
    this.service.getLogstore(project, logstore);
    return this.meta.listResources<ShipperDoc>(SHIPPER_KIND, `${project}/${logstore}/`).map((d) => d.value);
  }

  get(project: string, logstore: string, name: string): ShipperDoc {
    this.service.getLogstore(project, logstore);
    const doc = this.meta.getResource<ShipperDoc>(SHIPPER_KIND, `${project}/${logstore}/${name}`);
    if (!doc) throw new SlsError('ShipperNotExist', `shipper ${name} does not exist`);
    return doc;
  }

  async create(project: string, logstore: string, body: Record<string, unknown>): Promise<void> {
    this.service.getLogstore(project, logstore);
    const name = checkShipperName(body['shipperName']);
    const { targetType } = parseShipperSettings(body['targetType'], body['targetConfiguration'], logstore);
    const now = Math.floor(this.clock() / 1000);
    const doc: ShipperDoc = {
      shipperName: name,
      targetType,
      targetConfiguration: body['targetConfiguration'] as Record<string, unknown>,
      createTime: now,
      lastModifyTime: now,
    };
    await this.meta.updateResource<ShipperDoc>(SHIPPER_KIND, `${project}/${logstore}/${name}`, (cur) => {
      if (cur) throw new SlsError('ShipperAlreadyExist', `shipper ${name} already exists`);
      return doc;
    });
    await this.reconcile();
  }

  async update(project: string, logstore: string, name: string, body: Record<string, unknown>): Promise<void> {
    const cur = this.get(project, logstore, name);
    const targetType = body['targetType'] ?? cur.targetType;
    const configuration = body['targetConfiguration'] ?? cur.targetConfiguration;
    parseShipperSettings(targetType, configuration, logstore);
    const key = `${project}/${logstore}/${name}`;
    await this.meta.updateResource<ShipperDoc>(SHIPPER_KIND, key, (doc) => {
      if (!doc) throw new SlsError('ShipperNotExist', `shipper ${name} does not exist`);
      return {
        ...doc,
        targetType: targetType as ShipperDoc['targetType'],
        targetConfiguration: configuration as Record<string, unknown>,
        lastModifyTime: Math.floor(this.clock() / 1000),
      };
    });
    await this.reconcile();
  }

  async delete(project: string, logstore: string, name: string): Promise<void> {
    this.get(project, logstore, name);
    const key = `${project}/${logstore}/${name}`;
    await this.meta.updateResource<ShipperDoc>(SHIPPER_KIND, key, () => undefined);
    await this.reconcile();
    await this.groups.delete(project, logstore, shipperGroupName(name)).catch(() => {});
  }

  tasks(project: string, logstore: string, name: string): ShipperTask[] {
    this.get(project, logstore, name);
    return this.runners.get(`${project}/${logstore}/${name}`)?.tasks.list() ?? [];
  }

  /** Retries failed tasks now. Unknown ids are ignored, as finished tasks may have expired. */
  retry(project: string, logstore: string, name: string, ids: readonly string[]): void {
    this.get(project, logstore, name);
    const runner = this.runners.get(`${project}/${logstore}/${name}`);
    if (runner && ids.some((id) => runner.tasks.get(id)?.taskStatus === 'fail')) runner.retry();
  }

  async status(project: string, logstore: string, name: string): Promise<ShipperStatus> {
    this.get(project, logstore, name);
    const runner = this.runners.get(`${project}/${logstore}/${name}`);
    let checkpoints = new Map<number, number>();
    try {
      const list = await this.groups.getCheckpoints(project, logstore, shipperGroupName(name));
      checkpoints = new Map(list.map((c) => [c.shard, c.seq]));
    } catch (err) {
      if (!(err instanceof SlsError && err.code === 'ConsumerGroupNotExist')) throw err;
    }
    const now = this.clock() / 1000;
    const shards: ShardLag[] = [];
    for (const s of this.service.listShards(project, logstore)) {
      const range = await this.service.cursorRange(project, logstore, s.id);
      const at = Math.max(checkpoints.get(s.id) ?? range.begin, range.begin);
      const lagGroups = range.end - at;
      const lagSeconds =
        lagGroups > 0 ? Math.max(0, Math.round(now - (await this.service.cursorTime(project, logstore, s.id, at)))) : 0;
      shards.push({
        shard: s.id,
        checkpoint: encodeCursor(at),
        endCursor: encodeCursor(range.end),
        lagGroups,
        lagSeconds,
      });
    }
    return {
      running: runner !== undefined,
      logsShipped: runner?.stats.logs ?? 0,
      batches: runner?.stats.batches ?? 0,
      failures: runner?.stats.failures ?? 0,
      lastError: runner?.stats.lastError ?? '',
      lagGroups: shards.reduce((n, s) => n + s.lagGroups, 0),
      lagSeconds: shards.reduce((n, s) => Math.max(n, s.lagSeconds), 0),
      shards,
    };
  }

  private reconcile(): Promise<void> {
    const run = this.reconciling.then(() => this.reconcileNow());
    this.reconciling = run.catch(() => {});
    return run;
  }

  /** Starts runners for configured shippers that have none, restarts changed ones, stops those whose shipper is gone. */
  private async reconcileNow(): Promise<void> {
    if (this.stopped) return;
    const docs = this.meta.listResources<ShipperDoc>(SHIPPER_KIND, '');
    const wanted = new Map(docs.map((d) => [d.key, JSON.stringify(d.value)]));
    for (const key of [...this.runners.keys()]) {
      if (wanted.get(key) !== this.startedWith.get(key)) await this.stopRunner(key);
    }
    for (const { key, value } of docs) {
      if (this.runners.has(key)) continue;
      const [project, logstore] = key.split('/') as [string, string];
      const { settings } = parseShipperSettings(value.targetType, value.targetConfiguration, logstore);
      const runner = new ShipperRunner(
        this.service,
        this.groups,
        project,
        logstore,
        value.shipperName,
        settings,
        this.log,
        () => declaredColumns(this.meta, project, logstore),
      );
      this.runners.set(key, runner);
      this.startedWith.set(key, wanted.get(key)!);
      try {
        await runner.start();
      } catch (err) {
        // Left out of the map: the next reconcile tries again.
        this.runners.delete(key);
        this.startedWith.delete(key);
        await runner.stop().catch(() => {});
        this.log(`shipper ${key}: start failed: ${String(err)}`);
      }
    }
  }

  private async stopRunner(key: string): Promise<void> {
    const runner = this.runners.get(key);
    this.runners.delete(key);
    this.startedWith.delete(key);
    await runner?.stop();
  }
}
