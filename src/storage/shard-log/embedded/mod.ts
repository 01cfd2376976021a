/** Public surface of the embedded (local files) shard log. Everything not exported here is private to this folder. */
export {
  FileShardLog,
  openFileShardLog,
  type ShardLogStats,
} from './file-shard-log.js';
export {
  DEFAULT_BASE_SEQ,
  DEFAULT_FSYNC,
  DEFAULT_GROUP_COMMIT_MAX_DELAY_MS,
  DEFAULT_MAX_BATCH_BYTES,
  DEFAULT_MAX_FILE_AGE_MS,
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_RECORD_BYTES,
  type FileShardLogOptions,
  type ShardLogIoHooks,
} from './options.js';
export type { RecoveryReport } from './recovery.js';
