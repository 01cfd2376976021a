/**
 * PutLogs with `x-log-idempotency-id` against a real `sluice serve`: a batch is stored at most once per logstore,
 * whichever PutLogs route, shard or codec its resend takes, after a split, while the original is still in flight,
 * and after the server was SIGKILLed right after acknowledging (ids come back from sealed-file sidecars and the
 * active file's scan). Replays answer the empty 200 of a first write plus `x-log-idempotent-replay: 1`. Every check
 * counts what PullLogs returns from every shard of the logstore.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { SlsClient, SlsResponse } from '../../src/client/sls-client.js';
import { encodeLogGroup, type LogGroup } from '../../src/protocol/log-group.js';
import { lz4BlockCompress } from '../../src/protocol/lz4-block.js';
import { removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { assertEmptyOk, assertSlsError, headerOf, jsonOf, pullLogstore, testClient } from '../helpers/sls-kit.js';

const ID_HEADER = 'x-log-idempotency-id';
const REPLAY_HEADER = 'x-log-idempotent-replay';
const MIN = '00000000000000000000000000000000';
const MAX = 'ffffffffffffffffffffffffffffffff';
const K40 = '40000000000000000000000000000000';

function group(marker: string, padBytes = 64): LogGroup {
  return {
    logs: [
      {
        time: 1_700_000_000,
        contents: [
          { key: 'marker', value: marker },
          { key: 'pad', value: padBytes > 64 ? randomBytes(padBytes).toString('base64') : 'p'.repeat(padBytes) },
        ],
      },
    ],
    tags: [],
  };
}

type Via = 'lb' | 'route' | 'json' | 'lz4';

interface PutOptions {
  readonly id?: string;
  readonly via?: Via;
  /** Hash key: `/shards/route?key=` for 'route', `x-log-hashkey` otherwise. */
  readonly key?: string;
  readonly padBytes?: number;
}

function put(client: SlsClient, project: string, logstore: string, marker: string, o: PutOptions = {}) {
  const via = o.via ?? 'lb';
  const headers: Record<string, string> = {};
  if (o.id !== undefined) headers[ID_HEADER] = o.id;
  if (o.key !== undefined && via !== 'route') headers['x-log-hashkey'] = o.key;
  let body: Buffer;
  let path = `/logstores/${logstore}/shards/lb`;
  if (via === 'json') {
    path = `/logstores/${logstore}`;
    headers['content-type'] = 'application/json';
    body = Buffer.from(JSON.stringify({ __logs__: [{ __time__: 1_700_000_000, marker }] }));
  } else {
    headers['content-type'] = 'application/x-protobuf';
    const raw = encodeLogGroup(group(marker, o.padBytes));
    if (via === 'lz4') {
      body = lz4BlockCompress(raw);
      headers['x-log-compresstype'] = 'lz4';
      headers['x-log-bodyrawsize'] = String(raw.length);
    } else body = raw;
    if (via === 'route') path = `/logstores/${logstore}/shards/route`;
  }
  return client.send({
    method: 'POST',
    project,
    path,
    ...(via === 'route' ? { query: { key: o.key ?? MIN } } : {}),
    headers,
    body,
  });
}

function assertStored(res: SlsResponse, what: string): void {
  assertEmptyOk(res, what);
  assert.equal(headerOf(res, REPLAY_HEADER), undefined, `${what}: a first write carries no replay header`);
}

function assertReplay(res: SlsResponse, what: string): void {
  assertEmptyOk(res, what);
  assert.equal(headerOf(res, REPLAY_HEADER), '1', `${what}: replay header`);
}

/** How many times each marker is stored in the logstore (all shards, readonly ones included). */
async function markerCounts(client: SlsClient, project: string, logstore: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const g of await pullLogstore(client, project, logstore)) {
    for (const log of g.logs) {
      const marker = log.contents.find((c) => c.key === 'marker')?.value ?? '';
      counts.set(marker, (counts.get(marker) ?? 0) + 1);
    }
  }
  return counts;
}

async function createProject(client: SlsClient, name: string): Promise<void> {
  const body = Buffer.from(JSON.stringify({ projectName: name, description: '' }));
  assertEmptyOk(await client.send({ method: 'POST', path: '/', body }), `CreateProject ${name}`);
}

