/**
 * Pieces the agent integration suites share: a project + logstore on a real `sluice serve`, an agent child process
 * (`sluice agent`) with a config file, and "every line exactly once" checks over everything PullLogs returns.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { SlsClient } from '../../src/client/sls-client.js';
import type { LogGroup } from '../../src/protocol/log-group.js';
import {
  removeDir,
  type ServerProcess,
  SLUICE_BIN,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCESS_KEY_SECRET,
} from './server-process.js';
import { pullLogstore, testClient } from './sls-kit.js';

export async function createProjectAndLogstore(
  client: SlsClient,
  project: string,
  logstore: string,
  shardCount = 2,
): Promise<void> {
  const p = await client.send({
    method: 'POST',
    path: '/',
    body: Buffer.from(JSON.stringify({ projectName: project, description: 'agent test' })),
  });
  assert.ok(p.status === 200 || p.status === 400, `CreateProject: ${p.status} ${p.body.toString()}`);
  const l = await client.send({
    method: 'POST',
    project,
    path: '/logstores',
    body: Buffer.from(JSON.stringify({ logstoreName: logstore, ttl: 30, shardCount })),
  });
  assert.equal(l.status, 200, `CreateLogstore: ${l.body.toString()}`);
}

export function logtailConfig(
  logPath: string,
  logstore: string,
  detail: Record<string, unknown> = {},
  name = 'test-config',
): Record<string, unknown> {
  return {
    configName: name,
    inputType: 'file',
    inputDetail: {
      logType: 'common_reg_log',
      logPath,
      filePattern: '*.log',
      maxDepth: 2,
      tailExisted: true,
      ...detail,
    },
    outputType: 'LogService',
    outputDetail: { logstoreName: logstore },
  };
}

export interface AgentProcess {
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<number | null>;
  kill(): Promise<void>;
  exited: Promise<void>;
}

export async function startAgent(o: {
  url: string;
  project: string;
  dataDir: string;
  configs: Record<string, unknown>[];
  extraArgs?: string[];
  /** Node flags for the agent process (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
}): Promise<AgentProcess> {
  const args = [
    ...(o.nodeArgs ?? []),
    SLUICE_BIN,
    'agent',
    '--endpoint',
    o.url,
    '--project',
    o.project,
    '--data',
    o.dataDir,
  ];
  for (let i = 0; i < o.configs.length; i++) {
    const file = `${o.dataDir}.config-${i}.json`;
    await writeFile(file, JSON.stringify(o.configs[i]));
    args.push('--config', file);
  }
  args.push(...(o.extraArgs ?? []));
  const child = spawn(process.execPath, args, {
    env: { ...process.env, SLUICE_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, SLUICE_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  // Ready once it printed what it collects (its first scan has run by then).
  for (let i = 0; i < 200 && !/Sluice agent collecting/.test(out) && child.exitCode === null; i++)
    await new Promise((r) => setTimeout(r, 50));
  return {
    child,
    output: () => out,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      return child.exitCode;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** The `content` of every log in the logstore, with its `__path__` tag. */
export async function collectedLines(client: SlsClient, project: string, logstore: string): Promise<string[]> {
  const groups: LogGroup[] = await pullLogstore(client, project, logstore);
  const out: string[] = [];
  for (const g of groups) {
    for (const l of g.logs) {
      const c = l.contents.find((x) => x.key === 'content');
      if (c) out.push(c.value);
    }
  }
  return out;
}

/** Every log's `content` by its `__path__` tag: "each file exactly once" checks when two files share lines. */
export async function collectedByPath(
  client: SlsClient,
  project: string,
  logstore: string,
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const g of await pullLogstore(client, project, logstore)) {
    const path = g.tags.find((t) => t.key === '__path__')?.value ?? '';
    let list = out.get(path);
    if (list === undefined) {
      list = [];
      out.set(path, list);
    }
    for (const l of g.logs) {
      const c = l.contents.find((x) => x.key === 'content');
      if (c) list.push(c.value);
    }
  }
  return out;
}

/**
 * Polls until the logstore holds at least `expected.length` lines (bounded), then asserts each expected line is
 * there exactly once and nothing else is.
 */
export async function assertExactlyOnce(
  client: SlsClient,
  project: string,
  logstore: string,
  expected: readonly string[],
  what: string,
  timeoutMs = 60_000,
  agent?: AgentProcess,
): Promise<void> {
  let got: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (agent !== undefined && agent.child.exitCode !== null)
      throw new Error(`${what}: the agent exited with ${agent.child.exitCode}:\n${agent.output().slice(-3000)}`);
    got = await collectedLines(client, project, logstore);
    if (got.length >= expected.length) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  // Let any straggler (a duplicate) arrive before counting.
  await new Promise((r) => setTimeout(r, 500));
  got = await collectedLines(client, project, logstore);
  const counts = new Map<string, number>();
  for (const l of got) counts.set(l, (counts.get(l) ?? 0) + 1);
  const missing = expected.filter((l) => !counts.has(l));
  if (missing.length > 0) {
    // Runs of consecutive missing lines, to tell one lost file from scattered losses.
    const runs: string[] = [];
    let runStart = -1;
    for (let i = 0; i <= expected.length; i++) {
      const gone = i < expected.length && !counts.has(expected[i]!);
      if (gone && runStart < 0) runStart = i;
      if (!gone && runStart >= 0) {
        runs.push(`[${expected[runStart]!.slice(0, 24)} … ${expected[i - 1]!.slice(0, 24)}] (${i - runStart})`);
        runStart = -1;
      }
    }
    const groups = await pullLogstore(client, project, logstore);
    console.log(`# ${what}: ${groups.length} LogGroups pulled; missing runs: ${runs.slice(0, 20).join(', ')}`);
  }
  const dups = [...counts].filter(([, n]) => n > 1);
  const want = new Set(expected);
  const extra = got.filter((l) => !want.has(l));
  assert.deepEqual(
    { missing: missing.length, duplicated: dups.length, extra: extra.length },
    { missing: 0, duplicated: 0, extra: 0 },
    `${what}: ${missing.length} missing (first ${JSON.stringify(missing.slice(0, 3))}), ${dups.length} duplicated ` +
      `(first ${JSON.stringify(dups.slice(0, 3))}), ${extra.length} unexpected (first ${JSON.stringify(extra.slice(0, 3))}); ` +
      `${got.length} lines stored, ${expected.length} expected`,
  );
}

