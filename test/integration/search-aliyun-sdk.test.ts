/**
 * Search through the official `aliyun-sdk` (N2, `ALY.SLS`): createIndex / getIndex / updateIndex / deleteIndex,
 * putLogs, getLogs (N2 sends every optional parameter, empty when unset), getHistograms and listTopics. N2 turns
 * JSON arrays into objects keyed '0', '1', …; `arrayBody` turns them back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { arrayBody, type N2Client, type N2Error, type N2Response, openN2 } from '../helpers/alicloud-log.js';
import { removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const T0 = 1_767_225_600;

describe('search through aliyun-sdk (N2)', () => {
  let server: ServerProcess;
  let n2: N2Client;
  const projectName = 'n2-search';
  const logStoreName = 'access';

  const call = (method: string, params: unknown): Promise<N2Response> => n2.call(method, params);

  before(async () => {
    server = await startServerProcess();
    n2 = openN2(server.port);
    await call('createProject', { projectDetail: { projectName, description: '' } });
    await call('createLogstore', {
      projectName,
      logstoreDetail: { logstoreName: logStoreName, ttl: 3650, shardCount: 2 },
    });
  });

  after(async () => {
    n2?.close();
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
