/**
 * Rotation torture: writers append at a high rate while their files are rotated every few hundred milliseconds by
 * rename + create (the writer keeps writing to the renamed file for a moment, as an app does until it reopens; old
 * generations are deleted after a few rotations) and by copytruncate (copy, then truncate in place). At the end
 * every line must be in the logstore exactly once: a rotated file abandoned before its end, a successor read before
 * its predecessor finished, a truncation mistaken for nothing, or a copy read twice all show up as missing or
 * duplicated lines.
 */
import { closeSync, copyFileSync, mkdirSync, openSync, renameSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { prng } from '../../bench/nginx-generator.js';
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

const seed = Number(process.env['SLUICE_AGENT_SEED'] ?? Date.now() % 100_000);
const rand = prng(seed);
console.log(`# agent-rotation seed ${seed}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: ServerProcess;
let client: SlsClient;
let work: string;

before(async () => {
  server = await startServerProcess();
  client = testClient(server.url);
  work = await tempDir('sluice-agent-rotation-');
});

after(async () => {
  client.close();
  await server.stop();
  await removeDir(server.dataDir);
  rmSync(work, { recursive: true, force: true });
});

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
  await createProjectAndLogstore(client, 'agent-rotation', 'rot');
  const logs = join(work, 'logs');
  mkdirSync(logs, { recursive: true });
  const renamed = new RotatingWriter(logs, 'rename.log');
  const copied = new RotatingWriter(logs, 'copy.log');
  const matched = new RotatingWriter(logs, 'matched.log');
  const agent = await startAgent({
    url: server.url,
    project: 'agent-rotation',
    dataDir: join(work, 'agent'),
    configs: [logtailConfig(logs, 'rot')],
  });
  try {
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
      client,
      'agent-rotation',
      'rot',
      [...renamed.lines, ...copied.lines, ...matched.lines],
      `rotation torture (seed ${seed})`,
      90_000,
      agent,
    );
  } catch (err) {
    console.log(agent.output());
    throw err;
  } finally {
    await agent.stop();
  }
});
