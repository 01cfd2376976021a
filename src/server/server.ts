import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { AgentHeartbeats, DEFAULT_HEARTBEAT_OPTIONS } from '../backend/agent-heartbeats.js';
import { LogService } from '../backend/log-service.js';
import { MachineGroups } from '../backend/machine-groups.js';
import { CheckpointStore } from '../consumer/checkpoint-store.js';
import { ConsumerGroups } from '../consumer/consumer-groups.js';
import { IndexRegistry } from '../index/index-registry.js';
import { Indexer } from '../index/indexer.js';
import { FileMetaStore } from '../meta/embedded/file-meta-store.js';
import type { AccessKey, MetaStore } from '../meta/meta-store.js';
import { SqlEngine } from '../query/sql/sql-engine.js';
import { Shippers } from '../shipper/shippers.js';
import { storedLogGroupBytes } from '../storage/shard-log/stored-payload.js';
import type { ServerConfig } from './config.js';
import { ConsoleFront } from './console/console-front.js';
import { SessionKeys } from './console/session.js';
import { lockDataDir } from './data-lock.js';
import { EmbeddedShardLogs } from './embedded-shard-logs.js';
import { createHttpServer } from './http-server.js';
import { Router } from './router.js';
import { registerAgentHeartbeatRoutes } from './routes/agent-heartbeat.js';
import { registerConsoleToolRoutes } from './routes/console-tools.js';
import { registerConsumerGroupRoutes } from './routes/consumer-groups.js';
import type { RouteDeps } from './routes/deps.js';
import { registerGetLogsRoutes } from './routes/get-logs.js';
import { registerHealthRoute } from './routes/health.js';
import { registerIndexRoutes } from './routes/index-config.js';
import { registerLogstoreRoutes } from './routes/logstores.js';
import { registerLogtailConfigRoutes } from './routes/logtail-configs.js';
import { registerMachineGroupRoutes } from './routes/machine-groups.js';
import { registerProjectRoutes } from './routes/projects.js';
import { registerPutLogsRoutes } from './routes/put-logs.js';
import { registerShardRoutes } from './routes/shards.js';
import { registerShipperRoutes } from './routes/shippers.js';
import { registerProjectLogsRoute } from './routes/sql-logs.js';

const RETENTION_INTERVAL_MS = 10 * 60 * 1000;

export interface RunningServer {
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  readonly accessKey: AccessKey;
  readonly service: LogService;
  close(): Promise<void>;
}

/**
 * The embedded composition root: metadata and shard logs in the data folder, the backend over them, the HTTP front
 * over that. Cluster mode will compose the same routes over JetStream-backed stores.
 */
