/**
 * The agent end to end against a real `sluice serve`: lines written before and after it starts, in nested dirs,
 * reach the logstore once each with the `__path__`/`__hostname__` tags and `__source__`; `agent status` reports them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  agentOnLogstore,
  agentSuite,
  assertExactlyOnce,
  createProjectAndLogstore,
  logtailConfig,
  startAgent,
  withAgent,
} from '../helpers/agent-harness.js';
import { SLUICE_BIN } from '../helpers/server-process.js';
import { pullLogstore } from '../helpers/sls-kit.js';

const s = agentSuite('sluice-agent-basic-');

test('lines before and after start, in subdirectories, arrive exactly once with tags', async () => {
  const expected: string[] = [];
  let logs = '';
  const write = (file: string, n: number, tag: string): void => {
    const lines = Array.from({ length: n }, (_, i) => `${tag} line ${i} ${'x'.repeat(i % 50)}`);
    appendFileSync(join(logs, file), `${lines.join('\n')}\n`);
    expected.push(...lines);
  };
  const { agent, dataDir } = await agentOnLogstore(s, {
    project: 'agent-basic',
    logstore: 'lines',
    before: (dir) => {
      logs = dir;
      mkdirSync(join(logs, 'sub'), { recursive: true });
      write('a.log', 500, 'a-before');
      write('sub/b.log', 300, 'b-before');
      write('ignored.txt', 0, 'none');
    },
  });
  const code = await withAgent(agent, async () => {
    write('a.log', 200, 'a-after');
    write('sub/c.log', 100, 'c-new');
    await assertExactlyOnce(s.client, 'agent-basic', 'lines', expected, 'basic', 60_000, agent);
    const groups = await pullLogstore(s.client, 'agent-basic', 'lines');
    const g = groups[0]!;
    const tags = Object.fromEntries(g.tags.map((t) => [t.key, t.value]));
    assert.match(tags['__path__'] ?? '', /-logs\/(a|sub\/b|sub\/c)\.log$/);
    assert.ok(tags['__hostname__'], 'hostname tag');
    assert.ok(g.source, '__source__');
    // status reflects the files once the agent wrote it (at most a second later).
    let text = '';
    for (let i = 0; i < 40; i++) {
      text = execFileSync(process.execPath, [SLUICE_BIN, 'agent', 'status', '--data', dataDir], { encoding: 'utf8' });
      if (/sub\/c\.log/.test(text)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.match(text, /sub\/c\.log/);
  });
  assert.equal(code, 0, agent.output());
});

test('parsed modes end to end: nginx preset with time, multiline, filters, topic; metrics endpoint', async () => {
  await createProjectAndLogstore(s.client, 'agent-basic', 'parsed');
  const nginxDir = join(s.work, 'nginx');
  const appDir = join(s.work, 'app');
  mkdirSync(nginxDir, { recursive: true });
  mkdirSync(appDir, { recursive: true });
  appendFileSync(
    join(nginxDir, 'access.log'),
    [
      '10.1.2.3 - - [01/Jan/2026:10:00:00 +0800] "GET /ok HTTP/1.1" 200 12 "-" "curl/8.1.0"',
      '10.1.2.4 - - [01/Jan/2026:10:00:01 +0800] "GET /missing HTTP/1.1" 404 0 "-" "curl/8.1.0"',
      'not an nginx line',
      '',
    ].join('\n'),
  );
  appendFileSync(
    join(appDir, 'app.log'),
    ['2026-01-01 10:00:00 ERROR boom', '  at a()', '  at b()', '2026-01-01 10:00:01 INFO fine', ''].join('\n'),
  );
  const agent = await startAgent({
    url: s.server.url,
    project: 'agent-basic',
    dataDir: join(s.work, 'agent-parsed'),
    configs: [
      logtailConfig(
        nginxDir,
        'parsed',
        {
          logType: 'nginx',
          discardUnmatch: true,
          filterKey: ['status'],
          filterRegex: ['^2'],
          topicFormat: '/(nginx)/',
        },
        'nginx',
      ),
      logtailConfig(appDir, 'parsed', { logBeginRegex: '\\d{4}-\\d\\d-\\d\\d .*' }, 'app'),
    ],
    extraArgs: ['--metrics-port', '0'],
  });
  const code = await withAgent(agent, async () => {
    let logs: { time: number; fields: Record<string, string>; topic: string | undefined }[] = [];
    for (let i = 0; i < 100 && logs.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const groups = await pullLogstore(s.client, 'agent-basic', 'parsed');
      logs = groups.flatMap((g) =>
        g.logs.map((l) => ({
          time: l.time,
          fields: Object.fromEntries(l.contents.map((c) => [c.key, c.value])),
          topic: g.topic,
        })),
      );
    }
    // The 404 is filtered out, the unmatched line discarded; the multiline entry stays whole. The last app entry
    // is emitted by the flush timeout.
    for (let i = 0; i < 50 && logs.length < 3; i++) await new Promise((r) => setTimeout(r, 200));
    const nginx = logs.filter((l) => l.fields['status'] !== undefined);
    assert.equal(nginx.length, 1, JSON.stringify(logs));
    assert.equal(nginx[0]!.fields['request_uri'], '/ok');
    assert.equal(nginx[0]!.time, Date.UTC(2026, 0, 1, 2, 0, 0) / 1000, 'time_local with its +0800 zone');
    assert.equal(nginx[0]!.topic, 'nginx');
    const app = logs.filter((l) => l.fields['content'] !== undefined).map((l) => l.fields['content']);
    assert.deepEqual(app.sort(), [
      '2026-01-01 10:00:00 ERROR boom\n  at a()\n  at b()',
      '2026-01-01 10:00:01 INFO fine',
    ]);
    const url = /metrics at (http:\S+)/.exec(agent.output())?.[1];
    assert.ok(url, agent.output());
    const text = await (await fetch(url)).text();
    assert.match(text, /^sluice_agent_sent_logs_total \d+$/m);
    assert.match(text, /^sluice_agent_filtered_logs_total 1$/m);
    assert.match(text, /^sluice_agent_unmatched_logs_total 1$/m);
  });
  assert.equal(code, 0, agent.output());
});

test('delete and recreate at once (inode reuse): the new file is read from its start, the old one not again', async () => {
  const { agent, logs } = await agentOnLogstore(s, { project: 'agent-basic', logstore: 'reuse' });
  const path = join(logs, 'r.log');
  const expected: string[] = [];
  const code = await withAgent(agent, async () => {
    for (let round = 0; round < 5; round++) {
      const lines = Array.from({ length: 100 + round * 50 }, (_, i) => `gen ${round} line ${i}`);
      expected.push(...lines);
      rmSync(path, { force: true });
      appendFileSync(path, `${lines.join('\n')}\n`);
      await assertExactlyOnce(s.client, 'agent-basic', 'reuse', expected, `generation ${round}`, 30_000, agent);
    }
  });
  assert.equal(code, 0, agent.output());
});
