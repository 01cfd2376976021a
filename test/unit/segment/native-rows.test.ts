/**
 * The addon's page-row reader (native/build/src/rows.cc via native-rows.ts) against the JS reads of the same
 * segments: ASCII pages (one string for the page) and pages with UTF-8 cells, absent cells, segments with and without
 * a group dictionary, groups whose narrow or wide frame is empty; and damaged groups, which must fail the page with a
 * clear error, never return other cells or crash the process.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { HeadPart } from '../../../src/index/head-part.js';
import { compileIndex, DEFAULT_TOKENS } from '../../../src/index/index-config.js';
import { type GroupDict, nativeRows, setNativeRows } from '../../../src/storage/segment/native-rows.js';
import { SegmentReader } from '../../../src/storage/segment/segment-reader.js';
import { writeSegment } from '../../../src/storage/segment/segment-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-native-rows-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const skip = nativeRows() === undefined ? 'the sluice-build addon is not built' : false;

const compiled = compileIndex(
  { config: { line: { token: [...DEFAULT_TOKENS], caseSensitive: false } }, version: 1, lastModifyTime: 0 },
  30,
);

let built = 0;
/**
 * A segment of `logs` rows made by `row(i)`, its groups against a dictionary when they hold 32 KB; written twice (two
 * files, so no cache of one serves the other).
 */
function build(logs: number, row: (i: number) => { key: string; value: string }[]): [SegmentReader, SegmentReader] {
  const head = new HeadPart(`h${built}`, compiled);
  for (let g = 0; g * 500 < logs; g++) {
    const rows = [];
    for (let i = g * 500; i < Math.min(logs, (g + 1) * 500); i++)
      rows.push({ time: 1_767_225_600 + i, contents: row(i) });
    head.addGroup('0-0', g, rows, '', '', []);
  }
  const source = head.toSource(String(++built).padStart(10, '0'), 1);
  const a = join(dir, `${built}a.seg`);
  const b = join(dir, `${built}b.seg`);
  // A dictionary once 32 KB of frames are held (the default waits for more than these small segments hold).
  writeSegment(a, source, { groupDict: 32 * 1024 });
  writeSegment(b, source, { groupDict: 32 * 1024 });
  return [SegmentReader.open(a), SegmentReader.open(b)];
}

/** Rows of `seg` through the addon and through the JS path (of its twin, for cold caches). */
async function both(seg: SegmentReader, twin: SegmentReader, ids: number[]) {
  setNativeRows(true);
  const native = await seg.rowsAsync(ids);
  setNativeRows(false);
  try {
    return { native, js: await twin.rowsAsync(ids) };
  } finally {
    setNativeRows(true);
  }
}

const spread = (n: number, step: number): number[] => {
  const ids: number[] = [];
  for (let id = n - 1; id >= 0; id -= step) ids.push(id);
  return ids;
};

test('ASCII pages: the same cells as the JS path, absent cells left out', { skip }, async () => {
  const [seg, twin] = build(20_000, (i) => [
    { key: 'ip', value: `10.${i % 251}.${i % 13}.${i % 7}` },
    { key: 'path', value: `/api/v${i % 3}/items/${i}?q=${'z'.repeat(i % 90)}` },
    ...(i % 5 === 0 ? [{ key: 'sparse', value: `only every fifth ${i}` }] : []),
    ...(i % 2 === 0 ? [{ key: 'empty-or-not', value: i % 4 === 0 ? '' : 'x' }] : []),
    { key: 'status', value: String(200 + (i % 5) * 100) },
  ]);
  try {
    assert.ok(seg.footer.groupDict, 'a segment this size has a group dictionary');
    for (const ids of [spread(seg.n, 613), spread(seg.n, 7).slice(0, 100), [0, 1, 2, 31, 32, 33, 19_999], [42]]) {
      const { native, js } = await both(seg, twin, ids);
      assert.deepEqual(native, js);
      assert.equal(native.length, ids.length);
    }
    const { native } = await both(seg, twin, [5, 10]);
    assert.deepEqual(
      native[1]!.fields.map(([k]) => k),
      ['ip', 'path', 'sparse', 'empty-or-not', 'status'],
      'cells in column order, the sparse one present on a fifth row',
    );
    assert.ok(!native[0]!.fields.some(([k]) => k === 'empty-or-not'), 'an odd row has no such cell');
  } finally {
    seg.close();
    twin.close();
  }
});