async function createLogstore(client: SlsClient, project: string, name: string, shardCount: number): Promise<void> {
  const body = Buffer.from(JSON.stringify({ logstoreName: name, ttl: 30, shardCount }));
  assertEmptyOk(await client.send({ method: 'POST', project, path: '/logstores', body }), `CreateLogStore ${name}`);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** An `SlsLogPackageList` (x-log-mode: batch_group) of uncompressed packages. */
function packageList(groups: readonly LogGroup[]): Buffer {
  const packages = groups.map((g) => {
    const data = encodeLogGroup(g);
    const pkg = Buffer.concat([
      Buffer.from([0x0a]),
      varint(data.length),
      data,
      Buffer.from([0x10]),
      varint(data.length),
      Buffer.from([0x18, 0]),
    ]);
    return Buffer.concat([Buffer.from([0x0a]), varint(pkg.length), pkg]);
  });
  return Buffer.concat(packages);
}

describe('idempotent PutLogs', () => {
  let server: ServerProcess;
  let client: SlsClient;
  const project = 'idem';

  before(async () => {
    server = await startServerProcess();
    client = testClient(server.url);
    await createProject(client, project);
  });

  after(async () => {
    client?.close();
    if (server) {
      await server.stop();
      await removeDir(server.dataDir);
    }
  });

  test('the same id twice is stored once; other ids and requests without one are stored as before', async () => {
    await createLogstore(client, project, 'basic', 2);
    assertStored(await put(client, project, 'basic', 'a', { id: 'file-1:0-100' }), 'first a');
    assertReplay(await put(client, project, 'basic', 'a', { id: 'file-1:0-100' }), 'resend a');
    assertStored(await put(client, project, 'basic', 'b', { id: 'file-1:100-200' }), 'b');
    assertStored(await put(client, project, 'basic', 'plain'), 'plain 1');
    assertStored(await put(client, project, 'basic', 'plain'), 'plain 2');
    assert.deepEqual(Object.fromEntries(await markerCounts(client, project, 'basic')), { a: 1, b: 1, plain: 2 });
  });

  test('the same id in two logstores is stored in both', async () => {
    await createLogstore(client, project, 'left', 1);
    await createLogstore(client, project, 'right', 1);
    assertStored(await put(client, project, 'left', 'shared', { id: 'same-id' }), 'left');
    assertStored(await put(client, project, 'right', 'shared', { id: 'same-id' }), 'right');
    assertReplay(await put(client, project, 'right', 'shared', { id: 'same-id' }), 'right again');
    assert.equal((await markerCounts(client, project, 'left')).get('shared'), 1);
    assert.equal((await markerCounts(client, project, 'right')).get('shared'), 1);
  });

  test('a resend through any route, codec or shard is a replay, also after a split', async () => {
    await createLogstore(client, project, 'routes', 2);
    assertStored(await put(client, project, 'routes', 'r', { id: 'routes-1', via: 'route', key: MIN }), 'to shard 0');
    // /shards/lb round-robins over both shards, so some of these land on shard 1.
    for (let i = 0; i < 4; i++) assertReplay(await put(client, project, 'routes', 'r', { id: 'routes-1' }), `lb ${i}`);
    assertReplay(await put(client, project, 'routes', 'r', { id: 'routes-1', key: MAX }), 'lb + hash key of shard 1');
    assertReplay(await put(client, project, 'routes', 'r', { id: 'routes-1', via: 'route', key: MAX }), 'route 1');
    assertReplay(await put(client, project, 'routes', 'r', { id: 'routes-1', via: 'lz4' }), 'lz4');
    assertReplay(await put(client, project, 'routes', 'r', { id: 'routes-1', via: 'json' }), 'POST /logstores/ls');

    const split = await client.send({
      method: 'POST',
      project,
      path: '/logstores/routes/shards/0',
      query: { action: 'split', key: K40 },
    });
    assert.equal(split.status, 200, split.body.toString('utf8'));
    const shards = jsonOf<{ shardID: number; status: string }[]>(
      await client.send({ method: 'GET', project, path: '/logstores/routes/shards' }),
    );
    assert.equal(shards.find((s) => s.shardID === 0)?.status, 'readonly');
    assertReplay(await put(client, project, 'routes', 'r', { id: 'routes-1', via: 'route', key: MIN }), 'to a child');
    for (let i = 0; i < 3; i++) assertReplay(await put(client, project, 'routes', 'r', { id: 'routes-1' }), `lb ${i}`);
    assertStored(await put(client, project, 'routes', 'fresh', { id: 'routes-2', via: 'route', key: MIN }), 'new id');
    assert.deepEqual(Object.fromEntries(await markerCounts(client, project, 'routes')), { r: 1, fresh: 1 });
  });

  test('concurrent duplicates are stored once; each answers 200, all but one as a replay', async () => {
    await createLogstore(client, project, 'concurrent', 3);
    for (let round = 0; round < 5; round++) {
      const id = `concurrent-${round}`;
      const responses = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          put(client, project, 'concurrent', id, { id, via: i % 3 === 0 ? 'lz4' : 'lb', padBytes: 20_000 }),
        ),
      );
      for (const r of responses) assertEmptyOk(r, `round ${round}`);
      assert.equal(
        responses.filter((r) => headerOf(r, REPLAY_HEADER) === undefined).length,
        1,
        `round ${round}: exactly one first write`,
      );
    }
    const counts = await markerCounts(client, project, 'concurrent');
    assert.deepEqual([...counts.values()], [1, 1, 1, 1, 1]);
  });

  test('a batch_group body counts as one batch: its packages are stored or replayed together', async () => {
    await createLogstore(client, project, 'batch', 1);
    const send = () =>
      client.send({
        method: 'POST',
        project,
        path: '/logstores/batch/shards/lb',
        headers: { 'content-type': 'application/x-protobuf', 'x-log-mode': 'batch_group', [ID_HEADER]: 'batch-1' },
        body: packageList([group('g1'), group('g2'), group('g3')]),
      });
    assertStored(await send(), 'first batch');
    assertReplay(await send(), 'resent batch');
    assert.deepEqual(Object.fromEntries(await markerCounts(client, project, 'batch')), { g1: 1, g2: 1, g3: 1 });
  });

  test('a malformed id is 400 ParameterInvalid and nothing is written', async () => {
    await createLogstore(client, project, 'bad', 1);
    for (const [what, id] of [
      ['empty', ''],
      ['too long', 'x'.repeat(129)],
      ['with a space', 'has space'],
      ['with a tab', 'has\ttab'],
      ['not ASCII', 'caf\u00e9'],
    ] as const) {
      assertSlsError(await put(client, project, 'bad', what, { id }), 400, 'ParameterInvalid', what);
    }
    assertStored(await put(client, project, 'bad', 'longest', { id: '~'.repeat(128) }), '128 characters');
    assert.deepEqual(Object.fromEntries(await markerCounts(client, project, 'bad')), { longest: 1 });
  });
});

