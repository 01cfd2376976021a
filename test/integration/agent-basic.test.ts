/**
 * The agent end to end against a real `sluice serve`: lines written before and after it starts, in nested dirs,
 * reach the logstore once each with the `__path__`/`__hostname__` tags and `__source__`; `agent status` reports them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { SlsClient } from '../../src/client/sls-client.js';
import {
  assertExactlyOnce,
  createProjectAndLogstore,
  logtailConfig,
  startAgent,
  tempDir,
} from '../helpers/agent-harness.js';
import { removeDir, type ServerProcess, SLUICE_BIN, startServerProcess } from '../helpers/server-process.js';
import { pullLogstore, testClient } from '../helpers/sls-kit.js';

let server: ServerProcess;
let client: SlsClient;
let work: string;

before(async () => {
  server = await startServerProcess();
  client = testClient(server.url);
  work = await tempDir('sluice-agent-basic-');
});

after(async () => {
  client.close();
  await server.stop();
  await removeDir(server.dataDir);
  rmSync(work, { recursive: true, force: true });
});

test('lines before and after start, in subdirectories, arrive exactly once with tags', async () => {
  await createProjectAndLogstore(client, 'agent-basic', 'lines');
  const logs = join(work, 'logs');
  mkdirSync(join(logs, 'sub'), { recursive: true });
  const expected: string[] = [];
  const write = (file: string, n: number, tag: string): void => {
    const lines = Array.from({ length: n }, (_, i) => `${tag} line ${i} ${'x'.repeat(i % 50)}`);
    appendFileSync(join(logs, file), `${lines.join('\n')}\n`);
    expected.push(...lines);
  };
  write('a.log', 500, 'a-before');
  write('sub/b.log', 300, 'b-before');
  write('ignored.txt', 0, 'none');
  const agent = await startAgent({
    url: server.url,
    project: 'agent-basic',
    dataDir: join(work, 'agent'),
    configs: [logtailConfig(logs, 'lines')],
  });
  try {
    write('a.log', 200, 'a-after');
    write('sub/c.log', 100, 'c-new');
    await assertExactlyOnce(client, 'agent-basic', 'lines', expected, 'basic', 60_000, agent);
    const groups = await pullLogstore(client, 'agent-basic', 'lines');
    const g = groups[0]!;
    const tags = Object.fromEntries(g.tags.map((t) => [t.key, t.value]));
    assert.match(tags['__path__'] ?? '', /\/logs\/(a|sub\/b|sub\/c)\.log$/);
    assert.ok(tags['__hostname__'], 'hostname tag');
    assert.ok(g.source, '__source__');
    // status reflects the files once the agent wrote it (at most a second later).
    let text = '';
    for (let i = 0; i < 40; i++) {
      text = execFileSync(process.execPath, [SLUICE_BIN, 'agent', 'status', '--data', join(work, 'agent')], {
        encoding: 'utf8',
      });
      if (/sub\/c\.log/.test(text)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.match(text, /sub\/c\.log/);
  } finally {
    assert.equal(await agent.stop(), 0, agent.output());
  }
});
