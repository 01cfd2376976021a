/**
 * Index and search through the official Node SDK `@alicloud/log` (N1) and raw signed requests against a real
 * `sluice serve`: index create/get/update/delete, GetLogs paging (offset, line, reverse, topic), GetHistograms,
 * GetLogs v2 with LZ4 responses, ListTopics, and the error codes. No timing assertions: "searchable" is awaited
 * with a bounded poll.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { Agent } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { SlsClient } from '../../src/client/sls-client.js';
import { encodeLogGroup } from '../../src/protocol/log-group.js';
import { lz4BlockDecompress } from '../../src/protocol/lz4-block.js';
import { loopbackAgent, openN1 } from '../helpers/alicloud-log.js';
import {
  removeDir,
  type ServerProcess,
  SLUICE_BIN,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCESS_KEY_SECRET,
} from '../helpers/server-process.js';
import { assertSlsError, headerOf, jsonOf, testClient } from '../helpers/sls-kit.js';

const execFileAsync = promisify(execFile);

interface N1Options {
  readonly agent: Agent;
}
type Rows = Record<string, string>[];
interface N1Client {
  createProject(name: string, data: { description: string }, o: N1Options): Promise<unknown>;
  createLogStore(
    project: string,
    ls: string,
    data: { ttl?: number; shardCount?: number },
    o: N1Options,
  ): Promise<unknown>;
  getIndexConfig(project: string, ls: string, o: N1Options): Promise<Record<string, unknown>>;
  createIndex(project: string, ls: string, index: unknown, o: N1Options): Promise<unknown>;
  updateIndex(project: string, ls: string, index: unknown, o: N1Options): Promise<unknown>;
  deleteIndex(project: string, ls: string, o: N1Options): Promise<unknown>;
  getLogs(
    project: string,
    ls: string,
    from: Date,
    to: Date,
    data: Record<string, unknown>,
    o: N1Options,
  ): Promise<Rows>;
  getHistograms(
    project: string,
    ls: string,
    from: Date,
    to: Date,
    data: Record<string, unknown>,
    o: N1Options,
  ): Promise<{ from: number; to: number; count: number; progress: string }[]>;
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, code, String((err as Error).message));
    return true;
  });
}

const PROJECT = 'search-proj';
const LS = 'web';
const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z
const N = 600;
const INDEX = {
  line: { token: [' ', ',', '/', ':', '=', '?', '&'], caseSensitive: false, chn: false },
  keys: {
    status: { type: 'long', doc_value: true, alias: '' },
    latency: { type: 'double', doc_value: true },
    path: { type: 'text', token: ['/'], caseSensitive: false, chn: false, doc_value: true },
  },
};

/** Log i: second T0+i, status 500 every 10th, topic a (even groups) / b (odd groups) of 100 logs. */
function groupBytes(g: number): Buffer {
  const logs = [];
  for (let i = g * 100; i < (g + 1) * 100; i++) {
    logs.push({
      time: T0 + i,
      contents: [
        { key: 'n', value: String(i) },
        { key: 'status', value: i % 10 === 0 ? '500' : '200' },
        { key: 'latency', value: (i / 100).toFixed(2) },
        { key: 'path', value: `/api/item/${i}` },
        { key: 'msg', value: i === 377 ? 'needle found here' : 'ordinary request' },
      ],
    });
  }
  return encodeLogGroup({
    logs,
    topic: g % 2 === 0 ? 'a' : 'b',
    source: '10.1.1.1',
    tags: [{ key: 'host', value: 'h1' }],
  });
}

