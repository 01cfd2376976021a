/** Configuration of the embedded shard log: named defaults, one validation pass, then a frozen object. */
import { MAX_PAYLOAD_BYTES_FORMAT } from './record-codec.js';

/** Sequence number of the first record of a brand-new shard when the caller does not choose one. */
export const DEFAULT_BASE_SEQ = 0;
/** Rotate the active file past this size: large enough that fsync and open costs amortise, small enough for TTL. */
export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;
/** Rotate the active file after this long, so TTL can drop data at roughly this granularity even on a quiet shard. */
export const DEFAULT_MAX_FILE_AGE_MS = 60 * 60 * 1000;
export const DEFAULT_FSYNC = true;
/**
 * Extra wait before a group commit to let more appends join. 0 is right for most disks: while one fsync runs, new
 * appends queue anyway, so batches grow with load without adding latency at low load.
 */
export const DEFAULT_GROUP_COMMIT_MAX_DELAY_MS = 0;
/** Upper bound on one group commit's write (one append is never split, so a single larger append still goes alone). */
export const DEFAULT_MAX_BATCH_BYTES = 16 * 1024 * 1024;
/** Largest payload one record may carry; SLS bodies are a few MB, so this only stops mistakes. */
export const DEFAULT_MAX_RECORD_BYTES = 32 * 1024 * 1024;
/**
 * zstd level of sealed files' rewrite (compaction.ts: LogGroups transposed to columns, then zstd); 0 keeps payloads
 * as clients sent them. On the nginx logs of bench:search, from 0.201 x of the LogGroup bytes as sent (LZ4): level 3
 * 0.081 x, level 7 0.073 x; the whole rewrite (transposition, its proof, zstd) runs at ~140 and ~105 MB/s of LogGroup
 * bytes, on a thread at the lowest priority, so 7 costs ~5 CPU s more per 5M-log day for ~18 MB less of it
 * (docs/benchmarks.md, session 14). Decoding is ~500 MB/s at any level.
 */
export const DEFAULT_COMPACT_LEVEL = 7;
/**
 * A sealed file is rewritten this long after it was sealed: the indexer reads it in the meantime (LZ4 decodes ~3x
 * faster than zstd), and a burst of writes is not slowed by rewrites of its own files.
 */
export const DEFAULT_COMPACT_DELAY_MS = 30_000;

const MAX_SEQ = Number.MAX_SAFE_INTEGER - 2 ** 32;

/** Fault injection for tests: a hook that throws fails the batch exactly as the matching I/O error would. */
export interface ShardLogIoHooks {
  beforeWrite?(batchBytes: number): void | Promise<void>;
  beforeSync?(): void | Promise<void>;
  /** Before cutting a failed commit's bytes from the active file. */
  beforeTruncate?(): void | Promise<void>;
}

export interface FileShardLogOptions {
  /** Sequence number of the first record of a brand-new shard; ignored when the directory already holds a log. */
  readonly baseSeq?: number;
  readonly maxFileBytes?: number;
  readonly maxFileAgeMs?: number;
  /** fdatasync before acknowledging. Turn off only in tests that say so: acknowledged data can then be lost. */
  readonly fsync?: boolean;
  readonly groupCommitMaxDelayMs?: number;
  readonly maxBatchBytes?: number;
  readonly maxRecordBytes?: number;
  /** zstd level sealed files are rewritten at (1-19), or 0 to keep payloads as sent (DEFAULT_COMPACT_LEVEL). */
  readonly compactLevel?: number;
  /** How long after sealing a file is rewritten (DEFAULT_COMPACT_DELAY_MS). */
  readonly compactDelayMs?: number;
  /** Clock for default receive times and file age; defaults to `Date.now`. */
  readonly now?: () => number;
  readonly hooks?: ShardLogIoHooks;
  /** Told of a compaction that failed (the file stays as it was); the server logs it. */
  readonly onCompactionError?: (err: unknown) => void;
}

export interface ResolvedShardLogOptions {
  readonly baseSeq: number;
  readonly maxFileBytes: number;
  readonly maxFileAgeMs: number;
  readonly fsync: boolean;
  readonly groupCommitMaxDelayMs: number;
  readonly maxBatchBytes: number;
  readonly maxRecordBytes: number;
  readonly compactLevel: number;
  readonly compactDelayMs: number;
  readonly now: () => number;
  readonly hooks: ShardLogIoHooks;
  readonly onCompactionError: ((err: unknown) => void) | undefined;
}

function integer(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved < min || resolved > max) {
    throw new RangeError(`shard log option ${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return resolved;
}

export function parseShardLogOptions(options: FileShardLogOptions): ResolvedShardLogOptions {
  if (options.fsync !== undefined && typeof options.fsync !== 'boolean') {
    throw new RangeError(`shard log option fsync must be a boolean, got ${String(options.fsync)}`);
  }
  return Object.freeze({
    baseSeq: integer('baseSeq', options.baseSeq, DEFAULT_BASE_SEQ, 0, MAX_SEQ),
    maxFileBytes: integer('maxFileBytes', options.maxFileBytes, DEFAULT_MAX_FILE_BYTES, 4096, 2 ** 40),
    maxFileAgeMs: integer('maxFileAgeMs', options.maxFileAgeMs, DEFAULT_MAX_FILE_AGE_MS, 1, 2 ** 42),
    fsync: options.fsync ?? DEFAULT_FSYNC,
    groupCommitMaxDelayMs: integer(
      'groupCommitMaxDelayMs',
      options.groupCommitMaxDelayMs,
      DEFAULT_GROUP_COMMIT_MAX_DELAY_MS,
      0,
      1000,
    ),
    maxBatchBytes: integer('maxBatchBytes', options.maxBatchBytes, DEFAULT_MAX_BATCH_BYTES, 1, 2 ** 31),
    maxRecordBytes: integer(
      'maxRecordBytes',
      options.maxRecordBytes,
      DEFAULT_MAX_RECORD_BYTES,
      1,
      MAX_PAYLOAD_BYTES_FORMAT,
    ),
    compactLevel: integer('compactLevel', options.compactLevel, DEFAULT_COMPACT_LEVEL, 0, 19),
    compactDelayMs: integer('compactDelayMs', options.compactDelayMs, DEFAULT_COMPACT_DELAY_MS, 0, 2 ** 31),
    now: options.now ?? Date.now,
    hooks: options.hooks ?? {},
    onCompactionError: options.onCompactionError,
  });
}
