import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CheckpointStore } from '../../../src/consumer/checkpoint-store.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function dir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sluice-cp-'));
  dirs.push(d);
  return d;
}

const cp = (seq: number) => ({ seq, consumer: 'c1', updateTimeUs: 1 });

test('checkpoints are durable: a new store over the same folder reads them back', async () => {
  const root = await dir();
  const a = new CheckpointStore(root);
  await a.update('p/ls/g', 'id1', 0, cp(10));
  await a.update('p/ls/g', 'id1', 1, cp(20));
  const b = new CheckpointStore(root);
  assert.deepEqual(
    [...(await b.list('p/ls/g', 'id1'))],
    [
      [0, cp(10)],
      [1, cp(20)],
    ],
  );
});

test('concurrent updates coalesce and all land; the last value of a shard wins', async () => {
  const root = await dir();
  const store = new CheckpointStore(root);
  await Promise.all(Array.from({ length: 50 }, (_, i) => store.update('p/ls/g', 'id1', i % 5, cp(i))));
  const file = JSON.parse(await readFile(join(root, 'p/ls/g.json'), 'utf8')) as {
    checkpoints: Record<string, { seq: number }>;
  };
  assert.deepEqual(
    Object.entries(file.checkpoints).map(([s, c]) => [Number(s), c.seq]),
    [
      [0, 45],
      [1, 46],
      [2, 47],
      [3, 48],
      [4, 49],
    ],
  );
});

test('a group recreated under the same name (new id) starts empty; remove deletes the file', async () => {
  const root = await dir();
  const store = new CheckpointStore(root);
  await store.update('p/ls/g', 'old', 0, cp(10));
  assert.equal((await new CheckpointStore(root).list('p/ls/g', 'new')).size, 0);
  await store.reset('p/ls/g', 'new');
  assert.equal((await store.list('p/ls/g', 'new')).size, 0);
  await store.remove('p/ls/g');
  await assert.rejects(readFile(join(root, 'p/ls/g.json')), { code: 'ENOENT' });
});
