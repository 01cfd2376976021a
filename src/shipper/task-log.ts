/** A shipper task as ListShipperTasks answers it (sls-api.md §5.11), plus the cursor range it covers. */
export interface ShipperTask {
  readonly id: string;
  taskStatus: 'running' | 'success' | 'fail';
  taskMessage: string;
  /** Unix seconds. */
  readonly taskCreateTime: number;
  /** Receive time (unix seconds) of the newest LogGroup in the task. */
  readonly taskLastDataReceiveTime: number;
  taskFinishTime: number;
  readonly shard: number;
  readonly fromCursor: string;
  readonly toCursor: string;
  /** Logs written (known once the task succeeded). */
  logCount: number;
  attempts: number;
}

/** Tasks kept per shipper: the newest win; older ones are history SLS also expires. */
export const MAX_TASKS = 1000;

/**
 * The recent tasks of one shipper (one task = one batch of one shard). In memory: a restart forgets finished
 * tasks, and an unfinished one is redone (and listed again) by the resumed shard.
 */
export class TaskLog {
  private readonly tasks = new Map<string, ShipperTask>();

  begin(task: Omit<ShipperTask, 'taskStatus' | 'taskMessage' | 'taskFinishTime' | 'attempts'>): ShipperTask {
    const existing = this.tasks.get(task.id);
    if (existing) {
      existing.taskStatus = 'running';
      existing.attempts++;
      return existing;
    }
    const t: ShipperTask = { ...task, taskStatus: 'running', taskMessage: '', taskFinishTime: 0, attempts: 1 };
    this.tasks.set(t.id, t);
    if (this.tasks.size > MAX_TASKS) this.tasks.delete(this.tasks.keys().next().value!);
    return t;
  }

  succeed(t: ShipperTask, message: string, nowSec: number): void {
    t.taskStatus = 'success';
    t.taskMessage = message;
    t.taskFinishTime = nowSec;
  }

  fail(t: ShipperTask, message: string): void {
    t.taskStatus = 'fail';
    t.taskMessage = message;
  }

  /** Newest first. */
  list(): ShipperTask[] {
    return [...this.tasks.values()].reverse();
  }

  get(id: string): ShipperTask | undefined {
    return this.tasks.get(id);
  }
}
