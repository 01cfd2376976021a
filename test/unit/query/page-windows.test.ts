/**
 * Pages read segments by windows at their newest (or oldest) end (executor.ts `pageOf`, PartWindow): each window
 * evaluates the query over a few thousand rows, reading only those rows' words of dense postings. Those pages must be
 * exactly the pages of evaluating every segment whole (`wholeParts`), for dense and sparse terms, numeric ranges over
 * a few values and over many (the cached whole-range fallback), NOT, OR, prefixes, a phrase inside an OR (verified
 * per window), top-level phrases (verified lazily, their candidates pulled window by window), both orders, offsets,
 * partial time ranges, overlapping segments and the head. A window off by one row,
 * a bitset word misaligned, a tail bit left set or a bound cutting a tied row would change some page here.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { prng } from '../../../bench/nginx-generator.js';
import { compileIndex } from '../../../src/index/index-config.js';
import { LogstoreIndex } from '../../../src/index/logstore-index.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import { parseQuery, search } from '../../../src/query/executor.js';
import { SegmentReader } from '../../../src/storage/segment/segment-reader.js';
import { MANUAL_SEALS } from '../../helpers/indexer-kit.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-page-windows-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('pages read by windows equal pages of whole segments', () => {
  const config = compileIndex(
    {
      config: {
        line: { token: [' '] },
        keys: { k: { type: 'text', token: [' '] }, status: { type: 'long' }, d: { type: 'double' } },
      },
      lastModifyTime: 0,
      version: 1,
    },
    30,
  );
  const idx = LogstoreIndex.open(dir, config, MANUAL_SEALS);
  const rnd = prng(7);
  let seq = 0;
  let n = 0;
  const statuses = [200, 200, 200, 200, 200, 200, 200, 200, 301, 404, 404, 500, 503];
  /** `rows` logs with times from t0 spread over `span` seconds (many ties), 4,096 per LogGroup. */
  const add = (rows: number, t0: number, span: number): void => {
    for (let done = 0; done < rows; ) {
      const logs = [];
      for (let i = 0; i < 4096 && done < rows; i++, done++) {
        const id = n++;
        const words = [id % 3 === 0 ? 'a' : 'b'];
        if (id % 40 === 7) words.push('mid');
        if (id % 997 === 5) words.push('rare');
        if (id % 50 === 3) words.push('x', 'y');
        else if (id % 50 === 4) words.push('y', 'x');
        logs.push({
          time: t0 + Math.floor(rnd() * span),
          contents: [
            { key: 'r', value: `r${id}` },
            { key: 'k', value: words.join(' ') },
            { key: 'status', value: String(statuses[Math.floor(rnd() * statuses.length)]) },
            { key: 'd', value: rnd().toFixed(4) },
          ],
        });
      }
      idx.add('0-0', seq++, encodeLogGroup({ logs, topic: '', source: '', tags: [] }));
    }
  };
  add(20_000, 10_000, 3000);
  idx.seal();
  add(15_000, 12_000, 2000); // overlaps the first
  idx.seal();
  add(9_000, 13_999, 1); // one second: every row ties
  idx.seal();
  add(3_000, 11_000, 4000); // the head
  assert.ok(idx.parts().filter((p) => p instanceof SegmentReader).length >= 3);
  const queries = [
    'a',
    'k:rare',
    'k:mid and status >= 500',
    'status in [400 503]',
    'status:500',
    'not k:a and status:200',
    'k:a or k:rare',
    'd > 0.5',
    'd > 0.25 and k:mid',
    'status >= 404 and d < 0.01',
    'k:mi*',
    '"x y" or k:rare',
    'k:mid and not "y x"',
    'k:nothing',
    'a or b',
    // Top-level phrases: verified lazily across segments, their candidates pulled from windows.
    '"x y"',
    '"y x" and status >= 404',
    'k:"x y" and not status:200',
    '"x y" and "y x"',
  ];
  const ids = (q: string, from: number, to: number, offset: number, line: number, reverse: boolean, whole: boolean) =>
    search(idx.config, idx.parts(), parseQuery(q), { from, to, offset, line, reverse, wholeParts: whole }).rows.map(
      (r) => r.fields.find((f) => f[0] === 'r')![1],
    );
  let nonEmpty = 0;
  for (const q of queries) {
    for (const reverse of [true, false]) {
      for (const [from, to] of [
        [0, 100_000],
        [11_500, 13_999],
        [13_999, 14_000],
        [12_345, 12_346],
      ] as const) {
        for (const [offset, line] of [
          [0, 1],
          [0, 100],
          [37, 50],
          [0, 1000],
          [900, 100],
        ] as const) {
          const want = ids(q, from, to, offset, line, reverse, true);
          const got = ids(q, from, to, offset, line, reverse, false);
          assert.deepEqual(got, want, `${q} reverse=${reverse} ${from}-${to} offset=${offset} line=${line}`);
          if (want.length > 0) nonEmpty++;
        }
      }
    }
  }
  assert.ok(nonEmpty > 300, `${nonEmpty} non-empty pages compared`);
  idx.close();
});
