import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  AGENT_VERSION,
  Agent,
  ConfigFieldError,
  DEFAULT_AGENT_LIMITS,
  FileConfigSource,
  hostIp,
  LOGTAIL_USER_DEFINED_ID_FILE,
  RESTART_EXIT_CODE,
  RemoteConfigSource,
} from '../agent/mod.js';
import { parseArgs, UsageError } from './args.js';

const DEFAULT_HEARTBEAT_SEC = 5;

export const AGENT_USAGE = `Usage: sluice agent --endpoint http://HOST:PORT --project P --data DIR --config CONFIG.json [--config …]
       sluice agent --endpoint http://HOST:PORT --project P --data DIR [--user-defined-id ID …]
       sluice agent status --data DIR

Collects log files read-only and ships them to a Sluice (or SLS) logstore, exactly once: checkpoints advance only
after the server acknowledged, every batch carries an idempotency id, and a bounded on-disk spool holds batches
while the server is unreachable.
  --endpoint       server URL
  --project        project to write to
  --data           agent state folder (checkpoints, spool, status)
  --config         a Logtail collection config (JSON, docs/agent.md "Configs"); may repeat. Without it the agent takes
                   its configs from the server's machine groups (docs/agent.md "Remote configs"):
  --user-defined-id     an id that puts this machine in \`userdefined\` machine groups; may repeat
  --user-defined-id-file  more ids, one per line, re-read at every heartbeat (default ${LOGTAIL_USER_DEFINED_ID_FILE})
  --ip             the IP reported for \`ip\` machine groups (default: the first non-loopback IPv4 address)
  --heartbeat-interval  seconds between heartbeats (default ${DEFAULT_HEARTBEAT_SEC})
  --metrics-port   serve Prometheus metrics on 127.0.0.1:PORT (/metrics)
  --cpu-limit      soft CPU limit as a share of one core (e.g. 0.5): reading slows down above it
  --mem-soft-mb    soft RSS limit: reading slows down above it
  --mem-limit-mb   hard RSS limit: the agent restarts itself from its checkpoint above it
  --spool-mb       spool cap per logstore (default 1024)
  --concurrency    concurrent PutLogs per logstore (default 4)
Environment: SLUICE_ACCESS_KEY_ID and SLUICE_ACCESS_KEY_SECRET.`;

const WORKER_ENV = 'SLUICE_AGENT_WORKER';

