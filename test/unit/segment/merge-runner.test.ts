/**
 * The merge worker: merges run on it one at a time; once idle for a few seconds it is stopped (its memory goes back
 * to the system after a burst of merges) and the next merge starts a new one. Without the idle stop the worker stayed
 * resident for the life of the server and `running` never became false.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { NginxLogGenerator } from '../../../bench/nginx-generator.js';
import { compileIndex } from '../../../src/index/index-config.js';
import { SegmentBuild } from '../../../src/index/segment-build.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import { MergeRunner, STOP_AFTER_ROWS } from '../../../src/storage/segment/merge-runner.js';
import { SegmentReader } from '../../../src/storage/segment/segment-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-merge-runner-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const compiled = compileIndex(
  {
    config: { line: { token: [' ', '/', '?', '='] }, keys: { status: { type: 'long' } } },
    version: 1,
    lastModifyTime: 0,
  },
  30,
);

function segments(gen: NginxLogGenerator, first: number, count: number): string[] {
  const build = new SegmentBuild(compiled);
  const out: string[] = [];
  for (let s = 0; s < count; s++) {
    build.reset();
    build.addGroup('0-0', first + s, encodeLogGroup(gen.group(200)));
    const id = String(first + s).padStart(10, '0');
    const path = join(dir, `${id}.seg`);
    build.write(path, id, 1);
    out.push(path);
  }
  return out;
}

test('an idle merge worker stops, and the next merge starts a new one', async () => {
  const runner = new MergeRunner();
  const gen = new NginxLogGenerator(8);
  try {
    const a = segments(gen, 1, 3);
    await runner.merge({ inputs: a, output: join(dir, '0000000100.seg'), id: '0000000100', configVersion: 1 });
    assert.equal(runner.running, true);
    const ra = SegmentReader.open(join(dir, '0000000100.seg'));
    assert.equal(ra.n, 600);
    ra.close();
    for (let i = 0; i < 150 && runner.running; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(runner.running, false, 'an idle merge worker is stopped');
    const b = segments(gen, 10, 2);
    await runner.merge({ inputs: b, output: join(dir, '0000000200.seg'), id: '0000000200', configVersion: 1 });
    const rb = SegmentReader.open(join(dir, '0000000200.seg'));
    assert.equal(rb.n, 400);
    assert.deepEqual(rb.footer.replaces, ['0000000010', '0000000011']);
    rb.close();
  } finally {
    await runner.close();
  }
});

test('a merge starts only once beforeMerge has settled (builders being stopped free their memory first)', async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let called = 0;
  const runner = new MergeRunner(() => {
    called++;
    return gate;
  });
  const gen = new NginxLogGenerator(9);
  try {
    const a = segments(gen, 20, 2);
    const done = runner.merge({ inputs: a, output: join(dir, '0000000300.seg'), id: '0000000300', configVersion: 1 });
    assert.equal(called, 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(runner.running, false, 'no merge worker while beforeMerge is pending');
    release();
    await done;
    const r = SegmentReader.open(join(dir, '0000000300.seg'));
    assert.equal(r.n, 400);
    r.close();
  } finally {
    await runner.close();
  }
});

test('after a large merge the worker stops as soon as no merge is queued; after a small one it is kept', async () => {
  const runner = new MergeRunner();
  const gen = new NginxLogGenerator(11);
  try {
    const a = segments(gen, 40, 2);
    await runner.merge({ inputs: a, output: join(dir, '0000000400.seg'), id: '0000000400', configVersion: 1 }, 400);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(runner.running, true, 'a worker that merged little is kept for the next merge');
    const b = segments(gen, 50, 2);
    // `rows` is what the caller says the merge writes: the worker's memory grows with it.
    await runner.merge(
      { inputs: b, output: join(dir, '0000000500.seg'), id: '0000000500', configVersion: 1 },
      STOP_AFTER_ROWS,
    );
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(runner.running, false, 'the worker is stopped right after a large merge');
  } finally {
    await runner.close();
  }
});
