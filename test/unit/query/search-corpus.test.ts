/**
 * Query → exact matches over a fixed corpus. Every query runs against four layouts of the same rows — all in the
 * in-memory head, all in one sealed segment, split between a segment and the head, and two segments merged into
 * one — and must give the same answer in each, so the head, the segment format and the merge agree with the
 * planner. Parse errors are checked for their code and position.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { compileIndex } from '../../../src/index/index-config.js';
import { LogstoreIndex } from '../../../src/index/logstore-index.js';
import { isSlsError } from '../../../src/protocol/errors.js';
import { encodeLogGroup, type LogGroup } from '../../../src/protocol/log-group.js';
import { histogram, parseQuery, search } from '../../../src/query/executor.js';
import { MergeRunner } from '../../../src/storage/segment/merge-runner.js';
import type { StoredRow } from '../../../src/storage/segment/part.js';

const CONFIG = {
  line: {
    token: [
      ',',
      ' ',
      "'",
      '"',
      ';',
      '=',
      '(',
      ')',
      '[',
      ']',
      '{',
      '}',
      '?',
      '@',
      '&',
      '<',
      '>',
      '/',
      ':',
      '\n',
      '\t',
      '\r',
    ],
    caseSensitive: false,
  },
  keys: {
    status: { type: 'long' },
    latency: { type: 'double' },
    method: { type: 'text', token: [' '], caseSensitive: false, alias: 'm' },
    path: { type: 'text', token: ['/', '?', '&', '='] },
    msg: { type: 'text', token: [' ', ':'], caseSensitive: true },
    req: { type: 'json', token: [' '], index_all: true, json_keys: { 'user.id': { type: 'long' } } },
  },
};

type Row = Record<string, string>;
const ROWS: { time: number; c: Row }[] = [
  {
    time: 1000,
    c: { id: '1', status: '200', latency: '0.5', method: 'GET', path: '/api/v1/users', msg: 'User login OK' },
  },
  {
    time: 1001,
    c: {
      id: '2',
      status: '500',
      latency: '3.25',
      method: 'POST',
      path: '/api/v1/orders',
      msg: 'Internal Error: db timeout',
    },
  },
  {
    time: 1002,
    c: { id: '3', status: '404', latency: '0.01', method: 'GET', path: '/static/app.js', msg: 'not found' },
  },
  {
    time: 1003,
    c: { id: '4', status: '502', latency: '12', method: 'POST', path: '/api/v2/pay', msg: 'Bad gateway upstream' },
  },
  {
    time: 1004,
    c: {
      id: '5',
      status: '200',
      latency: '1.5',
      method: 'DELETE',
      path: '/api/v1/users/42',
      msg: 'deleted user 42',
      req: '{"user":{"id":42,"name":"bob"}}',
    },
  },
  { time: 1005, c: { id: '6', status: 'abc', latency: 'x', method: 'GET', msg: 'weird: a*b?c' } },
  { time: 1006, c: { id: '7', status: '301', latency: '7', method: 'HEAD', msg: 'ERROR upper' } },
];

function group(rows: typeof ROWS, topic: string, source: string, path: string): Uint8Array {
  const g: LogGroup = {
    logs: rows.map((r) => ({ time: r.time, contents: Object.entries(r.c).map(([key, value]) => ({ key, value })) })),
    topic,
    source,
    tags: [{ key: '__path__', value: path }],
  };
  return encodeLogGroup(g);
}
const G1 = group(ROWS.slice(0, 5), 'api', '10.0.0.1', '/var/log/a.log');
const G2 = group(ROWS.slice(5), 'web', '10.0.0.2', '/var/log/b.log');

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function layout(kind: 'head' | 'segment' | 'split' | 'merged'): Promise<LogstoreIndex> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-corpus-'));
  dirs.push(dir);
  const compiled = compileIndex({ config: CONFIG, lastModifyTime: 0, version: 1 }, 30);
  const idx = LogstoreIndex.open(dir, compiled, {
    sealRows: 1_000_000,
    sealAgeMs: 1e12,
    maxSegments: 1,
    maxSegmentRows: 1e9,
    mergeRatio: 0,
  });
  idx.add('0-0', 0, G1);
  if (kind === 'split' || kind === 'merged') idx.seal();
  idx.add('0-0', 1, G2);
  if (kind === 'segment' || kind === 'merged') idx.seal();
  if (kind === 'merged') assert.equal(await idx.mergeOnce(runner), true);
  return idx;
}

const runner = new MergeRunner();
const LAYOUTS = {
  head: await layout('head'),
  segment: await layout('segment'),
  split: await layout('split'),
  merged: await layout('merged'),
};
await runner.close();

function ids(idx: LogstoreIndex, q: string, o: { reverse?: boolean; offset?: number; line?: number } = {}): string[] {
  const r = search(idx.config, idx.parts(), parseQuery(q), {
    from: 0,
    to: 2 ** 32,
    offset: o.offset ?? 0,
    line: o.line ?? 100,
    reverse: o.reverse ?? false,
  });
  return r.rows.map((row) => row.fields.find(([k]) => k === 'id')![1]);
}

const CASES: [string, string[]][] = [
  ['*', ['1', '2', '3', '4', '5', '6', '7']],
  ['', ['1', '2', '3', '4', '5', '6', '7']],
  ['error', ['2', '7']],
  ['Error', ['2', '7']],
  ['status:500', ['2']],
  ['status: 500', ['2']],
  ['status=500', ['2']],
  ['status>=500', ['2', '4']],
  ['status > 500', ['4']],
  ['status < 300', ['1', '5']],
  ['status <= 301', ['1', '5', '7']],
  ['status in [200 404]', ['1', '3', '5', '7']],
  ['status in (200 404)', ['7']],
  ['status in (200 404]', ['3', '7']],
  ['status > 1.5', ['1', '2', '3', '4', '5', '7']],
  ['status:abc', []],
  ['latency > 1', ['2', '4', '5', '7']],
  ['latency in [0.01 0.5]', ['1', '3']],
  ['latency = 12', ['4']],
  ['latency:3.25', ['2']],
  ['method:GET', ['1', '3', '6']],
  ['method:get', ['1', '3', '6']],
  ['m:DELETE', ['5']],
  ['msg:ERROR', ['7']],
  ['msg:Error', ['2']],
  ['msg:error', []],
  ['GET and status:404', ['3']],
  ['GET AND status:404', ['3']],
  ['GET or POST', ['1', '2', '3', '4', '6']],
  ['GET POST', []],
  ['not GET', ['2', '4', '5', '7']],
  ['POST not status:502', ['2']],
  ['GET or POST and status:502', ['1', '3', '4', '6']],
  ['(GET or POST) and status:502', ['4']],
  ['not status:200 and method:GET', ['3', '6']],
  ['not (status:200 or method:GET)', ['2', '4', '7']],
  ['"db timeout"', ['2']],
  ['"timeout db"', []],
  ['"db timeout" or GET', ['1', '2', '3', '6']],
  ['not "db timeout" and not GET', ['4', '5', '7']],
  ['POST "db timeout"', ['2']],
  ['path:/api/v1', ['1', '2', '5']],
  ['path:"v1/users"', ['1', '5']],
  ['use*', ['1', '5']],
  ['a*', ['1', '2', '3', '4', '5', '6']],
  ['not a*', ['7']],
  ['u?er', ['1', '5']],
  ['us*r', ['1', '5']],
  ['path:/api/v*', ['1', '2', '4', '5']],
  ['req.user.id:42', ['5']],
  ['req.user.id > 40', ['5']],
  ['req.user.name:bob', ['5']],
  ['__topic__:web', ['6', '7']],
  ['__source__:10.0.0.2', ['6', '7']],
  ['__source__:10.0.0.*', ['1', '2', '3', '4', '5', '6', '7']],
  ['__tag__:__path__:/var/log/b.log', ['6', '7']],
  ['__tag__\\:__path__:"/var/log/a.log"', ['1', '2', '3', '4', '5']],
  ['msg:a\\*b\\?c', ['6']],
  ['a\\*b\\?c', ['6']],
  ['"a*b"', ['6']],
  ['\\and', []],
  ['42', ['5']],
  ['nothing_here', []],
];

describe('search over a fixed corpus', () => {
  for (const [name, idx] of Object.entries(LAYOUTS)) {
    test(`every query gives its exact matches (${name})`, () => {
      for (const [q, want] of CASES) assert.deepEqual(ids(idx, q), want, `query ${JSON.stringify(q)}`);
    });
    test(`order, reverse, offset and line (${name})`, () => {
      assert.deepEqual(ids(idx, '*', { reverse: true }), ['7', '6', '5', '4', '3', '2', '1']);
      assert.deepEqual(ids(idx, '*', { reverse: true, offset: 2, line: 3 }), ['5', '4', '3']);
      assert.deepEqual(ids(idx, '*', { offset: 5, line: 10 }), ['6', '7']);
      assert.deepEqual(ids(idx, 'GET', { line: 2 }), ['1', '3']);
      assert.deepEqual(ids(idx, '*', { line: 0 }), []);
    });
    test(`histogram counts without rows (${name})`, () => {
      const h = histogram(idx.config, idx.parts(), parseQuery('status >= 300'), { from: 1000, to: 1008, interval: 2 });
      assert.deepEqual(
        h.buckets.map((b) => [b.from, b.to, b.count]),
        [
          [1000, 1002, 1],
          [1002, 1004, 2],
          [1004, 1006, 0],
          [1006, 1008, 1],
        ],
      );
    });
  }

  for (const [name, idx] of Object.entries(LAYOUTS)) {
    test(`histograms = the matching rows' times bucketed (${name})`, () => {
      for (const q of ['*', 'status >= 300', 'GET', 'nothing_here']) {
        const all = search(idx.config, idx.parts(), parseQuery(q), {
          from: 0,
          to: 2 ** 31,
          offset: 0,
          line: 1000,
          reverse: false,
        });
        for (const [from, to] of [
          [990, 1010],
          [999, 1010],
          [1000, 1004],
          [1001, 1003],
          [1003, 1100],
        ] as const) {
          for (const interval of [1, 2, 3, 7, 60]) {
            // Twice: the second answer comes from the cache.
            for (let round = 0; round < 2; round++) {
              const h = histogram(idx.config, idx.parts(), parseQuery(q), { from, to, interval });
              const want = h.buckets.map((b) => all.rows.filter((r) => r.time >= b.from && r.time < b.to).length);
              assert.deepEqual(
                h.buckets.map((b) => b.count),
                want,
                `${q} from ${from} to ${to} interval ${interval}`,
              );
              assert.equal(h.buckets.length, Math.ceil((to - from) / interval));
            }
          }
        }
      }
    });
  }

  test('rows of a field phrase come back whole (its check reads only that field)', () => {
    for (const [name, idx] of Object.entries(LAYOUTS)) {
      const o = { from: 0, to: 2 ** 32, offset: 0, line: 10, reverse: false };
      const idOf = (r: StoredRow): string | undefined => r.fields.find(([k]) => k === 'id')?.[1];
      const whole = new Map(search(idx.config, idx.parts(), parseQuery('*'), o).rows.map((r) => [idOf(r), r]));
      for (const q of ['path:"v1/users"', 'path:"v1/users" and GET', 'path:"v1/users" or "db timeout"']) {
        for (const reverse of [false, true]) {
          const got = search(idx.config, idx.parts(), parseQuery(q), { ...o, reverse }).rows;
          assert.ok(got.length > 0, `${name}: ${q}`);
          for (const r of got) assert.deepEqual(r, whole.get(idOf(r)), `${name}: ${q}`);
          assert.equal(got.length, ids(idx, q).length, `${name}: ${q}`);
        }
      }
    }
  });

  test('rows come back whole, with reserved fields and tags', () => {
    for (const idx of Object.values(LAYOUTS)) {
      const r = search(idx.config, idx.parts(), parseQuery('req.user.id:42'), {
        from: 0,
        to: 2 ** 32,
        offset: 0,
        line: 10,
        reverse: false,
      });
      assert.equal(r.rows.length, 1);
      assert.equal(r.rows[0]!.time, 1004);
      const f = Object.fromEntries(r.rows[0]!.fields);
      assert.equal(f['__topic__'], 'api');
      assert.equal(f['__source__'], '10.0.0.1');
      assert.equal(f['__tag__:__path__'], '/var/log/a.log');
      assert.equal(f['req'], '{"user":{"id":42,"name":"bob"}}');
    }
  });
});

const ERRORS: [string, string, number | undefined][] = [
  ['status:', 'InvalidQueryString', 7],
  ['(GET', 'InvalidQueryString', 4],
  ['GET)', 'InvalidQueryString', 3],
  ['*abc', 'InvalidQueryString', 0],
  ['GET and ?x', 'InvalidQueryString', 8],
  ['status >= abc', 'InvalidQueryString', 10],
  ['status in [1 2', 'InvalidQueryString', 14],
  ['"open phrase', 'InvalidQueryString', 0],
  ['and GET', 'InvalidQueryString', 0],
  ['GET or', 'InvalidQueryString', 6],
  ['GET | select count(*)', 'InvalidQueryString', undefined],
  ['trailing\\', 'InvalidQueryString', 8],
];

describe('parse errors carry the position and what was expected', () => {
  test('each bad query fails with its code and position', () => {
    for (const [q, code, pos] of ERRORS) {
      assert.throws(
        () => parseQuery(q),
        (err: unknown) => {
          assert.ok(isSlsError(err), `query ${JSON.stringify(q)} threw ${String(err)}`);
          assert.equal(err.code, code, `query ${JSON.stringify(q)}: ${err.message}`);
          assert.equal(err.status, 400);
          if (pos !== undefined)
            assert.equal(
              (err as unknown as { position: number }).position,
              pos,
              `query ${JSON.stringify(q)}: ${err.message}`,
            );
          return true;
        },
      );
    }
  });

  test('fields the config does not index are refused when planned', () => {
    const idx = LAYOUTS.head;
    const run = (q: string) =>
      search(idx.config, idx.parts(), parseQuery(q), { from: 0, to: 2 ** 32, offset: 0, line: 10, reverse: false });
    assert.throws(
      () => run('nokey:1'),
      (e: unknown) => isSlsError(e) && e.code === 'ParameterInvalid',
    );
    assert.throws(
      () => run('msg > 3'),
      (e: unknown) => isSlsError(e) && e.code === 'InvalidQueryString',
    );
    assert.throws(
      () => run('status:5*'),
      (e: unknown) => isSlsError(e) && e.code === 'InvalidQueryString',
    );
  });
});