function num(flags: Record<string, string | undefined>, name: string, fallback: number): number {
  const v = flags[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} needs a non-negative number, got ${v}`);
  return n;
}

export async function agent(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'status') return status(argv.slice(1));
  const configPaths: string[] = [];
  const userIds: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config') configPaths.push(argv[++i] ?? '');
    else if (a.startsWith('--config=')) configPaths.push(a.slice('--config='.length));
    else if (a === '--user-defined-id') userIds.push(argv[++i] ?? '');
    else if (a.startsWith('--user-defined-id=')) userIds.push(a.slice('--user-defined-id='.length));
    else rest.push(a);
  }
  const { flags } = parseArgs(rest, {
    endpoint: 'value',
    project: 'value',
    data: 'value',
    'metrics-port': 'value',
    'cpu-limit': 'value',
    'mem-soft-mb': 'value',
    'mem-limit-mb': 'value',
    'spool-mb': 'value',
    concurrency: 'value',
    'user-defined-id-file': 'value',
    ip: 'value',
    'heartbeat-interval': 'value',
    help: 'bool',
  });
  if (flags['help']) {
    console.log(AGENT_USAGE);
    return 0;
  }
  for (const name of ['endpoint', 'project', 'data']) if (!flags[name]) throw new UsageError(`--${name} is required`);
  if (configPaths.some((p) => p === '')) throw new UsageError('--config needs a file');
  if (userIds.some((id) => id === '' || id.length > 128))
    throw new UsageError('--user-defined-id needs an id of 1 to 128 characters');
  const remoteMode = configPaths.length === 0;
  if (!remoteMode && (userIds.length > 0 || flags['user-defined-id-file'] || flags['heartbeat-interval']))
    throw new UsageError(
      '--user-defined-id, --user-defined-id-file and --heartbeat-interval need remote configs (no --config)',
    );
  const heartbeatSec = num(flags, 'heartbeat-interval', DEFAULT_HEARTBEAT_SEC);
  if (heartbeatSec < 0.05 || heartbeatSec > 3600)
    throw new UsageError(`--heartbeat-interval must be from 0.05 to 3600 seconds, got ${heartbeatSec}`);
  const keyId = process.env['SLUICE_ACCESS_KEY_ID'];
  const keySecret = process.env['SLUICE_ACCESS_KEY_SECRET'];
  if (!keyId || !keySecret) throw new UsageError('set SLUICE_ACCESS_KEY_ID and SLUICE_ACCESS_KEY_SECRET');
  const memHardBytes = num(flags, 'mem-limit-mb', 0) * 1024 * 1024;

  // With a hard memory limit the work runs in a child that this process restarts when it asks for it.
  if (memHardBytes > 0 && process.env[WORKER_ENV] !== '1') return supervise(argv);

  let configs: ReturnType<FileConfigSource['load']> = [];
  try {
    if (!remoteMode) configs = new FileConfigSource(configPaths).load();
  } catch (err) {
    if (err instanceof ConfigFieldError) {
      console.error(`sluice agent: config ${err.message}`);
      return 2;
    }
    throw err;
  }
  const metricsPort = flags['metrics-port'];
  const remote = remoteMode
    ? new RemoteConfigSource({
        endpoint: flags['endpoint']!,
        project: flags['project']!,
        accessKeyId: keyId,
        accessKeySecret: keySecret,
        dataDir: flags['data']!,
        ip: flags['ip'] ?? hostIp(),
        hostname: hostname(),
        userDefinedIds: userIds,
        userDefinedIdFile: flags['user-defined-id-file'] ?? LOGTAIL_USER_DEFINED_ID_FILE,
        version: AGENT_VERSION,
        timeoutMs: 10_000,
      })
    : undefined;
  const a = new Agent({
    endpoint: flags['endpoint']!,
    project: flags['project']!,
    accessKeyId: keyId,
    accessKeySecret: keySecret,
    dataDir: flags['data']!,
    configs,
    ...(metricsPort !== undefined ? { metricsPort: num(flags, 'metrics-port', 0) } : {}),
    limits: {
      cpuSoftShare: num(flags, 'cpu-limit', 0),
      memSoftBytes: num(flags, 'mem-soft-mb', 0) * 1024 * 1024,
      memHardBytes,
    },
    spoolCapBytes: num(flags, 'spool-mb', DEFAULT_AGENT_LIMITS.spoolCapBytes / 1048576) * 1024 * 1024,
    maxConcurrency: Math.max(1, num(flags, 'concurrency', DEFAULT_AGENT_LIMITS.maxConcurrency)),
    maxMemoryBytes: DEFAULT_AGENT_LIMITS.maxMemoryBytes,
    passBudgetBytes: DEFAULT_AGENT_LIMITS.passBudgetBytes,
    collector: {},
    log: (m) => console.error(`[agent] ${m}`),
    ...(remote !== undefined ? { remote: { source: remote, intervalMs: Math.round(heartbeatSec * 1000) } } : {}),
  });
  const stop = (): void => a.stop();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  if (process.env[WORKER_ENV] === '1') process.once('disconnect', stop);
  const started = a.run();
  await new Promise((r) => setTimeout(r, 50));
  console.log(
    `Sluice agent collecting ${a.configCount} config(s) into ${flags['endpoint']} project ${flags['project']}` +
      (remote ? `; configs from the server (machine-uniqueid ${remote.instanceId})` : '') +
      (a.metricsUrl ? `; metrics at ${a.metricsUrl}` : ''),
  );
  const outcome = await started;
  process.off('SIGTERM', stop);
  process.off('SIGINT', stop);
  // A supervised worker's IPC channel would keep it alive after its work is done.
  if (process.env[WORKER_ENV] === '1' && process.connected) {
    process.off('disconnect', stop);
    process.disconnect();
  }
  return outcome === 'restart' ? RESTART_EXIT_CODE : 0;
}

/** Runs the agent in a child process and starts a fresh one whenever it exits asking for a restart. */
async function supervise(argv: readonly string[]): Promise<number> {
  const script = process.argv[1]!;
  let stopping = false;
  let child: ReturnType<typeof spawn> | undefined;
  const forward = (sig: NodeJS.Signals): void => {
    stopping = true;
    child?.kill(sig);
  };
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  for (let restarts = 0; ; restarts++) {
    child = spawn(process.execPath, [...process.execArgv, script, 'agent', ...argv], {
      env: { ...process.env, [WORKER_ENV]: '1', SLUICE_AGENT_RESTARTS: String(restarts) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const code = await new Promise<number>((done) => child!.once('exit', (c, s) => done(c ?? (s ? 128 : 1))));
    if (code !== RESTART_EXIT_CODE || stopping) {
      process.off('SIGTERM', forward);
      process.off('SIGINT', forward);
      return code;
    }
    console.error(`[agent] restarting after the hard memory limit (restart ${restarts + 1})`);
  }
}

interface StatusFile {
  pid: number;
  updatedAt: string;
  files: { config: string; path: string; read: number; size: number; committed: number; rotated: boolean }[];
  pendingBatches: number;
  counters: Record<string, number>;
}

function status(argv: readonly string[]): number {
  const { flags } = parseArgs(argv, { data: 'value', json: 'bool' });
  if (!flags['data']) throw new UsageError('status needs --data DIR');
  let s: StatusFile;
  try {
    s = JSON.parse(readFileSync(join(flags['data'], 'status.json'), 'utf8')) as StatusFile;
  } catch (err) {
    console.error(`sluice agent status: no status in ${flags['data']} (${(err as Error).message})`);
    return 1;
  }
  if (flags['json']) {
    console.log(JSON.stringify(s, null, 2));
    return 0;
  }
  const c = s.counters;
  console.log(`agent pid ${s.pid}, status at ${s.updatedAt}`);
  console.log(
    `read ${c['readBytes']} B / ${c['readLines']} logs; sent ${c['sentLogs']} logs in ${c['sentBatches']} batches; ` +
      `retries ${c['retries']}; spool ${c['spoolCount']} batches (${c['spoolBytes']} B); lag ${c['lagBytes']} B; ` +
      `lost ${c['lostBytes']} B; pending ${s.pendingBatches} batches; CPU ${Math.round((c['cpuShare'] ?? 0) * 100)} %; ` +
      `RSS ${Math.round((c['rssBytes'] ?? 0) / 1048576)} MiB`,
  );
  console.log('config\tread\tcommitted\tsize\tlag\tstate\tpath');
  for (const f of s.files) {
    console.log(
      `${f.config}\t${f.read}\t${f.committed}\t${f.size}\t${Math.max(0, f.size - f.committed)}\t${f.rotated ? 'rotated' : 'active'}\t${f.path}`,
    );
  }
  return 0;
}
