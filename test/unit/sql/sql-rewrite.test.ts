/**
 * The analytic-statement rewriter: SLS → DuckDB rewrites (functions, LIMIT forms, implicit FROM and LIMIT), the
 * columns a statement needs, and the statements it refuses. Pure string work: no DuckDB here (the integration test
 * test/integration/sql-analytics.test.ts runs the results).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSlsError } from '../../../src/protocol/errors.js';
import { mysqlToStrftime, stepSeconds } from '../../../src/query/sql/functions.js';
import { rewriteSql } from '../../../src/query/sql/sql-rewrite.js';

const COLUMNS = new Map([
  ['__time__', 'BIGINT'],
  ['__topic__', 'VARCHAR'],
  ['__tag__:host', 'VARCHAR'],
  ['status', 'BIGINT'],
  ['request_time', 'DOUBLE'],
  ['method', 'VARCHAR'],
]);
const rw = (sql: string, tableNames?: string[]) =>
  rewriteSql(sql, { columns: COLUMNS, ...(tableNames ? { tableNames } : {}) });
const squash = (s: string) => s.replace(/\s+/g, ' ').replace(/ \)/g, ')').trim();

const REWRITES: [string, string][] = [
  ['select status, count(*) as c group by status', 'select status, count(*) as c FROM log group by status LIMIT 100'],
  ['SELECT count(*) FROM log', 'SELECT count(*) AS "_col0" FROM log LIMIT 100'],
  ['select status from log limit 10, 20', 'select status from log limit 20 OFFSET 10'],
  ['select status limit 5', 'select status FROM log limit 5'],
  ["select date_trunc('minute', __time__) t", "select sls_date_trunc_n('minute', __time__) t FROM log LIMIT 100"],
  [
    "select date_trunc('hour', from_unixtime(__time__)) h",
    "select date_trunc('hour', sls_from_unixtime(__time__)) h FROM log LIMIT 100",
  ],
  [
    "select date_format(__time__, '%Y-%m-%d %H:%i') d",
    "select strftime(sls_from_unixtime(__time__), '%Y-%m-%d %H:%M') d FROM log LIMIT 100",
  ],
  [
    "select time_series(__time__, '1m', '%H:%i', '0') t",
    "select sls_time_series(__time__, 60, '%H:%M') t FROM log LIMIT 100",
  ],
  ['select approx_percentile(request_time, 0.99) p', 'select quantile_disc(request_time, 0.99) p FROM log LIMIT 100'],
  [
    'select approx_distinct(method) a, arbitrary(method) b',
    'select approx_count_distinct(method) a, any_value(method) b FROM log LIMIT 100',
  ],
  [
    "select regexp_replace(method, '(G)', '$1x') r",
    "select sls_regexp_replace(method, '(G)', '\\1x') r FROM log LIMIT 100",
  ],
  [
    'select "__tag__:host", count(*) c group by "__tag__:host"',
    'select "__tag__:host", count(*) c FROM log group by "__tag__:host" LIMIT 100',
  ],
  ['select * from (select status from log) t limit 3', 'select * from (select status from log) t limit 3'],
  ['select a from (select status as a) t', 'select a from (select status as a FROM log) t LIMIT 100'],
  [
    'with x as (select status from log) select * from x',
    'with x as (select status from log) select * from x LIMIT 100',
  ],
  ['select count(*) c from nginx where status > 1', 'select count(*) c from log where status > 1 LIMIT 100'],
  [
    "select extract(hour from sls) h where method = 'FROM'",
    "select extract(hour from sls) h FROM log where method = 'FROM' LIMIT 100",
  ],
  // Presto's names for unaliased expressions.
  [
    'select status, count(*), max(n) m, a.b, "x" y, 1 + 2 as z',
    'select status, count(*) AS "_col1", max(n) m, a.b, "x" y, 1 + 2 as z FROM log LIMIT 100',
  ],
  [
    "select case when status > 1 then 'a' end, status is null",
    'select case when status > 1 then \'a\' end AS "_col0", status is null AS "_col1" FROM log LIMIT 100',
  ],
];

describe('rewriteSql', () => {
  for (const [input, want] of REWRITES) {
    test(input, () => {
      assert.equal(squash(rw(input, ['nginx']).sql), squash(want));
    });
  }

  test('only the referenced columns are materialized; * takes them all', () => {
    assert.deepEqual([...rw("select status, count(*) where method = 'GET' group by status").columns].sort(), [
      'method',
      'status',
    ]);
    assert.deepEqual(rw('select "__tag__:host" as h').columns, ['__tag__:host']);
    assert.equal(rw('select * from log').columns.length, COLUMNS.size);
  });

  test('count(*) alone is recognized (answered from the hit count)', () => {
    assert.deepEqual(rw('select count(*) as c').countOnly, { name: 'c' });
    assert.deepEqual(rw('SELECT COUNT(1) FROM log').countOnly, { name: '_col0' });
    assert.equal(rw('select count(*) as c where status = 1').countOnly, undefined);
    assert.equal(rw('select count(*), 1').countOnly, undefined);
  });

  const REFUSED: [string, RegExp][] = [
    ["copy (select 1) to '/tmp/x'", /COPY is not allowed|only SELECT/],
    ["select * from read_parquet('/x')", /read_parquet is not allowed/],
    ["select * from read_csv_auto('/x')", /not allowed/],
    ["select * from '/etc/passwd'", /reading files/],
    ["select 1 from log, read_json('/x')", /not allowed/],
    ["select 1 from log join glob('/*') g on true", /not allowed/],
    ['select * from duckdb_settings()', /not allowed/],
    ["select current_setting('memory_limit')", /not allowed/],
    ['select 1; select 2', /";"/],
    ['pragma database_list', /only SELECT/],
    ['select 1 from log where 1 in (select 1 from other.t)', /not a table|unknown table/],
    ['select * from secrets', /unknown table secrets/],
    ['select 1 limit 1000001', /out of bounds/],
    ['select 1 limit 1, 10001', /out of bounds/],
    ['select 1 limit 999999, 2', /out of bounds/],
    ['select 1 from log offset 1', /OFFSET/],
    ['select * from (select 1 from log limit 1, 2) t', /subqueries/],
    ['select count(*', /unbalanced/],
    ["select 'x", /unterminated/],
    ['select date_format(__time__, method)', /string literal/],
    ["select time_series(__time__, '1w', '%H', '0')", /step/],
    ['  ', /empty/],
  ];
  for (const [input, message] of REFUSED) {
    test(`refuses: ${input}`, () => {
      assert.throws(
        () => rw(input),
        (err: unknown) => {
          assert.ok(isSlsError(err), String(err));
          assert.equal(err.code, 'InvalidQueryString');
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }
});

describe('pattern translations', () => {
  test('MySQL date patterns → strftime', () => {
    assert.equal(mysqlToStrftime('%Y-%m-%d %H:%i:%s'), '%Y-%m-%d %H:%M:%S');
    assert.equal(mysqlToStrftime('%M %e, %T %%'), '%B %-d, %H:%M:%S %%');
  });
  test('time_series steps', () => {
    assert.equal(stepSeconds('1m'), 60);
    assert.equal(stepSeconds('30s'), 30);
    assert.equal(stepSeconds('2h'), 7200);
    assert.equal(stepSeconds('1d'), 86400);
    assert.equal(stepSeconds('0m'), undefined);
    assert.equal(stepSeconds('1w'), undefined);
  });
});
