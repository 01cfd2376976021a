/**
 * Stored zstd frames (segment-writer's STORED_LEVEL, a young segment's layout without compression): raw blocks any
 * zstd decoder reads, and young segments written with them read back the same rows through every row path (sync,
 * async in JS, the addon).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import zstdBinding from 'zstd-napi/binding.js';
import { HeadPart } from '../../../src/index/head-part.js';
import { compileIndex, DEFAULT_TOKENS } from '../../../src/index/index-config.js';
import { nativeBuildAvailable } from '../../../src/index/native-build.js';
import { SegmentBuild } from '../../../src/index/segment-build.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import { zstdDecompress, zstdStoredInto, zstdStoredSize } from '../../../src/storage/segment/bytes.js';
import { nativeRows, setNativeRows } from '../../../src/storage/segment/native-rows.js';
import { SegmentReader } from '../../../src/storage/segment/segment-reader.js';
import {
  type SegmentWriterOptions,
  STORED_LEVEL,
  writeSegment,
  YOUNG_SEGMENT,
} from '../../../src/storage/segment/segment-writer.js';

/** A young segment's layout (128-row groups, no dictionary) with its frames stored. */
const STORED: SegmentWriterOptions = { ...YOUNG_SEGMENT, level: STORED_LEVEL };

const dir = mkdtempSync(join(tmpdir(), 'sluice-stored-frames-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

test('a stored frame decodes to its bytes, with one block per 128 KB and its content size stated', () => {
  for (const n of [0, 1, 1000, 131_071, 131_072, 131_073, 400_000]) {
    const raw = bytes(n, n + 1);
    const out = Buffer.alloc(zstdStoredSize(n) + 5, 0xee);
    const len = zstdStoredInto(raw, out);
    assert.equal(len, 9 + 3 * Math.max(1, Math.ceil(n / 131_072)) + n, `length for ${n}`);
    const frame = out.subarray(0, len);
    assert.equal(zstdBinding.getFrameContentSize(frame), n, `content size for ${n}`);
    assert.deepEqual(zstdDecompress(frame), raw, `bytes for ${n}`);
    // Through a decoding context into a buffer of exactly the stated size, as the segment reader decodes.
    const dctx = new zstdBinding.DCtx();
    const into = Buffer.alloc(n);
    assert.equal(dctx.decompress(into, frame), n);
    assert.deepEqual(into, raw);
  }
  assert.throws(() => zstdStoredInto(bytes(10, 1), Buffer.alloc(20)), RangeError);
});

test('a young segment written with stored row groups and reads back the same rows on every path', async () => {
  const compiled = compileIndex(
    { config: { line: { token: [...DEFAULT_TOKENS], caseSensitive: false } }, version: 1, lastModifyTime: 0 },
    30,
  );
  const head = new HeadPart('h1', compiled);
  const long = 'x'.repeat(3000);
  const expect: { time: number; fields: [string, string][] }[] = [];
  for (let g = 0; g < 4; g++) {
    const rows = [];
    for (let i = g * 250; i < (g + 1) * 250; i++) {
      // Wide rows (a 128-row group's wide frame is over 128 KB: several raw blocks) and a UTF-8 cell now and then.
      const contents = [
        { key: 'msg', value: i % 7 === 0 ? `café ${i} ${long}` : `row ${i} ${long}` },
        { key: 'n', value: String(i) },
      ];
      rows.push({ time: 1_767_225_600 + i, contents });
      expect.push({ time: 1_767_225_600 + i, fields: contents.map((c) => [c.key, c.value]) });
    }
    head.addGroup('0-0', g, rows, '', '', []);
  }
  const path = join(dir, 'young.seg');
  writeSegment(path, head.toSource('0000000001', 1), STORED);
  // Stored: the repeated run is in the file as it is (zstd at any level would have shrunk it to a few bytes).
  assert.ok(readFileSync(path).includes(Buffer.from(long)), 'row groups are stored, not compressed');
  const seg = SegmentReader.open(path);
  try {
    const ids = [0, 1, 127, 128, 129, 500, 998, 999, 7, 700];
    const want = ids.map((i) => expect[i]);
    const norm = (rows: readonly { time: number; fields: readonly (readonly [string, string])[] }[]) =>
      rows.map((r) => ({ time: r.time, fields: r.fields.map(([k, v]) => [k, v]) }));
    assert.deepEqual(norm(seg.rows(ids)), want);
    setNativeRows(false);
    assert.deepEqual(norm(await seg.rowsAsync(ids)), want);
    if (nativeRows() !== undefined) {
      setNativeRows(true);
      assert.deepEqual(norm(await seg.rowsAsync([...ids].reverse())), [...want].reverse());
    }
  } finally {
    setNativeRows(true);
    seg.close();
  }
});

test('stored young segments built natively and in JS frame columns over 128 KB in several blocks', async () => {
  const compiled = compileIndex(
    { config: { line: { token: [...DEFAULT_TOKENS], caseSensitive: false } }, version: 1, lastModifyTime: 0 },
    30,
  );
  const groups = [];
  const expect: { time: number; fields: [string, string][] }[] = [];
  for (let g = 0; g < 3; g++) {
    const logs = [];
    for (let i = g * 200; i < (g + 1) * 200; i++) {
      // ~3 KB a value: a 128-row group's column holds ~390 KB, three raw blocks and a part.
      const contents = [
        { key: 'msg', value: `row ${i} ${'abcdefghij'.repeat(300)} ${i % 97}` },
        { key: 'n', value: String(i) },
      ];
      logs.push({ time: 1_767_225_600 + i, contents });
      expect.push({ time: 1_767_225_600 + i, fields: contents.map((c) => [c.key, c.value]) });
    }
    groups.push(encodeLogGroup({ logs, tags: [] }));
  }
  const paths: string[] = [];
  for (const native of [true, false]) {
    const build = new SegmentBuild(compiled, { native });
    for (const [seq, bytes] of groups.entries()) build.addGroup('0-0', seq, bytes);
    const path = join(dir, `built-${native}.seg`);
    build.write(path, '0000000007', 1, undefined, STORED);
    if (native && nativeBuildAvailable()) assert.equal(build.engine, 'native');
    paths.push(path);
  }
  const ids = [0, 127, 128, 255, 256, 383, 384, 599];
  const want = ids.map((i) => expect[i]);
  const norm = (rows: readonly { time: number; fields: readonly (readonly [string, string])[] }[]) =>
    rows.map((r) => ({ time: r.time, fields: r.fields.map(([k, v]) => [k, v]) }));
  for (const path of paths) {
    const seg = SegmentReader.open(path);
    try {
      assert.ok(readFileSync(path).includes(Buffer.from('abcdefghij'.repeat(300))), `${path}: stored`);
      assert.deepEqual(norm(seg.rows(ids)), want);
      setNativeRows(false);
      assert.deepEqual(norm(await seg.rowsAsync(ids)), want);
      if (nativeRows() !== undefined) {
        setNativeRows(true);
        assert.deepEqual(norm(await seg.rowsAsync(ids)), want);
      }
    } finally {
      setNativeRows(true);
      seg.close();
    }
  }
});
