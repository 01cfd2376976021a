/**
 * The decoded data of pages (format 1 column blocks, format 2 to 4 row groups) share one byte budget: a data dir holding
 * both formats (one converting as its segments merge) must not hold a full budget of each. Reads through a small
 * budget still return exactly the cells of a plain column decode, including single-row reads in a row (phrase
 * checks), which reuse the group last decoded into the scratch buffers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { NginxLogGenerator } from '../../../bench/nginx-generator.js';
import { HeadPart } from '../../../src/index/head-part.js';
import { compileIndex, DEFAULT_TOKENS } from '../../../src/index/index-config.js';
import type { StoredRow } from '../../../src/storage/segment/part.js';
import {
  DECODED_CACHE_BYTES,
  decodedCacheStats,
  SegmentReader,
  setDecodedCacheBudget,
} from '../../../src/storage/segment/segment-reader.js';
import { writeSegment } from '../../../src/storage/segment/segment-writer.js';
import { REPO_ROOT } from '../../helpers/server-process.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-segcache-'));
after(() => {
  setDecodedCacheBudget(DECODED_CACHE_BYTES);
  rmSync(dir, { recursive: true, force: true });
});

function buildV3(name: string): SegmentReader {
  const compiled = compileIndex(
    { config: { line: { token: [...DEFAULT_TOKENS], caseSensitive: false } }, version: 1, lastModifyTime: 0 },
    30,
  );
  const head = new HeadPart('x', compiled);
  const gen = new NginxLogGenerator(11, 1_767_225_600);
  for (let g = 0; g < 4; g++) {
    const group = gen.group(1000, `10.0.1.${g}`);
    head.addGroup('0-0', g, group.logs, group.topic ?? '', group.source ?? '', group.tags ?? []);
  }
  const path = join(dir, `${name}.seg`);
  writeSegment(path, head.toSource('0000000001', 1));
  return SegmentReader.open(path);
}

function expectedRows(seg: SegmentReader): (id: number) => StoredRow {
  const columns = seg.footer.columns.map((c) => ({ name: c.name, values: seg.columnValues(c.name) }));
  return (id) => ({
    time: seg.time(id),
    fields: columns.flatMap((c) => (c.values[id] === undefined ? [] : [[c.name, c.values[id]!] as [string, string]])),
  });
}

test('format 1 blocks and format 4 groups share one decoded-data budget', () => {
  const v1 = SegmentReader.open(join(REPO_ROOT, 'test', 'fixtures', 'segment-v1.seg'));
  const v3 = buildV3('budget');
  const budget = 160 * 1024;
  setDecodedCacheBudget(budget);
  try {
    assert.equal(v3.footer.format, 5);
    const R = v3.footer.groupRows!;
    const want1 = expectedRows(v1);
    const want3 = expectedRows(v3);
    const page = (seg: SegmentReader, want: (id: number) => StoredRow, ids: number[]): void => {
      const got = seg.rows(ids);
      ids.forEach((id, k) => {
        assert.deepEqual(got[k], want(id), `${seg.path} row ${id}`);
      });
      const { bytes } = decodedCacheStats();
      assert.ok(bytes <= budget, `${bytes} bytes cached, budget ${budget}`);
    };
    // Pages of two rows per block / group (admitted to the cache), every block of the format 1 file...
    for (let b = 0; b * 1024 < v1.n; b++) page(v1, want1, [b * 1024 + 1, b * 1024 + 2]);
    const afterV1 = decodedCacheStats();
    assert.ok(afterV1.entries > 0 && afterV1.bytes > 0);
    // ...then every group of the format 4 one: more than the budget in all, so the blocks age out with the groups.
    for (let g = 0; g * R < v3.n; g++) page(v3, want3, [g * R + 3, g * R + R - 4]);
    assert.ok(decodedCacheStats().entries > 0);
    // Single rows in a row (phrase checks), some sharing a group, others not, then back to an earlier group.
    for (const id of [3001, 3002, 3050, 3200, 3201, 3001, 129, 3002]) page(v3, want3, [id]);
  } finally {
    v1.close();
    v3.close();
    setDecodedCacheBudget(DECODED_CACHE_BYTES);
  }
});

test('rows(ids, only) returns just those fields (or a whole row read before), and a later whole read is whole', () => {
  const v1 = SegmentReader.open(join(REPO_ROOT, 'test', 'fixtures', 'segment-v1.seg'));
  const v3 = buildV3('only');
  const readWhole = new Set<string>();
  try {
    for (const [seg, field] of [
      [v1, 'long'],
      [v3, 'request_uri'],
      [v3, 'status'],
    ] as const) {
      const want = expectedRows(seg);
      const only = new Set([field]);
      const ids = [0, 97, 1000, 1001, 1100, 2522, seg.n - 1];
      // One row at a time (lazy phrase checks) and all at once (verification in bulk), ascending and descending.
      for (const order of [ids, [...ids].reverse()]) {
        const single = order.map((id) => seg.rows([id], only)[0]!);
        const batch = seg.rows(order, only);
        order.forEach((id, k) => {
          const w = want(id);
          const part = { time: w.time, fields: w.fields.filter(([name]) => name === field) };
          // A row read whole before may come back whole (the row cache); the others hold just the field.
          const before = readWhole.has(`${seg.path}#${id}`);
          for (const got of [single[k], batch[k]])
            assert.ok(
              isDeepStrictEqual(got, part) || (before && isDeepStrictEqual(got, w)),
              `${seg.path} ${field} row ${id}`,
            );
        });
      }
      const whole = seg.rows(ids);
      ids.forEach((id, k) => {
        readWhole.add(`${seg.path}#${id}`);
        assert.deepEqual(whole[k], want(id), `${seg.path} whole row ${id}`);
      });
    }
  } finally {
    v1.close();
    v3.close();
  }
});

test('the recent groups of bulk reads count against the same budget as pages', () => {
  const v3 = buildV3('bulk');
  const budget = 200 * 1024;
  setDecodedCacheBudget(budget);
  try {
    const want = expectedRows(v3);
    // Fill the budget with pages' groups (two rows per group: admitted to the cache)...
    const R = v3.footer.groupRows!;
    for (let g = 0; g * R < v3.n; g++) v3.rows([g * R + 5, g * R + 6]);
    assert.ok(decodedCacheStats().bytes > budget / 2);
    // ...then a bulk read of every row, two columns, group by group (SQL, sidecars): its groups evict the pages'.
    const ids = Array.from({ length: v3.n }, (_, i) => i);
    const cells = v3.cellsOfRows(['request_uri', 'status'], ids);
    for (const id of [0, 127, 128, 2000, v3.n - 1]) {
      const w = want(id).fields;
      assert.equal(cells[0]![id], w.find(([k]) => k === 'request_uri')?.[1]);
      assert.equal(cells[1]![id], w.find(([k]) => k === 'status')?.[1]);
    }
    const { bytes, bulkBytes } = decodedCacheStats();
    assert.ok(bulkBytes > 0, 'bulk groups are charged');
    // At most one group over: the newest bulk group stays while its read uses it.
    assert.ok(bytes + bulkBytes <= budget + 64 * 1024, `${bytes} + ${bulkBytes} bytes held, budget ${budget}`);
  } finally {
    v3.close();
    setDecodedCacheBudget(DECODED_CACHE_BYTES);
  }
});
