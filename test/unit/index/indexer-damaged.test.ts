/**
 * A damaged segment file does not take its logstore's search down. One that cannot be opened is moved aside at start
 * (`.seg.damaged`) and the records it held are indexed again from the shard log; one that opens but that a merge
 * cannot read is moved aside by that merge and the other segments merge on; its records are built again at once when
 * builds run on the workers (as in the server), else by the next start. Every log is found exactly once afterwards.
 *
 * Before: the index of the logstore failed to open (every pass retried and failed), and a merge over a damaged input
 * failed again after every back-off, its inputs never merged.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileIndex } from '../../../src/index/index-config.js';
import { INDEX_KIND, type StoredIndex } from '../../../src/index/index-registry.js';
import { Indexer } from '../../../src/index/indexer.js';
import { LogstoreIndex } from '../../../src/index/logstore-index.js';
import { FileMetaStore } from '../../../src/meta/embedded/file-meta-store.js';
import { MergeRunner } from '../../../src/storage/segment/merge-runner.js';
import { mergeSegments } from '../../../src/storage/segment/segment-merge.js';
import { SegmentReader } from '../../../src/storage/segment/segment-reader.js';
import { allN, CONFIG, MANUAL_SEALS, record, source, tempDirs, waitRows } from '../../helpers/indexer-kit.js';

const tempDir = tempDirs('sluice-idx-damaged-');

/** Three segments of records 0-4, 5-9 and 10-14 (10 logs each) in the index folder of p/ls under `dir`. */
function threeSegments(dir: string, doc: StoredIndex): string[] {
  const idx = LogstoreIndex.open(join(dir, 'index', 'p', 'ls', doc.uid), compileIndex(doc, 30), MANUAL_SEALS);
  for (let s = 0; s < 15; s++) {
    idx.add('0-0', s, record(s, 10).payload);
    if (s % 5 === 4) idx.seal();
  }
  idx.close();
  const folder = join(dir, 'index', 'p', 'ls', doc.uid);
  return readdirSync(folder)
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .map((f) => join(folder, f));
}

/**
 * Flips the first bit (from the start of the file) after which the segment still opens but a merge of it fails: a
 * damaged posting or token block, found only by reading it.
 */
function damageInside(path: string): void {
  const intact = readFileSync(path);
  for (let at = 0; at < intact.length; at++) {
    for (let bit = 0; bit < 8; bit++) {
      const bytes = Buffer.from(intact);
      bytes[at] = bytes[at]! ^ (1 << bit);
      writeFileSync(path, bytes);
      let r: SegmentReader;
      try {
        r = SegmentReader.open(path);
      } catch {
        continue;
      }
      const out = `${path}.probe`;
      try {
        mergeSegments([r], out, '9999999998', 1);
      } catch {
        return;
      } finally {
        r.close();
        rmSync(out, { force: true });
      }
    }
  }
  throw new Error('no bit of the file breaks a merge');
}

async function setUp(): Promise<{ dir: string; meta: FileMetaStore; doc: StoredIndex }> {
  const dir = tempDir();
  const meta = await FileMetaStore.open(join(dir, 'meta'));
  const doc: StoredIndex = { config: CONFIG, lastModifyTime: 0, version: 1, uid: 'u1', startSeqs: {} };
  await meta.updateResource<StoredIndex>(INDEX_KIND, 'p/ls/', () => doc);
  return { dir, meta, doc };
}

const ALL = Array.from({ length: 150 }, (_, i) => i);

/** The 15 records every test's logstore holds (150 logs). */
const RECORDS = Array.from({ length: 15 }, (_, s) => record(s, 10));

type IndexerOptions = ConstructorParameters<typeof Indexer>[3];

/** An indexer over RECORDS, started, once all 150 logs are searchable, each once. */
async function indexAll(
  meta: FileMetaStore,
  dir: string,
  options: IndexerOptions,
  log?: (l: string) => void,
): Promise<Indexer> {
  const indexer = new Indexer(meta, source(RECORDS), join(dir, 'index'), options, log);
  indexer.start();
  await waitRows(indexer, 150);
  const s = indexer.searchable('p', 'ls');
  assert.deepEqual(allN(s.config, s.parts), ALL);
  return indexer;
}