describe('search through @alicloud/log and raw v2', () => {
  let server: ServerProcess;
  let n1: N1Client;
  let o: N1Options;
  let raw: SlsClient;
  const from = new Date(T0 * 1000);
  const to = new Date((T0 + 3600) * 1000);

  before(async () => {
    server = await startServerProcess();
    const agent = loopbackAgent();
    o = { agent };
    n1 = openN1<N1Client>(server.port);
    raw = testClient(server.url);
    await n1.createProject(PROJECT, { description: '' }, o);
    await n1.createLogStore(PROJECT, LS, { ttl: 3650, shardCount: 2 }, o);
  });

  after(async () => {
    raw?.close();
    o?.agent.destroy();
    if (server) {
      await server.stop();
      await removeDir(server.dataDir);
    }
  });

  async function waitCount(query: string, want: number): Promise<void> {
    let got = -1;
    for (let i = 0; i < 200 && got !== want; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      const h = await n1.getHistograms(PROJECT, LS, from, to, { query }, o);
      got = h.reduce((a, b) => a + b.count, 0);
    }
    assert.equal(got, want, `searchable count of ${JSON.stringify(query)}`);
  }

  test('no index: GetIndex and GetLogs answer IndexConfigNotExist', async () => {
    await rejectsWith(n1.getIndexConfig(PROJECT, LS, o), 'IndexConfigNotExist');
    await rejectsWith(n1.getLogs(PROJECT, LS, from, to, { query: '*' }, o), 'IndexConfigNotExist');
    await rejectsWith(n1.deleteIndex(PROJECT, LS, o), 'IndexConfigNotExist');
  });

  test('create index: echoed verbatim, duplicates refused, bad configs explained', async () => {
    assert.equal(await n1.createIndex(PROJECT, LS, INDEX, o), '');
    await rejectsWith(n1.createIndex(PROJECT, LS, INDEX, o), 'IndexAlreadyExist');
    const got = await n1.getIndexConfig(PROJECT, LS, o);
    assert.deepStrictEqual(got['keys'], INDEX.keys);
    assert.deepStrictEqual(got['line'], INDEX.line);
    assert.equal(typeof got['ttl'], 'number');
    await rejectsWith(n1.updateIndex(PROJECT, LS, { keys: { x: { type: 'float' } } }, o), 'ParameterInvalid');
  });

  test('logs written after the index are searchable: paging, reverse, topic, fields', async () => {
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
    await waitCount('*', N);

    // SLS default order is oldest first; reverse=true is newest first.
    const first = await n1.getLogs(PROJECT, LS, from, to, { query: '*', line: 100, offset: 0 }, o);
    assert.deepEqual(
      first.map((r) => r['n']),
      Array.from({ length: 100 }, (_, i) => String(i)),
    );
    const page3 = await n1.getLogs(PROJECT, LS, from, to, { query: '*', line: 100, offset: 200, reverse: true }, o);
    assert.deepEqual(
      page3.map((r) => r['n']),
      Array.from({ length: 100 }, (_, i) => String(N - 1 - 200 - i)),
    );
    const row = first[7]!;
    assert.equal(row['__time__'], String(T0 + 7));
    assert.equal(row['__topic__'], 'a');
    assert.equal(row['__source__'], '10.1.1.1');
    assert.equal(row['__tag__:host'], 'h1');
    assert.equal(row['path'], '/api/item/7');

    const errors = await n1.getLogs(PROJECT, LS, from, to, { query: 'status:500', line: 100 }, o);
    assert.equal(errors.length, N / 10);
    assert.ok(errors.every((r) => r['status'] === '500'));
    const topicB = await n1.getLogs(PROJECT, LS, from, to, { query: 'status >= 500', topic: 'b', line: 100 }, o);
    assert.deepEqual(
      topicB.map((r) => r['n']),
      [
        '100',
        '110',
        '120',
        '130',
        '140',
        '150',
        '160',
        '170',
        '180',
        '190',
        '300',
        '310',
        '320',
        '330',
        '340',
        '350',
        '360',
        '370',
        '380',
        '390',
        '500',
        '510',
        '520',
        '530',
        '540',
        '550',
        '560',
        '570',
        '580',
        '590',
      ],
    );
    const needle = await n1.getLogs(PROJECT, LS, from, to, { query: 'needle and path:item' }, o);
    assert.deepEqual(
      needle.map((r) => r['n']),
      ['377'],
    );
    const range = await n1.getLogs(PROJECT, LS, from, to, { query: 'latency in [1.5 1.52)', line: 10 }, o);
    assert.deepEqual(
      range.map((r) => r['n']),
      ['150', '151'],
    );
    // `to` is exclusive.
    const narrow = await n1.getLogs(PROJECT, LS, new Date((T0 + 10) * 1000), new Date((T0 + 12) * 1000), {}, o);
    assert.deepEqual(
      narrow.map((r) => r['n']),
      ['10', '11'],
    );
  });

  test('GetLogs v1 headers and GetHistograms buckets', async () => {
    const res = await raw.send({
      method: 'GET',
      project: PROJECT,
      path: `/logstores/${LS}`,
      query: { type: 'log', from: String(T0), to: String(T0 + 3600), query: 'status:500', line: '5' },
    });
    const rows = jsonOf<Rows>(res);
    assert.equal(rows.length, 5);
    assert.equal(headerOf(res, 'x-log-progress'), 'Complete');
    assert.equal(headerOf(res, 'x-log-count'), '5');
    assert.ok(Number(headerOf(res, 'x-log-processed-rows')) >= 5);

    const h = await n1.getHistograms(PROJECT, LS, from, new Date((T0 + 600) * 1000), { query: 'status:500' }, o);
    assert.equal(h.length, 60);
    assert.deepEqual(h[0], { from: T0, to: T0 + 10, count: 1, progress: 'Complete' });
    assert.equal(
      h.reduce((a, b) => a + b.count, 0),
      60,
    );
    const hr = await raw.send({
      method: 'GET',
      project: PROJECT,
      path: `/logstores/${LS}`,
      query: { type: 'histogram', from: String(T0), to: String(T0 + 600), query: '*', interval: '300' },
    });
    assert.deepEqual(jsonOf(hr), [
      { from: T0, to: T0 + 300, count: 300, progress: 'Complete' },
      { from: T0 + 300, to: T0 + 600, count: 300, progress: 'Complete' },
    ]);
    assert.equal(headerOf(hr, 'x-log-count'), '600');
    assert.equal(headerOf(hr, 'x-log-progress'), 'Complete');

    const topics = jsonOf<string[]>(
      await raw.send({ method: 'GET', project: PROJECT, path: `/logstores/${LS}`, query: { type: 'topic' } }),
    );
    assert.deepEqual(topics, ['a', 'b']);
  });

  test('GetLogs v2: {meta, data}, LZ4 per Accept-Encoding', async () => {
    const body = { from: T0, to: T0 + 3600, line: 3, offset: 0, reverse: true, query: 'status:500', powerSql: false };
    const res = await raw.send({
      method: 'POST',
      project: PROJECT,
      path: `/logstores/${LS}/logs`,
      headers: { 'content-type': 'application/json', 'accept-encoding': 'lz4' },
      body: Buffer.from(JSON.stringify(body)),
    });
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(headerOf(res, 'x-log-compresstype'), 'lz4');
    const text = lz4BlockDecompress(res.body, Number(headerOf(res, 'x-log-bodyrawsize'))).toString('utf8');
    const json = JSON.parse(text) as { meta: Record<string, unknown>; data: Rows };
    assert.equal(json.meta['progress'], 'Complete');
    assert.equal(json.meta['count'], 3);
    assert.equal(json.meta['hasSQL'], false);
    assert.deepEqual(
      json.data.map((r) => r['n']),
      ['590', '580', '570'],
    );
    const plain = await raw.send({
      method: 'POST',
      project: PROJECT,
      path: `/logstores/${LS}/logs`,
      body: Buffer.from(JSON.stringify({ ...body, line: 1 })),
    });
    assert.equal(jsonOf<{ data: Rows }>(plain).data.length, 1);
  });

  test('bad queries: InvalidQueryString with the position; unindexed keys; SQL not yet', async () => {
    const ask = (query: string) =>
      raw.send({
        method: 'GET',
        project: PROJECT,
        path: `/logstores/${LS}`,
        query: { type: 'log', from: String(T0), to: String(T0 + 60), query },
      });
    const bad = await ask('status:500 and (');
    assertSlsError(bad, 400, 'InvalidQueryString');
    assert.match(bad.body.toString(), /end of the query/);
    assertSlsError(await ask('*bad'), 400, 'InvalidQueryString');
    assertSlsError(await ask('* | select count(*) from nowhere'), 400, 'InvalidQueryString');
    assertSlsError(await ask('nokey:1'), 400, 'ParameterInvalid');
    const badRange = await raw.send({
      method: 'GET',
      project: PROJECT,
      path: `/logstores/${LS}`,
      query: { type: 'log', from: String(T0 + 60), to: String(T0) },
    });
    assertSlsError(badRange, 400, 'InvalidTimeRange');
  });

  test('update index: new keys echoed and used; delete: queries refused', async () => {
    const next = { ...INDEX, keys: { ...INDEX.keys, msg: { type: 'text', token: [' '], caseSensitive: false } } };
    assert.equal(await n1.updateIndex(PROJECT, LS, next, o), '');
    assert.deepStrictEqual((await n1.getIndexConfig(PROJECT, LS, o))['keys'], next.keys);
    const g = encodeLogGroup({
      logs: [{ time: T0 + 1000, contents: [{ key: 'msg', value: 'fresh needle' }] }],
      tags: [],
    });
    await raw.send({
      method: 'POST',
      project: PROJECT,
      path: `/logstores/${LS}/shards/lb`,
      headers: { 'content-type': 'application/x-protobuf' },
      body: g,
    });
    let hits: Rows = [];
    for (let i = 0; i < 200 && hits.length === 0; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      hits = await n1.getLogs(PROJECT, LS, from, to, { query: 'msg:fresh' }, o);
    }
    assert.deepEqual(
      hits.map((r) => r['msg']),
      ['fresh needle'],
    );
    assert.equal(await n1.deleteIndex(PROJECT, LS, o), '');
    await rejectsWith(n1.getLogs(PROJECT, LS, from, to, { query: '*' }, o), 'IndexConfigNotExist');
    await rejectsWith(n1.getIndexConfig(PROJECT, LS, o), 'IndexConfigNotExist');
  });

  test('reindex: logs written before the index become searchable, with progress', async () => {
    await n1.createLogStore(PROJECT, 'older', { ttl: 3650, shardCount: 2 }, o);
    for (let g = 0; g < 3; g++) {
      const res = await raw.send({
        method: 'POST',
        project: PROJECT,
        path: '/logstores/older/shards/lb',
        headers: { 'content-type': 'application/x-protobuf' },
        body: groupBytes(g),
      });
      assert.equal(res.status, 200);
    }
    assert.equal(await n1.createIndex(PROJECT, 'older', INDEX, o), '');
    // Indexed from the index's creation on: the older logs are not there yet.
    const before = await n1.getHistograms(PROJECT, 'older', from, to, { query: '*' }, o);
    assert.equal(
      before.reduce((a, b) => a + b.count, 0),
      0,
    );
    const started = jsonOf<{ status: string; totalRecords: number }>(
      await raw.send({
        method: 'POST',
        project: PROJECT,
        path: '/logstores/older/index/rebuild',
        body: Buffer.from(JSON.stringify({ from: 0 })),
      }),
    );
    assert.equal(started.totalRecords, 3);
    let status = started.status;
    for (let i = 0; i < 200 && status !== 'Done'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = jsonOf<{ status: string }>(
        await raw.send({ method: 'GET', project: PROJECT, path: '/logstores/older/index/rebuild' }),
      ).status;
    }
    assert.equal(status, 'Done');
    let total = 0;
    for (let i = 0; i < 200 && total !== 300; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      const h = await n1.getHistograms(PROJECT, 'older', from, to, { query: 'status:500 or status:200' }, o);
      total = h.reduce((a, b) => a + b.count, 0);
    }
    assert.equal(total, 300);
  });

  test('sluice reindex (CLI) rebuilds and reports progress until done', async () => {
    const { stdout } = await execFileAsync(
      process.execPath,
      [
        SLUICE_BIN,
        'reindex',
        '--endpoint',
        server.url,
        '--project',
        PROJECT,
        '--logstore',
        'older',
        '--from',
        '0',
        '--wait',
      ],
      {
        env: {
          ...process.env,
          SLUICE_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
          SLUICE_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET,
        },
        timeout: 30_000,
      },
    );
    assert.match(stdout, /Done: 3\/3 LogGroups \(100\.0%\)\s*$/);
    let total = 0;
    for (let i = 0; i < 200 && total !== 300; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      const h = await n1.getHistograms(PROJECT, 'older', from, to, { query: '*' }, o);
      total = h.reduce((a, b) => a + b.count, 0);
    }
    assert.equal(total, 300);
  });
  test('reindex of a time range [from, to): only that range is rebuilt, logs outside keep their entries', async () => {
    const LS2 = 'ranged';
    await n1.createLogStore(PROJECT, LS2, { ttl: 3650, shardCount: 2 }, o);
    const send = async (batch: string): Promise<void> => {
      const logs = Array.from({ length: 5 }, (_, i) => ({
        time: T0 + 500 + i,
        contents: [{ key: 'msg', value: `batch ${batch} item${i}` }],
      }));
      const res = await raw.send({
        method: 'POST',
        project: PROJECT,
        path: `/logstores/${LS2}/shards/lb`,
        headers: { 'content-type': 'application/x-protobuf' },
        body: encodeLogGroup({ logs, tags: [] }),
      });
      assert.equal(res.status, 200);
    };
    // Receive times: a < t1 <= b < t2 <= c (each boundary is a new second of the server's clock).
    const nextSecond = async (): Promise<number> => {
      const sec = Math.floor(Date.now() / 1000) + 1;
      await new Promise((r) => setTimeout(r, sec * 1000 - Date.now() + 20));
      return sec;
    };
    await send('a');
    const t1 = await nextSecond();
    await send('b');
    const t2 = await nextSecond();
    await send('c');
    assert.equal(await n1.createIndex(PROJECT, LS2, INDEX, o), '');
    const path = `/logstores/${LS2}/index/rebuild`;
    assertSlsError(
      await raw.send({
        method: 'POST',
        project: PROJECT,
        path,
        body: Buffer.from(JSON.stringify({ from: t2, to: t1 })),
      }),
      400,
      'ParameterInvalid',
    );
    const batches = async (want: number): Promise<string[]> => {
      let rows: Rows = [];
      for (let i = 0; i < 200; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 50));
        rows = await n1.getLogs(PROJECT, LS2, from, to, { query: 'batch', line: 100 }, o);
        if (rows.length === want) break;
      }
      return rows.map((r) => r['msg']!.split(' ')[1]!).sort();
    };
    const waitDone = async (): Promise<{ from: number; to: number | null; totalRecords: number }> => {
      for (let i = 0; i < 200; i++) {
        const st = jsonOf<{ status: string; from: number; to: number | null; totalRecords: number }>(
          await raw.send({ method: 'GET', project: PROJECT, path }),
        );
        if (st.status === 'Done') return st;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('rebuild not done');
    };
    // 1. Only b (written before the index, inside the range) becomes searchable; a and c stay unindexed.
    const started = jsonOf<{ totalRecords: number; to: number }>(
      await raw.send({
        method: 'POST',
        project: PROJECT,
        path,
        body: Buffer.from(JSON.stringify({ from: t1, to: t2 })),
      }),
    );
    assert.equal(started.totalRecords, 1, 'progress counts the range only');
    assert.equal(started.to, t2);
    const done = await waitDone();
    assert.deepEqual([done.from, done.to, done.totalRecords], [t1, t2, 1]);
    assert.deepEqual(await batches(5), ['b', 'b', 'b', 'b', 'b']);
    // 2. d arrives after the index exists; a CLI range rebuild of b again keeps d and counts b once.
    await send('d');
    assert.equal((await batches(10)).join(''), 'bbbbbddddd');
    const { stdout } = await execFileAsync(
      process.execPath,
      [SLUICE_BIN, 'reindex', '--endpoint', server.url, '--project', PROJECT, '--logstore', LS2].concat([
        '--from',
        String(t1),
        '--to',
        new Date(t2 * 1000).toISOString(),
        '--wait',
      ]),
      {
        env: {
          ...process.env,
          SLUICE_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
          SLUICE_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET,
        },
        timeout: 30_000,
      },
    );
    assert.match(stdout, /Done: 1\/1 LogGroups \(100\.0%\)\s*$/);
    assert.equal((await batches(10)).join(''), 'bbbbbddddd');
    // 3. [0, t2): a joins, b is rebuilt once more, c (outside, never indexed) stays out, d keeps its entries.
    jsonOf(
      await raw.send({
        method: 'POST',
        project: PROJECT,
        path,
        body: Buffer.from(JSON.stringify({ from: 0, to: t2 })),
      }),
    );
    assert.equal((await waitDone()).totalRecords, 2);
    assert.equal((await batches(15)).join(''), 'aaaaabbbbbddddd');
    const h = await n1.getHistograms(PROJECT, LS2, from, to, { query: '*' }, o);
    assert.equal(
      h.reduce((a, b) => a + b.count, 0),
      15,
    );
  });
});
