/**
 * Restarts: the indexer stops with an unsealed head (what a crash leaves) and a new one resumes from the segments'
 * recorded shard-log ranges, replaying only the tail; a merge interrupted after writing its output but before
 * deleting its inputs is resolved at open. In both, every log is found exactly once.
 *
 * If resumption double counted, the `*` count would exceed 1000; if it skipped, some `n` would be missing.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileIndex } from '../../../src/index/index-config.js';
import { INDEX_KIND, type StoredIndex } from '../../../src/index/index-registry.js';
import { Indexer } from '../../../src/index/indexer.js';
import { LogstoreIndex } from '../../../src/index/logstore-index.js';
import { FileMetaStore } from '../../../src/meta/embedded/file-meta-store.js';
import { mergeSource } from '../../../src/storage/segment/segment-merge.js';
import { writeSegment } from '../../../src/storage/segment/segment-writer.js';
import { allN, CONFIG, MANUAL_SEALS, record, source, tempDirs, waitRows } from '../../helpers/indexer-kit.js';

const tempDir = tempDirs('sluice-idx-restart-');

for (const worker of [false, true]) {
  test(`a restart with unsealed logs replays only the tail: nothing lost, nothing twice (worker ${worker})`, async () => {
    const dir = tempDir();
    const meta = await FileMetaStore.open(join(dir, 'meta'));
    const doc: StoredIndex = { config: CONFIG, lastModifyTime: 0, version: 1, uid: 'u1', startSeqs: {} };
    await meta.updateResource<StoredIndex>(INDEX_KIND, 'p/ls/', () => doc);
    const records = Array.from({ length: 10 }, (_, s) => record(s, 100));
    const options = {
      sealRows: 250,
      sealAgeMs: 1e12,
      maxSegments: 2,
      maxSegmentRows: 1e9,
      mergeRatio: 0,
      pollMs: 5,
      batchRecords: 3,
      worker,
      flushBytes: 1,
      flushMs: 1e12,
    };

    const first = new Indexer(meta, source(records), join(dir, 'index'), options);
    first.start();
    if (worker) {
      // Stop while builds may still be queued on the worker.
      for (let i = 0; i < 500 && (first.stats('p', 'ls')?.rows ?? 0) < 300; i++) await first.nextPass();
    } else {
      await waitRows(first, 1000);
      const before = first.searchable('p', 'ls');
      assert.ok(
        before.parts.some((p) => !p.timeSorted && p.n > 0),
        'some rows are still in the unsealed head',
      );
      assert.deepEqual(
        allN(before.config, before.parts),
        Array.from({ length: 1000 }, (_, i) => i),
      );
    }
    await first.stop(); // unsealed rows are dropped, as in a crash

    const second = new Indexer(meta, source(records), join(dir, 'index'), options);
    second.start();
    await waitRows(second, 1000);
    const again = second.searchable('p', 'ls');
    assert.deepEqual(
      allN(again.config, again.parts),
      Array.from({ length: 1000 }, (_, i) => i),
    );
    // More records after the restart continue from where the log ends.
    records.push(record(10, 100));
    await waitRows(second, 1100);
    const more = second.searchable('p', 'ls');
    assert.deepEqual(
      allN(more.config, more.parts),
      Array.from({ length: 1100 }, (_, i) => i),
    );
    await second.stop();
    await meta.close();
  });
}

for (const worker of [false, true]) {
  test(`a gap left by a lost build is filled and ranges already built are skipped (worker ${worker})`, async () => {
    const dir = tempDir();
    const meta = await FileMetaStore.open(join(dir, 'meta'));
    const doc: StoredIndex = { config: CONFIG, lastModifyTime: 0, version: 1, uid: 'u1', startSeqs: {} };
    await meta.updateResource<StoredIndex>(INDEX_KIND, 'p/ls/', () => doc);
    const records = Array.from({ length: 15 }, (_, s) => record(s, 10));
    // Records 5..9 were built (a later parallel build) but 0..4 were not when the process died.
    const compiled = compileIndex(doc, 30);
    const pre = LogstoreIndex.open(join(dir, 'index', 'p', 'ls', 'u1'), compiled, MANUAL_SEALS);
    for (let s = 5; s < 10; s++) pre.add('0-0', s, records[s]!.payload);
    pre.seal();
    pre.close();

    const options = { ...MANUAL_SEALS, pollMs: 5, batchRecords: 4, worker, flushBytes: 1, flushMs: 1e12 };
    const indexer = new Indexer(meta, source(records), join(dir, 'index'), options);
    indexer.start();
    await waitRows(indexer, 150);
    const s = indexer.searchable('p', 'ls');
    assert.deepEqual(
      allN(s.config, s.parts),
      Array.from({ length: 150 }, (_, i) => i),
    );
    const p = await indexer.progress('p', 'ls');
    assert.deepEqual(p, { indexedRecords: 15, totalRecords: 15 });
    await indexer.stop();
    await meta.close();
  });
}

test('a crash between writing a merge and deleting its inputs neither loses nor double counts', () => {
  const dir = tempDir();
  const compiled = compileIndex({ config: CONFIG, lastModifyTime: 0, version: 1 }, 30);
  const idx = LogstoreIndex.open(dir, compiled, MANUAL_SEALS);
  for (let s = 0; s < 3; s++) {
    idx.add('0-0', s, record(s, 50).payload);
    idx.seal();
  }
  idx.add('0-0', 3, record(3, 50).payload);
  idx.seal();
  // Write the merge of the first three as the merge would, then "crash" before the inputs are deleted.
  const segments = idx.parts().filter((p) => p.timeSorted) as Parameters<typeof mergeSource>[0][number][];
  const inputs = segments.slice(0, 3);
  writeSegment(join(dir, '9999999999.seg'), mergeSource(inputs, '9999999999', 1));
  idx.close();

  const reopened = LogstoreIndex.open(dir, compiled, MANUAL_SEALS);
  assert.equal(reopened.segmentCount(), 2);
  assert.equal(reopened.rowCount(), 200);
  assert.deepEqual(
    allN(reopened.config, reopened.parts()),
    Array.from({ length: 200 }, (_, i) => i),
  );
  assert.equal(reopened.resumeAt('0-0', 0), 4);
  reopened.close();
});
