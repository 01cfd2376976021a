/**
 * The agent under faults, each ending with every line present exactly once in the logstore (checked by PullLogs):
 * the agent SIGKILLed at random moments while files grow; the server SIGKILLed and restarted; the server down for a
 * while (the agent spools, then drains oldest first); the hard memory limit restarting the agent from its
 * checkpoint. If a duplicate appears, the idempotency id or the ack-gated checkpoint is broken; if a line is
 * missing, a checkpoint ran ahead of an acknowledgement. The seed is printed; SLUICE_AGENT_SEED replays it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { prng } from '../../bench/nginx-generator.js';
import {
  agentOnLogstore,
  agentSuite,
  assertExactlyOnce,
  createProjectAndLogstore,
  LineWriter,
  logtailConfig,
  serverDedups,
  startAgent,
  withAgent,
} from '../helpers/agent-harness.js';
import { startServerProcess } from '../helpers/server-process.js';
import { testClient } from '../helpers/sls-kit.js';

const seed = Number(process.env['SLUICE_AGENT_SEED'] ?? Date.now() % 100_000);
const rand = prng(seed);
console.log(`# agent-faults seed ${seed}`);

let dedup = false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const s = agentSuite('sluice-agent-faults-', async (s) => {
  await createProjectAndLogstore(s.client, 'agent-faults', 'probe', 1);
  dedup = await serverDedups(s.client, 'agent-faults', 'probe');
});

const NO_DEDUP = 'the server does not honour x-log-idempotency-id yet (exactly-once after a crash needs it)';

test('agent SIGKILLed at random moments: every line exactly once', async (t) => {
  if (!dedup) return t.skip(NO_DEDUP);
  await createProjectAndLogstore(s.client, 'agent-faults', 'kill');
  const logs = join(s.work, 'kill-logs');
  mkdirSync(logs, { recursive: true });
  const writers = [new LineWriter(join(logs, 'a.log'), 'ka'), new LineWriter(join(logs, 'b.log'), 'kb')];
  for (const w of writers) w.start(200, 10);
  const dataDir = join(s.work, 'kill-agent');
  const outputs: string[] = [];
  for (let round = 0; round < 8; round++) {
    const agent = await startAgent({
      url: s.server.url,
      project: 'agent-faults',
      dataDir,
      configs: [logtailConfig(logs, 'kill')],
    });
    await sleep(300 + Math.floor(rand() * 1200));
    await agent.kill();
    outputs.push(agent.output());
  }
  for (const w of writers) w.stop();
  const agent = await startAgent({
    url: s.server.url,
    project: 'agent-faults',
    dataDir,
    configs: [logtailConfig(logs, 'kill')],
  });
  await withAgent(agent, () =>
    assertExactlyOnce(
      s.client,
      'agent-faults',
      'kill',
      writers.flatMap((w) => w.lines),
      'after 8 SIGKILLs',
    ),
  );
});

test('server SIGKILLed and restarted, then down for a while: the agent retries, spools, drains', async (t) => {
  if (!dedup) return t.skip(NO_DEDUP);
  let w: LineWriter | undefined;
  const { agent, dataDir } = await agentOnLogstore(s, {
    project: 'agent-faults',
    logstore: 'outage',
    before: (logs) => {
      w = new LineWriter(join(logs, 'app.log'), 'out');
      w.start(40, 10);
    },
  });
  const writer = w!;
  await withAgent(agent, async () => {
    await sleep(500);
    // A crash of the server mid-stream: in-flight batches fail or were stored without an answer.
    await s.server.kill();
    await sleep(300);
    s.server = await startServerProcess({ dataDir: s.server.dataDir, port: s.server.port });
    s.client.close();
    s.client = testClient(s.server.url);
    await sleep(800);
    // A longer outage: the agent keeps reading into its spool.
    await s.server.stop();
    await sleep(3_000);
    s.server = await startServerProcess({ dataDir: s.server.dataDir, port: s.server.port });
    s.client.close();
    s.client = testClient(s.server.url);
    writer.stop();
    await assertExactlyOnce(
      s.client,
      'agent-faults',
      'outage',
      writer.lines,
      'after a server crash and an outage',
      60_000,
      agent,
    );
    const status = JSON.parse(readFileSync(join(dataDir, 'status.json'), 'utf8')) as {
      counters: Record<string, number>;
    };
    assert.ok(
      (status.counters['spooledBatches'] ?? 0) > 0,
      `the outage used the spool: ${JSON.stringify(status.counters)}`,
    );
    assert.equal(status.counters['lostBytes'], 0);
  }).finally(() => writer.stop());
});

test('hard memory limit: the agent restarts itself from its checkpoint and loses nothing', async (t) => {
  if (!dedup) return t.skip(NO_DEDUP);
  let w: LineWriter | undefined;
  // 1 MiB is below any Node process: every worker restarts at its first sample, about a second in.
  const { agent } = await agentOnLogstore(s, {
    project: 'agent-faults',
    logstore: 'memory',
    extraArgs: ['--mem-limit-mb', '1'],
    before: (logs) => {
      w = new LineWriter(join(logs, 'm.log'), 'mem');
      w.start(100, 10);
    },
  });
  const writer = w!;
  await withAgent(agent, async () => {
    for (let i = 0; i < 100 && (agent.output().match(/restarting after the hard memory limit/g) ?? []).length < 2; i++)
      await sleep(100);
    writer.stop();
    assert.ok((agent.output().match(/restarting after the hard memory limit/g) ?? []).length >= 2, agent.output());
    await assertExactlyOnce(s.client, 'agent-faults', 'memory', writer.lines, 'across memory-limit restarts');
  }).finally(() => writer.stop());
});
