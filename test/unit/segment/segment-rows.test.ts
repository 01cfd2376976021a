/**
 * SegmentReader.rows reads a page block by block, through the block cache, the cache of one-value blocks or a scratch
 * decode depending on how many of the page's rows share a block: every path must return exactly the cells a plain
 * whole-column decode (columnValues) gives, in the order of the ids asked, with absent cells left out.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { NginxLogGenerator } from '../../../bench/nginx-generator.js';
import { HeadPart } from '../../../src/index/head-part.js';
import { compileIndex, DEFAULT_TOKENS } from '../../../src/index/index-config.js';
import type { StoredRow } from '../../../src/storage/segment/part.js';
import { SegmentReader } from '../../../src/storage/segment/segment-reader.js';
import { writeSegment } from '../../../src/storage/segment/segment-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-segrows-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function build(): SegmentReader {
  const compiled = compileIndex(
    { config: { line: { token: [...DEFAULT_TOKENS], caseSensitive: false } }, version: 1, lastModifyTime: 0 },
    30,
  );
  const head = new HeadPart('x', compiled);
  const gen = new NginxLogGenerator(7, 1_767_225_600);
  for (let g = 0; g < 5; g++) {
    const group = gen.group(1000, `10.0.0.${g}`);
    const logs = group.logs.map((log, i) => ({
      time: log.time,
      contents: [
        ...log.contents,
        // Sparse and long cells: absent in most rows, a multi-byte varint length in some, non-ASCII text.
        ...(i % 7 === 0 ? [{ key: 'note', value: `ünïcode ${i} ${'x'.repeat(i % 300)}` }] : []),
      ],
    }));
    head.addGroup('0-0', g, logs, group.topic ?? '', group.source ?? '', group.tags ?? []);
  }
  const path = join(dir, 'rows.seg');
  writeSegment(path, head.toSource('0000000001', 1));
  return SegmentReader.open(path);
}

test('rows(): every read path returns the cells of a plain column decode', () => {
  const seg = build();
  try {
    const columns = seg.footer.columns.map((c) => ({ name: c.name, values: seg.columnValues(c.name) }));
    const expected = (id: number): StoredRow => ({
      time: seg.time(id),
      fields: columns.flatMap((c) => (c.values[id] === undefined ? [] : [[c.name, c.values[id]!] as [string, string]])),
    });
    assert.ok(columns.some((c) => c.name === 'note'));
    const check = (ids: number[], label: string): void => {
      const got = seg.rows(ids);
      assert.equal(got.length, ids.length, label);
      ids.forEach((id, k) => {
        assert.deepEqual(got[k], expected(id), `${label}: row ${id}`);
      });
    };
    // One row per block, descending (a sparse page, newest first): scratch decodes.
    check([4999, 3500, 2100, 1030, 5], 'one row per block');
    // Several rows of one block, unordered and repeated: the block cache.
    check([2050, 2047, 2048, 2900, 2050, 2049, 3071], 'rows sharing blocks');
    // Single rows of one block, one call each (phrase checks): scratch, then admitted to the block cache, then cached.
    for (const id of [1100, 1101, 1102, 1200]) check([id], `single row ${id}`);
    // The same rows again: the row cache.
    check([2050, 4999, 5], 'cached rows');
    // More rows than a page (bulk reads bypass the caches), ascending, every block's first and last row.
    const bulk: number[] = [];
    for (let id = 0; id < seg.n; id += 3) bulk.push(id);
    for (let b = 0; b * 1024 < seg.n; b++) bulk.push(b * 1024, Math.min(seg.n, (b + 1) * 1024) - 1);
    bulk.sort((a, b) => a - b);
    check(bulk, 'bulk');
    check([], 'empty');
  } finally {
    seg.close();
  }
});
