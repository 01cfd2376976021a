/**
 * The official Node SDK `@alicloud/log` (N1, sls-api.md §1.3) against a real `sluice serve` process: every project,
 * logstore and PutLogs call it has, with exact round trips read back through PullLogs (N1 has no pull). N1 has no
 * UpdateProject, ListProject, shard, cursor or pull calls; those are covered with our own client here and in the
 * aliyun-sdk and raw API suites.
 */
import assert from 'node:assert/strict';
import type { Agent } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { SlsClient } from '../../src/client/sls-client.js';
import { loopbackAgent, openN1 } from '../helpers/alicloud-log.js';
import { removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { assertEmptyOk, jsonOf, plainGroup, pullLogstore, pullShard, testClient } from '../helpers/sls-kit.js';

interface N1Options {
  readonly agent: Agent;
}
interface N1Log {
  readonly timestamp: number;
  readonly timestampNsPart?: number;
  readonly content: Readonly<Record<string, string>>;
}
interface N1Client {
  createProject(name: string, data: { description: string }, o: N1Options): Promise<unknown>;
  getProject(name: string, o: N1Options): Promise<Record<string, unknown>>;
  deleteProject(name: string, o: N1Options): Promise<unknown>;
  listLogStore(
    project: string,
    data: { logstoreName?: string; offset?: number; size?: number },
    o: N1Options,
  ): Promise<{ count: number; total: number; logstores: string[] }>;
  createLogStore(
    project: string,
    ls: string,
    data: { ttl?: number; shardCount?: number },
    o: N1Options,
  ): Promise<unknown>;
  getLogStore(project: string, ls: string, o: N1Options): Promise<Record<string, unknown>>;
  updateLogStore(
    project: string,
    ls: string,
    data: { ttl?: number; shardCount?: number },
    o: N1Options,
  ): Promise<unknown>;
  deleteLogStore(project: string, ls: string, o: N1Options): Promise<unknown>;
  getIndexConfig(project: string, ls: string, o: N1Options): Promise<unknown>;
  getLogs(
    project: string,
    ls: string,
    from: Date,
    to: Date,
    data: Record<string, unknown>,
    o: N1Options,
  ): Promise<unknown>;
  getHistograms(
    project: string,
    ls: string,
    from: Date,
    to: Date,
    data: Record<string, unknown>,
    o: N1Options,
  ): Promise<unknown>;
  postLogStoreLogs(
    project: string,
    ls: string,
    data: {
      logs: readonly N1Log[];
      tags?: readonly Record<string, string>[];
      topic?: string;
      source?: string;
    },
    o: N1Options,
  ): Promise<unknown>;
}

/** The error N1 throws: `code` from `errorCode`, `requestid` from the header (sls-api.md §5.14). */
async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    const e = err as { code?: unknown; name?: unknown; requestid?: unknown; message?: unknown };
    assert.equal(e.code, code, `error code (message ${String(e.message)})`);
    assert.equal(e.name, `${code}Error`);
    assert.match(String(e.requestid), /^[0-9A-F]{24}$/);
    return true;
  });
}

