/**
 * Rotation edge cases, each checked line by line through PullLogs: two copytruncates between two looks of the agent
 * (the generation in between recovered from its copy), copytruncate copies smaller than the 1 KiB fingerprint under a
 * pattern that matches them (not read twice), and `cp` of a tracked file (collected as a file of its own).
 *
 * Rotation torture: writers append at a high rate while their files are rotated every few hundred milliseconds by
 * rename + create (the writer keeps writing to the renamed file for a moment, as an app does until it reopens; old
 * generations are deleted after a few rotations) and by copytruncate (copy, then truncate in place). At the end
 * every line must be in the logstore exactly once: a rotated file abandoned before its end, a successor read before
 * its predecessor finished, a truncation mistaken for nothing, or a copy read twice all show up as missing or
 * duplicated lines.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { prng } from '../../bench/nginx-generator.js';
import {
  type AgentProcess,
  agentOnLogstore,
  agentSuite,
  assertExactlyOnce,
  collectedByPath,
  logtailConfig,
  startAgent,
  withAgent,
} from '../helpers/agent-harness.js';

const seed = Number(process.env['SLUICE_AGENT_SEED'] ?? Date.now() % 100_000);
const rand = prng(seed);
console.log(`# agent-rotation seed ${seed}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const s = agentSuite('sluice-agent-rotation-');

/** An app writing numbered lines through one descriptor, reopening its path when told (logrotate `create`). */
class RotatingWriter {
  readonly lines: string[] = [];
  private fd: number;
  private n = 0;
  private generation = 0;

  constructor(
    private readonly dir: string,
    private readonly name: string,
  ) {
    this.fd = openSync(join(dir, name), 'a');
  }

  write(count: number): void {
    const batch: string[] = [];
    for (let i = 0; i < count; i++) batch.push(`${this.name} ${this.n++} ${'r'.repeat(this.n % 61)}`);
    writeSync(this.fd, `${batch.join('\n')}\n`);
    this.lines.push(...batch);
  }

  /** rename + create: the old file gets a few more lines through the old descriptor, then the app reopens. */
  rotateByRename(keep: number): void {
    const path = join(this.dir, this.name);
    this.generation++;
    renameSync(path, `${path}.${this.generation}`);
    this.write(5);
    closeSync(this.fd);
    this.fd = openSync(path, 'a');
    rmSync(`${path}.${this.generation - keep}`, { force: true });
  }

  /**
   * copytruncate: copy the file aside, then truncate it in place; the app keeps its (O_APPEND) descriptor. With
   * `matching`, the copies are named so the collection pattern matches them too (`copy-3.log`).
   */
  rotateByCopyTruncate(keep: number, matching = false): void {
    const path = join(this.dir, this.name);
    const copyName = (g: number) => (matching ? path.replace(/\.log$/, `-${g}.log`) : `${path}.${g}`);
    this.generation++;
    copyFileSync(path, copyName(this.generation));
    truncateSync(path, 0);
    rmSync(copyName(this.generation - keep), { force: true });
  }

  close(): void {
    closeSync(this.fd);
  }
}

test('rename/create and copytruncate rotations at a high rate: every line exactly once', async () => {
  const { agent, logs } = await agentOnLogstore(s, { project: 'agent-rotation', logstore: 'rot' });
  const renamed = new RotatingWriter(logs, 'rename.log');
  const copied = new RotatingWriter(logs, 'copy.log');
  const matched = new RotatingWriter(logs, 'matched.log');
  await withAgent(agent, async () => {
    const writing = setInterval(() => {
      renamed.write(20);
      copied.write(20);
      matched.write(20);
    }, 5);
    for (let i = 0; i < 16; i++) {
      await sleep(200 + Math.floor(rand() * 300));
      if (i % 2 === 0) renamed.rotateByRename(6);
      else copied.rotateByCopyTruncate(6);
      if (i % 3 === 0) matched.rotateByCopyTruncate(6, true);
    }
    clearInterval(writing);
    renamed.close();
    copied.close();
    matched.close();
    await assertExactlyOnce(
      s.client,
      'agent-rotation',
      'rot',
      [...renamed.lines, ...copied.lines, ...matched.lines],
      `rotation torture (seed ${seed})`,
      90_000,
      agent,
    );
  });
});

/** Lines `tag 0 …`, `tag 1 …` appended to `path`; returns them. */
function append(path: string, tag: string, count: number, from = 0): string[] {
  const lines = Array.from({ length: count }, (_, i) => `${tag} ${from + i} ${'z'.repeat((from + i) % 37)}`);
  appendFileSync(path, `${lines.join('\n')}\n`);
  return lines;
}

