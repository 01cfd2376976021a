/**
 * SqlEngine guard rails with a real embedded DuckDB and no logs: a statement past its timeout is interrupted and
 * answered with InvalidQueryString; statements beyond the concurrency limit and the queue are refused with ServerBusy;
 * DuckDB errors come back in SLS terms with the original as `cause`; cells are strings.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compileIndex } from '../../../src/index/index-config.js';
import { isSlsError } from '../../../src/protocol/errors.js';
import { SqlEngine, type SqlQuery } from '../../../src/query/sql/sql-engine.js';

const config = compileIndex({ config: { keys: { status: { type: 'long' } } }, lastModifyTime: 0, version: 1 }, 30);
const query = (sql: string): SqlQuery => ({ config, parts: [], search: { kind: 'all' }, sql, from: 0, to: 10 });

describe('SqlEngine', () => {
  let dir: string;
  let engine: SqlEngine;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-sql-'));
    engine = new SqlEngine({ dir, timeoutMs: 100, maxConcurrent: 1, maxQueued: 0 });
  });
  after(async () => {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('an empty logstore still has the columns', async () => {
    const r = await engine.run(query('select count(*) as c, max(status) as m'));
    assert.deepEqual(r.columns, ['c', 'm']);
    assert.deepEqual(r.rows, [['0', 'null']]);
  });

  test('cells are strings: timestamps with milliseconds, arrays and maps as JSON', async () => {
    const r = await engine.run(
      query(
        "select from_unixtime(1767225660) as t, split('a,b', ',') as s, map([1], ['x']) as m, 1.5::double as d, true as b from range(1) t(x)",
      ),
    );
    assert.deepEqual(r.rows, [['2026-01-01 00:01:00.000', '["a","b"]', '{"1":"x"}', '1.5', 'true']]);
    assert.deepEqual(r.columnTypes, ['timestamp', 'array(varchar)', 'map(integer,varchar)', 'double', 'boolean']);
  });

  test('time zones: named (with daylight saving), offsets, Presto hours/minutes; date_format of the local time', async () => {
    const r = await engine.run(
      query(
        "select from_unixtime(1767225600, 'Asia/Shanghai') as a, from_unixtime(1767225600, '+08:00') as b, " +
          "from_unixtime(1767225600, '-05:30') as c, from_unixtime(1767225600, 'America/New_York') as d, " +
          "from_unixtime(1782864000, 'America/New_York') as e, from_unixtime(1767225600, 5, 30) as f, " +
          "date_format(from_unixtime(1767225600, 'Asia/Tokyo'), '%Y-%m-%d %H:%i') as g, " +
          "from_unixtime(1767225600, 'UTC+1') as h from range(1) t(x)",
      ),
    );
    assert.deepEqual(r.rows, [
      [
        '2026-01-01 08:00:00.000',
        '2026-01-01 08:00:00.000',
        '2025-12-31 18:30:00.000',
        '2025-12-31 19:00:00.000',
        '2026-06-30 20:00:00.000',
        '2026-01-01 05:30:00.000',
        '2026-01-01 09:00',
        '2026-01-01 01:00:00.000',
      ],
    ]);
    await assert.rejects(
      engine.run(query("select from_unixtime(0, 'Mars/Olympus') as x from range(1) t(x)")),
      (err: unknown) => isSlsError(err) && err.code === 'InvalidQueryString' && /Mars/.test(err.message),
    );
  });

  test('a statement past its timeout is interrupted', async () => {
    await assert.rejects(
      engine.run(query('select sum(a.x * b.x) as s from range(1000000) a(x), range(100000) b(x)')),
      (err: unknown) => {
        assert.ok(isSlsError(err));
        assert.equal(err.code, 'InvalidQueryString');
        assert.match(err.message, /ran longer than/);
        return true;
      },
    );
  });

  test('beyond the concurrency limit and the queue: ServerBusy', async () => {
    const slow = engine
      .run(query('select sum(a.x * b.x) as s from range(1000000) a(x), range(100000) b(x)'))
      .catch((e: unknown) => e);
    await assert.rejects(
      engine.run(query('select 1 as x')),
      (err: unknown) => isSlsError(err) && err.code === 'ServerBusy',
    );
    await slow;
  });

  test('DuckDB errors in SLS terms, the original kept as cause', async () => {
    await assert.rejects(engine.run(query('select nosuch as x')), (err: unknown) => {
      assert.ok(isSlsError(err));
      assert.equal(err.code, 'InvalidQueryString');
      assert.match(err.message, /unknown column nosuch/);
      assert.ok(err.cause instanceof Error);
      return true;
    });
    await assert.rejects(
      engine.run(query("select 'a' + 1 as x")),
      (err: unknown) => isSlsError(err) && err.status === 400,
    );
  });
});
