/**
 * The wire API of a real `sluice serve` process through our signed client and raw node:http: LZ4/deflate/JSON
 * PutLogs, hash routing, PullLogs compression and headers (sls-api.md §5.8), GetCursor by time, write quotas,
 * signatures (v1 and v4, and every way of getting them wrong), /health, and the response envelope.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { Compressor } from 'zstd-napi';
import type { SlsClient } from '../../src/client/sls-client.js';
import { encodeLogGroup, type LogGroup } from '../../src/protocol/log-group.js';
import { lz4BlockCompress } from '../../src/protocol/lz4-block.js';
import { contentMd5Hex } from '../../src/protocol/signature.js';
import { removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import {
  assertEmptyOk,
  assertSlsError,
  cursorSeq,
  getCursor,
  headerOf,
  jsonOf,
  plainGroup,
  pull,
  pullBody,
  pullShard,
  rawHttp,
  seqCursor,
  signedRaw,
  testClient,
} from '../helpers/sls-kit.js';

const PB = { 'content-type': 'application/x-protobuf' };

function group(marker: string, extra: Partial<LogGroup> = {}): LogGroup {
  return {
    logs: [
      {
        time: 1_700_000_000,
        timeNs: 42,
        contents: [
          { key: 'marker', value: marker },
          { key: 'pad', value: 'p'.repeat(64) },
        ],
      },
    ],
    tags: [],
    ...extra,
  };
}

function markers(groups: readonly LogGroup[]): string[] {
  return groups.map((g) => g.logs[0]!.contents[0]!.value);
}

async function createProject(client: SlsClient, name: string, extra: Record<string, unknown> = {}): Promise<void> {
  assertEmptyOk(
    await client.send({
      method: 'POST',
      path: '/',
      body: Buffer.from(JSON.stringify({ projectName: name, description: '', ...extra })),
    }),
    `CreateProject ${name}`,
  );
}

async function createLogstore(client: SlsClient, project: string, name: string, shardCount: number): Promise<void> {
  assertEmptyOk(
    await client.send({
      method: 'POST',
      project,
      path: '/logstores',
      body: Buffer.from(JSON.stringify({ logstoreName: name, ttl: 30, shardCount })),
    }),
    `CreateLogStore ${name}`,
  );
}

function putPb(client: SlsClient, project: string, logstore: string, g: LogGroup, route?: string) {
  const body = encodeLogGroup(g);
  return client.send({
    method: 'POST',
    project,
    path: route !== undefined ? `/logstores/${logstore}/shards/route` : `/logstores/${logstore}/shards/lb`,
    ...(route !== undefined ? { query: { key: route } } : {}),
    headers: PB,
    body,
  });
}

describe('raw SLS API', () => {
  let server: ServerProcess;
  let client: SlsClient;
  const project = 'raw-proj';

  before(async () => {
    server = await startServerProcess();
    client = testClient(server.url);
    await createProject(client, project);
    await createLogstore(client, project, 'one', 1);
    await createLogstore(client, project, 'two', 2);
  });

  after(async () => {
    client?.close();
    if (server) {
      await server.stop();
      await removeDir(server.dataDir);
    }
  });

  test('GET /health needs no auth', async () => {
    const res = await rawHttp(server.port, {
      method: 'GET',
      url: '/health',
      headers: { host: `localhost:${server.port}` },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body.toString('utf8')), { status: 'ok' });
    assert.match(headerOf(res, 'x-log-requestid') ?? '', /^[0-9A-F]{24}$/);
  });

  test('PutLogs: LZ4, deflate and plain bodies round-trip exactly', async () => {
    const lz4Group = group('lz4', { topic: 'tp', source: 'src', tags: [{ key: 'k', value: 'v' }] });
    const lz4Raw = encodeLogGroup(lz4Group);
    assertEmptyOk(
      await client.send({
        method: 'POST',
        project,
        path: '/logstores/one/shards/lb',
        headers: { ...PB, 'x-log-compresstype': 'lz4', 'x-log-bodyrawsize': String(lz4Raw.length) },
        body: lz4BlockCompress(lz4Raw),
      }),
      'lz4 put',
    );
    const deflateRaw = encodeLogGroup(group('deflate'));
    assertEmptyOk(
      await client.send({
        method: 'POST',
        project,
        path: '/logstores/one/shards/lb',
        headers: { ...PB, 'x-log-compresstype': 'deflate', 'x-log-bodyrawsize': String(deflateRaw.length) },
        body: deflateSync(deflateRaw),
      }),
      'deflate put',
    );
    assertEmptyOk(await putPb(client, project, 'one', group('plain')), 'plain put');
    const groups = await pullShard(client, project, 'one', 0);
    assert.deepEqual(groups.map(plainGroup), [
      plainGroup(lz4Group),
      plainGroup(group('deflate')),
      plainGroup(group('plain')),
    ]);
  });

  test('PutLogs zstd (SLS accepts it): stored once, read back exactly by PullLogs in every encoding', async () => {
    await createLogstore(client, project, 'zstd', 1);
    const zGroup = group('zstd', { topic: 'zt', tags: [{ key: 'codec', value: 'zstd' }] });
    const zRaw = encodeLogGroup(zGroup);
    const compressed = new Compressor();
    compressed.setParameters({ compressionLevel: 3 });
    const zBody = compressed.compress(zRaw);
    assertEmptyOk(
      await client.send({
        method: 'POST',
        project,
        path: '/logstores/zstd/shards/lb',
        headers: { ...PB, 'x-log-compresstype': 'zstd', 'x-log-bodyrawsize': String(zRaw.length) },
        body: zBody,
      }),
      'zstd put',
    );
    const begin = await getCursor(client, project, 'zstd', 0, 'begin');
    for (const enc of ['zstd', 'lz4', '']) {
      const res = await pull(client, project, 'zstd', 0, begin, 10, { acceptEncoding: enc });
      assert.equal(res.status, 200);
      assert.equal(headerOf(res, 'x-log-compresstype'), enc === '' ? undefined : enc, `compresstype for "${enc}"`);
      assert.deepEqual(pullBody(res).map(plainGroup), [plainGroup(zGroup)], `pull with "${enc}"`);
    }
    // A size header that disagrees with the frame is refused, and nothing is written.
    const lying = await client.send({
      method: 'POST',
      project,
      path: '/logstores/zstd/shards/lb',
      headers: { ...PB, 'x-log-compresstype': 'zstd', 'x-log-bodyrawsize': String(zRaw.length + 1) },
      body: zBody,
    });
    assert.equal(lying.status, 400);
    assert.equal(JSON.parse(lying.body.toString('utf8')).errorCode, 'PostBodyUncompressError');
    assert.equal((await pullShard(client, project, 'zstd', 0)).length, 1);
  });

  test('PutLogs JSON form on POST /logstores/{ls}', async () => {
    const body = {
      __topic__: 'json-topic',
      __source__: '1.2.3.4',
      __logs__: [
        { __time__: 1_700_000_005, __time_ns_part__: 999_999_999, k: 'v ✓', n: 5, b: true, o: { x: [1] } },
        { __time__: '1700000006', empty: '' },
      ],
      __tags__: { tag1: 'tv', __hostname__: 'h' },
    };
    assertEmptyOk(
      await client.send({
        method: 'POST',
        project,
        path: '/logstores/one',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify(body)),
      }),
      'json put',
    );
    const groups = await pullShard(client, project, 'one', 0);
    assert.deepEqual(plainGroup(groups[groups.length - 1]!), {
      logs: [
        {
          time: 1_700_000_005,
          timeNs: 999_999_999,
          contents: [
            ['k', 'v ✓'],
            ['n', '5'],
            ['b', 'true'],
            ['o', '{"x":[1]}'],
          ],
        },
        { time: 1_700_000_006, contents: [['empty', '']] },
      ],
      topic: 'json-topic',
      source: '1.2.3.4',
      tags: [
        ['tag1', 'tv'],
        ['__hostname__', 'h'],
      ],
    });
  });

  test('hash routing: /shards/route?key= and x-log-hashkey pick the owning shard', async () => {
    const cases: [string, number][] = [
      ['00000000000000000000000000000000', 0],
      ['7fffffffffffffffffffffffffffffff', 0],
      ['80000000000000000000000000000000', 1],
      ['FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF', 1],
    ];
    for (const [key, _] of cases)
      assertEmptyOk(await putPb(client, project, 'two', group(`route-${key}`), key), `route ${key}`);
    for (const [key, _] of cases) {
      assertEmptyOk(
        await client.send({
          method: 'POST',
          project,
          path: '/logstores/two/shards/lb',
          headers: { ...PB, 'x-log-hashkey': key },
          body: encodeLogGroup(group(`hashkey-${key}`)),
        }),
        `x-log-hashkey ${key}`,
      );
    }
    const shard0 = markers(await pullShard(client, project, 'two', 0));
    const shard1 = markers(await pullShard(client, project, 'two', 1));
    const expect = (s: number) =>
      [
        ...cases.filter(([, i]) => i === s).map(([k]) => `route-${k}`),
        ...cases.filter(([, i]) => i === s).map(([k]) => `hashkey-${k}`),
      ].sort();
    assert.deepEqual([...shard0].sort(), expect(0));
    assert.deepEqual([...shard1].sort(), expect(1));

    assertSlsError(await putPb(client, project, 'two', group('bad'), 'xyz'), 400, 'ParameterInvalid', 'bad route key');
    assertSlsError(
      await client.send({
        method: 'POST',
        project,
        path: '/logstores/two/shards/route',
        headers: PB,
        body: encodeLogGroup(group('nokey')),
      }),
      400,
      'ParameterInvalid',
      'route without key',
    );
    assertSlsError(
      await client.send({
        method: 'POST',
        project,
        path: '/logstores/two/shards/lb',
        headers: { ...PB, 'x-log-hashkey': '123' },
        body: encodeLogGroup(group('badhash')),
      }),
      400,
      'ParameterInvalid',
      'bad x-log-hashkey',
    );
    assert.equal(
      (await pullShard(client, project, 'two', 0)).length + (await pullShard(client, project, 'two', 1)).length,
      8,
    );
  });

  test('PullLogs: Accept-Encoding lz4 | deflate | "" and every header of §5.8', async () => {
    const begin = await getCursor(client, project, 'one', 0, 'begin');
    const end = await getCursor(client, project, 'one', 0, 'end');
    const b = cursorSeq(begin);
    const total = Number(cursorSeq(end) - b);
    assert.equal(total, 4, 'lz4, deflate, plain and json groups');
    const all = await pullShard(client, project, 'one', 0);

    for (const enc of ['lz4', 'deflate', '', 'gzip, lz4', 'zstd', 'br']) {
      const res = await pull(client, project, 'one', 0, begin, 3, { acceptEncoding: enc });
      assert.equal(res.status, 200);
      assert.equal(headerOf(res, 'content-type'), 'application/x-protobuf');
      const expectType =
        enc === 'lz4' || enc === 'gzip, lz4' ? 'lz4' : enc === 'deflate' || enc === 'zstd' ? enc : undefined;
      assert.equal(headerOf(res, 'x-log-compresstype'), expectType, `compresstype for "${enc}"`);
      assert.equal(headerOf(res, 'x-log-count'), '3');
      assert.equal(headerOf(res, 'x-log-cursor'), seqCursor(b + 3n));
      assert.equal(headerOf(res, 'x-log-read-last-cursor'), (b + 2n).toString());
      assert.equal(headerOf(res, 'x-log-end-of-cursor'), '0');
      assert.match(headerOf(res, 'x-log-cursor-time') ?? '', /^\d{10}$/);
      const groups = pullBody(res);
      if (expectType === undefined) assert.equal(res.body.length, Number(headerOf(res, 'x-log-bodyrawsize')));
      assert.deepEqual(groups.map(plainGroup), all.slice(0, 3).map(plainGroup));
    }

    // The rest, reaching the end.
    const last = await pull(client, project, 'one', 0, seqCursor(b + 3n), 10, { acceptEncoding: 'lz4' });
    assert.equal(headerOf(last, 'x-log-count'), '1');
    assert.equal(headerOf(last, 'x-log-cursor'), end);
    assert.equal(headerOf(last, 'x-log-end-of-cursor'), '1');
    assert.equal(headerOf(last, 'x-log-read-last-cursor'), (b + 3n).toString());

    // Empty pull at the end: 200, count 0, rawsize 0, empty body, the same cursor.
    const empty = await pull(client, project, 'one', 0, end, 10, { acceptEncoding: 'lz4' });
    assert.equal(empty.status, 200);
    assert.equal(headerOf(empty, 'x-log-count'), '0');
    assert.equal(headerOf(empty, 'x-log-bodyrawsize'), '0');
    assert.equal(headerOf(empty, 'x-log-cursor'), end);
    assert.equal(headerOf(empty, 'x-log-end-of-cursor'), '1');
    assert.equal(headerOf(empty, 'x-log-compresstype'), undefined);
    assert.equal(empty.body.length, 0);

    // end_cursor: exclusive bound; equal to the start gives nothing.
    const bounded = await pull(client, project, 'one', 0, seqCursor(b + 1n), 100, { endCursor: seqCursor(b + 3n) });
    assert.deepEqual(markers(pullBody(bounded)), markers(all.slice(1, 3)));
    assert.equal(headerOf(bounded, 'x-log-cursor'), seqCursor(b + 3n));
    const none = await pull(client, project, 'one', 0, seqCursor(b + 1n), 100, { endCursor: seqCursor(b + 1n) });
    assert.equal(headerOf(none, 'x-log-count'), '0');
    assert.equal(headerOf(none, 'x-log-cursor'), seqCursor(b + 1n));

    // type=logs (Go SDK) is the same call.
    const goStyle = await client.send({
      method: 'GET',
      project,
      path: '/logstores/one/shards/0',
      query: { type: 'logs', cursor: begin, count: '2' },
    });
    assert.equal(headerOf(goStyle, 'x-log-count'), '2');
  });

  test('GetCursor from=<unix time>, begin, end; GetCursorTime', async () => {
    const begin = await getCursor(client, project, 'one', 0, 'begin');
    const end = await getCursor(client, project, 'one', 0, 'end');
    assert.equal(await getCursor(client, project, 'one', 0, '0'), begin);
    assert.equal(await getCursor(client, project, 'one', 0, String(2 ** 40)), end);
    const t = jsonOf<{ cursor_time: number }>(
      await client.send({
        method: 'GET',
        project,
        path: '/logstores/one/shards/0',
        query: { type: 'cursor_time', cursor: begin },
      }),
    ).cursor_time;
    const atT = await getCursor(client, project, 'one', 0, String(t));
    assert.equal(atT, begin, 'the first group was received at t, so from=t starts there');
    assertSlsError(
      await client.send({
        method: 'GET',
        project,
        path: '/logstores/one/shards/0',
        query: { type: 'cursor', from: 'yesterday' },
      }),
      400,
      'ParameterInvalid',
      'from=yesterday',
    );
    assertSlsError(
      await client.send({ method: 'GET', project, path: '/logstores/one/shards/0', query: { type: 'cursor' } }),
      400,
      'ParameterInvalid',
      'no from',
    );
    // An empty shard: begin = end, and any time maps to it.
    const e0 = await getCursor(client, project, 'two', 0, 'end');
    await createLogstore(client, project, 'empty', 1);
    const eb = await getCursor(client, project, 'empty', 0, 'begin');
    assert.equal(await getCursor(client, project, 'empty', 0, 'end'), eb);
    assert.equal(await getCursor(client, project, 'empty', 0, '1700000000'), eb);
    assert.notEqual(eb, e0);
  });

  test('signatures: v4 accepted; bad signature, unknown key, skewed date, bad MD5 rejected and nothing written', async () => {
    const put = (marker: string, extra: Partial<Parameters<typeof signedRaw>[1]> = {}) =>
      signedRaw(server.port, {
        method: 'POST',
        project,
        path: '/logstores/empty/shards/lb',
        headers: PB,
        body: encodeLogGroup(group(marker)),
        ...extra,
      });

    assertEmptyOk(await put('v1'), 'v1 put');
    assertEmptyOk(await put('v4', { v4Region: 'cn-hangzhou' }), 'v4 put');
    const v4Get = await signedRaw(server.port, { method: 'GET', project, path: '/logstores/empty', v4Region: 'local' });
    assert.equal(jsonOf<{ logstoreName: string }>(v4Get).logstoreName, 'empty');
    const v4List = await signedRaw(server.port, {
      method: 'GET',
      project,
      path: '/logstores',
      query: { offset: '0', size: '10', logstoreName: 'em pty~*' },
      v4Region: 'local',
    });
    assert.equal(jsonOf<{ total: number }>(v4List).total, 0);

    const flip = (h: Record<string, string>) => {
      const a = h['authorization']!;
      h['authorization'] = a.slice(0, -2) + (a.endsWith('A=') || a.endsWith('A') ? 'B' : 'A') + a.slice(-1);
    };
    assertSlsError(await put('bad-sig', { tamper: flip }), 401, 'SignatureNotMatch', 'flipped v1 signature');
    assertSlsError(
      await put('bad-sig4', {
        v4Region: 'local',
        tamper: (h) => {
          h['authorization'] = h['authorization']!.replace(
            /Signature=([0-9a-f])/,
            (_m, c: string) => `Signature=${c === '0' ? '1' : '0'}`,
          );
        },
      }),
      401,
      'SignatureNotMatch',
      'flipped v4 signature',
    );
    assertSlsError(await put('wrong-secret', { secret: 'not-the-secret' }), 401, 'SignatureNotMatch', 'wrong secret');
    assertSlsError(
      await put('header-changed', { tamper: (h) => (h['x-log-bodyrawsize'] = '1') }),
      401,
      'SignatureNotMatch',
      'signed header changed',
    );
    assertSlsError(
      await put('path-changed', {
        tamper: (h) => {
          h['x-log-apiversion'] = '0.6.0';
          h['host'] = `other-proj.localhost:${server.port}`;
        },
      }),
      404,
      'ProjectNotExist',
      'host is not signed in v1: a missing project',
    );
    assertSlsError(await put('unknown-key', { keyId: 'nobody', secret: 'x' }), 401, 'Unauthorized', 'unknown key');
    assertSlsError(
      await put('unknown-key4', { keyId: 'nobody', secret: 'x', v4Region: 'local' }),
      401,
      'Unauthorized',
      'unknown key v4',
    );
    assertSlsError(
      await put('no-auth', { tamper: (h) => delete h['authorization'] }),
      401,
      'Unauthorized',
      'no Authorization',
    );
    assertSlsError(
      await put('garbage-auth', { tamper: (h) => (h['authorization'] = 'Basic dXNlcjpwYXNz') }),
      401,
      'Unauthorized',
      'Basic auth',
    );
    const past = new Date(Date.now() - 20 * 60 * 1000);
    const future = new Date(Date.now() + 20 * 60 * 1000);
    assertSlsError(await put('past', { now: past }), 400, 'RequestTimeExpired', 'Date 20 min ago');
    assertSlsError(await put('future', { now: future }), 400, 'RequestTimeExpired', 'Date 20 min ahead');
    assertSlsError(await put('past4', { now: past, v4Region: 'local' }), 400, 'RequestTimeExpired', 'v4 20 min ago');
    assertSlsError(await put('no-date', { tamper: (h) => delete h['date'] }), 400, 'MissingDate', 'no Date');
    assertSlsError(
      await put('bad-date', { tamper: (h) => (h['date'] = 'yesterday') }),
      400,
      'InvalidDateFormat',
      'bad Date',
    );
    assertSlsError(
      await put('bad-md5', { tamper: (h) => (h['content-md5'] = '0123456789ABCDEF0123456789ABCDEF') }),
      400,
      'InvalidContentMD5',
      'wrong Content-MD5',
    );
    assertSlsError(
      await put('no-version', { tamper: (h) => delete h['x-log-apiversion'] }),
      400,
      'MissingAPIVersion',
      'no x-log-apiversion',
    );
    assertSlsError(
      await put('old-version', { headers: { ...PB, 'x-log-apiversion': '0.5.0' } }),
      400,
      'InvalidAPIVersion',
      'x-log-apiversion 0.5.0',
    );
    // The body replaced in transit (same length): with the MD5 header left alone, and with it recomputed.
    const evil = encodeLogGroup(group('evil!'));
    assertSlsError(await put('good!', { sendBody: evil }), 400, 'InvalidContentMD5', 'body swapped');
    assertSlsError(
      await put('good!', { sendBody: evil, tamper: (h) => (h['content-md5'] = contentMd5Hex(evil)) }),
      401,
      'SignatureNotMatch',
      'body and MD5 swapped',
    );
    assertSlsError(
      await put('good!', { v4Region: 'local', sendBody: evil }),
      401,
      'SignatureNotMatch',
      'v4 body swapped',
    );

    assert.deepEqual(markers(await pullShard(client, project, 'empty', 0)), ['v1', 'v4']);
  });

  test('split: once it answers, the readonly parent is final (writes it accepted are in, later ones go elsewhere)', async () => {
    for (let trial = 0; trial < 8; trial++) {
      const ls = `race-${trial}`;
      await createLogstore(client, project, ls, 1);
      // Never-written shard: the first writes have to open its log while the split commits.
      const puts = Array.from({ length: 6 }, (_, i) => putPb(client, project, ls, group(`race-${trial}-${i}`)));
      const split = await client.send({
        method: 'POST',
        project,
        path: `/logstores/${ls}/shards/0`,
        query: { action: 'split', key: '80000000000000000000000000000000' },
      });
      assert.equal(split.status, 200, split.body.toString('utf8'));
      const endAtSplit = await getCursor(client, project, ls, 0, 'end');
      for (const r of await Promise.all(puts)) assertEmptyOk(r, 'put racing a split');
      assert.equal(
        await getCursor(client, project, ls, 0, 'end'),
        endAtSplit,
        `trial ${trial}: parent grew after the split`,
      );
      const all = [
        ...(await pullShard(client, project, ls, 0)),
        ...(await pullShard(client, project, ls, 1)),
        ...(await pullShard(client, project, ls, 2)),
      ];
      assert.deepEqual(markers(all).sort(), Array.from({ length: 6 }, (_, i) => `race-${trial}-${i}`).sort());
    }
  });

  test('projects: update and list; every response carries a request id; empty successes have no content type', async () => {
    assertEmptyOk(
      await client.send({
        method: 'PUT',
        project,
        path: '/',
        body: Buffer.from(JSON.stringify({ description: 'new ✓' })),
      }),
      'UpdateProject',
    );
    const p = jsonOf<Record<string, unknown>>(await client.send({ method: 'GET', project, path: '/' }));
    assert.equal(p['description'], 'new ✓');
    await createProject(client, 'raw-proj-2');
    const list = jsonOf<{ count: number; total: number; projects: { projectName: string }[] }>(
      await client.send({ method: 'GET', path: '/', query: { size: '1', offset: '1' } }),
    );
    assert.deepEqual([list.count, list.total, list.projects.map((x) => x.projectName)], [1, 2, ['raw-proj-2']]);
    assertSlsError(
      await client.send({ method: 'GET', project: 'nope-proj', path: '/' }),
      404,
      'ProjectNotExist',
      'GetProject missing',
    );
    assertSlsError(
      await client.send({
        method: 'PUT',
        project,
        path: '/',
        body: Buffer.from(JSON.stringify({ quota: { bogus: 1 } })),
      }),
      400,
      'ProjectInfoInvalid',
      'bad quota',
    );
  });
});

describe('raw SLS API: write quotas', () => {
  let server: ServerProcess;
  let client: SlsClient;

  before(async () => {
    // A rate far below one request's size: the first request drains the bucket into debt for minutes, so the
    // next one is refused however slow the machine is.
    server = await startServerProcess({ config: { defaultProjectQuota: { writeBytesPerSec: 10 } } });
    client = testClient(server.url);
  });

  after(async () => {
    client?.close();
    if (server) {
      await server.stop();
      await removeDir(server.dataDir);
    }
  });

  const big = (marker: string) =>
    group(marker, {
      logs: [
        {
          time: 1_700_000_000,
          contents: [
            { key: 'marker', value: marker },
            { key: 'pad', value: 'q'.repeat(2000) },
          ],
        },
      ],
    });

  test('defaultProjectQuota from the config: 403 WriteQuotaExceed, request not written', async () => {
    await createProject(client, 'quota-a');
    await createLogstore(client, 'quota-a', 'logs', 1);
    assertEmptyOk(await putPb(client, 'quota-a', 'logs', big('first')), 'first put');
    assertSlsError(await putPb(client, 'quota-a', 'logs', big('second')), 403, 'WriteQuotaExceed', 'second put');
    assertSlsError(
      await putPb(client, 'quota-a', 'logs', group('small')),
      403,
      'WriteQuotaExceed',
      'small put in debt',
    );
    assert.deepEqual(markers(await pullShard(client, 'quota-a', 'logs', 0)), ['first']);
    const p = jsonOf<{ quota: unknown }>(await client.send({ method: 'GET', project: 'quota-a', path: '/' }));
    assert.deepEqual(p.quota, { writeBytesPerSec: 10 });
  });

  test('UpdateProject {"quota": …}: request rate, shard rate, and back to unlimited', async () => {
    await createProject(client, 'quota-b');
    await createLogstore(client, 'quota-b', 'logs', 2);
    const setQuota = async (quota: Record<string, unknown>) =>
      assertEmptyOk(
        await client.send({
          method: 'PUT',
          project: 'quota-b',
          path: '/',
          body: Buffer.from(JSON.stringify({ quota })),
        }),
        'UpdateProject quota',
      );

    // 0.001 requests/s: one request, then a debt of ~1000 s.
    await setQuota({ writeRequestsPerSec: 0.001 });
    assertEmptyOk(await putPb(client, 'quota-b', 'logs', group('r1')), 'r1');
    assertSlsError(await putPb(client, 'quota-b', 'logs', group('r2')), 403, 'WriteQuotaExceed', 'r2');

    // Per shard: shard 0 drained, shard 1 still open, project-wide unlimited.
    await setQuota({ shardWriteBytesPerSec: 10 });
    const key0 = '00000000000000000000000000000001';
    const key1 = 'f0000000000000000000000000000000';
    assertEmptyOk(await putPb(client, 'quota-b', 'logs', big('s0-a'), key0), 's0-a');
    assertSlsError(await putPb(client, 'quota-b', 'logs', big('s0-b'), key0), 403, 'ShardWriteQuotaExceed', 's0-b');
    assertEmptyOk(await putPb(client, 'quota-b', 'logs', big('s1-a'), key1), 's1-a');
    assertSlsError(await putPb(client, 'quota-b', 'logs', big('s1-b'), key1), 403, 'ShardWriteQuotaExceed', 's1-b');

    // Unlimited again.
    await setQuota({});
    for (let i = 0; i < 5; i++)
      assertEmptyOk(await putPb(client, 'quota-b', 'logs', big(`free-${i}`), key0), `free-${i}`);

    const shard0 = markers(await pullShard(client, 'quota-b', 'logs', 0));
    const shard1 = markers(await pullShard(client, 'quota-b', 'logs', 1));
    assert.deepEqual(
      [...shard0, ...shard1].sort(),
      ['r1', 's0-a', 's1-a', 'free-0', 'free-1', 'free-2', 'free-3', 'free-4'].sort(),
    );
    assert.deepEqual(
      shard1.filter((m) => m.startsWith('s1')),
      ['s1-a'],
    );
  });

  test('a project created with an explicit unlimited quota is not limited by the default', async () => {
    await createProject(client, 'quota-c', { quota: {} });
    await createLogstore(client, 'quota-c', 'logs', 1);
    for (let i = 0; i < 4; i++) assertEmptyOk(await putPb(client, 'quota-c', 'logs', big(`c-${i}`)), `c-${i}`);
    assert.equal((await pullShard(client, 'quota-c', 'logs', 0)).length, 4);
  });
});
