/**
 * Range reindex: `IndexRegistry.rebuild` of shard-log records [from, to) moves the index to a new folder that keeps
 * (hard-links) the old segments holding no record of the range and re-indexes the rest, so every log is found
 * exactly once; records outside the range that the old index never held stay unindexed.
 *
 * If carried segments overlapped the range the `*` list would hold duplicates; if skips were lost, extra n appear.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { INDEX_KIND, IndexRegistry, type StoredIndex, subtract } from '../../../src/index/index-registry.js';
import { Indexer } from '../../../src/index/indexer.js';
import { FileMetaStore } from '../../../src/meta/embedded/file-meta-store.js';
import { allN, CONFIG, record, source, tempDirs, waitRows } from '../../helpers/indexer-kit.js';

const tempDir = tempDirs('sluice-idx-range-');

const OPTIONS = {
  sealRows: 50,
  sealAgeMs: 1e12,
  maxSegments: 100,
  maxSegmentRows: 1e9,
  mergeRatio: 0,
  pollMs: 5,
  batchRecords: 5,
  worker: false,
  flushBytes: 1,
  flushMs: 1e12,
};

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

async function waitProgress(indexer: Indexer, rows: number): Promise<{ indexedRecords: number; totalRecords: number }> {
  for (let i = 0; i < 500; i++) {
    const p = await indexer.progress('p', 'ls');
    if (p.indexedRecords === p.totalRecords && indexer.stats('p', 'ls')?.rows === rows) return p;
    await indexer.nextPass();
  }
  assert.fail(`rebuild did not finish: ${JSON.stringify(indexer.stats('p', 'ls'))}`);
}

/** Segment file name -> inode (a carried segment keeps both; a freed inode may be reused by a new file). */
function segmentInodes(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of readdirSync(dir)) if (f.endsWith('.seg')) out.set(f, statSync(join(dir, f)).ino);
  return out;
}

test('subtract removes [from, to) from a list of ranges', () => {
  assert.deepEqual(
    subtract(
      [
        [0, 10],
        [20, 30],
      ],
      5,
      25,
    ),
    [
      [0, 5],
      [25, 30],
    ],
  );
  assert.deepEqual(subtract([[0, 10]], 0, 10), []);
  assert.deepEqual(subtract([[3, 4]], 5, Number.POSITIVE_INFINITY), [[3, 4]]);
});

test('a range rebuild keeps segments outside the range and finds every log once', async (t) => {
  const dir = tempDir();
  const meta = await FileMetaStore.open(join(dir, 'meta'));
  const registry = new IndexRegistry(meta);
  const doc: StoredIndex = { config: CONFIG, lastModifyTime: 0, version: 1, uid: 'u1', startSeqs: {} };
  await meta.updateResource<StoredIndex>(INDEX_KIND, 'p/ls/', () => doc);
  const records = Array.from({ length: 20 }, (_, s) => record(s, 10));
  const indexer = new Indexer(meta, source(records), join(dir, 'index'), OPTIONS);
  t.after(async () => {
    await indexer.stop();
    await meta.close();
  });
  indexer.start();
  await waitRows(indexer, 200);
  const oldDir = join(dir, 'index', 'p', 'ls', 'u1');
  const before = segmentInodes(oldDir);
  assert.ok(before.size >= 3, `several segments: ${before.size}`);

  const next = await registry.rebuild('p', 'ls', 0, 0, { '0-0': [7, 12] });
  const p = await waitProgress(indexer, 200);
  assert.deepEqual(p, { indexedRecords: 5, totalRecords: 5 }, 'progress counts the range only');
  const s = indexer.searchable('p', 'ls');
  assert.deepEqual(allN(s.config, s.parts), range(0, 200));
  // The segments wholly outside [7, 12) are the same files (hard links), not re-indexed copies.
  const after = segmentInodes(join(dir, 'index', 'p', 'ls', next.uid));
  const carried = [...after].filter(([name, ino]) => before.get(name) === ino);
  assert.ok(carried.length >= 1, 'some segments were carried over');
  assert.ok(carried.length < before.size, 'a segment holding the range was not');
});

test('a range rebuild of logs older than the index indexes that range only', async (t) => {
  const dir = tempDir();
  const meta = await FileMetaStore.open(join(dir, 'meta'));
  const registry = new IndexRegistry(meta);
  // The index was created when the shard log held 15 records.
  const doc: StoredIndex = { config: CONFIG, lastModifyTime: 0, version: 1, uid: 'u1', startSeqs: { '0-0': 15 } };
  await meta.updateResource<StoredIndex>(INDEX_KIND, 'p/ls/', () => doc);
  const records = Array.from({ length: 20 }, (_, s) => record(s, 10));
  const indexer = new Indexer(meta, source(records), join(dir, 'index'), OPTIONS);
  t.after(async () => {
    await indexer.stop();
    await meta.close();
  });
  indexer.start();
  await waitRows(indexer, 50);
  await registry.rebuild('p', 'ls', 0, 0, { '0-0': [3, 6] });
  assert.deepEqual(await waitProgress(indexer, 80), { indexedRecords: 3, totalRecords: 3 });
  let s = indexer.searchable('p', 'ls');
  assert.deepEqual(allN(s.config, s.parts), [...range(30, 60), ...range(150, 200)]);
  // A second range next to it: the first range's logs keep their entries, [6, 15) still is not indexed.
  await registry.rebuild('p', 'ls', 0, 0, { '0-0': [0, 2] });
  assert.deepEqual(await waitProgress(indexer, 100), { indexedRecords: 2, totalRecords: 2 });
  s = indexer.searchable('p', 'ls');
  assert.deepEqual(allN(s.config, s.parts), [...range(0, 20), ...range(30, 60), ...range(150, 200)]);
});