test('two copytruncates between two looks: the generation in between is read from its copy', async () => {
  const { agent, logs } = await agentOnLogstore(s, { project: 'agent-rotation', logstore: 'twice' });
  const path = join(logs, 'app.log');
  const expected = append(path, 'gen1', 200);
  await withAgent(agent, async () => {
    await assertExactlyOnce(s.client, 'agent-rotation', 'twice', expected, 'before the rotations', 30_000, agent);
    // The agent is stopped (SIGSTOP) so it cannot look in between: logrotate's copytruncate twice, with
    // numbered copies (app.log.1 → app.log.2) that the pattern does not match.
    agent.child.kill('SIGSTOP');
    try {
      expected.push(...append(path, 'gen1', 100, 200)); // unread when the file is truncated
      copyFileSync(path, `${path}.1`);
      truncateSync(path, 0);
      expected.push(...append(path, 'gen2', 150)); // never seen in app.log: only its copy has it
      renameSync(`${path}.1`, `${path}.2`);
      copyFileSync(path, `${path}.1`);
      truncateSync(path, 0);
      expected.push(...append(path, 'gen3', 80));
    } finally {
      agent.child.kill('SIGCONT');
    }
    await assertExactlyOnce(s.client, 'agent-rotation', 'twice', expected, 'after two copytruncates', 30_000, agent);
    // A later single copytruncate finds only its own copy (the old ones were read, renamed or not).
    renameSync(`${path}.2`, `${path}.3`);
    renameSync(`${path}.1`, `${path}.2`);
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    expected.push(...append(path, 'gen4', 60));
    await assertExactlyOnce(s.client, 'agent-rotation', 'twice', expected, 'after a third copytruncate', 30_000, agent);
  });
});

test('copytruncate copies smaller than the fingerprint, named to match the pattern, are not read twice', async () => {
  const { agent, logs } = await agentOnLogstore(s, { project: 'agent-rotation', logstore: 'tiny' });
  const path = join(logs, 'small.log');
  const expected = append(path, 'tiny-g0', 4);
  await withAgent(agent, async () => {
    for (let g = 1; g <= 4; g++) {
      await assertExactlyOnce(s.client, 'agent-rotation', 'tiny', expected, `generation ${g - 1}`, 30_000, agent);
      // Two more lines the agent may not have read yet, then copy (a ~150-byte copy, `small-N.log`) + truncate.
      expected.push(...append(path, `tiny-g${g - 1}`, 2, 100));
      copyFileSync(path, join(logs, `small-${g}.log`));
      truncateSync(path, 0);
      expected.push(...append(path, `tiny-g${g}`, 3));
    }
    await assertExactlyOnce(s.client, 'agent-rotation', 'tiny', expected, 'tiny copytruncates', 30_000, agent);
  });
});

test('cp of a tracked file into the watched directory: collected as a new file, as iLogtail does', async () => {
  const { agent, logs } = await agentOnLogstore(s, { project: 'agent-rotation', logstore: 'cp-copies' });
  const big = append(join(logs, 'big.log'), 'big', 2_000); // far over the 1 KiB fingerprint
  const tiny = append(join(logs, 'tiny.log'), 'tiny', 3);
  await withAgent(agent, async () => {
    await assertExactlyOnce(s.client, 'agent-rotation', 'cp-copies', [...big, ...tiny], 'originals', 30_000, agent);
    // One copy appears whole (copied under another name, then renamed in), one is written in place.
    copyFileSync(join(logs, 'big.log'), join(logs, 'big.tmp'));
    renameSync(join(logs, 'big.tmp'), join(logs, 'big-copy.log'));
    copyFileSync(join(logs, 'tiny.log'), join(logs, 'tiny-copy.log'));
    // Each path's lines exactly once: the copies are files of their own (held for the rotate grace first, in case
    // they were copytruncate copies), the originals are not read again.
    const want = new Map([
      ['big.log', big],
      ['tiny.log', tiny],
      ['big-copy.log', big],
      ['tiny-copy.log', tiny],
    ]);
    let got = new Map<string, string[]>();
    const deadline = Date.now() + 30_000;
    const count = (m: Map<string, string[]>) => [...m.values()].reduce((n, l) => n + l.length, 0);
    while (Date.now() < deadline && count(got) < 2 * (big.length + tiny.length)) {
      await sleep(250);
      got = await collectedByPath(s.client, 'agent-rotation', 'cp-copies');
    }
    await sleep(500);
    got = await collectedByPath(s.client, 'agent-rotation', 'cp-copies');
    const byName = new Map([...got].map(([p, l]) => [p.slice(p.lastIndexOf('/') + 1), [...l].sort()]));
    assert.deepEqual(
      new Map([...byName].map(([n, l]) => [n, l.length])),
      new Map([...want].map(([n, l]) => [n, l.length])),
    );
    for (const [name, lines] of want) assert.deepEqual(byName.get(name), [...lines].sort(), name);
  });
});

