import type { ResumePoint, ShardBatch } from '../../consumer/consumer-worker.js';
import type { DeclaredColumns } from '../rows.js';

export interface WriteResult {
  readonly rows: number;
  /** Files (Parquet) or tables (PostgreSQL) written. */
  readonly outputs: number;
}

/**
 * Where a shipper writes. Exactly once rests on two promises each target keeps: `write` makes a batch's output and
 * its cursor range durable together (or not at all, or replaceably), and `resume` says where a shard's output stands
 * after a crash, so the worker re-reads from there — exactly the batch that may be half written, if any.
 */
export interface ShipTarget {
  readonly kind: string;
  open(): Promise<void>;
  resume(shard: number, checkpoint: number | undefined): Promise<ResumePoint>;
  /** `declared`: the keys of the logstore's index config and their types, columns of every batch. */
  write(batch: ShardBatch, declared: DeclaredColumns): Promise<WriteResult>;
  close(): Promise<void>;
}
