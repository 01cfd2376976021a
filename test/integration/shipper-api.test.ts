/**
 * The shipper API in the SLS shape (sls-api.md §5.11) and `sluice shipper list`, against a real `sluice serve`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { SlsClient } from '../../src/client/sls-client.js';
import {
  removeDir,
  type ServerProcess,
  SLUICE_BIN,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCESS_KEY_SECRET,
} from '../helpers/server-process.js';
import { createLogstore, createProject, json, putRecords, waitShipped } from '../helpers/ship-kit.js';
import { assertEmptyOk, assertSlsError, testClient } from '../helpers/sls-kit.js';

let server: ServerProcess;
let client: SlsClient;
let out: string;

before(async () => {
  server = await startServerProcess();
  client = testClient(server.url);
  out = await mkdtemp(join(tmpdir(), 'sluice-shipper-api-'));
  await createProject(client, 'shapi');
  await createLogstore(client, 'shapi', 'web', 2);
});

after(async () => {
  client.close();
  await server.stop();
  await removeDir(server.dataDir);
  await rm(out, { recursive: true, force: true });
});

const send = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) =>
  client.send({
    method,
    project: 'shapi',
    path: `/logstores/web/shipper${path}`,
    ...(body !== undefined ? { body: Buffer.from(JSON.stringify(body)) } : {}),
  });

test('create, get, list, update, delete, tasks: SLS shapes and codes', async () => {
  const config = { path: join(out, 'a'), bufferInterval: 1, bufferSize: 16 };
  assertEmptyOk(await send('POST', '', { shipperName: 'arch', targetType: 'parquet', targetConfiguration: config }));
  assertSlsError(
    await send('POST', '', { shipperName: 'arch', targetType: 'parquet', targetConfiguration: config }),
    400,
    'ShipperAlreadyExist',
  );
  assertSlsError(
    await send('POST', '', { shipperName: 'bad', targetType: 'oss', targetConfiguration: config }),
    400,
    'ParameterInvalid',
  );
  assertSlsError(
    await send('POST', '', { shipperName: 'rel', targetType: 'parquet', targetConfiguration: { path: 'relative' } }),
    400,
    'ParameterInvalid',
  );
  assert.deepEqual(json(await send('GET', ''), 'list'), { count: 1, total: 1, shipper: ['arch'] });
  const doc = json<Record<string, unknown>>(await send('GET', '/arch'), 'get');
  assert.equal(doc['shipperName'], 'arch');
  assert.equal(doc['targetType'], 'parquet');
  assert.deepEqual(doc['targetConfiguration'], config);
  assert.equal(typeof doc['createTime'], 'number');
  assert.equal(typeof doc['lastModifyTime'], 'number');
  assertSlsError(await send('GET', '/nope'), 404, 'ShipperNotExist');
  assertSlsError(await send('GET', '/nope/tasks'), 404, 'ShipperNotExist');

  await putRecords(client, 'shapi', 'web', { total: 2000, perGroup: 100 });
  await waitShipped(client, 'shapi', 'web', 'arch');
  const tasks = json<{
    count: number;
    total: number;
    statistics: { running: number; success: number; fail: number };
    tasks: Record<string, unknown>[];
  }>(await send('GET', '/arch/tasks'), 'tasks');
  assert.ok(tasks.count >= 1);
  assert.deepEqual(tasks.statistics, { running: 0, success: tasks.total, fail: 0 });
  assert.deepEqual(Object.keys(tasks.tasks[0]!).slice(0, 6).sort(), [
    'id',
    'taskCreateTime',
    'taskFinishTime',
    'taskLastDataReceiveTime',
    'taskMessage',
    'taskStatus',
  ]);
  assertEmptyOk(await send('PUT', '/arch/tasks', []), 'retry nothing');

  const moved = { ...config, bufferInterval: 2 };
  assertEmptyOk(await send('PUT', '/arch', { targetConfiguration: moved }), 'update');
  assert.deepEqual(json<Record<string, unknown>>(await send('GET', '/arch'), 'get')['targetConfiguration'], moved);
  assertEmptyOk(await send('DELETE', '/arch'), 'delete');
  assertSlsError(await send('DELETE', '/arch'), 404, 'ShipperNotExist');
  assert.deepEqual(json(await send('GET', ''), 'list'), { count: 0, total: 0, shipper: [] });
  // Its consumer group went with it.
  const groups = json<{ name: string }[]>(
    await client.send({ method: 'GET', project: 'shapi', path: '/logstores/web/consumergroups' }),
    'groups',
  );
  assert.deepEqual(groups, []);
});

test('sluice shipper list shows shippers and their lag', async () => {
  assertEmptyOk(
    await send('POST', '', {
      shipperName: 'lagging',
      targetType: 'parquet',
      targetConfiguration: { path: join(out, 'b'), bufferInterval: 1 },
    }),
  );
  await waitShipped(client, 'shapi', 'web', 'lagging');
  const run = (args: string[]) =>
    promisify(execFile)(
      process.execPath,
      [SLUICE_BIN, 'shipper', 'list', '--endpoint', server.url, '--project', 'shapi', ...args],
      {
        env: {
          ...process.env,
          SLUICE_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
          SLUICE_ACCESS_KEY_SECRET: TEST_ACCESS_KEY_SECRET,
        },
      },
    );
  const rows = JSON.parse((await run(['--json'])).stdout) as Record<string, unknown>[];
  assert.deepEqual(rows, [
    {
      logstore: 'web',
      shipper: 'lagging',
      target: 'parquet',
      running: true,
      shipped: 2000,
      lagGroups: 0,
      lagSeconds: 0,
      failures: 0,
      lastError: '',
    },
  ]);
  const text = (await run(['--logstore', 'web'])).stdout;
  assert.match(text, /^LOGSTORE\s+SHIPPER\s+TARGET\s+STATE\s+SHIPPED\s+LAG\(GROUPS\)\s+LAG\(S\)/);
  assert.match(text, /\nweb\s+lagging\s+parquet\s+running\s+2000\s+0\s+0\s+0/);
});