export async function startServer(
  config: ServerConfig,
  log: (line: string) => void = () => {},
): Promise<RunningServer> {
  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true });
  const unlock = await lockDataDir(dataDir);
  const meta = await FileMetaStore.open(join(dataDir, 'meta')).catch(async (err: unknown) => {
    await unlock();
    throw err;
  });
  const accessKey = await ensureAccessKey(meta, config);
  for (const [name, quota] of Object.entries(config.projectQuotas)) {
    if (meta.getProject(name)) await meta.updateProject(name, { quota });
  }

  const shardLogs = new EmbeddedShardLogs(join(dataDir, 'shards'), config.storage, log);
  const service = new LogService({
    meta,
    shardLogs,
    defaultProjectQuota: config.defaultProjectQuota,
    maxShardsPerLogstore: config.limits.maxShardsPerLogstore,
  });
  await shardLogs.removeOrphans(service.liveShardKeys());

  const router = new Router();
  const deps: RouteDeps = { service, limits: config.limits, region: 'local' };
  registerHealthRoute(router);
  registerProjectRoutes(router, deps);
  const indexer = new Indexer(
    meta,
    {
      shards: (project, logstore) => meta.listShards(project, logstore),
      range: (project, logstore, shardId) => service.cursorRange(project, logstore, shardId),
      read: async (project, logstore, shardId, fromSeq, maxCount) =>
        (await service.pull(project, logstore, shardId, fromSeq, { maxCount, maxBytes: 32 * 1024 * 1024 })).records,
      payload: storedLogGroupBytes,
    },
    join(dataDir, 'index'),
    undefined,
    log,
  );
  const sqlEngine = new SqlEngine({
    dir: join(dataDir, 'sql'),
    threads: config.limits.sqlThreads,
    memoryLimit: `${config.limits.sqlMemoryMiB}MB`,
    maxConcurrent: config.limits.sqlMaxConcurrent,
    maxQueued: config.limits.sqlMaxQueued,
    timeoutMs: config.limits.sqlTimeoutMs,
  });
  registerLogstoreRoutes(router, deps, registerGetLogsRoutes(router, deps, indexer, sqlEngine));
  registerProjectLogsRoute(router, deps, indexer, sqlEngine);
  registerIndexRoutes(router, deps, new IndexRegistry(meta), indexer);
  registerShardRoutes(router, deps);
  registerPutLogsRoutes(router, deps);
  const consumerGroups = new ConsumerGroups(meta, service, new CheckpointStore(join(dataDir, 'checkpoints')));
  registerConsumerGroupRoutes(router, deps, consumerGroups);
  const shippers = new Shippers(meta, service, consumerGroups, log);
  registerShipperRoutes(router, deps, shippers);
  registerConsoleToolRoutes(router, deps, dataDir);
  const secretOf = (id: string): string | undefined => meta.getAccessKey(id)?.secret;
  const consoleFront = await ConsoleFront.open({
    keys: await SessionKeys.open(join(dataDir, 'console', 'session.key'), config.console.sessionTtlMs),
    secretOf,
    users: config.console.users,
  });
  const machineGroups = new MachineGroups(meta);
  const heartbeats = new AgentHeartbeats(meta, machineGroups, {
    ...DEFAULT_HEARTBEAT_OPTIONS,
    staleAfterMs: config.limits.agentStaleMs,
  });
  registerMachineGroupRoutes(router, deps, machineGroups, heartbeats);
  registerLogtailConfigRoutes(router, deps, machineGroups);
  registerAgentHeartbeatRoutes(router, heartbeats);

  const http = createHttpServer({
    router,
    endpoints: config.endpoints,
    secretOf,
    console: consoleFront,
    maxClockSkewMs: config.auth.maxClockSkewMs,
    requestTimeoutMs: config.limits.requestTimeoutMs,
    log,
  });
  await listen(http, config.port, config.host);
  const port = (http.address() as AddressInfo).port;

  const retention = setInterval(() => {
    service.enforceRetention().catch((err: unknown) => log(`retention failed: ${String(err)}`));
  }, RETENTION_INTERVAL_MS);
  retention.unref();
  indexer.start();
  await shippers.start();

  let closing: Promise<void> | undefined;
  return {
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    port,
    accessKey,
    service,
    close() {
      closing ??= (async () => {
        clearInterval(retention);
        await drainHttp(http);
        await indexer.stop();
        await sqlEngine.close();
        await shippers.stop();
        await service.close();
        await meta.close();
        await unlock();
      })();
      return closing;
    },
  };
}

/** How long a closing server lets requests in flight finish before it cuts the connections still open. */
const DRAIN_GRACE_MS = 5_000;

/**
 * Stops accepting and waits for the connections to end. `http.close()` alone waits for keep-alive connections to go
 * idle, and a client that sends on its socket back to back (an agent shipping a backlog) never lets it: the server
 * went on accepting PutLogs after SIGTERM and never exited. So every response from now on says
 * `Connection: close`, idle sockets are closed as they appear, and whatever is still open after the grace is cut
 * (its client sees a network error and retries elsewhere or later; nothing it was not answered for was stored).
 */
async function drainHttp(http: Server): Promise<void> {
  http.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (!res.headersSent) res.setHeader('connection', 'close');
  });
  await new Promise<void>((done) => {
    const idle = setInterval(() => http.closeIdleConnections(), 50);
    const cut = setTimeout(() => http.closeAllConnections(), DRAIN_GRACE_MS);
    http.close(() => {
      clearInterval(idle);
      clearTimeout(cut);
      done();
    });
    http.closeIdleConnections();
  });
}

async function ensureAccessKey(meta: MetaStore, config: ServerConfig): Promise<AccessKey> {
  if (config.accessKey) {
    const key = { id: config.accessKey.id, secret: config.accessKey.secret };
    if (meta.getAccessKey(key.id)?.secret !== key.secret) await meta.putAccessKey(key);
    return key;
  }
  const generated = meta.listAccessKeys().find((k) => k.generated);
  if (generated) return generated;
  const key: AccessKey = {
    id: `SLK${randomBytes(10).toString('hex').toUpperCase()}`,
    secret: randomBytes(24).toString('base64url'),
    generated: true,
  };
  await meta.putAccessKey(key);
  return key;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
}
