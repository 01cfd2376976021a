/**
 * `search | SQL` against a real `sluice serve`: a fixed corpus, table-driven SLS statements → exact rows (through
 * `@alicloud/log` getLogs, v1), the v2 envelope (`hasSQL`, `keys`, `columnTypes`), project-level SQL, forbidden
 * statements and malformed SQL refused with 400 InvalidQueryString. No timing assertions; "searchable" is a bounded
 * poll.
 */
import assert from 'node:assert/strict';
import type { Agent } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { SlsClient } from '../../src/client/sls-client.js';
import { encodeLogGroup } from '../../src/protocol/log-group.js';
import { loopbackAgent, openN1 } from '../helpers/alicloud-log.js';
import { removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { headerOf, jsonOf, testClient } from '../helpers/sls-kit.js';

type Rows = Record<string, string>[];
interface N1Options {
  readonly agent: Agent;
  /** httpx read timeout (ms): the SDK's 3 s default is too short for a loaded test machine's first statement. */
  readonly timeout: number;
}
interface N1Client {
  createProject(name: string, data: { description: string }, o: N1Options): Promise<unknown>;
  createLogStore(
    project: string,
    ls: string,
    data: { ttl?: number; shardCount?: number },
    o: N1Options,
  ): Promise<unknown>;
  createIndex(project: string, ls: string, index: unknown, o: N1Options): Promise<unknown>;
  getLogs(
    project: string,
    ls: string,
    from: Date,
    to: Date,
    data: Record<string, unknown>,
    o: N1Options,
  ): Promise<Rows>;
  getProjectLogs(project: string, data: Record<string, unknown>, o: N1Options): Promise<Rows>;
}

const PROJECT = 'sql-proj';
const LS = 'web';
const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z
const N = 600;
const INDEX = {
  line: { token: [' ', ',', '/', ':', '=', '?', '&'], caseSensitive: false, chn: false },
  keys: {
    status: { type: 'long', doc_value: true },
    latency: { type: 'double', doc_value: true },
    method: { type: 'text', token: [' '], doc_value: true },
    url: { type: 'text', token: ['/', '?', '&', '='], doc_value: true },
    n: { type: 'long', doc_value: true },
    note: { type: 'text', token: [' '], doc_value: true },
    body: { type: 'json', token: [' '], caseSensitive: false, json_keys: { 'user.id': { type: 'long' } } },
  },
};

/**
 * Log i (0..599): second T0+i; status 500 when i%10==0, 404 when i%10==5, else 200; latency i/100; method GET for
 * even i, POST for odd; url http://h<i%3>.example.com/p/<i%4>?id=<i>&x=y; topic a (even groups of 100) / b; tag
 * host=h1 (groups 0-2) / h2 (groups 3-5); note `a,"b"<newline>c` when i%100==0, empty when i%100==1, else absent.
 */
function groupBytes(g: number): Buffer {
  const logs = [];
  for (let i = g * 100; i < (g + 1) * 100; i++) {
    logs.push({
      time: T0 + i,
      contents: [
        { key: 'n', value: String(i) },
        { key: 'status', value: i % 10 === 0 ? '500' : i % 10 === 5 ? '404' : '200' },
        { key: 'latency', value: (i / 100).toFixed(2) },
        { key: 'method', value: i % 2 === 0 ? 'GET' : 'POST' },
        { key: 'url', value: `http://h${i % 3}.example.com/p/${i % 4}?id=${i}&x=y` },
        { key: 'body', value: JSON.stringify({ user: { id: i % 7 }, ok: i % 2 === 0 }) },
        ...(i % 100 === 0 ? [{ key: 'note', value: 'a,"b"\nc' }] : i % 100 === 1 ? [{ key: 'note', value: '' }] : []),
      ],
    });
  }
  return encodeLogGroup({
    logs,
    topic: g % 2 === 0 ? 'a' : 'b',
    source: '10.1.1.1',
    tags: [{ key: 'host', value: g < 3 ? 'h1' : 'h2' }],
  });
}

/** [statement, expected rows] — every cell a string. */
const CASES: [string, Rows][] = [
  [
    '* | select status, count(*) as c group by status order by status',
    [
      { status: '200', c: '480' },
      { status: '404', c: '60' },
      { status: '500', c: '60' },
    ],
  ],
  ['* | SELECT count(*) AS c FROM log', [{ c: '600' }]],
  // The same groups through DuckDB (HAVING takes the statement off the index-only path).
  [
    '* | select status, count(*) as c group by status having count(*) > 0 order by status',
    [
      { status: '200', c: '480' },
      { status: '404', c: '60' },
      { status: '500', c: '60' },
    ],
  ],
  [
    'method:POST | select count(*) as c, status group by status order by c desc',
    [
      { c: '240', status: '200' },
      { c: '60', status: '404' },
    ],
  ],
  [
    'method:POST and n < 100 | select status, count(*) as c group by 1 order by 2 desc limit 1, 1',
    [{ status: '404', c: '10' }],
  ],
  [
    "n >= 590 | select date_trunc('second', __time__) as t, count(*) group by t order by t desc limit 2",
    [
      { t: String(T0 + 599), _col1: '1' },
      { t: String(T0 + 598), _col1: '1' },
    ],
  ],
  [
    "n >= 590 | select date_trunc('second', __time__) as t, count(*) as c group by t having c > 0 order by t desc limit 2",
    [
      { t: String(T0 + 599), c: '1' },
      { t: String(T0 + 598), c: '1' },
    ],
  ],
  ['status:500 | select count(*) as c', [{ c: '60' }]],
  ['status:500 and method:GET | select count(1) as c, max(n) as m', [{ c: '60', m: '590' }]],
  ['* | select n from log order by n limit 3', [{ n: '0' }, { n: '1' }, { n: '2' }]],
  ['* | select n order by n limit 10, 2', [{ n: '10' }, { n: '11' }]],
  ['* | select n order by n desc', Array.from({ length: 100 }, (_, i) => ({ n: String(599 - i) }))],
  [
    "* | select date_trunc('minute', __time__) as t, count(*) as c group by t order by t limit 2",
    [
      { t: String(T0), c: '60' },
      { t: String(T0 + 60), c: '60' },
    ],
  ],
  [
    "* | select date_trunc('hour', from_unixtime(__time__)) as t, count(*) as c group by t",
    [{ t: '2026-01-01 00:00:00.000', c: '600' }],
  ],
  [
    "* | select date_format(from_unixtime(__time__), '%Y-%m-%d %H:%i:%s') as d where n = 61",
    [{ d: '2026-01-01 00:01:01' }],
  ],
  [
    "* | select date_format(__time__, '%H:%i') as d, count(*) as c group by d order by d limit 1",
    [{ d: '00:00', c: '60' }],
  ],
  [
    // Every 5-minute bucket of the hour is there; the empty ones padded with '0' (SLS fills them).
    "* | select time_series(__time__, '5m', '%H:%i', '0') as t, count(*) as c group by t order by t",
    Array.from({ length: 12 }, (_, i) => ({
      t: `00:${String(i * 5).padStart(2, '0')}`,
      c: i < 2 ? '300' : '0',
    })),
  ],
  ["* | select to_unixtime(date_parse('2026-01-01 00:10', '%Y-%m-%d %H:%i')) as u limit 1", [{ u: String(T0 + 600) }]],
  [
    '* | select "__tag__:host" as h, count(*) as c group by h order by h',
    [
      { h: 'h1', c: '300' },
      { h: 'h2', c: '300' },
    ],
  ],
  [
    '* | select __topic__, __source__, count(*) as c group by __topic__, __source__ order by __topic__',
    [
      { __topic__: 'a', __source__: '10.1.1.1', c: '300' },
      { __topic__: 'b', __source__: '10.1.1.1', c: '300' },
    ],
  ],
  [
    '* | select approx_distinct(status) as d, count_if(status = 404) as f, arbitrary(__source__) as s',
    [{ d: '3', f: '60', s: '10.1.1.1' }],
  ],
  ['status:404 | select histogram(status) as h', [{ h: '{"404":60}' }]],
  ['n < 3 | select map_agg(n, method) as m', [{ m: '{"0":"GET","1":"POST","2":"GET"}' }]],
  [
    "* | select regexp_extract(url, 'h(\\d)\\.', 1) as h, regexp_like(url, 'p/3') as l, regexp_replace(method, '(P)OST', 'x$1') as r where n = 7",
    [{ h: '1', l: 'true', r: 'xP' }],
  ],
  ["* | select regexp_extract(url, 'zzz') as e where n = 1", [{ e: 'null' }]],
  [
    "* | select split_part(url, '/', 3) as a, split(method, 'O') as s, strpos(method, 'S') as p where n = 1",
    [{ a: 'h1.example.com', s: '["P","ST"]', p: '3' }],
  ],
  [
    "* | select url_extract_host(url) as h, url_extract_path(url) as p, url_extract_parameter(url, 'id') as i where n = 9",
    [{ h: 'h0.example.com', p: '/p/1', i: '9' }],
  ],
  [
    "* | select try_cast(method as bigint) as t, if(n > 5, 'big', 'small') as i, coalesce(null, method) as c, round(latency * 3, 1) as r, length(method) as l, lower(method) as lo, upper('x') as u where n = 7",
    [{ t: 'null', i: 'big', c: 'POST', r: '0.2', l: '4', lo: 'post', u: 'X' }],
  ],
  [
    "* | select cast(status as varchar) || '!' as s, sum(latency) as total where n < 2 group by status order by s",
    [
      { s: '200!', total: '0.01' },
      { s: '500!', total: '0' },
    ],
  ],
  ['__topic__: b | select min(n) as lo, max(n) as hi', [{ lo: '100', hi: '599' }]],
  // Cells with a comma, quotes and a newline, empty cells and absent ones survive the copy into DuckDB.
  [
    '* | select note, count(*) as c group by note order by note nulls last',
    [
      { note: '', c: '6' },
      { note: 'a,"b"\nc', c: '6' },
      { note: 'null', c: '588' },
    ],
  ],
  ['* | select current_date is not null as d, now() is not null as t limit 1', [{ d: 'true', t: 'true' }]],
];

describe('search | SQL through @alicloud/log and v2', () => {
  let server: ServerProcess;
  let n1: N1Client;
  let o: N1Options;
  let raw: SlsClient;
  const from = new Date(T0 * 1000);
  const to = new Date((T0 + 3600) * 1000);

  before(async () => {
    server = await startServerProcess();
    const agent = loopbackAgent();
    o = { agent, timeout: 60_000 };
    n1 = openN1<N1Client>(server.port);
    raw = testClient(server.url);
    await n1.createProject(PROJECT, { description: '' }, o);
    await n1.createLogStore(PROJECT, LS, { ttl: 3650, shardCount: 2 }, o);
    await n1.createIndex(PROJECT, LS, INDEX, o);
    for (let g = 0; g < N / 100; g++) {
      const res = await raw.send({
        method: 'POST',
        project: PROJECT,
        path: `/logstores/${LS}/shards/lb`,
        headers: { 'content-type': 'application/x-protobuf' },
        body: groupBytes(g),
      });
      assert.equal(res.status, 200, res.body.toString());
    }
    let got = '';
    for (let i = 0; i < 200 && got !== String(N); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      const rows = await n1.getLogs(PROJECT, LS, from, to, { query: '* | select count(*) as c' }, o);
      got = rows[0]?.['c'] ?? '';
    }
    assert.equal(got, String(N), 'all logs searchable');
  });

  after(async () => {
    raw?.close();
    o?.agent.destroy();
    if (server) {
      await server.stop();
      await removeDir(server.dataDir);
    }
  });

  for (const [query, want] of CASES) {
    test(query, async () => {
      const rows = await n1.getLogs(PROJECT, LS, from, to, { query }, o);
      assert.deepStrictEqual(rows, want);
    });
  }

  test('approx_percentile: single and array forms, within tolerance', async () => {
    const [row] = await n1.getLogs(
      PROJECT,
      LS,
      from,
      to,
      {
        query: '* | select approx_percentile(latency, 0.5) as p50, approx_percentile(latency, array[0.1, 0.99]) as ps',
      },
      o,
    );
    assert.ok(Math.abs(Number(row!['p50']) - 3) < 0.1, row!['p50']);
    const ps = JSON.parse(row!['ps']!) as number[];
    assert.ok(Math.abs(ps[0]! - 0.6) < 0.1 && Math.abs(ps[1]! - 5.94) < 0.1, row!['ps']);
  });

  test('json columns: json_extract and json_extract_scalar over a json key', async () => {
    const rows = await n1.getLogs(
      PROJECT,
      LS,
      from,
      to,
      {
        query:
          "* | select json_extract_scalar(body, '$.user.id') as id, json_extract(body, '$.ok') as ok, json_extract_scalar(body, '$.none') as none where n = 8",
      },
      o,
    );
    assert.deepStrictEqual(rows, [{ id: '1', ok: 'true', none: 'null' }]);
  });

  test('v2: meta hasSQL, keys, columnTypes, count; v1 headers', async () => {
    const res = await raw.send({
      method: 'POST',
      project: PROJECT,
      path: `/logstores/${LS}/logs`,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(
        JSON.stringify({
          from: T0,
          to: T0 + 3600,
          query: 'status:500 | select method, count(*) as c group by method',
          line: 100,
        }),
      ),
    });
    assert.equal(res.status, 200, res.body.toString());
    const body = jsonOf<{ meta: Record<string, unknown>; data: Rows }>(res);
    assert.equal(body.meta['hasSQL'], true);
    assert.equal(body.meta['progress'], 'Complete');
    assert.deepStrictEqual(body.meta['keys'], ['method', 'c']);
    assert.deepStrictEqual(body.meta['columnTypes'], ['varchar', 'bigint']);
    assert.equal(body.meta['count'], 1);
    assert.equal(body.meta['whereQuery'], 'status:500');
    assert.deepStrictEqual(body.data, [{ method: 'GET', c: '60' }]);

    const v1 = await raw.send({
      method: 'GET',
      project: PROJECT,
      path: `/logstores/${LS}`,
      query: { type: 'log', from: String(T0), to: String(T0 + 3600), query: '* | select count(*) as c' },
    });
    assert.equal(headerOf(v1, 'x-log-has-sql'), 'True');
    assert.equal(headerOf(v1, 'x-log-progress'), 'Complete');
    assert.equal(headerOf(v1, 'x-log-count'), '1');
  });

  test('the time range restricts the rows', async () => {
    const rows = await n1.getLogs(
      PROJECT,
      LS,
      new Date((T0 + 100) * 1000),
      new Date((T0 + 150) * 1000),
      { query: '* | select count(*) as c, min(n) as lo, max(n) as hi' },
      o,
    );
    assert.deepStrictEqual(rows, [{ c: '50', lo: '100', hi: '149' }]);
  });

  test('project-level SQL: FROM <logstore>', async () => {
    const rows = await n1.getProjectLogs(
      PROJECT,
      { query: `select status, count(*) as c from ${LS} where __time__ < ${T0 + 10} group by status order by status` },
      o,
    );
    assert.deepStrictEqual(rows, [
      { status: '200', c: '8' },
      { status: '404', c: '1' },
      { status: '500', c: '1' },
    ]);
  });

  const REFUSED: [string, RegExp][] = [
    ["* | select * from read_csv('/etc/passwd')", /not allowed/],
    ["* | select * from '/etc/passwd'", /not allowed/],
    ["* | copy (select 1) to '/tmp/x.csv'", /not allowed|only SELECT/],
    ["* | attach '/tmp/x.db'", /only SELECT|not allowed/],
    ['* | install httpfs', /only SELECT|not allowed/],
    ['* | pragma version', /only SELECT|not allowed/],
    ["* | set memory_limit = '100GB'", /only SELECT|not allowed/],
    ['* | create table t as select 1', /only SELECT|not allowed/],
    ["* | select count(*) from glob('/*')", /not allowed/],
    ['* | select 1; select 2', /";" is not allowed/],
    ['* | select * from other_table', /unknown table/],
    ['* | select count(*) limit 2000000, 10', /out of bounds/],
    ['* | select count(*) limit 10, 20000', /out of bounds/],
    ['* | select count(*) limit 2000000', /out of bounds/],
    ['* | select count(*) from log offset 2', /OFFSET/],
    ['* | select count(*) from (select n from log limit 2, 3)', /subqueries/],
    ['* | select nosuchcolumn from log', /unknown column|nosuchcolumn/],
    ['* | select count(*) form log', /syntax|InvalidQueryString|form/i],
    ["* | select 'unterminated", /unterminated/],
    ['* | select nosuchfunction(n)', /nosuchfunction/],
    ['* | ', /empty/],
  ];
  for (const [query, message] of REFUSED) {
    test(`refused: ${query}`, async () => {
      await assert.rejects(n1.getLogs(PROJECT, LS, from, to, { query }, o), (err: unknown) => {
        const e = err as { code?: string; message?: string };
        assert.equal(e.code, 'InvalidQueryString', String(e.message));
        assert.match(String(e.message), message);
        return true;
      });
    });
  }
});
