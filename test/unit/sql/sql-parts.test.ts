/**
 * SqlEngine over a real logstore index: one sealed segment (read through its Parquet sidecar) plus rows still in the
 * in-memory head (appended per statement), with `*`, a field search, a phrase search (rows verified) and a time range.
 * Every statement must see exactly the rows GetLogs would.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compileIndex } from '../../../src/index/index-config.js';
import { DEFAULT_INDEX_OPTIONS, LogstoreIndex } from '../../../src/index/logstore-index.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import { parseSearch } from '../../../src/query/parser/parser.js';
import { SqlEngine } from '../../../src/query/sql/sql-engine.js';

const T0 = 1_767_225_600;
const config = compileIndex(
  {
    config: {
      line: { token: [' ', ','], caseSensitive: false, chn: false },
      keys: { status: { type: 'long' }, msg: { type: 'text', token: [' '] }, rt: { type: 'double' } },
    },
    lastModifyTime: 0,
    version: 1,
  },
  30,
);

/** Log i: time T0+i, status 500 every 4th else 200, msg "hello world" (even) / "world hello" (odd), rt i/10. */
function group(from: number, to: number): Uint8Array {
  const logs = [];
  for (let i = from; i < to; i++) {
    logs.push({
      time: T0 + i,
      contents: [
        { key: 'status', value: i % 4 === 0 ? '500' : '200' },
        { key: 'msg', value: i % 2 === 0 ? 'hello world' : 'world hello' },
        { key: 'rt', value: String(i / 10) },
        { key: 'i', value: String(i) },
      ],
    });
  }
  return encodeLogGroup({ logs, topic: 't', source: 's', tags: [{ key: 'k', value: from < 100 ? 'sealed' : 'head' }] });
}

describe('SqlEngine over a segment and the head', () => {
  let dir: string;
  let index: LogstoreIndex;
  let engine: SqlEngine;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-sql-parts-'));
    index = LogstoreIndex.open(join(dir, 'index'), config, DEFAULT_INDEX_OPTIONS);
    index.add('0-0', 0, group(0, 100));
    index.seal();
    index.add('0-0', 1, group(100, 160));
    engine = new SqlEngine({ dir: join(dir, 'sql') });
  });
  after(async () => {
    await engine.close();
    index.close();
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (search: string, sql: string, from = T0, to = T0 + 1000): Promise<string[][]> =>
    (await engine.run({ config, parts: index.parts(), search: parseSearch(search), sql, from, to })).rows;

  test('the parts are one segment and a non-empty head', () => {
    assert.equal(index.segmentCount(), 1);
    assert.equal(index.rowCount(), 160);
  });

  test('* reads both', async () => {
    assert.deepEqual(await run('*', 'select "__tag__:k" as k, count(*) as c, sum(status) as s group by k order by k'), [
      ['head', '60', String(45 * 200 + 15 * 500)],
      ['sealed', '100', String(75 * 200 + 25 * 500)],
    ]);
  });

  test('a field search selects rows in both (row ids into the sidecar, rows of the head)', async () => {
    assert.deepEqual(
      await run('status:500', 'select count(*) as c, min(rt) as lo, max(rt) as hi from log having count(*) > 0'),
      [['40', '0', '15.6']],
    );
  });

  test('a phrase search keeps only verified rows', async () => {
    assert.deepEqual(await run('"hello world"', 'select count(*) as c, max(rt) as m where true'), [['80', '15.8']]);
  });

  test('the time range cuts both', async () => {
    assert.deepEqual(
      await run('*', 'select count(*) as c, min(__time__) - ' + T0 + ' as lo from log where 1 = 1', T0 + 90, T0 + 110),
      [['20', '90']],
    );
  });

  test('segments without a Parquet copy yet are appended per statement, with the same answers', async () => {
    const fresh = new SqlEngine({ dir: join(dir, 'sql-fresh') });
    const waiting = new SqlEngine({ dir: join(dir, 'sql-wait'), appendRows: 0 });
    const appended: number[] = [];
    try {
      for (const [search, sql, from, to] of [
        ['*', 'select "__tag__:k" as k, count(*) as c, sum(status) as s, max(msg) as m group by k order by k'],
        [
          'status:500',
          'select count(*) as c, min(rt) as lo, max(rt) as hi, max(status) as ms from log having count(*) > 0',
        ],
        ['"hello world"', 'select count(*) as c, max(rt) as m where true'],
        ['*', 'select count(*) as c, min(__time__) as lo, max(__time__) as hi where 1 = 1', T0 + 90, T0 + 110],
      ] as [string, string, number?, number?][]) {
        const q = {
          config,
          parts: index.parts(),
          search: parseSearch(search),
          sql,
          from: from ?? T0,
          to: to ?? T0 + 1000,
        };
        const a = await fresh.run(q);
        const b = await waiting.run(q);
        assert.deepEqual(a.rows, b.rows, `${search} | ${sql}`);
        assert.equal(b.appendedSegments, 0);
        appended.push(a.appendedSegments ?? 0);
      }
      // The fresh engine's first statement did not wait for the copy of the segment.
      assert.equal(appended[0], 1);
    } finally {
      await fresh.close();
      await waiting.close();
    }
  });

  test('counts by a long key and by minute straight from the index agree with DuckDB', async () => {
    const fast = await run('msg:hello', 'select status, count(*) as c group by status order by status');
    const slow = await run(
      'msg:hello',
      'select status, count(*) as c group by status having count(*) > 0 order by status',
    );
    assert.deepEqual(fast, slow);
    assert.deepEqual(fast, [
      ['200', '120'],
      ['500', '40'],
    ]);
    const fastT = await run('*', "select date_trunc('minute', __time__) as t, count(*) as c group by t order by t");
    const slowT = await run(
      '*',
      "select date_trunc('minute', __time__) as t, count(*) as c group by t having c > 0 order by t",
    );
    assert.deepEqual(fastT, slowT);
    assert.deepEqual(fastT, [
      [String(T0), '60'],
      [String(T0 + 60), '60'],
      [String(T0 + 120), '40'],
    ]);
  });
});