/**
 * True when the server stores a batch with a given `x-log-idempotency-id` at most once. The exactly-once suites
 * need it; on a server without it they skip with that reason instead of failing on expected duplicates.
 */
export async function serverDedups(client: SlsClient, project: string, logstore: string): Promise<boolean> {
  const { encodeLogGroup } = await import('../../src/protocol/log-group.js');
  const raw = encodeLogGroup({ logs: [{ time: 1_767_225_600, contents: [{ key: 'probe', value: 'p' }] }], tags: [] });
  const id = `probe-${Date.now()}-${Math.random()}`;
  for (let i = 0; i < 2; i++) {
    const res = await client.send({
      method: 'POST',
      project,
      path: `/logstores/${logstore}/shards/lb`,
      headers: { 'content-type': 'application/x-protobuf', 'x-log-idempotency-id': id },
      body: raw,
    });
    assert.equal(res.status, 200, res.body.toString());
  }
  const groups = await pullLogstore(client, project, logstore);
  const n = groups.filter((g) => g.logs.some((l) => l.contents.some((c) => c.key === 'probe'))).length;
  return n === 1;
}

/** Appends numbered lines to a file at a steady pace until stopped; returns every line written. */
export class LineWriter {
  readonly lines: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private n = 0;

  constructor(
    private readonly path: string,
    private readonly tag: string,
  ) {}

  writeBurst(count: number): void {
    const batch: string[] = [];
    for (let i = 0; i < count; i++) batch.push(`${this.tag} ${this.n++} ${'p'.repeat(this.n % 97)}`);
    appendFileSync(this.path, `${batch.join('\n')}\n`);
    this.lines.push(...batch);
  }

  start(perTick: number, everyMs: number): void {
    this.timer = setInterval(() => this.writeBurst(perTick), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * What an agent suite shares: a real `sluice serve`, a client for it and a temp work directory. The fields are
 * filled by the `before` hook `agentSuite` registers (and may be replaced by a test that restarts the server).
 */
export interface AgentSuite {
  server: ServerProcess;
  client: SlsClient;
  work: string;
}

/**
 * Registers the suite's `before`/`after` hooks (server, client, work dir; all stopped and removed after). `setup`
 * runs once they exist (Node 20 starts a file's top-level `before` hooks together, so a second hook could not rely
 * on this one).
 */
export function agentSuite(prefix: string, setup?: (s: AgentSuite) => Promise<void>): AgentSuite {
  const s = {} as AgentSuite;
  before(async () => {
    s.server = await startServerProcess();
    s.client = testClient(s.server.url);
    s.work = await tempDir(prefix);
    await setup?.(s);
  });
  after(async () => {
    s.client.close();
    await s.server.stop();
    await removeDir(s.server.dataDir);
    rmSync(s.work, { recursive: true, force: true });
  });
  return s;
}

/**
 * The common test setup: project + logstore on the suite's server, a log directory `<work>/<logstore>-logs`
 * (created), and an agent collecting it with one config (`detail` overrides `inputDetail`; data dir
 * `<work>/<logstore>-agent`). Returns the agent and the log directory.
 */
export async function agentOnLogstore(
  s: AgentSuite,
  o: {
    project: string;
    logstore: string;
    detail?: Record<string, unknown>;
    extraArgs?: string[];
    /** Files to create before the agent starts (path relative to the log directory → lines). */
    before?: (logs: string) => void;
  },
): Promise<{ agent: AgentProcess; logs: string; dataDir: string }> {
  await createProjectAndLogstore(s.client, o.project, o.logstore);
  const logs = join(s.work, `${o.logstore}-logs`);
  mkdirSync(logs, { recursive: true });
  o.before?.(logs);
  const dataDir = join(s.work, `${o.logstore}-agent`);
  const agent = await startAgent({
    url: s.server.url,
    project: o.project,
    dataDir,
    configs: [logtailConfig(logs, o.logstore, o.detail)],
    ...(o.extraArgs ? { extraArgs: o.extraArgs } : {}),
  });
  return { agent, logs, dataDir };
}

/** Runs `body`; on failure prints the agent's last output; always stops the agent (its exit code is returned). */
export async function withAgent(agent: AgentProcess, body: () => Promise<void>): Promise<number | null> {
  try {
    await body();
  } catch (err) {
    console.log(`# agent output:\n${agent.output().slice(-4000)}`);
    throw err;
  } finally {
    await agent.stop();
  }
  return agent.child.exitCode;
}
