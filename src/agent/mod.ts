/** The public surface of the agent. Anything not exported here is private to src/agent/. */
export type { AgentOptions } from './agent.js';
export { Agent, DEFAULT_AGENT_LIMITS, hostIp, RESTART_EXIT_CODE } from './agent.js';
export { ConfigFieldError } from './config/config-error.js';
export type { ConfigSource } from './config/config-source.js';
export { FileConfigSource } from './config/config-source.js';
export type { CollectionConfig } from './config/logtail-config.js';
export { parseCollectionConfig } from './config/logtail-config.js';
export type { HeartbeatStatus, RemoteConfig, RemoteConfigSet } from './config/remote-config-source.js';
export { AGENT_VERSION, LOGTAIL_USER_DEFINED_ID_FILE, RemoteConfigSource } from './config/remote-config-source.js';
export type { SelfLimits } from './self-monitor/self-monitor.js';
