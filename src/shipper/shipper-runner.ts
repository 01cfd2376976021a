import type { LogService } from '../backend/log-service.js';
import type { ConsumerGroups } from '../consumer/consumer-groups.js';
import { ConsumerWorker, type ShardBatch } from '../consumer/consumer-worker.js';
import { LocalConsumerSource } from '../consumer/local-source.js';
import { encodeCursor } from '../protocol/cursor.js';
import type { DeclaredColumns } from './rows.js';
import type { ShipperSettings } from './shipper-config.js';
import { ParquetTarget } from './targets/parquet-target.js';
import { PostgresTarget } from './targets/postgres-target.js';
import type { ShipTarget } from './targets/target.js';
import { TaskLog } from './task-log.js';

/** The consumer name shippers use in their group. */
export const SHIPPER_CONSUMER = 'sluice-shipper';

export function shipperGroupName(shipper: string): string {
  return `sluice-shipper-${shipper}`;
}

export interface RunnerStats {
  logs: number;
  bytes: number;
  batches: number;
  failures: number;
  lastError: string;
}

/**
 * Runs one shipper: a consumer-group member (group `sluice-shipper-<name>`, in process) whose processor writes each
 * batch to the target. The consumer worker gives batching (`bufferInterval`/`bufferSize`), retries with backoff and
 * checkpoints after each write; the target gives exactly once (see ShipTarget).
 */
export class ShipperRunner {
  readonly tasks = new TaskLog();
  readonly stats: RunnerStats = { logs: 0, bytes: 0, batches: 0, failures: 0, lastError: '' };
  private readonly target: ShipTarget;
  private readonly worker: ConsumerWorker;

  constructor(
    service: LogService,
    groups: ConsumerGroups,
    readonly project: string,
    readonly logstore: string,
    readonly name: string,
    settings: ShipperSettings,
    private readonly log: (line: string) => void,
    /** Columns the logstore's index config declares, read for each batch. */
    private readonly declared: () => DeclaredColumns = () => new Map(),
  ) {
    this.target =
      settings.target.type === 'parquet'
        ? new ParquetTarget(settings.target.config)
        : new PostgresTarget(settings.target.config, `${project}/${logstore}/${name}`);
    const processing = new Map<number, string>();
    this.worker = new ConsumerWorker({
      source: new LocalConsumerSource(service, groups, project, logstore, shipperGroupName(name)),
      consumer: SHIPPER_CONSUMER,
      batchMaxBytes: settings.bufferBytes,
      batchMaxWaitMs: settings.bufferIntervalMs,
      pullCount: 1000,
      processor: {
        resume: async (shard, checkpoint) => {
          const point = await this.target.resume(shard, checkpoint);
          const failed = this.tasks.get(resumeTaskId(shard));
          if (failed?.taskStatus === 'fail') this.tasks.succeed(failed, 'resumed', Math.floor(Date.now() / 1000));
          if (point.until !== undefined) {
            this.log(
              `shipper ${project}/${logstore}/${name} shard ${shard}: redoing [${point.from}, ${point.until}), found partly written`,
            );
          }
          return point;
        },
        process: async (batch) => {
          processing.set(batch.shard, taskId(batch));
          await this.ship(batch);
          processing.delete(batch.shard);
        },
      },
      events: {
        onNotice: (shard, message) => this.log(`shipper ${project}/${logstore}/${name} shard ${shard}: ${message}`),
        onError: (shard, err, attempt, delayMs) => {
          const message = `attempt ${attempt} failed: ${errorText(err)}; retrying in ${(delayMs / 1000).toFixed(1)} s`;
          this.stats.failures++;
          this.stats.lastError = message;
          if (shard !== undefined) {
            const task = this.tasks.get(processing.get(shard) ?? '');
            if (task?.taskStatus === 'running') this.tasks.fail(task, message);
            else if (!task) this.failResume(shard, message);
          }
          this.log(`shipper ${project}/${logstore}/${name}${shard !== undefined ? ` shard ${shard}` : ''}: ${message}`);
        },
      },
    });
  }

  async start(): Promise<void> {
    await this.target.open();
    await this.worker.start();
  }

  /** Failed tasks are retried at once instead of after their backoff. */
  retry(): void {
    this.worker.retryNow();
  }

  async stop(): Promise<void> {
    await this.worker.stop();
    await this.target.close();
  }

  /**
   * A shard that cannot even be resumed (the target is unreachable when asked where it stands) shows as a failed
   * task of its own, so an outage is visible before any batch exists.
   */
  private failResume(shard: number, message: string): void {
    const now = Math.floor(Date.now() / 1000);
    const task = this.tasks.begin({
      id: resumeTaskId(shard),
      taskCreateTime: now,
      taskLastDataReceiveTime: 0,
      shard,
      fromCursor: '',
      toCursor: '',
      logCount: 0,
    });
    this.tasks.fail(task, `resuming shard ${shard}: ${message}`);
  }

  private async ship(batch: ShardBatch): Promise<void> {
    const last = batch.groups[batch.groups.length - 1]!;
    const task = this.tasks.begin({
      id: taskId(batch),
      taskCreateTime: Math.floor(Date.now() / 1000),
      taskLastDataReceiveTime: Math.floor(last.receiveTimeMs / 1000),
      shard: batch.shard,
      fromCursor: encodeCursor(batch.from),
      toCursor: encodeCursor(batch.to),
      logCount: 0,
    });
    const result = await this.target.write(batch, this.declared());
    task.logCount = result.rows;
    this.stats.logs += result.rows;
    this.stats.bytes += batch.bytes;
    this.stats.batches++;
    this.tasks.succeed(
      task,
      `${result.rows} logs in ${result.outputs} ${this.target.kind === 'parquet' ? 'files' : 'COPY'}`,
      Math.floor(Date.now() / 1000),
    );
  }
}

function resumeTaskId(shard: number): string {
  return `${shard}-resume`;
}

function taskId(batch: ShardBatch): string {
  return `${batch.shard}-${batch.from}-${batch.to}`;
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${code !== undefined ? `${String(code)} ` : ''}${err.message || err.name}`;
  }
  return String(err);
}