test('UTF-8 cells, and a small segment without a dictionary', { skip }, async () => {
  const [seg, twin] = build(3000, (i) => [
    { key: 'msg', value: i % 3 === 0 ? `naïve café ${i} 日本語 🚀` : `plain ${i}` },
    { key: 'n', value: String(i) },
  ]);
  const [small, smallTwin] = build(40, (i) => [{ key: 'k', value: `v${i}` }]);
  try {
    assert.equal(small.footer.groupDict, undefined, 'too few rows for a dictionary');
    for (const ids of [spread(seg.n, 97), [2999, 0, 1500]]) {
      const { native, js } = await both(seg, twin, ids);
      assert.deepEqual(native, js);
    }
    const { native } = await both(seg, twin, [3]);
    assert.equal(native[0]!.fields[0]![1], 'naïve café 3 日本語 🚀');
    const got = await both(small, smallTwin, [39, 0, 20]);
    assert.deepEqual(got.native, got.js);
    assert.deepEqual(got.native[0]!.fields, [['k', 'v39']]);
  } finally {
    for (const s of [seg, twin, small, smallTwin]) s.close();
  }
});

test('a page across segments: one read of every segment, the same rows as each segment read alone', {
  skip,
}, async () => {
  // Different keys in each segment (column 1 of one is not column 1 of another), a dictionary or none, and more groups
  // than one job takes (PAGE_JOB_GROUPS): a segment's groups may be split between jobs.
  const [a, aTwin] = build(3000, (i) => [
    { key: 'msg', value: `a ${i}` },
    { key: 'n', value: String(i) },
  ]);
  const [b, bTwin] = build(2000, (i) => [
    { key: 'host', value: `h${i % 7}` },
    { key: 'msg', value: i % 5 === 0 ? `é ${i} 日本` : `b ${i}` },
    ...(i % 3 === 0 ? [{ key: 'extra', value: `x${i}` }] : []),
  ]);
  const [c, cTwin] = build(40, (i) => [{ key: 'k', value: `v${i}` }]);
  try {
    const ids = [spread(a.n, 41), spread(b.n, 29), [39, 0, 20]];
    setNativeRows(true);
    const native = await SegmentReader.pageRows([
      { seg: a, ids: ids[0]! },
      { seg: b, ids: ids[1]! },
      { seg: c, ids: ids[2]! },
    ]);
    setNativeRows(false);
    const js = [await aTwin.rowsAsync(ids[0]!), await bTwin.rowsAsync(ids[1]!), await cTwin.rowsAsync(ids[2]!)];
    setNativeRows(true);
    assert.equal(native.length, 3);
    assert.deepEqual(native, js);
    assert.deepEqual(native[1]![0]!.fields, [
      ['host', `h${1999 % 7}`],
      ['msg', 'b 1999'],
    ]);
    // Rows now in the row cache and rows still to read, in one page: each comes back in its place.
    const mixed = [ids[0]!.slice(0, 5).concat([1, 2, 3]), [1998, 1999, 0], [5]];
    const again = await SegmentReader.pageRows(mixed.map((m, i) => ({ seg: [a, b, c][i]!, ids: m })));
    setNativeRows(false);
    const expect = [
      await aTwin.rowsAsync(mixed[0]!),
      await bTwin.rowsAsync(mixed[1]!),
      await cTwin.rowsAsync(mixed[2]!),
    ];
    assert.deepEqual(again, expect);
  } finally {
    setNativeRows(true);
    for (const s of [a, aTwin, b, bTwin, c, cTwin]) s.close();
  }
});

/** The header of the group at `off` (see segment-format.ts): where its two frames start and their lengths. */
function frames(path: string, off: number, len: number, columns: number): { start: number; lens: [number, number] } {
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(len);
  readSync(fd, buf, 0, len, off);
  closeSync(fd);
  let pos = 0;
  const varint = (): number => {
    let x = 0;
    let m = 1;
    for (;;) {
      const c = buf[pos++]!;
      x += (c & 0x7f) * m;
      if (c < 0x80) return x;
      m *= 128;
    }
  };
  for (let c = 0; c < columns; c++) varint();
  pos += (columns + 7) >>> 3;
  const lens: [number, number] = [varint(), varint()];
  return { start: pos, lens };
}

function overwrite(path: string, at: number, bytes: number[]): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.from(bytes), 0, bytes.length, at);
  closeSync(fd);
}

