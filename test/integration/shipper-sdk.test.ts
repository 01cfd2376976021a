/**
 * The shipper task calls of the official `aliyun-sdk` (N2: GetShipperStatus, RetryShipperTask) against a real
 * `sluice serve` with a Parquet shipper: N2 builds the request from its API description, so this checks our routes,
 * query parameters and bodies against what an SLS SDK actually sends.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { createRequire } from 'node:module';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { SlsClient } from '../../src/client/sls-client.js';
import {
  removeDir,
  type ServerProcess,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCESS_KEY_SECRET,
} from '../helpers/server-process.js';
import { createLogstore, createProject, createShipper, putRecords, waitShipped } from '../helpers/ship-kit.js';
import { testClient } from '../helpers/sls-kit.js';

const require = createRequire(import.meta.url);
type N2Callback = (err: { code?: unknown; errorCode?: unknown } | null, data: { body: unknown }) => void;
const ALY = require('aliyun-sdk') as {
  SLS: new (config: Record<string, unknown>) => Record<string, (params: unknown, cb: N2Callback) => void>;
};

let server: ServerProcess;
let client: SlsClient;
let agent: Agent;
let out: string;
let sls: Record<string, (params: unknown, cb: N2Callback) => void>;

const call = (method: string, params: unknown): Promise<{ body: unknown }> =>
  new Promise((resolve, reject) => {
    sls[method]!.call(sls, params, (err, data) => (err ? reject(err) : resolve(data)));
  });

before(async () => {
  server = await startServerProcess();
  client = testClient(server.url);
  out = await mkdtemp(join(tmpdir(), 'sluice-shipper-sdk-'));
  agent = new Agent({ keepAlive: true });
  const port = server.port;
  // N2 rewrites the endpoint to http://<project>.sls.local and drops any port: dial the server whatever the host.
  (agent as unknown as { createConnection: unknown }).createConnection = (_opts: unknown, cb: () => void) =>
    createConnection({ host: '127.0.0.1', port }, cb);
  sls = new ALY.SLS({
    accessKeyId: TEST_ACCESS_KEY_ID,
    secretAccessKey: TEST_ACCESS_KEY_SECRET,
    endpoint: 'http://sls.local',
    apiVersion: '2015-06-01',
    httpOptions: { agent },
  });
  await createProject(client, 'n2ship');
  await createLogstore(client, 'n2ship', 'web', 2);
});

after(async () => {
  agent.destroy();
  client.close();
  await server.stop();
  await removeDir(server.dataDir);
  await rm(out, { recursive: true, force: true });
});

test('aliyun-sdk GetShipperStatus and RetryShipperTask', async () => {
  await createShipper(client, 'n2ship', 'web', {
    shipperName: 'lake',
    targetType: 'parquet',
    targetConfiguration: { path: out, bufferInterval: 0.5 },
  });
  await putRecords(client, 'n2ship', 'web', { total: 1000, perGroup: 100 });
  await waitShipped(client, 'n2ship', 'web', 'lake');
  const now = Math.floor(Date.now() / 1000);
  const status = await call('getShipperStatus', {
    projectName: 'n2ship',
    logstoreName: 'web',
    shipperName: 'lake',
    from: now - 3600,
    to: now + 60,
    offset: 0,
    size: 100,
  });
  const body = status.body as {
    count: number;
    total: number;
    statistics: { running: number; success: number; fail: number };
    tasks: Record<string, { id: string; taskStatus: string }> | { id: string; taskStatus: string }[];
  };
  const tasks = Object.values(body.tasks);
  assert.ok(body.count > 0 && body.count === tasks.length);
  assert.deepEqual(body.statistics, { running: 0, success: body.total, fail: 0 });
  assert.ok(tasks.every((t) => t.taskStatus === 'success'));

  const filtered = await call('getShipperStatus', {
    projectName: 'n2ship',
    logstoreName: 'web',
    shipperName: 'lake',
    from: now - 3600,
    to: now + 60,
    status: 'fail',
  });
  assert.equal((filtered.body as { count: number }).count, 0);

  await call('retryShipperTask', {
    projectName: 'n2ship',
    logstoreName: 'web',
    shipperName: 'lake',
    tasks: JSON.stringify(tasks.map((t) => t.id)),
  });
  await assert.rejects(
    call('getShipperStatus', { projectName: 'n2ship', logstoreName: 'web', shipperName: 'nope', from: 0, to: now }),
    (err: { code?: unknown; errorCode?: unknown }) => {
      assert.equal(err.code, 404);
      assert.equal(err.errorCode, 'ShipperNotExist');
      return true;
    },
  );
});
