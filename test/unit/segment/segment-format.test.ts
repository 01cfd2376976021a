/**
 * Segment format 5 (format 4 with packed dictionaries and a binary group table) stores the columns in row groups of GROUP_ROWS rows (a zstd frame of the narrow columns' cells
 * and one of the wide ones), compressed against the segment's dictionary (young segments: YOUNG_GROUP_ROWS rows, no
 * dictionary). Older files must still open, read and merge: test/fixtures/segment-v1.seg was written by the format 1
 * writer (commit f432509: per-column blocks of 1,024 rows) from `cell` below, segment-v2.seg by the format 2 writer
 * (318e711: one zstd frame per group), segment-v3.seg by the format 3 writer (7ee4905: 128-row groups, no
 * dictionary), segment-v4.seg by the format 4 writer (773af60: 16-row groups against a 4 KB dictionary, the groups'
 * ranges as JSON in the footer, plain dictionary entries). Every reader path (pages, single cells, bulk cells, whole columns, block bytes, merge cursors) must
 * give the same cells for every format and for a merge of formats 1 and 4. If group reading breaks (headers, frames,
 * sections, the dictionary, groups cut at group boundaries) or an older format stops opening, these comparisons fail.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { NginxLogGenerator } from '../../../bench/nginx-generator.js';
import { ByteReader } from '../../../src/storage/segment/bytes.js';
import { count } from '../../../src/storage/segment/doc-set.js';
import {
  BLOCK_ROWS,
  type ByteRange,
  GROUP_ROWS,
  GroupTable,
  YOUNG_GROUP_ROWS,
} from '../../../src/storage/segment/segment-format.js';
import { mergeSegments, mergeSource } from '../../../src/storage/segment/segment-merge.js';
import { SegmentReader } from '../../../src/storage/segment/segment-reader.js';
import {
  compareTokens,
  type SegmentSource,
  writeSegment,
  YOUNG_SEGMENT,
} from '../../../src/storage/segment/segment-writer.js';
import { REPO_ROOT } from '../../helpers/server-process.js';

/** Every row group's range, in order. */
function ranges(seg: SegmentReader): (ByteRange | null)[] {
  return Array.from({ length: seg.groupCount }, (_, g) => seg.groupRange(g));
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-segformat-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const V1 = join(REPO_ROOT, 'test', 'fixtures', 'segment-v1.seg');
const V2 = join(REPO_ROOT, 'test', 'fixtures', 'segment-v2.seg');
const V3 = join(REPO_ROOT, 'test', 'fixtures', 'segment-v3.seg');
const V4 = join(REPO_ROOT, 'test', 'fixtures', 'segment-v4.seg');
const NAMES = ['a', 'b', 'c', 'long'];
const N = 2600;
const T0 = 1_767_225_600;

/** The cells of the fixture (and of the format 2 twin written here): dense, sparse, one block only, long. */
function cell(name: string, i: number): string | undefined {
  if (name === 'a') return `a${i}`;
  if (name === 'b') return i % 5 === 0 ? undefined : `b-${i % 17}`;
  if (name === 'c') return i >= 1024 && i < 1100 ? `c ${i} ünï` : undefined;
  if (name === 'long') return i % 97 === 0 ? 'x'.repeat(200 + (i % 50)) : undefined;
  return undefined;
}

/** The fixture's source; `shift` moves its times and renames its cells so a merge can tell the inputs apart. */
function source(id: string, shift: number, tag: string, cellOf = cell): SegmentSource {
  const times = new Uint32Array(N);
  for (let i = 0; i < N; i++) times[i] = T0 + shift + Math.floor(i / 3);
  const value = (name: string, i: number): string | undefined => {
    const v = cellOf(name, i);
    return v === undefined ? undefined : `${tag}${v}`;
  };
  const tokens = new Map<string, number[]>();
  for (let i = 0; i < N; i++) {
    const v = value('b', i);
    if (v !== undefined) tokens.set(v, [...(tokens.get(v) ?? []), i]);
  }
  const nums = new Map<number, number[]>();
  for (let i = 0; i < N; i++) nums.set(i % 10, [...(nums.get(i % 10) ?? []), i]);
  return {
    id,
    n: N,
    times,
    columns: NAMES.map((name) => ({ name, values: () => Array.from({ length: N }, (_, i) => value(name, i)) })),
    dicts: new Map([
      [
        'k:b',
        () =>
          [...tokens].sort((x, y) => compareTokens(x[0], y[0])).map(([t, ids]) => [t, Uint32Array.from(ids)] as const),
      ],
    ]),
    numbers: new Map([
      ['n:num', () => [...nums].sort((x, y) => x[0] - y[0]).map(([v, ids]) => [v, Uint32Array.from(ids)] as const)],
    ]),
    shards: { '0-0': [[0, 1]] },
    replaces: [],
    configVersion: 1,
  };
}

/** Every reader path of `seg` against `expected(name, row)`. */
function checkReads(seg: SegmentReader, expected: (name: string, row: number) => string | undefined, label: string) {
  const names = seg.footer.columns.map((c) => c.name);
  const row = (id: number) => ({
    time: seg.time(id),
    fields: names.flatMap((n) => (expected(n, id) === undefined ? [] : [[n, expected(n, id)!] as [string, string]])),
  });
  for (const name of names) {
    const values = seg.columnValues(name);
    for (let i = 0; i < seg.n; i++) assert.equal(values[i], expected(name, i), `${label}: columnValues ${name}[${i}]`);
    // Block bytes (sidecars, value counts): cells in row order per 1,024-row block, absent rows as 0 bytes.
    for (let b = 0; b * BLOCK_ROWS < seg.n; b++) {
      const buf = seg.columnBlockBytes(name, b);
      const rows = Math.min(BLOCK_ROWS, seg.n - b * BLOCK_ROWS);
      const r = buf ? new ByteReader(buf) : undefined;
      for (let k = 0; k < rows; k++) {
        let v: string | undefined;
        if (r && !r.done) {
          const l = r.varint();
          if (l > 0) v = buf!.toString('utf8', r.pos, r.pos + l - 1);
          r.pos += Math.max(0, l - 1);
        }
        assert.equal(v, expected(name, b * BLOCK_ROWS + k), `${label}: block ${b} of ${name}, row ${k}`);
      }
    }
  }
  // Pages across group and block boundaries, newest first, one row per group, several per group, repeated.
  const edges = [0, GROUP_ROWS - 1, GROUP_ROWS, GROUP_ROWS + 1, 2 * GROUP_ROWS - 1];
  edges.push(YOUNG_GROUP_ROWS - 1, YOUNG_GROUP_ROWS, YOUNG_GROUP_ROWS + 1, BLOCK_ROWS - 1, BLOCK_ROWS);
  const pages = [
    [seg.n - 1, 2000, 1500, 1050, 1030, 700, 5],
    edges,
    [...edges].reverse(),
    [1024, 1025, 1026, 1099, 1100, 1101],
    [seg.n - 1, seg.n - 2, seg.n - 1],
  ];
  for (const ids of pages) {
    assert.deepEqual(seg.rows(ids), ids.map(row), `${label}: rows ${ids.join(',')}`);
    assert.deepEqual(seg.rows(ids), ids.map(row), `${label}: rows again ${ids.join(',')}`);
    for (const id of ids) assert.equal(seg.cell('c', id), expected('c', id), `${label}: cell c ${id}`);
  }
  // Bulk reads: every third row, all columns at once and one at a time.
  const bulk: number[] = [];
  for (let i = 0; i < seg.n; i += 3) bulk.push(i);
  const cells = seg.cellsOfRows([...names, 'missing'], bulk);
  names.forEach((name, k) => {
    for (let i = 0; i < bulk.length; i++) {
      assert.equal(cells[k]![i], expected(name, bulk[i]!), `${label}: cellsOfRows ${name} ${bulk[i]}`);
    }
    const seen: [number, string | undefined][] = [];
    seg.eachCell(name, bulk, (id, v) => {
      seen.push([id, v]);
    });
    assert.deepEqual(
      seen,
      bulk.map((id) => [id, expected(name, id)]),
      `${label}: eachCell ${name}`,
    );
  });
  assert.ok(cells[names.length]!.every((v) => v === undefined));
  assert.equal(seg.rows(bulk).length, bulk.length);
  assert.equal(
    count(seg.term('k:b', 'b-3')),
    1 + Math.floor((seg.n - 1 - 3) / 17) - countFive(seg.n),
    `${label}: term`,
  );
}

/** Rows i < n with i % 17 === 3 and i % 5 === 0 (no `b` cell there). */
function countFive(n: number): number {
  let c = 0;
  for (let i = 3; i < n; i += 17) if (i % 5 === 0) c++;
  return c;
}

test('format 1 (per-column blocks), 2 (one frame per group), 3 (no dictionary) and 4 (JSON groups, plain dictionaries) segments still open and read on every path', () => {
  for (const [path, magic, format] of [
    [V1, 'SLUSEG01', undefined],
    [V2, 'SLUSEG02', 2],
    [V3, 'SLUSEG03', 3],
    [V4, 'SLUSEG04', 4],
  ] as const) {
    const seg = SegmentReader.open(path);
    try {
      assert.equal(readFileSync(path).subarray(0, 8).toString('latin1'), magic);
      assert.equal(seg.footer.format, format);
      assert.equal(seg.n, N);
      checkReads(seg, cell, magic);
    } finally {
      seg.close();
    }
  }
});

test('format 4 round trip: row groups of GROUP_ROWS rows against the dictionary, a partial last group, every read path', () => {
  // A dictionary of 4 KB (GROUP_DICT_BYTES is more than these rows hold): most groups are written against it.
  const path = join(dir, 'v4.seg');
  writeSegment(path, source('0000000002', 0, ''), { groupDict: 4096 });
  assert.equal(readFileSync(path).subarray(0, 8).toString('latin1'), 'SLUSEG05');
  const seg = SegmentReader.open(path);
  try {
    assert.equal(seg.footer.format, 5);
    assert.equal(seg.footer.groupRows, GROUP_ROWS);
    assert.equal(seg.groupCount, Math.ceil(N / GROUP_ROWS));
    assert.equal(seg.footer.groups, undefined, 'format 5 keeps the groups in a table');
    assert.ok(seg.footer.groupDict, 'a dictionary: the groups hold more than 4 KB');
    // The dictionary lies between the times and the first group.
    assert.ok(seg.footer.groupDict.off >= seg.footer.times.off + seg.footer.times.len);
    assert.ok(ranges(seg).every((g) => g === null || g.off >= seg.footer.groupDict!.off + seg.footer.groupDict!.len));
    assert.ok(seg.footer.columns.every((c) => c.blocks === undefined));
    checkReads(seg, cell, 'v4');
  } finally {
    seg.close();
  }
  // Wide sections (over 16 bytes a row) go to the second frame: a dense long column, wide in some groups only.
  const wideCell = (name: string, i: number): string | undefined =>
    name === 'long' ? (i < 1500 || i % 2 === 0 ? `${'w'.repeat(20 + (i % 40))}${i}` : undefined) : cell(name, i);
  const widePath = join(dir, 'v4-wide.seg');
  writeSegment(widePath, source('0000000005', 0, '', wideCell), { groupDict: 4096 });
  const wide = SegmentReader.open(widePath);
  try {
    assert.ok(wide.footer.groupDict);
    checkReads(wide, wideCell, 'v4 wide');
  } finally {
    wide.close();
  }
});

test('format 4 without a dictionary: young segments (YOUNG_GROUP_ROWS rows) and groups too small for one', () => {
  const young = join(dir, 'young.seg');
  writeSegment(young, source('0000000006', 0, ''), YOUNG_SEGMENT);
  const y = SegmentReader.open(young);
  try {
    assert.equal(y.footer.format, 5);
    assert.equal(y.footer.groupRows, YOUNG_GROUP_ROWS);
    assert.equal(y.groupCount, Math.ceil(N / YOUNG_GROUP_ROWS));
    assert.equal(y.footer.groupDict, undefined);
    checkReads(y, cell, 'young');
  } finally {
    y.close();
  }
  // Short cells only: the groups never reach GROUP_DICT_BYTES, so they are written plain when the segment ends.
  const tiny = (name: string, i: number): string | undefined => (name === 'b' ? cell(name, i) : undefined);
  const small = join(dir, 'small.seg');
  writeSegment(small, source('0000000007', 0, '', tiny));
  const s = SegmentReader.open(small);
  try {
    assert.equal(s.footer.groupDict, undefined);
    assert.equal(s.footer.groupRows, GROUP_ROWS);
    checkReads(s, tiny, 'small');
  } finally {
    s.close();
  }
});

test('on nginx logs, small groups against the dictionary take about the disk of 128-row groups without one', () => {
  const gen = new NginxLogGenerator(5, T0);
  const logs = Array.from({ length: 8 }, () => gen.group(1000).logs).flat();
  logs.sort((x, y) => x.time - y.time);
  const names = logs[0]!.contents.map((c) => c.key);
  const src: SegmentSource = {
    id: '0000000008',
    n: logs.length,
    times: Uint32Array.from(logs, (l) => l.time),
    columns: names.map((name) => ({
      name,
      values: () => logs.map((l) => l.contents.find((c) => c.key === name)?.value),
    })),
    dicts: new Map(),
    numbers: new Map(),
    shards: { '0-0': [[0, 1]] },
    replaces: [],
    configVersion: 1,
  };
  const withDict = join(dir, 'nginx-dict.seg');
  const plain = join(dir, 'nginx-128.seg');
  const dict32 = join(dir, 'nginx-dict-32.seg');
  writeSegment(withDict, src);
  writeSegment(plain, src, { groupRows: 128, groupDict: 0 });
  writeSegment(dict32, src, { groupRows: 32 });
  const a = SegmentReader.open(withDict);
  const b = SegmentReader.open(plain);
  const c = SegmentReader.open(dict32);
  try {
    const bytes = (seg: SegmentReader): number =>
      (seg.footer.groupDict?.len ?? 0) + ranges(seg).reduce((sum, g) => sum + (g?.len ?? 0), 0);
    assert.equal(a.footer.groupRows, GROUP_ROWS);
    assert.ok(a.footer.groupDict);
    // Without the dictionary, 32-row groups of these logs take ~35 % more than 128-row ones; with it, no more.
    // (GROUP_ROWS is 32 since session 19; the 16-row groups before took ~12 % more here, ~7 % over a 5M-log day.)
    assert.ok(bytes(c) <= bytes(b) * 1.05, `32 rows: ${bytes(c)} bytes of groups and dictionary, ${bytes(b)} without`);
    assert.ok(bytes(a) <= bytes(b) * 1.15, `${bytes(a)} bytes of groups and dictionary, ${bytes(b)} without`);
    const ids = [0, 31, 32, 1000, 4095, 7999];
    assert.deepEqual(a.rows(ids), b.rows(ids));
    assert.deepEqual(c.rows(ids), b.rows(ids));
    for (const name of names) assert.deepEqual(a.columnValues(name), b.columnValues(name), name);
  } finally {
    a.close();
    b.close();
    c.close();
  }
});

test('a merge of a format 1 and a format 4 segment writes format 4 with every cell in time order', () => {
  const newer = join(dir, 'newer.seg');
  // Interleaved times (half a row apart) so every output group mixes rows of both inputs.
  writeSegment(newer, source('0000000003', 1, 'n'));
  const inputs = [SegmentReader.open(V1), SegmentReader.open(newer)];
  const bytes = join(dir, 'merged-bytes.seg');
  const strings = join(dir, 'merged-strings.seg');
  try {
    mergeSegments(inputs, bytes, '0000000004', 2, { groupDict: 4096 });
    writeSegment(strings, mergeSource(inputs, '0000000004', 2), { groupDict: 4096, packDicts: true });
  } finally {
    for (const s of inputs) s.close();
  }
  // Expected rows: both inputs' rows ordered by time, ties in input order then row order.
  const all: { t: number; input: number; row: number }[] = [];
  for (let i = 0; i < N; i++) {
    all.push({ t: T0 + Math.floor(i / 3), input: 0, row: i });
    all.push({ t: T0 + 1 + Math.floor(i / 3), input: 1, row: i });
  }
  all.sort((x, y) => x.t - y.t || x.input - y.input || x.row - y.row);
  const expected = (name: string, id: number): string | undefined => {
    const r = all[id]!;
    const v = cell(name, r.row);
    return v === undefined ? undefined : `${r.input === 1 ? 'n' : ''}${v}`;
  };
  for (const path of [bytes, strings]) {
    const seg = SegmentReader.open(path);
    try {
      assert.equal(seg.footer.format, 5);
      assert.ok(seg.footer.groupDict);
      assert.equal(seg.n, 2 * N);
      for (let id = 0; id < seg.n; id++) assert.equal(seg.time(id), all[id]!.t);
      const names = seg.footer.columns.map((c) => c.name);
      assert.deepEqual(names, NAMES);
      for (const name of names) {
        const values = seg.columnValues(name);
        for (let id = 0; id < seg.n; id++) assert.equal(values[id], expected(name, id), `${path}: ${name}[${id}]`);
      }
      const ids = [0, 127, 128, 129, 2047, 2048, 2 * N - 1];
      assert.deepEqual(
        seg.rows(ids).map((r) => r.fields),
        ids.map((id) =>
          names.flatMap((n) => (expected(n, id) === undefined ? [] : [[n, expected(n, id)!] as [string, string]])),
        ),
      );
    } finally {
      seg.close();
    }
  }
});

test('the group table: back-to-back ranges with gaps for empty groups; a damaged table is refused', () => {
  const table = Buffer.from([0x90, 0x03, 5, 0, 0x81, 0x01, 7]); // first group at 400; lengths 5, none, 129, 7
  const groups = GroupTable.decode(table, 4);
  assert.equal(groups.length, 4);
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((g) => groups.at(g)),
    [{ off: 400, len: 5 }, null, { off: 405, len: 129 }, { off: 534, len: 7 }, null],
  );
  assert.throws(() => GroupTable.decode(table, 5), /truncated/);
  assert.throws(() => GroupTable.decode(table, 3), /past its groups/);
  assert.deepEqual(GroupTable.fromRanges([null, { off: 9, len: 2 }]).at(1), { off: 9, len: 2 });
});
