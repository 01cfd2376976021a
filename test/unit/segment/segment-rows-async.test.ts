/**
 * Pages whose row groups are read side by side (SegmentReader.rowsAsync, searchAsync) must equal the synchronous
 * reads: the same cells in the order of the ids asked, across segments, for both orders, offsets and a phrase page;
 * a segment closed (merged away) while its groups are being read keeps its descriptor until the reads end; a damaged
 * file fails the page as it fails `rows`. Every test runs twice: through the addon's row reader (native-rows.ts) and
 * through the JS path (group-reads.ts). If the reassembly by slot or the decode of bytes read elsewhere went wrong,
 * rows would differ or come out of order here.
 */
import assert from 'node:assert/strict';
import { fstatSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { NginxLogGenerator } from '../../../bench/nginx-generator.js';
import { HeadPart } from '../../../src/index/head-part.js';
import { compileIndex, DEFAULT_TOKENS } from '../../../src/index/index-config.js';
import { parseQuery, search, searchAsync } from '../../../src/query/executor.js';
import { nativeRows, setNativeRows } from '../../../src/storage/segment/native-rows.js';
import { decodedCacheStats, SegmentReader } from '../../../src/storage/segment/segment-reader.js';
import { writeSegment } from '../../../src/storage/segment/segment-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-rowsasync-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const compiled = compileIndex(
  {
    config: {
      line: { token: [...DEFAULT_TOKENS], caseSensitive: false },
      keys: { status: { type: 'long' }, method: { type: 'text', token: [' '] } },
    },
    version: 1,
    lastModifyTime: 0,
  },
  30,
);

let built = 0;
/** A format 4 segment of `logs` generated logs (seed `seed`), with a sparse, long, non-ASCII column. */
function build(seed: number, logs: number): SegmentReader {
  const head = new HeadPart(`h${seed}`, compiled);
  const gen = new NginxLogGenerator(seed, 1_767_225_600);
  for (let g = 0; g * 1000 < logs; g++) {
    const group = gen.group(Math.min(1000, logs - g * 1000), `10.0.${seed}.${g}`);
    const rows = group.logs.map((log, i) => ({
      time: log.time,
      contents: [
        ...log.contents,
        ...(i % 7 === 0 ? [{ key: 'note', value: `ünïcode ${i} ${'x'.repeat(i % 300)}` }] : []),
      ],
    }));
    head.addGroup('0-0', g, rows, group.topic ?? '', group.source ?? '', group.tags ?? []);
  }
  const path = join(dir, `${++built}.seg`);
  writeSegment(path, head.toSource(String(built).padStart(10, '0'), 1));
  return SegmentReader.open(path);
}

const addonBuilt = nativeRows() !== undefined;
for (const mode of ['addon', 'js'] as const) {
  const skip = mode === 'addon' && !addonBuilt ? 'the sluice-build addon is not built' : false;
  const use = (): void => {
    setNativeRows(mode === 'addon');
  };

  test(`${mode}: rowsAsync returns what rows returns`, { skip }, async () => {
    use();
    const seg = build(3, 6000);
    const plain = build(3, 6000); // the same rows in another file: nothing of it in the caches
    try {
      assert.equal(seg.footer.format, 5);
      assert.ok(seg.footer.groupDict, 'frames against the segment dictionary');
      const check = async (ids: number[], label: string): Promise<void> => {
        assert.deepEqual(await seg.rowsAsync(ids), plain.rows(ids), label);
      };
      await check([5999, 4200, 3100, 1030, 700, 5], 'one row per group, newest first');
      await check([2050, 2047, 2048, 2900, 2050, 2049, 3071, 127, 128, 0], 'rows sharing groups, unordered, repeated');
      await check([5999, 5], 'rows of the row cache');
      await check([], 'empty');
      const page: number[] = [];
      for (let id = 17; id < seg.n; id += 131) page.push(id);
      await check(page.reverse(), 'a page of one row per group');
      // JS path: groups serving several rows of a page go into the decoded-data cache, as with `rows`; one-row groups
      // do not. The addon keeps no decoded group (the row cache keeps the page's rows).
      const cached = decodedCacheStats().entries;
      await seg.rowsAsync([4500, 4501, 4630, 4631, 4800]);
      assert.equal(decodedCacheStats().entries, cached + (mode === 'js' ? 2 : 0), 'groups of two rows kept in JS');
      assert.deepEqual(await seg.rowsAsync([4500, 4501, 4630, 4631, 4800]), plain.rows([4500, 4501, 4630, 4631, 4800]));
    } finally {
      seg.close();
      plain.close();
    }
  });

  test(`${mode}: searchAsync pages equal search pages: both orders, offsets, terms, ranges and phrases`, {
    skip,
  }, async () => {
    use();
    const parts = [build(11, 3000), build(12, 2500), build(13, 4000)];
    // The same rows in other files, for the synchronous reads (nothing of `parts` in the row cache from them).
    const plain = [build(11, 3000), build(12, 2500), build(13, 4000)];
    try {
      const queries = [
        '*',
        'status:404',
        'status >= 400 and method:POST',
        'GET',
        '"HTTP/1.1"',
        '"ünïcode 14"',
        '/api*',
      ];
      for (const q of queries) {
        for (const reverse of [true, false]) {
          for (const [offset, line] of [
            [0, 100],
            [37, 20],
            [250, 100],
          ] as const) {
            const o = { from: 0, to: 2 ** 32 - 1, offset, line, reverse };
            const got = await searchAsync(compiled, parts, parseQuery(q), o);
            const want = search(compiled, plain, parseQuery(q), o);
            if (offset === 0) assert.ok(want.rows.length > 0, q);
            assert.deepEqual(got, want, `${q} reverse=${reverse} offset=${offset}`);
          }
        }
      }
    } finally {
      for (const p of [...parts, ...plain]) p.close();
    }
  });

  test(`${mode}: a segment closed while its groups are read keeps its descriptor until the reads end`, {
    skip,
  }, async () => {
    use();
    const seg = build(21, 3000);
    const plain = build(21, 3000);
    const fd = (seg as unknown as { fd: number }).fd;
    const ids = [2999, 2000, 1500, 900, 300, 10];
    const pending = seg.rowsAsync(ids);
    seg.close(); // a merge finishing meanwhile; the reads are on libuv's pool now
    assert.doesNotThrow(() => fstatSync(fd), 'still open while reads are in flight');
    assert.deepEqual(await pending, plain.rows(ids));
    assert.throws(() => fstatSync(fd), /EBADF/, 'closed once they ended');
    plain.close();
  });

  test(`${mode}: a page of a truncated segment fails as rows() does, and releases the descriptor`, {
    skip,
  }, async () => {
    use();
    const seg = build(31, 3000);
    const fd = (seg as unknown as { fd: number }).fd;
    try {
      const last = seg.groupRange(seg.groupCount - 1)!;
      truncateSync(seg.path, last.off + 10); // the newest group cut short
      await assert.rejects(seg.rowsAsync([2999, 10]), /truncated/);
      assert.throws(() => seg.rows([2998]), /truncated/);
    } finally {
      seg.close();
    }
    assert.throws(() => fstatSync(fd), /EBADF/);
  });
}
