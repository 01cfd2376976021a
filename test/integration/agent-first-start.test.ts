/**
 * A user's very first `sluice agent` run, as README.md and docs/agent.md write it: no `--config` (configs from the
 * server) and a `--data` folder that does not exist yet. The agent must create the folder, heartbeat, and show up in
 * ListMachines; `sluice agent status` must then read its status. (It used to die at start writing
 * `<data>/instance-id` before anything had created the folder.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SlsClient } from '../../src/client/sls-client.js';
import { type AgentProcess, createProjectAndLogstore, startAgent, tempDir } from '../helpers/agent-harness.js';
import { removeDir, type ServerProcess, SLUICE_BIN, startServerProcess } from '../helpers/server-process.js';
import { jsonOf, testClient } from '../helpers/sls-kit.js';

const project = 'first-start';
let server: ServerProcess;
let client: SlsClient;
let agent: AgentProcess | undefined;
let parent: string;

before(async () => {
  server = await startServerProcess({ config: { storage: { fsync: false } } });
  client = testClient(server.url);
  parent = await tempDir('sluice-first-start-');
  await createProjectAndLogstore(client, project, 'app');
});

after(async () => {
  await agent?.kill();
  client?.close();
  await server?.stop();
  if (server) await removeDir(server.dataDir);
  if (parent) await removeDir(parent);
});

test('sluice agent without --config creates a missing --data folder and heartbeats', async () => {
  const dataDir = join(parent, 'not', 'yet', 'agent-data');
  assert.equal(existsSync(dataDir), false);
  agent = await startAgent({
    url: server.url,
    project,
    dataDir,
    configs: [],
    extraArgs: ['--user-defined-id', 'first', '--heartbeat-interval', '1'],
  });
  assert.equal(agent.child.exitCode, null, `the agent exited at start:\n${agent.output()}`);
  assert.match(agent.output(), /Sluice agent collecting 0 config\(s\)/);
  assert.ok(existsSync(join(dataDir, 'instance-id')), 'the machine id is kept in the data folder');

  // It heartbeats: ListMachines on the project lists it with its user-defined id.
  let machines: { 'userdefined-id': string }[] = [];
  for (let i = 0; i < 100 && machines.length === 0; i++) {
    await sleep(100);
    const res = await client.send({ method: 'GET', project, path: '/logtail/machines' });
    machines = jsonOf<{ machines: { 'userdefined-id': string }[] }>(res).machines;
  }
  assert.equal(machines.length, 1, `no heartbeat reached the server:\n${agent.output()}`);
  assert.equal(machines[0]!['userdefined-id'], 'first');

  // `sluice agent status --data …` reads what it wrote.
  let status = spawnSync(process.execPath, [SLUICE_BIN, 'agent', 'status', '--data', dataDir], { encoding: 'utf8' });
  for (let i = 0; i < 150 && status.status !== 0; i++) {
    await sleep(100);
    status = spawnSync(process.execPath, [SLUICE_BIN, 'agent', 'status', '--data', dataDir], { encoding: 'utf8' });
  }
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, new RegExp(`agent pid ${agent.child.pid}`));
});
