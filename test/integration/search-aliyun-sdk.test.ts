/**
 * Search through the official `aliyun-sdk` (N2, `ALY.SLS`): createIndex / getIndex / updateIndex / deleteIndex,
 * putLogs, getLogs (N2 sends every optional parameter, empty when unset), getHistograms and listTopics. N2 turns
 * JSON arrays into objects keyed '0', '1', …; `arrayBody` turns them back.
 */
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { createRequire } from 'node:module';
import { createConnection } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  removeDir,
  type ServerProcess,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCESS_KEY_SECRET,
} from '../helpers/server-process.js';

const require = createRequire(import.meta.url);

interface N2Response {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}
interface N2Error {
  readonly code?: unknown;
  readonly errorCode?: unknown;
}
type N2Service = Record<string, (params: unknown, cb: (err: N2Error | null, data: N2Response) => void) => void>;
const ALY = require('aliyun-sdk') as { readonly SLS: new (config: Record<string, unknown>) => N2Service };

function arrayBody<T>(body: unknown): T[] {
  if (Array.isArray(body)) return body as T[];
  return Object.keys(body as object)
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => (body as Record<string, T>)[k]!);
}

const T0 = 1_767_225_600;

describe('search through aliyun-sdk (N2)', () => {
  let server: ServerProcess;
  let sls: N2Service;
  let agent: Agent;
  const projectName = 'n2-search';
  const logStoreName = 'access';

  const call = (method: string, params: unknown): Promise<N2Response> =>
    new Promise((resolve, reject) => {
      const fn = sls[method];
      assert.ok(fn, `aliyun-sdk has ${method}`);
      fn.call(sls, params, (err, data) => (err ? reject(err) : resolve(data)));
    });

  before(async () => {
    server = await startServerProcess();
    agent = new Agent({ keepAlive: true });
    const port = server.port;
    (agent as unknown as { createConnection: unknown }).createConnection = (_opts: unknown, cb: () => void) =>
      createConnection({ host: '127.0.0.1', port }, cb);
    sls = new ALY.SLS({
      accessKeyId: TEST_ACCESS_KEY_ID,
      secretAccessKey: TEST_ACCESS_KEY_SECRET,
      endpoint: 'http://sls.local',
      apiVersion: '2015-06-01',
      httpOptions: { agent },
    });
    await call('createProject', { projectDetail: { projectName, description: '' } });
    await call('createLogstore', {
      projectName,
      logstoreDetail: { logstoreName: logStoreName, ttl: 3650, shardCount: 2 },
    });
  });

  after(async () => {
    agent?.destroy();
    if (server) {
      await server.stop();
      await removeDir(server.dataDir);
    }
  });

  test('index, put, getLogs, getHistograms, listTopics, delete', async () => {
    await assert.rejects(call('getIndex', { projectName, logstoreName: logStoreName }), (e: N2Error) => {
      assert.equal(e.code, 404);
      assert.equal(e.errorCode, 'IndexConfigNotExist');
      return true;
    });
    const indexDetail = {
      line: { token: [' ', '/', ':'], caseSensitive: false, chn: false },
      keys: { level: { type: 'text', token: [' '], caseSensitive: false }, ms: { type: 'long' } },
    };
    await call('createIndex', { projectName, logstoreName: logStoreName, indexDetail });
    const got = (await call('getIndex', { projectName, logstoreName: logStoreName })).body as Record<string, unknown>;
    assert.deepEqual(got['keys'], indexDetail.keys);

    for (const [topic, level] of [
      ['web', 'INFO'],
      ['db', 'ERROR'],
    ] as const) {
      await call('putLogs', {
        projectName,
        logStoreName,
        logGroup: {
          topic,
          source: '10.2.2.2',
          logs: Array.from({ length: 50 }, (_, i) => ({
            time: T0 + i,
            contents: [
              { key: 'level', value: level },
              { key: 'ms', value: String(i) },
              { key: 'msg', value: `${topic} request /item/${i}` },
            ],
          })),
        },
      });
    }

    const hist = async (query: string) =>
      arrayBody<{ count: number }>(
        (await call('getHistograms', { projectName, logStoreName, from: T0, to: T0 + 100, query, topic: '' })).body,
      ).reduce((a, b) => a + b.count, 0);
    let total = 0;
    for (let i = 0; i < 200 && total !== 100; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      total = await hist('*');
    }
    assert.equal(total, 100);
    assert.equal(await hist('level:error and ms >= 40'), 10);

    const res = await call('getLogs', {
      projectName,
      logStoreName,
      from: T0,
      to: T0 + 100,
      query: 'level:error and ms >= 45',
      line: 100,
      offset: 0,
      reverse: true,
    });
    assert.equal(res.headers['x-log-progress'], 'Complete');
    const rows = arrayBody<Record<string, string>>(res.body);
    assert.deepEqual(
      rows.map((r) => r['ms']),
      ['49', '48', '47', '46', '45'],
    );
    assert.equal(rows[0]!['__topic__'], 'db');
    assert.equal(rows[0]!['__source__'], '10.2.2.2');

    const topics = arrayBody<string>((await call('listTopics', { projectName, logStoreName })).body);
    assert.deepEqual(topics, ['db', 'web']);

    // N2's UpdateIndex model allows only ttl, line and a legacy `key`: update the full-text part.
    await call('updateIndex', {
      projectName,
      logstoreName: logStoreName,
      indexDetail: { ttl: 3650, line: { token: [' ', '/', ':', '='], caseSensitive: true } },
    });
    const updated = (await call('getIndex', { projectName, logstoreName: logStoreName })).body as Record<
      string,
      unknown
    >;
    assert.equal((updated['line'] as { caseSensitive: boolean }).caseSensitive, true);
    assert.equal(updated['ttl'], 3650);
    await call('deleteIndex', { projectName, logstoreName: logStoreName });
    await assert.rejects(
      call('getLogs', { projectName, logStoreName, from: T0, to: T0 + 100, query: '*' }),
      (e: N2Error) => e.errorCode === 'IndexConfigNotExist',
    );
  });
});