test('damaged groups fail the page with a clear error, in both paths', { skip }, async () => {
  const make = () => build(4000, (i) => [{ key: 'a', value: `value ${i} ${'y'.repeat(i % 40)}` }]);
  const cases: [string, (seg: SegmentReader) => void, RegExp][] = [
    [
      'a frame that is not zstd',
      (seg) => {
        const g = seg.groupRange(100)!;
        const f = frames(seg.path, g.off, g.len, seg.footer.columns.length);
        assert.ok(f.lens[0] + f.lens[1] > 4);
        overwrite(seg.path, g.off + f.start, [0xde, 0xad, 0xbe, 0xef]); // the first frame's magic
      },
      /row group|Unknown frame|unknown|frame|decoded/i,
    ],
    [
      'section lengths that do not match the frames',
      (seg) => {
        const g = seg.groupRange(100)!;
        overwrite(seg.path, g.off, [0x7f]);
      },
      /row group|decoded|frame/i,
    ],
  ];
  for (const [label, damage, error] of cases) {
    const [seg, twin] = make();
    try {
      damage(seg);
      damage(twin);
      const ids = [100 * seg.footer.groupRows! + 3, 5];
      setNativeRows(true);
      await assert.rejects(seg.rowsAsync(ids), error, `addon: ${label}`);
      setNativeRows(false);
      await assert.rejects(twin.rowsAsync(ids), Error, `js: ${label}`);
    } finally {
      setNativeRows(true);
      seg.close();
      twin.close();
    }
  }
});

test('random damage to a group never crashes the reader: the page fails or returns cells', { skip }, async () => {
  const [seg, twin] = build(2000, (i) => [
    { key: 'a', value: `row ${i} ${'w'.repeat(i % 50)}` },
    { key: 'b', value: String(i * 7) },
  ]);
  twin.close();
  try {
    const g = seg.groupRange(20)!;
    const original = Buffer.alloc(g.len);
    const fd = openSync(seg.path, 'r+');
    readSync(fd, original, 0, g.len, g.off);
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const addon = nativeRows()!;
    const columns = seg.footer.columns.length;
    const dict = (seg as unknown as { nativeDict(a: typeof addon): GroupDict | null }).nativeDict(addon);
    assert.ok(dict, 'the dictionary path');
    let failed = 0;
    for (let round = 0; round < 300; round++) {
      const damaged = Buffer.from(original);
      for (let k = 0, hits = 1 + rand(4); k < hits; k++) damaged[rand(g.len)] = rand(256);
      writeSync(fd, damaged, 0, g.len, g.off);
      // The addon directly: the row cache must not answer instead of the damaged bytes.
      const ats = new Uint8Array([rand(seg.footer.groupRows!)]);
      try {
        const got = await addon.readRows(
          new Int32Array([fd]),
          new Uint32Array([columns]),
          [dict],
          new Float64Array([0, g.off, g.len, 1]),
          ats,
        );
        assert.equal(got.meta[0], 1);
      } catch (err) {
        assert.ok(err instanceof Error && err.message.length > 0);
        failed++;
      }
    }
    writeSync(fd, original, 0, g.len, g.off);
    closeSync(fd);
    assert.ok(failed > 0, 'some damage is detected');
  } finally {
    seg.close();
  }
});

test('readRows refuses arguments it cannot use', { skip }, () => {
  const addon = nativeRows()!;
  const call = (...args: unknown[]) => (addon.readRows as (...a: unknown[]) => Promise<unknown>)(...args);
  const one = (fd: number, columns: number, dict: unknown, plan: Float64Array, ats: Uint8Array) =>
    call(new Int32Array([fd]), new Uint32Array([columns]), [dict], plan, ats);
  assert.throws(() => one(-1, 1, null, new Float64Array(0), new Uint8Array(0)), /bad fd/);
  assert.throws(() => one(0, 2 ** 30, null, new Float64Array(0), new Uint8Array(0)), /column count/);
  assert.throws(() => one(0, 1, null, new Float64Array([0, 0, 10, 2]), new Uint8Array(1)), /disagree/);
  assert.throws(() => one(0, 1, null, new Float64Array(3), new Uint8Array(0)), /quadruples/);
  assert.throws(() => one(0, 1, null, new Float64Array([1, 0, 10, 1]), new Uint8Array(1)), /bad plan entry/);
  assert.throws(() => one(0, 1, null, new Float64Array([0.5, 0, 10, 1]), new Uint8Array(1)), /bad plan entry/);
  assert.throws(() => one(0, 1, {}, new Float64Array(0), new Uint8Array(0)), /GroupDict/);
  assert.throws(
    () => call(new Int32Array([0]), new Uint32Array(2), [null], new Float64Array(0), new Uint8Array(0)),
    /same length/,
  );
  assert.throws(
    () => call(new Int32Array([0]), new Uint32Array(1), [], new Float64Array(0), new Uint8Array(0)),
    /as long as fds/,
  );
  assert.throws(() => call(0, new Uint32Array(1), [null], new Float64Array(0), new Uint8Array(0)), /bad fds/);
  assert.throws(() => new addon.GroupDict(new Uint16Array(4) as unknown as Uint8Array), /Uint8Array/);
});