describe('@alicloud/log (N1) against sluice serve', () => {
  let server: ServerProcess;
  let n1: N1Client;
  let o: N1Options;
  let raw: SlsClient;
  const project = 'n1-proj';

  before(async () => {
    server = await startServerProcess();
    const agent = loopbackAgent();
    o = { agent };
    n1 = openN1<N1Client>(server.port);
    raw = testClient(server.url);
  });

  after(async () => {
    raw?.close();
    o?.agent.destroy();
    if (server) {
      await server.stop();
      await removeDir(server.dataDir);
    }
  });

  test('projects: create, duplicate, get, missing', async () => {
    assert.equal(await n1.createProject(project, { description: 'N1 project — ünïcödé ✓' }, o), '');
    await rejectsWith(n1.createProject(project, { description: 'again' }, o), 'ProjectAlreadyExist');
    const p = await n1.getProject(project, o);
    assert.equal(p['projectName'], project);
    assert.equal(p['description'], 'N1 project — ünïcödé ✓');
    assert.equal(p['status'], 'Normal');
    for (const k of ['region', 'owner', 'createTime', 'lastModifyTime']) assert.ok(k in p, `GetProject has ${k}`);
    await rejectsWith(n1.getProject('n1-missing', o), 'ProjectNotExist');
  });

  test('projects: update and list (calls N1 lacks) through the signed client', async () => {
    assertEmptyOk(
      await raw.send({
        method: 'PUT',
        project,
        path: '/',
        body: Buffer.from(JSON.stringify({ description: 'updated' })),
      }),
      'UpdateProject',
    );
    assert.equal((await n1.getProject(project, o))['description'], 'updated');
    const list = jsonOf<{ count: number; total: number; projects: { projectName: string }[] }>(
      await raw.send({ method: 'GET', path: '/', query: { offset: '0', size: '100' } }),
    );
    assert.deepEqual(
      list.projects.map((x) => x.projectName),
      [project],
    );
    assert.equal(list.count, 1);
    assert.equal(list.total, 1);
  });

  test('logstores: create with ttl and shardCount, get, list, update, duplicate, missing', async () => {
    assert.equal(await n1.createLogStore(project, 'store-a', { ttl: 7, shardCount: 3 }, o), '');
    assert.equal(await n1.createLogStore(project, 'store-b', { ttl: 3650, shardCount: 1 }, o), '');
    await rejectsWith(n1.createLogStore(project, 'store-a', { ttl: 1, shardCount: 1 }, o), 'LogStoreAlreadyExist');
    await rejectsWith(n1.createLogStore('n1-missing', 'store-a', { ttl: 1, shardCount: 1 }, o), 'ProjectNotExist');

    const a = await n1.getLogStore(project, 'store-a', o);
    assert.equal(a['logstoreName'], 'store-a');
    assert.equal(a['ttl'], 7);
    assert.equal(a['shardCount'], 3);
    const b = await n1.getLogStore(project, 'store-b', o);
    assert.equal(b['ttl'], 3650);
    assert.equal(b['shardCount'], 1);
    await rejectsWith(n1.getLogStore(project, 'store-zzz', o), 'LogStoreNotExist');
    await rejectsWith(n1.getLogStore('n1-missing', 'store-a', o), 'ProjectNotExist');

    // N1 sends logstoreName=&offset=&size= for absent values: the defaults.
    assert.deepEqual(await n1.listLogStore(project, {}, o), { count: 2, total: 2, logstores: ['store-a', 'store-b'] });
    assert.deepEqual(await n1.listLogStore(project, { offset: 1, size: 10 }, o), {
      count: 1,
      total: 2,
      logstores: ['store-b'],
    });
    assert.deepEqual(await n1.listLogStore(project, { logstoreName: 'e-a' }, o), {
      count: 1,
      total: 1,
      logstores: ['store-a'],
    });

    assert.equal(await n1.updateLogStore(project, 'store-a', { ttl: 14, shardCount: 3 }, o), '');
    const a2 = await n1.getLogStore(project, 'store-a', o);
    assert.equal(a2['ttl'], 14);
    assert.equal(a2['shardCount'], 3);
    await rejectsWith(n1.updateLogStore(project, 'store-zzz', { ttl: 14, shardCount: 1 }, o), 'LogStoreNotExist');
  });

  test('postLogStoreLogs: exact round trip of times, ns parts, keys, values, topic, source, tags', async () => {
    const values = {
      plain: 'hello world',
      empty: '',
      emoji: '😀🚀👩‍👩‍👧 family',
      cjk: '日志服务 ログ 로그',
      rtl: 'مرحبا שלום',
      quotes: `"double" 'single' \`back\``,
      escapes: 'tab\there\nnewline\r\ncrlf \\ backslash',
      json: '{"a":[1,2,{"b":null}],"c":"\\u0000"}',
      nul: 'before\u0000after',
      controls: '\u0001\u001f\u007f',
      combining: 'e\u0301 vs é',
      big: 'x'.repeat(200_000),
    };
    const first = {
      logs: [
        { timestamp: 1_700_000_000, timestampNsPart: 123_456_789, content: values },
        { timestamp: 0, timestampNsPart: 0, content: { zero_time: 'epoch' } },
        { timestamp: 4_294_967_295, timestampNsPart: 999_999_999, content: { max_time: 'uint32 max' } },
        { timestamp: 1_700_000_001, content: { ключ_ü: 'значение', 'a.b-c': 'dotted key' } },
      ],
      tags: [{ host: 'web-1', __path__: '/var/log/app.log' }, { env: 'prod ✓' }],
      topic: 'topic/with spaces ✓',
      source: '10.0.0.1',
    };
    assert.equal(await n1.postLogStoreLogs(project, 'store-b', first, o), '');
    // No topic/source/tags: the fields must come back absent, not empty.
    const second = { logs: [{ timestamp: 1_700_000_100, content: { only: 'one' } }] };
    assert.equal(await n1.postLogStoreLogs(project, 'store-b', second, o), '');

    const groups = await pullShard(raw, project, 'store-b', 0);
    assert.equal(groups.length, 2);
    assert.deepEqual(plainGroup(groups[0]!), {
      logs: [
        { time: 1_700_000_000, timeNs: 123_456_789, contents: Object.entries(values) },
        { time: 0, timeNs: 0, contents: [['zero_time', 'epoch']] },
        { time: 4_294_967_295, timeNs: 999_999_999, contents: [['max_time', 'uint32 max']] },
        {
          time: 1_700_000_001,
          contents: [
            ['ключ_ü', 'значение'],
            ['a.b-c', 'dotted key'],
          ],
        },
      ],
      topic: 'topic/with spaces ✓',
      source: '10.0.0.1',
      tags: [
        ['host', 'web-1'],
        ['__path__', '/var/log/app.log'],
        ['env', 'prod ✓'],
      ],
    });
    assert.deepEqual(plainGroup(groups[1]!), {
      logs: [{ time: 1_700_000_100, contents: [['only', 'one']] }],
      tags: [],
    });
  });

  test('postLogStoreLogs spreads over the shards of a multi-shard logstore and loses nothing', async () => {
    const n = 12;
    for (let i = 0; i < n; i++) {
      assert.equal(
        await n1.postLogStoreLogs(
          project,
          'store-a',
          { logs: [{ timestamp: 1_700_000_000 + i, content: { i: String(i) } }] },
          o,
        ),
        '',
      );
    }
    const perShard = await Promise.all([0, 1, 2].map((s) => pullShard(raw, project, 'store-a', s)));
    for (const groups of perShard) assert.ok(groups.length > 0, 'every readwrite shard got some of the load');
    const all = await pullLogstore(raw, project, 'store-a');
    const seen = all.map((g) => Number(g.logs[0]!.contents[0]!.value)).sort((x, y) => x - y);
    assert.deepEqual(
      seen,
      Array.from({ length: n }, (_, i) => i),
    );
  });

  test('postLogStoreLogs errors: missing logstore, missing project, invalid key', async () => {
    const data = { logs: [{ timestamp: 1_700_000_000, content: { k: 'v' } }] };
    await rejectsWith(n1.postLogStoreLogs(project, 'store-zzz', data, o), 'LogStoreNotExist');
    await rejectsWith(n1.postLogStoreLogs('n1-missing', 'store-a', data, o), 'ProjectNotExist');
    await rejectsWith(
      n1.postLogStoreLogs(project, 'store-b', { logs: [{ timestamp: 1, content: { __time__: 'reserved' } }] }, o),
      'InvalidKey',
    );
    await rejectsWith(
      n1.postLogStoreLogs(project, 'store-b', { logs: [{ timestamp: 1, content: { '': 'v' } }] }, o),
      'InvalidKey',
    );
    // Nothing of the rejected requests was written.
    assert.equal((await pullShard(raw, project, 'store-b', 0)).length, 2);
  });

  test('query calls on a logstore without an index fail with IndexConfigNotExist, never resolve with wrong data', async () => {
    const from = new Date(1_600_000_000_000);
    const to = new Date(1_800_000_000_000);
    await rejectsWith(n1.getIndexConfig(project, 'store-a', o), 'IndexConfigNotExist');
    await rejectsWith(n1.getLogs(project, 'store-a', from, to, { query: '*' }, o), 'IndexConfigNotExist');
    await rejectsWith(n1.getHistograms(project, 'store-a', from, to, { query: '*' }, o), 'IndexConfigNotExist');
  });

  test('deletes: logstore then project, each resolving to an empty string', async () => {
    assert.equal(await n1.deleteLogStore(project, 'store-a', o), '');
    await rejectsWith(n1.getLogStore(project, 'store-a', o), 'LogStoreNotExist');
    await rejectsWith(n1.deleteLogStore(project, 'store-a', o), 'LogStoreNotExist');
    assert.deepEqual(await n1.listLogStore(project, {}, o), { count: 1, total: 1, logstores: ['store-b'] });
    // DELETE / carries a JSON body in N1 (with Content-MD5): it must be accepted.
    assert.equal(await n1.deleteProject(project, o), '');
    await rejectsWith(n1.getProject(project, o), 'ProjectNotExist');
    await rejectsWith(n1.getLogStore(project, 'store-b', o), 'ProjectNotExist');
    await rejectsWith(n1.deleteProject(project, o), 'ProjectNotExist');
    // A project of the same name starts empty.
    assert.equal(await n1.createProject(project, { description: '' }, o), '');
    assert.deepEqual(await n1.listLogStore(project, {}, o), { count: 0, total: 0, logstores: [] });
    assert.equal((await n1.getProject(project, o))['description'], '');
  });
});
