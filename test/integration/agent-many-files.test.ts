/**
 * 10,000 files in 100 directories: all collected exactly once without running out of descriptors or watches (fully
 * read files are closed; the descriptor budget is 1,000), and files that grow again after being closed are reopened
 * by path with an identity check and read from where they stopped.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
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
import { removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { testClient } from '../helpers/sls-kit.js';

let server: ServerProcess;
let client: SlsClient;
let work: string;

before(async () => {
  server = await startServerProcess();
  client = testClient(server.url);
  work = await tempDir('sluice-agent-many-');
});

after(async () => {
  client.close();
  await server.stop();
  await removeDir(server.dataDir);
  rmSync(work, { recursive: true, force: true });
});

test('10,000 files: every line once, descriptors bounded, closed files reopened when they grow', async () => {
  await createProjectAndLogstore(client, 'agent-many', 'many');
  const logs = join(work, 'logs');
  const expected: string[] = [];
  for (let d = 0; d < 100; d++) {
    mkdirSync(join(logs, `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) {
      const lines = [`d${d} f${f} first`, `d${d} f${f} second`];
      appendFileSync(join(logs, `d${d}`, `f${f}.log`), `${lines.join('\n')}\n`);
      expected.push(...lines);
    }
  }
  const dataDir = join(work, 'agent');
  const agent = await startAgent({
    url: server.url,
    project: 'agent-many',
    dataDir,
    configs: [logtailConfig(logs, 'many', { maxDepth: 1 })],
  });
  try {
    await assertExactlyOnce(client, 'agent-many', 'many', expected, '10,000 files', 240_000, agent);
    const status = JSON.parse(readFileSync(join(dataDir, 'status.json'), 'utf8')) as {
      counters: Record<string, number>;
    };
    assert.ok(status.counters['filesOpen']! <= 1000, `open descriptors: ${status.counters['filesOpen']}`);
    assert.equal(status.counters['filesTracked'], 10_000);
    // Grow 100 of them again; most were closed by the descriptor budget.
    for (let d = 0; d < 100; d++) {
      const line = `d${d} f7 third`;
      appendFileSync(join(logs, `d${d}`, 'f7.log'), `${line}\n`);
      expected.push(line);
    }
    await assertExactlyOnce(client, 'agent-many', 'many', expected, '10,000 files after regrowth', 120_000, agent);
  } catch (err) {
    console.log(agent.output().slice(-3000));
    throw err;
  } finally {
    await agent.stop();
  }
});
