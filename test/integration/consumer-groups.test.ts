/**
 * Consumer groups against a real `sluice serve`: the SLS shapes and codes the Python and Go consumer libraries read
 * (sls-api.md §5.9, compared literally), heartbeat assignment and hand-over, `forceSuccess`, and the consumer library
 * taking over a killed consumer's shards from its checkpoints.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { SlsClient } from '../../src/client/sls-client.js';
import { ConsumerWorker } from '../../src/consumer/consumer-worker.js';
import { HttpConsumerSource } from '../../src/consumer/http-source.js';
import { encodeCursor } from '../../src/protocol/cursor.js';
import { REPO_ROOT, removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { createLogstore, createProject, json, putLogs, shardKey, waitFor } from '../helpers/ship-kit.js';
import { assertEmptyOk, assertSlsError, testClient } from '../helpers/sls-kit.js';

const P = 'cg-test';
let server: ServerProcess;
let client: SlsClient;

before(async () => {
  server = await startServerProcess();
  client = testClient(server.url);
  await createProject(client, P);
});

after(async () => {
  client.close();
  await server.stop();
  await removeDir(server.dataDir);
});

function cg(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  ls: string,
  rest = '',
  query?: Record<string, string>,
  body?: unknown,
) {
  return client.send({
    method,
    project: P,
    path: `/logstores/${ls}/consumergroups${rest}`,
    ...(query ? { query } : {}),
    ...(body !== undefined ? { body: Buffer.from(JSON.stringify(body)) } : {}),
  });
}

async function beat(ls: string, group: string, consumer: string, held: number[]): Promise<number[]> {
  return json<number[]>(await cg('POST', ls, `/${group}`, { type: 'heartbeat', consumer }, held), 'heartbeat');
}

test('create, list, update, delete: the SLS shapes and codes', async () => {
  await createLogstore(client, P, 'shapes', 2);
  assertEmptyOk(
    await cg('POST', 'shapes', '', undefined, { consumerGroup: 'g1', timeout: 60, order: false }),
    'create',
  );
  assertSlsError(
    await cg('POST', 'shapes', '', undefined, { consumerGroup: 'g1', timeout: 60, order: false }),
    400,
    'ConsumerGroupAlreadyExist',
    'duplicate',
  );
  assert.deepEqual(json(await cg('GET', 'shapes'), 'list'), [{ name: 'g1', timeout: 60, order: false }]);
  assertEmptyOk(await cg('PUT', 'shapes', '/g1', undefined, { order: true, timeout: 30 }), 'update');
  assert.deepEqual(json(await cg('GET', 'shapes'), 'list'), [{ name: 'g1', timeout: 30, order: true }]);
  assertSlsError(
    await cg('PUT', 'shapes', '/nope', undefined, { timeout: 30 }),
    404,
    'ConsumerGroupNotExist',
    'update',
  );
  assertSlsError(await cg('GET', 'shapes', '/nope'), 404, 'ConsumerGroupNotExist', 'checkpoints');
  assertSlsError(
    await cg('POST', 'shapes', '/nope', { type: 'heartbeat', consumer: 'c' }, []),
    404,
    'ConsumerGroupNotExist',
    'heartbeat',
  );
  assertSlsError(await cg('GET', 'nols'), 404, 'LogStoreNotExist', 'list on a missing logstore');
  assertEmptyOk(await cg('DELETE', 'shapes', '/g1'), 'delete');
  assertSlsError(await cg('DELETE', 'shapes', '/g1'), 404, 'ConsumerGroupNotExist', 'delete twice');
  assert.deepEqual(json(await cg('GET', 'shapes'), 'list'), []);
});

test('heartbeat assignment: share, hand-over after release, timeout; checkpoints with forceSuccess', async () => {
  await createLogstore(client, P, 'hbeat', 4);
  assertEmptyOk(await cg('POST', 'hbeat', '', undefined, { consumerGroup: 'grp', timeout: 1, order: false }), 'create');
  assert.deepEqual(await beat('hbeat', 'grp', 'c1', []), [0, 1, 2, 3]);
  assert.deepEqual(await beat('hbeat', 'grp', 'c1', [0, 1, 2, 3]), [0, 1, 2, 3]);
  // c2 joins: two shards are moved to it, but only once c1 stops reporting them.
  assert.deepEqual(await beat('hbeat', 'grp', 'c2', []), []);
  assert.deepEqual(await beat('hbeat', 'grp', 'c1', [0, 1, 2, 3]), [0, 1]);
  assert.deepEqual(await beat('hbeat', 'grp', 'c1', [0, 1]), [0, 1]);
  assert.deepEqual(await beat('hbeat', 'grp', 'c2', []), [2, 3]);

  // Checkpoints: the Python SDK sends forceSuccess=True; false from a non-holder is refused.
  const cursor = await endCursor('hbeat', 0);
  assertSlsError(
    await cg(
      'POST',
      'hbeat',
      '/grp',
      { type: 'checkpoint', consumer: 'c2', forceSuccess: 'false' },
      { shard: 0, checkpoint: cursor },
    ),
    400,
    'ConsumerNotMatchShard',
    'checkpoint by a non-holder',
  );
  assertEmptyOk(
    await cg(
      'POST',
      'hbeat',
      '/grp',
      { type: 'checkpoint', consumer: 'c1', forceSuccess: 'false' },
      { shard: 0, checkpoint: cursor },
    ),
    'checkpoint by the holder',
  );
  assertEmptyOk(
    await cg(
      'POST',
      'hbeat',
      '/grp',
      { type: 'checkpoint', consumer: 'c2', forceSuccess: 'True' },
      { shard: 1, checkpoint: await endCursor('hbeat', 1) },
    ),
    'forced checkpoint',
  );
  assertSlsError(
    await cg('POST', 'hbeat', '/grp', { type: 'checkpoint', consumer: 'c1' }, { shard: 0, checkpoint: 'MTIz' }),
    400,
    'InvalidCursor',
    'checkpoint outside the shard',
  );
  const all = json<{ shard: number; checkpoint: string; updateTime: number; consumer: string }[]>(
    await cg('GET', 'hbeat', '/grp'),
    'get checkpoints',
  );
  assert.deepEqual(
    all.map((c) => ({ shard: c.shard, checkpoint: c.checkpoint, consumer: c.consumer })),
    [
      { shard: 0, checkpoint: cursor, consumer: 'c1' },
      { shard: 1, checkpoint: await endCursor('hbeat', 1), consumer: 'c2' },
    ],
  );
  for (const c of all) {
    assert.deepEqual(Object.keys(c).sort(), ['checkpoint', 'consumer', 'shard', 'updateTime']);
    assert.ok(c.updateTime > 1e15 && c.updateTime < 1e17, `updateTime ${c.updateTime} is in microseconds`);
  }
  const one = json<{ shard: number }[]>(await cg('GET', 'hbeat', '/grp', { shard: '1' }), 'get one checkpoint');
  assert.deepEqual(
    one.map((c) => c.shard),
    [1],
  );

  // c2 goes silent: after the 1 s timeout c1 is given every shard.
  await new Promise((r) => setTimeout(r, 1300));
  assert.deepEqual(await beat('hbeat', 'grp', 'c1', [0, 1]), [0, 1, 2, 3]);
});

async function endCursor(ls: string, shard: number): Promise<string> {
  return json<{ cursor: string }>(
    await client.send({
      method: 'GET',
      project: P,
      path: `/logstores/${ls}/shards/${shard}`,
      query: { type: 'cursor', from: 'end' },
    }),
    'cursor',
  ).cursor;
}

interface Batch {
  shard: number;
  from: number;
  to: number;
  ids: string[];
}

test('two consumers share a logstore; one is killed, the other takes its shards from their checkpoints', async () => {
  const ls = 'shared';
  const shards = 4;
  await createLogstore(client, P, ls, shards);
  let next = 0;
  const putRound = async (groupsPerShard: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let s = 0; s < shards; s++) {
      for (let g = 0; g < groupsPerShard; g++) {
        const records = Array.from({ length: 5 }, () => ({ id: String(next++), msg: 'hello' }));
        ids.push(...records.map((r) => r.id));
        await putLogs(client, P, ls, records, { hashKey: shardKey(s, shards) });
      }
    }
    return ids;
  };
  const round1 = await putRound(10);

  const aBatches: Batch[] = [];
  const a = new ConsumerWorker({
    source: new HttpConsumerSource(client, P, ls, 'workers'),
    consumer: 'a',
    timeoutSec: 2,
    heartbeatIntervalMs: 200,
    batchMaxWaitMs: 50,
    idleWaitMs: 50,
    processor: {
      async process(batch) {
        const ids = batch.groups.flatMap((g) => g.group.logs.map((l) => l.contents.find((c) => c.key === 'id')!.value));
        aBatches.push({ shard: batch.shard, from: batch.from, to: batch.to, ids });
      },
    },
  });
  await a.start();
  const b = spawnConsumer(server.url, ls, 'workers', 'b');
  try {
    // Both hold two shards and everything of round 1 was processed once.
    await waitFor('b to hold two shards', () => (b.held().length === 2 && a.held().length === 2 ? true : undefined));
    const processed = () => [...aBatches.flatMap((x) => x.ids), ...b.batches.flatMap((x) => x.ids)];
    await waitFor('round 1 processed', () => (new Set(processed()).size === round1.length ? true : undefined));
    const bShards = b.held();
    // b commits after processing: wait until its checkpoints reach the shard ends, then kill it.
    await waitFor('b checkpoints at the end of its shards', async () => {
      const cps = json<{ shard: number; checkpoint: string }[]>(await cg('GET', ls, '/workers'), 'checkpoints');
      for (const s of bShards) {
        if (cps.find((c) => c.shard === s)?.checkpoint !== (await endCursor(ls, s))) return undefined;
      }
      return true;
    });
    const bCheckpoints = new Map<number, string>();
    for (const s of bShards) bCheckpoints.set(s, await endCursor(ls, s));
    await b.kill();
    const beforeKill = aBatches.length;

    const round2 = await putRound(4);
    await waitFor('a to take every shard', () => (a.held().length === shards ? true : undefined), 10_000);
    await waitFor('round 2 processed by a', () => {
      const seen = new Set(aBatches.flatMap((x) => x.ids));
      return round2.every((id) => seen.has(id)) ? true : undefined;
    });
    // a read b's shards from b's checkpoints: its first batch on each starts exactly there, and nothing b had
    // processed and committed was delivered again.
    for (const s of bShards) {
      const first = aBatches.slice(beforeKill).find((x) => x.shard === s)!;
      assert.equal(encodeCursor(first.from), bCheckpoints.get(s), `a resumed shard ${s} at b's checkpoint`);
    }
    const all = processed();
    assert.equal(all.length, new Set(all).size, 'no LogGroup delivered twice');
    assert.equal(all.length, round1.length + round2.length, 'no LogGroup lost');
  } finally {
    await b.kill();
    await a.stop();
  }
});

interface ChildConsumer {
  readonly batches: Batch[];
  held(): number[];
  kill(): Promise<void>;
}

function spawnConsumer(url: string, ls: string, group: string, name: string): ChildConsumer {
  const script = join(REPO_ROOT, 'dist', 'test', 'helpers', 'consumer-child.js');
  const child: ChildProcess = spawn(process.execPath, [script, url, P, ls, group, name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const batches: Batch[] = [];
  let held: number[] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = JSON.parse(buf.slice(0, nl)) as Batch | { held: number[] };
      if ('held' in line) held = line.held;
      else batches.push(line);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf('\n');
    }
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return {
    batches,
    held: () => held,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

test('order=true finishes a split parent before its children; without order all are handed out', async () => {
  await createLogstore(client, P, 'ordered', 1);
  await putLogs(client, P, 'ordered', [{ id: '1' }]);
  const split = await client.send({
    method: 'POST',
    project: P,
    path: '/logstores/ordered/shards/0',
    query: { action: 'split', shardCount: '2' },
  });
  assert.deepEqual(
    json<{ shardID: number; status: string }[]>(split, 'split').map((s) => [s.shardID, s.status]),
    [
      [0, 'readonly'],
      [1, 'readwrite'],
      [2, 'readwrite'],
    ],
  );
  for (const [name, order] of [
    ['inorder', true],
    ['anyorder', false],
  ] as const) {
    assertEmptyOk(await cg('POST', 'ordered', '', undefined, { consumerGroup: name, timeout: 60, order }), name);
  }
  assert.deepEqual(await beat('ordered', 'inorder', 'c1', []), [0]);
  assert.deepEqual(await beat('ordered', 'anyorder', 'c1', []), [0, 1, 2]);
  // The parent consumed to its end: it is done, and its children are handed out.
  const end = await endCursor('ordered', 0);
  for (const name of ['inorder', 'anyorder']) {
    assertEmptyOk(
      await cg(
        'POST',
        'ordered',
        `/${name}`,
        { type: 'checkpoint', consumer: 'c1', forceSuccess: 'true' },
        { shard: 0, checkpoint: end },
      ),
      `${name} checkpoint`,
    );
  }
  assert.deepEqual(await beat('ordered', 'inorder', 'c1', [0]), [1, 2]);
  assert.deepEqual(await beat('ordered', 'anyorder', 'c1', [0, 1, 2]), [1, 2]);
});

test('consumer groups go with their logstore', async () => {
  await createLogstore(client, P, 'doomed', 1);
  assertEmptyOk(await cg('POST', 'doomed', '', undefined, { consumerGroup: 'grp', timeout: 60 }), 'create');
  assertEmptyOk(
    await cg(
      'POST',
      'doomed',
      '/grp',
      { type: 'checkpoint', consumer: 'c1' },
      { shard: 0, checkpoint: await endCursor('doomed', 0) },
    ),
    'checkpoint',
  );
  assert.equal(json<unknown[]>(await cg('GET', 'doomed', '/grp'), 'checkpoints').length, 1);
  assertEmptyOk(await client.send({ method: 'DELETE', project: P, path: '/logstores/doomed' }), 'delete logstore');
  await createLogstore(client, P, 'doomed', 1);
  assert.deepEqual(json(await cg('GET', 'doomed'), 'list'), []);
  // A group created again under the old name starts without the old checkpoints.
  assertEmptyOk(await cg('POST', 'doomed', '', undefined, { consumerGroup: 'grp', timeout: 60 }), 'create again');
  assert.deepEqual(json(await cg('GET', 'doomed', '/grp'), 'checkpoints'), []);
});

/**
 * Regression: a worker whose batch keeps failing used to wait out its backoff (here a minute) when stopped, so a
 * server shutting down with a shipper whose target was down hung for up to 30 s. Fails by timing out if it returns.
 */
test('stop() does not wait out the backoff of a failing batch', async () => {
  await createLogstore(client, P, 'failing', 1);
  await putLogs(client, P, 'failing', [{ id: '1' }]);
  let failures = 0;
  const worker = new ConsumerWorker({
    source: new HttpConsumerSource(client, P, 'failing', 'stuck'),
    consumer: 'a',
    heartbeatIntervalMs: 200,
    batchMaxWaitMs: 10,
    retryInitialMs: 60_000,
    processor: {
      async process() {
        throw new Error('target down');
      },
    },
    events: {
      onError: () => {
        failures++;
      },
    },
  });
  await worker.start();
  await waitFor('a failed batch', () => (failures > 0 ? true : undefined));
  const t0 = Date.now();
  await worker.stop();
  assert.ok(Date.now() - t0 < 2000, `stop took ${Date.now() - t0} ms`);
  // Nothing was checkpointed: the batch is read again by whoever takes the shard.
  assert.deepEqual(json(await cg('GET', 'failing', '/stuck'), 'checkpoints'), []);
});
