/**
 * time_series(…, padding) fills the buckets of the query range that have no rows (SLS semantics). The filled result
 * is compared with a general DuckDB statement that left-joins every bucket of the range with the counts; padding
 * forms `0`, `null`, `last`, `next`, `avg` and a literal; statements that group by more than the bucket are left as
 * DuckDB returns them.
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
const config = compileIndex({ config: { keys: { status: { type: 'long' } } }, lastModifyTime: 0, version: 1 }, 30);

/** Logs in minutes 0, 1, 4 and 9 (minutes 2, 3, 5–8 empty); minute m holds m + 1 logs. */
function logs(): Uint8Array {
  const out = [];
  for (const m of [0, 1, 4, 9]) {
    for (let i = 0; i <= m; i++) {
      out.push({ time: T0 + m * 60 + i, contents: [{ key: 'status', value: i % 2 === 0 ? '200' : '500' }] });
    }
  }
  return encodeLogGroup({ logs: out, topic: '', source: '', tags: [] });
}

describe('time_series padding', () => {
  let dir: string;
  let index: LogstoreIndex;
  let engine: SqlEngine;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-sql-ts-'));
    index = LogstoreIndex.open(join(dir, 'index'), config, DEFAULT_INDEX_OPTIONS);
    index.add('0-0', 0, logs());
    index.seal();
    engine = new SqlEngine({ dir: join(dir, 'sql') });
  });
  after(async () => {
    await engine.close();
    index.close();
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (sql: string, from = T0, to = T0 + 12 * 60): Promise<string[][]> =>
    (await engine.run({ config, parts: index.parts(), search: parseSearch('*'), sql, from, to })).rows;

  test("'0' fills every empty minute of the range, as a left join of all buckets would", async () => {
    const filled = await run(
      "select time_series(__time__, '1m', '%H:%i', '0') as t, count(*) as c group by t order by t limit 1000",
    );
    const general = await run(
      `select strftime(make_timestamp(g.b * 1000000), '%H:%M') as t, coalesce(x.c, 0) as c from range(${T0}, ${T0 + 720}, 60) g(b) left join (select __time__ // 60 * 60 as b, count(*) as c from log group by 1) x on g.b = x.b order by g.b limit 1000`,
    );
    assert.equal(filled.length, 12);
    assert.deepEqual(filled, general);
  });

  test('null, literal, last, next and avg padding', async () => {
    const q = (pad: string) =>
      run(
        `select time_series(__time__, '1m', '%H:%i', '${pad}') as t, count(*) as c group by t order by t limit 1000`,
        T0,
        T0 + 6 * 60,
      );
    const col = async (pad: string) => (await q(pad)).map((r) => r[1]);
    assert.deepEqual(await col('null'), ['1', '2', 'null', 'null', '5', 'null']);
    assert.deepEqual(await col('-1'), ['1', '2', '-1', '-1', '5', '-1']);
    assert.deepEqual(await col('last'), ['1', '2', '2', '2', '5', '5']);
    assert.deepEqual(await col('next'), ['1', '2', '5', '5', '5', 'null']);
    assert.deepEqual(await col('avg'), ['1', '2', '3.5', '3.5', '5', 'null']);
  });

  test('a range not aligned to the step starts at the bucket holding from; the LIMIT still applies', async () => {
    const rows = await run(
      "select time_series(__time__, '2m', '%H:%i', '0') as t, count(*) as c group by t order by t limit 3",
      T0 + 30,
      T0 + 10 * 60,
    );
    assert.deepEqual(rows, [
      ['00:00', '2'],
      ['00:02', '0'],
      ['00:04', '5'],
    ]);
  });

  test('grouped by the bucket and another key: not filled', async () => {
    const rows = await run(
      "select time_series(__time__, '1m', '%H:%i', '0') as t, status, count(*) as c group by t, status order by t, status limit 1000",
    );
    const general = await run(
      "select strftime(make_timestamp(__time__ // 60 * 60 * 1000000), '%H:%M') as t, status, count(*) as c from log group by t, status order by t, status limit 1000",
    );
    assert.deepEqual(rows, general);
  });
});