test('truncated and rewritten to the same length between two looks: the new content is read (mtime check)', async () => {
  const { agent, logs } = await agentOnLogstore(s, { project: 'agent-rotation', logstore: 'same-size' });
  const path = join(logs, 'same.log');
  const expected = append(path, 'old', 3);
  await withAgent(agent, async () => {
    await assertExactlyOnce(s.client, 'agent-rotation', 'same-size', expected, 'first content', 30_000, agent);
    agent.child.kill('SIGSTOP');
    try {
      truncateSync(path, 0);
      expected.push(...append(path, 'new', 3)); // `old N …` and `new N …` lines have the same lengths
    } finally {
      agent.child.kill('SIGCONT');
    }
    await assertExactlyOnce(s.client, 'agent-rotation', 'same-size', expected, 'rewritten content', 30_000, agent);
  });
});

test('copytruncate under a writer without O_APPEND: the NUL hole it leaves is skipped, every line once', async () => {
  const { agent, logs, dataDir } = await agentOnLogstore(s, { project: 'agent-rotation', logstore: 'holes' });
  const path = join(logs, 'sparse.log');
  const fd = openSync(path, 'w'); // writes go on at the descriptor's own offset, not at the end
  const write = (tag: string, n: number): string[] => {
    const lines = Array.from({ length: n }, (_, i) => `${tag} ${i} ${'h'.repeat(i % 29)}`);
    writeSync(fd, `${lines.join('\n')}\n`);
    return lines;
  };
  const expected = write('before', 100);
  await withAgent(agent, async () => {
    await assertExactlyOnce(s.client, 'agent-rotation', 'holes', expected, 'before', 30_000, agent);
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    expected.push(...write('after', 50)); // the file now reads as NULs up to the old offset, then these lines
    closeSync(fd);
    await assertExactlyOnce(s.client, 'agent-rotation', 'holes', expected, 'after the hole', 30_000, agent);
    // status.json is rewritten within a second or two of any activity.
    let counters: Record<string, number> = {};
    for (let i = 0; i < 40 && !(counters['skippedNulBytes']! > 0); i++) {
      await sleep(250);
      counters = (JSON.parse(readFileSync(join(dataDir, 'status.json'), 'utf8')) as { counters: typeof counters })
        .counters;
    }
    assert.ok((counters['skippedNulBytes'] ?? 0) > 0, JSON.stringify(counters));
  });
});

test('one logrotate run copytruncates app.log and app.error.log: each copy belongs to its own file, every line once', async () => {
  const { agent, logs } = await agentOnLogstore(s, { project: 'agent-rotation', logstore: 'siblings' });
  const files = ['app.log', 'app.error.log', 'app.access.log'].map((n) => join(logs, n));
  const expected = files.flatMap((f, i) => append(f, `f${i}-g1`, 120));
  await withAgent(agent, async () => {
    await assertExactlyOnce(s.client, 'agent-rotation', 'siblings', expected, 'before', 30_000, agent);
    agent.child.kill('SIGSTOP');
    try {
      for (const [i, f] of files.entries()) {
        expected.push(...append(f, `f${i}-g1`, 40, 500)); // unread at the rotation
        copyFileSync(f, `${f}.1`);
        truncateSync(f, 0);
        expected.push(...append(f, `f${i}-g2`, 30));
      }
    } finally {
      agent.child.kill('SIGCONT');
    }
    await assertExactlyOnce(s.client, 'agent-rotation', 'siblings', expected, 'after the rotation', 30_000, agent);
  });
});

test('copytruncate while the agent is stopped, copy under a matching name: not read twice after the restart', async () => {
  const { agent, logs, dataDir } = await agentOnLogstore(s, { project: 'agent-rotation', logstore: 'restart-copy' });
  const path = join(logs, 'svc.log');
  const expected = append(path, 'svc-g1', 150);
  await withAgent(agent, async () => {
    await assertExactlyOnce(s.client, 'agent-rotation', 'restart-copy', expected, 'before', 30_000, agent);
  });
  expected.push(...append(path, 'svc-g1', 20, 500)); // unread when the agent stopped
  copyFileSync(path, join(logs, 'svc-1.log'));
  truncateSync(path, 0);
  expected.push(...append(path, 'svc-g2', 30));
  const second: AgentProcess = await startAgent({
    url: s.server.url,
    project: 'agent-rotation',
    dataDir,
    configs: [logtailConfig(logs, 'restart-copy')],
  });
  await withAgent(second, () =>
    assertExactlyOnce(s.client, 'agent-rotation', 'restart-copy', expected, 'after the restart', 30_000, second),
  );
});