describe('idempotent PutLogs across a server crash', () => {
  let server: ServerProcess | undefined;
  let client: SlsClient | undefined;
  let dataDir = '';
  const project = 'idem-crash';
  const logstore = 'events';

  after(async () => {
    client?.close();
    if (server) await server.stop();
    if (dataDir) await removeDir(dataDir);
  });

  test('a resend after SIGKILL right after the acknowledgements is not stored again', async () => {
    // 1 MiB files and ~100 KB groups: most ids are in sealed files by the kill, so they come back through sidecars.
    const config = { storage: { maxFileBytes: 1024 * 1024 } };
    server = await startServerProcess({ config });
    dataDir = server.dataDir;
    client = testClient(server.url);
    await createProject(client, project);
    await createLogstore(client, project, logstore, 2);
    const acked: string[] = [];
    for (let i = 0; i < 40; i++) {
      const marker = `m${i}`;
      assertStored(await put(client, project, logstore, marker, { id: `crash-${i}`, padBytes: 75_000 }), marker);
      acked.push(marker);
    }
    // A last burst in flight: the kill comes as soon as the first of them is acknowledged, so the rest may or may not
    // have been stored; the resend below must leave each of them exactly once either way.
    const burst = Array.from({ length: 8 }, (_, i) =>
      put(client!, project, logstore, `m${40 + i}`, { id: `crash-${40 + i}`, padBytes: 75_000 }).catch(() => undefined),
    );
    await Promise.race(burst);
    await server.kill();
    await Promise.all(burst);
    client.close();

    server = await startServerProcess({ dataDir, config });
    client = testClient(server.url);
    for (const marker of acked) {
      const i = Number(marker.slice(1));
      assertReplay(await put(client, project, logstore, marker, { id: `crash-${i}`, padBytes: 75_000 }), marker);
    }
    for (let i = 40; i < 48; i++) {
      assertEmptyOk(await put(client, project, logstore, `m${i}`, { id: `crash-${i}`, padBytes: 75_000 }), `m${i}`);
    }
    const counts = await markerCounts(client, project, logstore);
    for (let i = 0; i < 48; i++) assert.equal(counts.get(`m${i}`), 1, `m${i} stored exactly once`);
    assert.equal(counts.size, 48);
  });
});
