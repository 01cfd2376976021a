import type { ByteRange } from '../checkpoint/checkpoint-store.js';

/** One PutLogs request: a compressed LogGroup and the file byte ranges it holds. */
export interface Batch {
  /** The idempotency id (`x-log-idempotency-id`), derived from the ranges. */
  readonly id: string;
  readonly logstore: string;
  readonly ranges: readonly ByteRange[];
  /** LZ4 block of the LogGroup. */
  readonly body: Buffer;
  /** The pooled buffer `body` lives in, returned to the pool when the batch is done (none for spooled batches). */
  readonly slab?: Buffer | undefined;
  readonly rawSize: number;
  readonly logCount: number;
}
