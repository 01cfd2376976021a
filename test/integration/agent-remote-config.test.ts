/**
 * `sluice agent` without `--config` against a real `sluice serve`: it heartbeats, takes the configs of its machine
 * group and follows every change live, and every line lands exactly once (checked by PullLogs):
 *
 * apply → collects; logstore changed → the rest goes to the new logstore; file pattern changed → the old file is left
 * (its checkpoint kept) and a new one is followed; changed back → the old file resumes where it stopped; config
 * removed → lines written meanwhile are not collected; re-applied → they are, from the checkpoint; ListMachines shows
 * the agent with a fresh heartbeat and its per-config and per-file status; agent restarted while the server is down →
 * it collects with its cached configs and delivers once the server is back.
 *
 * Fails if a change needs a restart, a reload loses or repeats lines, a removed config keeps collecting, or the cache
 * is not used.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { SlsClient } from '../../src/client/sls-client.js';
import {
  type AgentProcess,
  assertExactlyOnce,
  collectedLines,
  createProjectAndLogstore,
  logtailConfig,
  startAgent,
  tempDir,
} from '../helpers/agent-harness.js';
import { removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { assertEmptyOk, jsonOf, testClient } from '../helpers/sls-kit.js';

const project = 'remote-cfg';
let server: ServerProcess;
let client: SlsClient;
let agent: AgentProcess | undefined;
let logDir: string;
let agentDir: string;

before(async () => {
  server = await startServerProcess();
  client = testClient(server.url);
  logDir = await tempDir('sluice-remote-logs-');
  agentDir = await tempDir('sluice-remote-agent-');
  await createProjectAndLogstore(client, project, 'ls-a');
  await createProjectAndLogstore(client, project, 'ls-b');
});

after(async () => {
  await agent?.kill();
  client?.close();
  await server?.stop();
  if (server) await removeDir(server.dataDir);
  await removeDir(logDir);
  await removeDir(agentDir);
});

const send = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) =>
  client.send({
    method,
    project,
    path,
    ...(body !== undefined ? { body: Buffer.from(JSON.stringify(body)) } : {}),
  });

function lines(tag: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${tag}-${String(i).padStart(5, '0')} payload ${'x'.repeat(i % 40)}`);
}

function write(file: string, ls: readonly string[]): void {
  appendFileSync(join(logDir, file), ls.map((l) => `${l}\n`).join(''));
}

interface MachineDetail {
  state: string;
  hostname: string;
  lastHeartbeatTime: number;
  'userdefined-id': string;
  groups: string[];
  detail: {
    configs: {
      configName: string;
      logstore: string;
      state: string;
      files: number;
      lagBytes?: number;
      sentLogs?: number;
      errors?: number;
    }[];
    files: { configName: string; path: string; size: number; committed: number }[];
  };
}

/** Polls the agent's status on the server until `ok` holds (bounded). */
async function waitStatus(what: string, ok: (m: MachineDetail) => boolean, timeoutMs = 30_000): Promise<MachineDetail> {
  const id = readFileSync(join(agentDir, 'instance-id'), 'utf8').trim();
  const deadline = Date.now() + timeoutMs;
  let last: MachineDetail | undefined;
  while (Date.now() < deadline) {
    if (agent !== undefined && agent.child.exitCode !== null)
      throw new Error(`${what}: the agent exited:\n${agent.output().slice(-3000)}`);
    const res = await send('GET', `/logtail/machines/${id}`);
    if (res.status === 200) {
      last = jsonOf<MachineDetail>(res);
      if (ok(last)) return last;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not reached; last status ${JSON.stringify(last)}\n${agent?.output().slice(-3000)}`);
}

const running = (m: MachineDetail, logstore: string, pattern?: string) =>
  m.detail.configs.length === 1 &&
  m.detail.configs[0]!.state === 'running' &&
  m.detail.configs[0]!.logstore === logstore &&
  (pattern === undefined || m.detail.files.every((f) => f.path.includes(pattern)));

test('configs from the server: apply, change, remove, re-apply, all live and exactly once', async () => {
  const config = (detail: Record<string, unknown>, logstore: string) =>
    logtailConfig(logDir, logstore, { filePattern: 'app*.log', ...detail }, 'app');
  assertEmptyOk(
    await send('POST', '/machinegroups', {
      groupName: 'rc-group',
      machineIdentifyType: 'userdefined',
      groupAttribute: {},
      machineList: ['rc-agent-1'],
    }),
  );
  assertEmptyOk(await send('POST', '/configs', config({}, 'ls-a')));
  const l1 = lines('L1', 500);
  write('app.log', l1);

  agent = await startAgent({
    url: server.url,
    project,
    dataDir: agentDir,
    configs: [],
    extraArgs: [
      '--user-defined-id',
      'rc-agent-1',
      '--user-defined-id-file',
      join(agentDir, 'no-such-file'),
      '--heartbeat-interval',
      '0.2',
    ],
  });
  // Not in a group with configs yet: it heartbeats and collects nothing.
  const idle = await waitStatus('first heartbeat', () => true);
  assert.deepEqual(idle.detail.configs, []);
  assert.deepEqual(idle.groups, ['rc-group']);

  // Apply: picked up without a restart.
  assertEmptyOk(await send('PUT', '/machinegroups/rc-group/configs/app'));
  await assertExactlyOnce(client, project, 'ls-a', l1, 'after apply', 60_000, agent);

  // ListMachines shows it, fresh, with its status.
  const synced = await waitStatus('status after apply', (m) => running(m, 'ls-a') && m.detail.files.length === 1);
  const list = jsonOf<{ total: number; machines: Record<string, unknown>[] }>(
    await send('GET', '/machinegroups/rc-group/machines'),
  );
  assert.equal(list.total, 1);
  const m = list.machines[0]!;
  assert.equal(m['userdefined-id'], 'rc-agent-1');
  assert.equal(m['hostname'], hostname());
  assert.equal(m['state'], 'ok');
  assert.ok(Math.abs(Number(m['lastHeartbeatTime']) - Date.now() / 1000) <= 5, 'heartbeat is fresh');
  assert.deepEqual((m['status'] as { configs: number }).configs, 1);
  assert.equal(synced.detail.files[0]!.path, join(logDir, 'app.log'));
  const committedAll = await waitStatus(
    'file committed',
    (x) => x.detail.files[0]?.committed === x.detail.files[0]?.size && x.detail.configs[0]?.sentLogs === l1.length,
  );
  assert.equal(committedAll.detail.configs[0]!.errors, 0);
  assert.equal(committedAll.detail.configs[0]!.lagBytes, 0);
  assert.equal(committedAll.detail.files[0]!.size, readFileSync(join(logDir, 'app.log')).length);

  // Another logstore: the reload is live and the next lines go there.
  assertEmptyOk(await send('PUT', '/configs/app', config({}, 'ls-b')));
  await waitStatus('reload to ls-b', (x) => running(x, 'ls-b'));
  const l2 = lines('L2', 300);
  write('app.log', l2);
  await assertExactlyOnce(client, project, 'ls-b', l2, 'after the logstore change', 60_000, agent);

  // Another file pattern: app.log is left alone, other.log is followed.
  assertEmptyOk(await send('PUT', '/configs/app', config({ filePattern: 'other*.log' }, 'ls-b')));
  await waitStatus('reload to other*.log', (x) => running(x, 'ls-b') && x.detail.files.length === 0);
  const l3a = lines('L3a', 200);
  const l3b = lines('L3b', 200);
  write('app.log', l3a);
  write('other.log', l3b);
  await assertExactlyOnce(client, project, 'ls-b', [...l2, ...l3b], 'after the pattern change', 60_000, agent);

  // Back to app*.log: app.log resumes from its checkpoint, so what was written meanwhile arrives, once.
  assertEmptyOk(await send('PUT', '/configs/app', config({}, 'ls-b')));
  await assertExactlyOnce(client, project, 'ls-b', [...l2, ...l3b, ...l3a], 'after changing back', 60_000, agent);

  // Removed: the collector stops; lines written now stay in the file.
  assertEmptyOk(await send('DELETE', '/machinegroups/rc-group/configs/app'));
  await waitStatus('config removed', (x) => x.detail.configs.length === 0);
  const l4 = lines('L4', 250);
  write('app.log', l4);
  await new Promise((r) => setTimeout(r, 2000));
  const whileRemoved = await collectedLines(client, project, 'ls-b');
  assert.equal(whileRemoved.filter((l) => l.startsWith('L4-')).length, 0, 'a removed config collects nothing');

  // Re-applied: resumes from the checkpoint, nothing lost or repeated.
  assertEmptyOk(await send('PUT', '/machinegroups/rc-group/configs/app'));
  await assertExactlyOnce(client, project, 'ls-b', [...l2, ...l3b, ...l3a, ...l4], 'after re-apply', 60_000, agent);
  await assertExactlyOnce(client, project, 'ls-a', l1, 'ls-a unchanged', 5_000, agent);
  assert.doesNotMatch(agent.output(), /loss:/);
});

test('restarted while the server is down, the agent collects with its cached configs', async () => {
  assert.ok(agent);
  assert.equal(await agent.stop(), 0);
  const port = server.port;
  const dataDir = server.dataDir;
  await server.stop();

  agent = await startAgent({
    url: server.url,
    project,
    dataDir: agentDir,
    configs: [],
    extraArgs: ['--user-defined-id', 'rc-agent-1', '--heartbeat-interval', '0.2'],
  });
  assert.match(agent.output(), /configs cached from the server: app/);
  const l5 = lines('L5', 300);
  write('app.log', l5);
  // Read while the server is down (into the spool), delivered once it is back.
  await new Promise((r) => setTimeout(r, 1500));
  server = await startServerProcess({ dataDir, port });
  client.close();
  client = testClient(server.url);
  const before = await collectedLines(client, project, 'ls-b');
  await assertExactlyOnce(
    client,
    project,
    'ls-b',
    [...before.filter((l) => !l.startsWith('L5-')), ...l5],
    'after the server came back',
    60_000,
    agent,
  );
  await waitStatus('heartbeats again', (x) => running(x, 'ls-b') && x.state === 'ok');
});
