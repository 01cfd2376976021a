/**
 * 10,000 files in 100 directories: all collected exactly once without running out of descriptors or watches (fully
 * read files are closed; the descriptor budget is 1,000), and files that grow again after being closed are reopened
 * by path with an identity check and read from where they stopped.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { agentOnLogstore, agentSuite, assertExactlyOnce, withAgent } from '../helpers/agent-harness.js';

const s = agentSuite('sluice-agent-many-');

test('10,000 files: every line once, descriptors bounded, closed files reopened when they grow', async () => {
  const expected: string[] = [];
  const { agent, logs, dataDir } = await agentOnLogstore(s, {
    project: 'agent-many',
    logstore: 'many',
    detail: { maxDepth: 1 },
    before: (logs) => {
      for (let d = 0; d < 100; d++) {
        mkdirSync(join(logs, `d${d}`), { recursive: true });
        for (let f = 0; f < 100; f++) {
          const lines = [`d${d} f${f} first`, `d${d} f${f} second`];
          appendFileSync(join(logs, `d${d}`, `f${f}.log`), `${lines.join('\n')}\n`);
          expected.push(...lines);
        }
      }
    },
  });
  await withAgent(agent, async () => {
    await assertExactlyOnce(s.client, 'agent-many', 'many', expected, '10,000 files', 240_000, agent);
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
    await assertExactlyOnce(s.client, 'agent-many', 'many', expected, '10,000 files after regrowth', 120_000, agent);
  });
});