// Young segments are not fsynced (the shard log is what a crash recovers from): after a crash one may be cut short,
// empty (its pages never reached the disk), or gone (the rename never did). Each time its logs come back, once.
const CRASH_CASES = [
  [false, 'cut'],
  [true, 'cut'],
  [true, 'empty'],
  [true, 'missing'],
] as const;
for (const [worker, kind] of CRASH_CASES) {
  test(`a segment that cannot be opened is moved aside and its logs indexed again (worker ${worker}, ${kind})`, async () => {
    const { dir, meta, doc } = await setUp();
    const segs = threeSegments(dir, doc);
    const damaged = segs[1]!;
    if (kind === 'cut')
      writeFileSync(damaged, readFileSync(damaged).subarray(0, 100)); // a half-written copy: no footer
    else if (kind === 'empty') writeFileSync(damaged, Buffer.alloc(0));
    else rmSync(damaged);
    const lines: string[] = [];
    const options = { ...MANUAL_SEALS, pollMs: 5, batchRecords: 4, worker, flushBytes: 1, flushMs: 1e12 };
    const indexer = await indexAll(meta, dir, options, (l) => lines.push(l));
    assert.deepEqual(await indexer.progress('p', 'ls'), { indexedRecords: 15, totalRecords: 15 });
    if (kind !== 'missing') {
      assert.ok(existsSync(`${damaged}.damaged`) && !existsSync(damaged), 'the damaged file is kept aside');
      assert.ok(
        lines.some((l) => l.includes(damaged) && l.includes('damaged')),
        `the move is logged: ${lines.join('\n')}`,
      );
    }
    await indexer.stop();
    await meta.close();
  });
}

for (const runner of [undefined, new MergeRunner()]) {
  test(`a merge that finds a damaged input moves it aside and merges the rest (${runner ? 'worker' : 'in process'})`, async () => {
    const { dir, meta, doc } = await setUp();
    const segs = threeSegments(dir, doc);
    const damaged = segs[1]!;
    damageInside(damaged);
    const lines: string[] = [];
    const folder = join(dir, 'index', 'p', 'ls', doc.uid);
    const idx = LogstoreIndex.open(folder, compileIndex(doc, 30), { ...MANUAL_SEALS, maxSegments: 1 }, (l) =>
      lines.push(l),
    );
    assert.equal(idx.segmentCount(), 3, 'the damage is not seen at open');
    assert.equal(await idx.mergeOnce(runner), false);
    assert.ok(existsSync(`${damaged}.damaged`) && !existsSync(damaged));
    assert.ok(lines.some((l) => l.includes(damaged)));
    assert.equal(idx.segmentCount(), 2);
    assert.equal(await idx.mergeOnce(runner), true, 'the other two merge');
    assert.equal(idx.segmentCount(), 1);
    assert.deepEqual(allN(idx.config, idx.parts()), [...ALL.slice(0, 50), ...ALL.slice(100)]);
    idx.close();
    await runner?.close();

    // The next start indexes the records the damaged segment held, once.
    const options = { ...MANUAL_SEALS, pollMs: 5, batchRecords: 4, worker: false, flushBytes: 1, flushMs: 1e12 };
    const indexer = await indexAll(meta, dir, options);
    await indexer.stop();
    await meta.close();
  });
}

test('with builds on the workers, a damaged segment a merge moved aside is built again at once, each log once', async () => {
  const { dir, meta, doc } = await setUp();
  const segs = threeSegments(dir, doc);
  const damaged = segs[1]!;
  damageInside(damaged);
  const lines: string[] = [];
  // At most 2 segments: the three merge, and the damaged one is found by that merge.
  const options = {
    ...MANUAL_SEALS,
    maxSegments: 2,
    pollMs: 5,
    batchRecords: 4,
    worker: true,
    flushBytes: 1,
    flushMs: 1e12,
  };
  const indexer = new Indexer(meta, source(RECORDS), join(dir, 'index'), options, (l) => lines.push(l));
  indexer.start();
  let found: number[] = [];
  for (let i = 0; i < 500; i++) {
    await indexer.nextPass();
    if (!existsSync(`${damaged}.damaged`)) continue;
    const s = indexer.searchable('p', 'ls');
    found = allN(s.config, s.parts);
    if (found.length >= 150) break;
  }
  assert.ok(existsSync(`${damaged}.damaged`), `moved aside: ${lines.join('\n')}`);
  assert.deepEqual(found, ALL);
  assert.ok(lines.some((l) => l.includes(damaged) && l.includes('indexed again now')));
  // Later passes (merges of the rebuilt segment with the rest) keep every log once.
  for (let i = 0; i < 20; i++) await indexer.nextPass();
  const s = indexer.searchable('p', 'ls');
  assert.deepEqual(allN(s.config, s.parts), ALL);
  await indexer.stop();

  // And a restart finds them all, once: the rebuilt segment records what it holds.
  const again = await indexAll(meta, dir, { ...options, maxSegments: 100 });
  await again.stop();
  await meta.close();
});
