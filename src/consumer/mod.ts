/** Consumer groups: the server side (groups, assignment, checkpoints) and the consumer library. */
export type { AssignmentInput } from './assignment.js';
export { assignShards } from './assignment.js';
export type { StoredCheckpoint } from './checkpoint-store.js';
export { CheckpointStore } from './checkpoint-store.js';
export type { CheckpointView, ConsumerGroupMeta } from './consumer-groups.js';
export { ConsumerGroups } from './consumer-groups.js';
export type { ConsumerSource, PulledGroup, PullPage, ShardInfo } from './consumer-source.js';
export { pulledGroup } from './consumer-source.js';
export type {
  ConsumerEvents,
  ConsumerWorkerOptions,
  ResumePoint,
  ShardBatch,
  ShardProcessor,
} from './consumer-worker.js';
export { ConsumerWorker } from './consumer-worker.js';
export { HttpConsumerSource } from './http-source.js';
export { LocalConsumerSource } from './local-source.js';
