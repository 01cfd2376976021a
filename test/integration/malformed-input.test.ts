/**
 * A barrage of malformed requests against a real `sluice serve` process. Each must get its SLS error code and HTTP
 * status; afterwards the server must still serve and the data written before must read back unchanged. A client that
 * sends half a body and stalls must not hold up anyone else.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import type { SlsClient } from '../../src/client/sls-client.js';
import { encodeLogGroup, type LogGroup } from '../../src/protocol/log-group.js';
import { lz4BlockCompress } from '../../src/protocol/lz4-block.js';
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
  pullShard,
  rawHttp,
  seqCursor,
  signedRaw,
  testClient,
} from '../helpers/sls-kit.js';

const PB = { 'content-type': 'application/x-protobuf' };
const MAX_BODY = 64 * 1024;
const MAX_JSON = 4096;
const MAX_VALUE = 8192;

function group(marker: string, n = 3): LogGroup {
  return {
    logs: Array.from({ length: n }, (_, i) => ({
      time: 1_700_000_000 + i,
      contents: [
        { key: 'marker', value: marker },
        { key: 'i', value: String(i) },
        { key: 'text', value: `ünïcödé 😀 ${'x'.repeat(100)}` },
      ],
    })),
    topic: 'malformed',
    tags: [{ key: 'suite', value: 'malformed' }],
  };
}

interface SocketResult {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/**
 * Writes `head` then the pieces one by one on a raw socket, stopping as soon as the server answers (or drops the
 * connection), and reads one response. Bounded by `timeoutMs`.
 */
function socketExchange(
  port: number,
  head: string,
  pieces: readonly Buffer[],
  timeoutMs = 10_000,
): Promise<SocketResult> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (err?: Error, result?: SocketResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (result) resolve(result);
      else reject(err ?? new Error('no response'));
    };
    const timer = setTimeout(() => finish(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
    const tryParse = (): SocketResult | undefined => {
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      const lines = received.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0]!)?.[1]);
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const c = line.indexOf(':');
        headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (received.length - end - 4 < length) return undefined;
      return { status, headers, body: received.subarray(end + 4, end + 4 + length) };
    };
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      const r = tryParse();
      if (r) finish(undefined, r);
    });
    socket.on('error', () => {
      const r = tryParse();
      finish(r ? undefined : new Error('connection failed before a response'), r);
    });
    socket.on('close', () => {
      const r = tryParse();
      finish(r ? undefined : new Error('connection closed before a response'), r);
    });
    socket.once('connect', async () => {
      try {
        await write(socket, Buffer.from(head, 'latin1'));
        for (const p of pieces) {
          if (done || received.length > 0) break;
          await write(socket, p);
        }
      } catch {
        // The server closed on us mid-body: the response (if any) is handled by the listeners.
      }
    });
  });
}

function write(socket: Socket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve())));
}

describe('malformed input', () => {
  let server: ServerProcess;
  let client: SlsClient;
  const project = 'bad-input';
  const written: LogGroup[] = [];

  const sls = (res: Awaited<ReturnType<typeof rawHttp>>, status: number, code: string, what: string) =>
    assertSlsError(res, status, code, what);

  const putRaw = (
    body: Uint8Array,
    headers: Record<string, string>,
    extra: Partial<Parameters<typeof signedRaw>[1]> = {},
  ) => signedRaw(server.port, { method: 'POST', project, path: '/logstores/store/shards/lb', headers, body, ...extra });

  before(async () => {
    server = await startServerProcess({
      config: {
        limits: {
          maxBodyBytes: MAX_BODY,
          maxRawBodyBytes: MAX_BODY,
          maxJsonBodyBytes: MAX_JSON,
          maxValueBytes: MAX_VALUE,
        },
      },
    });
    client = testClient(server.url);
    assertEmptyOk(
      await client.send({
        method: 'POST',
        path: '/',
        body: Buffer.from(JSON.stringify({ projectName: project, description: '' })),
      }),
    );
    assertEmptyOk(
      await client.send({
        method: 'POST',
        project,
        path: '/logstores',
        body: Buffer.from(JSON.stringify({ logstoreName: 'store', ttl: 30, shardCount: 1 })),
      }),
    );
    for (let i = 0; i < 5; i++) {
      const g = group(`good-${i}`);
      const raw = encodeLogGroup(g);
      assertEmptyOk(
        await client.send({
          method: 'POST',
          project,
          path: '/logstores/store/shards/lb',
          headers: { ...PB, 'x-log-compresstype': 'lz4', 'x-log-bodyrawsize': String(raw.length) },
          body: lz4BlockCompress(raw),
        }),
      );
      written.push(g);
    }
  });

  after(async () => {
    client?.close();
    if (server) {
      await server.stop();
      await removeDir(server.dataDir);
    }
  });

  test('PutLogs bodies: raw sizes, truncated LZ4, deflate, protobuf garbage, compress types, content types', async () => {
    const raw = encodeLogGroup(group('bad'));
    const lz4 = lz4BlockCompress(raw);
    const lz4Put = (body: Uint8Array, rawSize: string | undefined) =>
      putRaw(body, {
        ...PB,
        'x-log-compresstype': 'lz4',
        ...(rawSize !== undefined ? { 'x-log-bodyrawsize': rawSize } : {}),
      });

    sls(await lz4Put(lz4, String(raw.length + 1)), 400, 'PostBodyUncompressError', 'lz4 rawsize too big');
    sls(await lz4Put(lz4, String(raw.length - 1)), 400, 'PostBodyUncompressError', 'lz4 rawsize too small');
    sls(await lz4Put(lz4, '0'), 400, 'PostBodyUncompressError', 'lz4 rawsize 0');
    sls(await lz4Put(lz4, 'abc'), 400, 'InvalidBodyRawSize', 'lz4 rawsize abc');
    sls(await lz4Put(lz4, '-5'), 400, 'InvalidBodyRawSize', 'lz4 rawsize -5');
    sls(await lz4Put(lz4, String(MAX_BODY + 1)), 400, 'PostBodyTooLarge', 'lz4 rawsize over the limit');
    sls(await lz4Put(lz4, '99999999999999999999'), 400, 'InvalidBodyRawSize', 'lz4 rawsize huge');
    // signedRaw always sends x-log-bodyrawsize; drop it after signing would break the signature, so sign without it.
    sls(
      await signedRaw(server.port, {
        method: 'POST',
        project,
        path: '/logstores/store/shards/lb',
        headers: { ...PB, 'x-log-compresstype': 'lz4' },
        body: lz4,
        tamper: (h) => delete h['x-log-bodyrawsize'],
      }),
      401,
      'SignatureNotMatch',
      'lz4 rawsize removed in transit',
    );
    for (const cut of [1, Math.floor(lz4.length / 2), lz4.length - 1]) {
      sls(
        await lz4Put(lz4.subarray(0, cut), String(raw.length)),
        400,
        'PostBodyUncompressError',
        `lz4 truncated to ${cut}`,
      );
    }
    sls(
      await lz4Put(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]), '1000'),
      400,
      'PostBodyUncompressError',
      'lz4 garbage',
    );
    // Valid LZ4 of garbage protobuf.
    const junk = Buffer.from('this is not a protobuf LogGroup \xff\xff\xff', 'latin1');
    sls(await lz4Put(lz4BlockCompress(junk), String(junk.length)), 400, 'PostBodyInvalid', 'lz4 of garbage');

    const deflatePut = (body: Uint8Array, rawSize: string) =>
      putRaw(body, { ...PB, 'x-log-compresstype': 'deflate', 'x-log-bodyrawsize': rawSize });
    sls(await deflatePut(deflateSync(raw), String(raw.length + 7)), 400, 'PostBodyUncompressError', 'deflate rawsize');
    sls(
      await deflatePut(Buffer.from('not zlib at all'), String(raw.length)),
      400,
      'PostBodyUncompressError',
      'deflate garbage',
    );
    sls(
      await deflatePut(deflateSync(raw).subarray(0, 20), String(raw.length)),
      400,
      'PostBodyUncompressError',
      'deflate truncated',
    );
    sls(await deflatePut(deflateSync(Buffer.alloc(MAX_BODY * 4)), '0'), 400, 'PostBodyTooLarge', 'deflate bomb');

    for (const [what, bytes] of [
      ['0xff run', Buffer.alloc(64, 0xff)],
      ['truncated group', raw.subarray(0, raw.length - 3)],
      ['wire type 7', Buffer.from([0x0f, 0x01])],
      ['length past end', Buffer.from([0x0a, 0x7f, 0x08, 0x01])],
      ['text', Buffer.from('{"__logs__":[]}')],
    ] as const) {
      sls(await putRaw(bytes, PB), 400, 'PostBodyInvalid', `protobuf: ${what}`);
    }
    sls(await putRaw(Buffer.alloc(0), PB), 400, 'PostBodyInvalid', 'empty body');
    // A LogGroup with no log would be stored as a record holding nothing (and count as a PullLogs group).
    sls(await putRaw(encodeLogGroup({ logs: [], topic: 't', tags: [] }), PB), 400, 'PostBodyInvalid', 'no logs');
    sls(
      await putRaw(Buffer.from('{"__topic__":"t","__logs__":[]}'), { 'content-type': 'application/json' }),
      400,
      'PostBodyInvalid',
      'JSON with no logs',
    );

    const withTimeNs = encodeLogGroup({
      logs: [{ time: 1, timeNs: 1_000_000_000, contents: [{ key: 'k', value: 'v' }] }],
      tags: [],
    });
    sls(await putRaw(withTimeNs, PB), 400, 'InvalidTimestamp', 'TimeNs over 999999999');
    const longKey = encodeLogGroup({ logs: [{ time: 1, contents: [{ key: 'k'.repeat(200), value: 'v' }] }], tags: [] });
    sls(await putRaw(longKey, PB), 400, 'InvalidKey', 'key over 128 bytes');
    const bigValue = encodeLogGroup({
      logs: [{ time: 1, contents: [{ key: 'k', value: 'v'.repeat(MAX_VALUE + 1) }] }],
      tags: [],
    });
    sls(await putRaw(bigValue, PB), 400, 'InvalidLogSize', 'value over maxValueBytes');
    const longTopic = encodeLogGroup({
      logs: [{ time: 1, contents: [{ key: 'k', value: 'v' }] }],
      topic: 't'.repeat(300),
      tags: [],
    });
    sls(await putRaw(longTopic, PB), 400, 'ParameterInvalid', 'topic over 128 bytes');

    for (const type of ['snappy', 'gzip', 'LZ4x', 'br']) {
      sls(
        await putRaw(raw, { ...PB, 'x-log-compresstype': type, 'x-log-bodyrawsize': String(raw.length) }),
        400,
        'InvalidCompressType',
        `compress type ${type}`,
      );
    }
    sls(
      await putRaw(raw, { ...PB, 'x-log-compresstype': 'zstd', 'x-log-bodyrawsize': String(raw.length) }),
      400,
      'PostBodyUncompressError',
      'a protobuf body labelled zstd',
    );
    sls(await putRaw(raw, {}, { noContentType: true }), 400, 'MissingContentType', 'no content type');
    sls(await putRaw(raw, { 'content-type': 'text/plain' }), 415, 'InvalidContentType', 'text/plain');
    sls(await putRaw(raw, { 'content-type': 'application/json' }), 400, 'PostBodyInvalid', 'protobuf sent as JSON');
  });

  test('JSON bodies: PutLogs JSON form and management APIs', async () => {
    const jsonPut = (text: string) =>
      signedRaw(server.port, {
        method: 'POST',
        project,
        path: '/logstores/store',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(text),
      });
    for (const [what, text] of [
      ['truncated', '{"__logs__":[{"__time__":1,'],
      ['not an object', '[1,2,3]'],
      ['no __logs__', '{"__topic__":"t"}'],
      ['__logs__ not array', '{"__logs__":5}'],
      ['log not object', '{"__logs__":["x"]}'],
      ['no __time__', '{"__logs__":[{"k":"v"}]}'],
      ['bad __time__', '{"__logs__":[{"__time__":"soon","k":"v"}]}'],
      ['negative __time__', '{"__logs__":[{"__time__":-1,"k":"v"}]}'],
      ['tags not object', '{"__logs__":[{"__time__":1,"k":"v"}],"__tags__":[1]}'],
      ['invalid UTF-8 JSON', '\u0000\u0001'],
    ] as const) {
      sls(await jsonPut(text), 400, 'PostBodyInvalid', `JSON PutLogs: ${what}`);
    }
    sls(
      await jsonPut('{"__logs__":[{"__time__":1,"__time_ns_part__":1000000000,"k":"v"}]}'),
      400,
      'PostBodyInvalid',
      'JSON ns part over range',
    );

    const mgmt = (method: 'POST' | 'PUT', path: string, text: string, projectName: string | undefined = project) =>
      signedRaw(server.port, {
        method,
        ...(projectName !== undefined ? { project: projectName } : {}),
        path,
        body: Buffer.from(text),
      });
    sls(await mgmt('POST', '/logstores', '{"logstoreName":'), 400, 'PostBodyInvalid', 'CreateLogStore truncated JSON');
    sls(await mgmt('POST', '/logstores', '"store2"'), 400, 'PostBodyInvalid', 'CreateLogStore JSON string');
    sls(
      await mgmt('POST', '/logstores', '{"logstoreName":"ok-name","ttl":"forever"}'),
      400,
      'LogStoreInfoInvalid',
      'ttl text',
    );
    sls(await mgmt('POST', '/logstores', '{"logstoreName":"ok-name","ttl":0}'), 400, 'LogStoreInfoInvalid', 'ttl 0');
    sls(
      await mgmt('POST', '/logstores', '{"logstoreName":"ok-name","shardCount":0}'),
      400,
      'LogStoreInfoInvalid',
      'shardCount 0',
    );
    sls(
      await mgmt('POST', '/logstores', '{"logstoreName":"ok-name","shardCount":1.5}'),
      400,
      'LogStoreInfoInvalid',
      'shardCount 1.5',
    );
    sls(await mgmt('PUT', '/logstores/store', '{"ttl":-3}'), 400, 'LogStoreInfoInvalid', 'UpdateLogStore ttl -3');
    sls(await mgmt('PUT', '/', '{"description":42}'), 400, 'ProjectInfoInvalid', 'UpdateProject description 42');
    sls(await mgmt('POST', '/', '{"projectName":'), 400, 'PostBodyInvalid', 'CreateProject truncated JSON');
    sls(
      await mgmt('POST', '/logstores', JSON.stringify({ logstoreName: 'ok-name', pad: 'z'.repeat(MAX_JSON) })),
      400,
      'PostBodyTooLarge',
      'management body over maxJsonBodyBytes',
    );
  });

  test('names: projects and logstores', async () => {
    const createProject = (name: unknown) =>
      signedRaw(server.port, {
        method: 'POST',
        path: '/',
        body: Buffer.from(JSON.stringify({ projectName: name, description: '' })),
      });
    for (const name of [
      'ab',
      'UPPER',
      'under_score',
      '-lead',
      'trail-',
      'a'.repeat(64),
      'dot.ted',
      '../etc',
      '',
      42,
      null,
    ]) {
      sls(await createProject(name), 400, 'ProjectInfoInvalid', `project name ${JSON.stringify(name)}`);
    }
    const createLogstore = (name: unknown) =>
      signedRaw(server.port, {
        method: 'POST',
        project,
        path: '/logstores',
        body: Buffer.from(JSON.stringify({ logstoreName: name, ttl: 1, shardCount: 1 })),
      });
    for (const name of ['ab', 'Upper', '_lead', 'trail_', 'a'.repeat(64), 'sp ace', '..', '../../etc', 'a/b', '', 7]) {
      sls(await createLogstore(name), 400, 'LogStoreInfoInvalid', `logstore name ${JSON.stringify(name)}`);
    }
    // Names that cannot exist are simply not found, on every route, including encoded path tricks.
    for (const path of ['/logstores/..%2F..%2Fmeta', '/logstores/%2e%2e', '/logstores/UPPER', '/logstores/%ZZ']) {
      const res = await signedRaw(server.port, { method: 'GET', project, path });
      assert.ok(res.status === 404, `${path}: ${res.status} ${res.body.toString('utf8')}`);
      const code = (JSON.parse(res.body.toString('utf8')) as { errorCode: string }).errorCode;
      assert.ok(code === 'LogStoreNotExist' || code === 'NotFound', `${path}: ${code}`);
    }
    sls(
      await signedRaw(server.port, { method: 'GET', project: 'no-such-project', path: '/logstores' }),
      404,
      'ProjectNotExist',
      'logstores of a missing project',
    );
    sls(
      await signedRaw(server.port, { method: 'GET', path: '/logstores' }),
      404,
      'ProjectNotExist',
      'logstores without a project in Host',
    );
  });

  test('shards and cursors: bad shard ids, malformed vs out-of-range cursors, bad parameters', async () => {
    const get = (path: string, query: Record<string, string>) =>
      signedRaw(server.port, { method: 'GET', project, path, query });
    const begin = await getCursor(client, project, 'store', 0, 'begin');
    const end = await getCursor(client, project, 'store', 0, 'end');
    const b = cursorSeq(begin);

    for (const id of ['abc', '-1', '1.5', '0x1', '99999999999', ' 1']) {
      sls(
        await get(`/logstores/store/shards/${encodeURIComponent(id)}`, { type: 'cursor', from: 'begin' }),
        400,
        'ParameterInvalid',
        `shard id ${id}`,
      );
    }
    sls(await get('/logstores/store/shards/7', { type: 'cursor', from: 'begin' }), 404, 'ShardNotExist', 'shard 7');
    sls(
      await get('/logstores/store/shards/7', { type: 'log', cursor: begin, count: '1' }),
      404,
      'ShardNotExist',
      'pull shard 7',
    );
    sls(
      await get('/logstores/nope-store/shards/0', { type: 'cursor', from: 'begin' }),
      404,
      'LogStoreNotExist',
      'missing store',
    );

    for (const cursor of [
      '',
      '!!!!',
      'not base64 at all',
      'YWJj' /* "abc" */,
      'LTE=' /* "-1" */,
      'MS41' /* "1.5" */,
      `${begin}x`,
      'A'.repeat(200),
    ]) {
      sls(
        await get('/logstores/store/shards/0', { type: 'log', cursor, count: '10' }),
        400,
        'ParameterInvalid',
        `malformed cursor ${JSON.stringify(cursor)}`,
      );
    }
    for (const seq of [0n, b - 1n, b + 6n, b + 1_000_000n]) {
      sls(
        await get('/logstores/store/shards/0', { type: 'log', cursor: seqCursor(seq), count: '10' }),
        400,
        'InvalidCursor',
        `cursor ${seq}`,
      );
      sls(
        await get('/logstores/store/shards/0', { type: 'cursor_time', cursor: seqCursor(seq) }),
        400,
        'InvalidCursor',
        `cursor_time ${seq}`,
      );
    }
    sls(
      await get('/logstores/store/shards/0', { type: 'cursor_time', cursor: '%%%' }),
      400,
      'ParameterInvalid',
      'cursor_time malformed',
    );
    sls(
      await get('/logstores/store/shards/0', { type: 'log', cursor: begin, count: '10', end_cursor: 'zz' }),
      400,
      'ParameterInvalid',
      'end_cursor malformed',
    );
    sls(
      await get('/logstores/store/shards/0', {
        type: 'log',
        cursor: begin,
        count: '10',
        end_cursor: seqCursor(b + 99n),
      }),
      400,
      'InvalidCursor',
      'end_cursor out of range',
    );
    for (const count of ['0', '-1', '1001', 'ten', '2.5']) {
      sls(
        await get('/logstores/store/shards/0', { type: 'log', cursor: begin, count }),
        400,
        'ParameterInvalid',
        `count ${count}`,
      );
    }
    sls(await get('/logstores/store/shards/0', { type: 'bogus' }), 400, 'ParameterInvalid', 'type bogus');
    sls(await get('/logstores/store/shards/0', {}), 400, 'ParameterInvalid', 'no type');

    const post = (id: string, query: Record<string, string>) =>
      signedRaw(server.port, { method: 'POST', project, path: `/logstores/store/shards/${id}`, query });
    sls(await post('0', { action: 'explode' }), 400, 'ParameterInvalid', 'action explode');
    sls(await post('0', { action: 'split', key: 'zz' }), 400, 'ParameterInvalid', 'split key zz');
    sls(
      await post('0', { action: 'split', key: '00000000000000000000000000000000' }),
      400,
      'ParameterInvalid',
      'split at begin',
    );
    sls(await post('0', { action: 'split', shardCount: '3' }), 400, 'ParameterInvalid', 'split shardCount 3');
    sls(await post('0', { action: 'split' }), 400, 'ParameterInvalid', 'split without key');
    sls(await post('0', { action: 'merge' }), 400, 'ParameterInvalid', 'merge the only shard');
    sls(await post('5', { action: 'merge' }), 404, 'ShardNotExist', 'merge shard 5');

    // The end cursor is still the end: nothing above changed the shard.
    assert.equal(await getCursor(client, project, 'store', 0, 'end'), end);
  });

  test('routing: unknown routes and methods are JSON errors with request ids', async () => {
    const any = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string) =>
      signedRaw(server.port, { method, project, path });
    sls(await any('GET', '/no/such/api'), 404, 'NotFound', 'GET /no/such/api');
    sls(await any('GET', '/logstores/store/savedsearches'), 404, 'NotFound', 'an SLS API Sluice does not have');
    sls(await any('GET', '/logstores/store/shards/0/extra/segments'), 404, 'NotFound', 'deep path');
    sls(await any('PUT', '/logstores/store/shards/lb'), 405, 'MethodNotAllowed', 'PUT shards/lb');
    sls(await any('DELETE', '/logstores'), 405, 'MethodNotAllowed', 'DELETE /logstores');
    const unauth = await rawHttp(server.port, {
      method: 'GET',
      url: '/whatever',
      headers: { host: `localhost:${server.port}` },
    });
    sls(unauth, 404, 'NotFound', 'unknown route without auth');
    const patch = await rawHttp(server.port, {
      method: 'PATCH',
      url: '/',
      headers: { host: `localhost:${server.port}` },
    });
    sls(patch, 405, 'MethodNotAllowed', 'PATCH /');
  });

  test('oversized bodies: Content-Length over the limit and a chunked body with no length', async () => {
    const host = `${project}.localhost:${server.port}`;
    const headOf = (lengthHeader: string) =>
      `POST /logstores/store/shards/lb HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-protobuf\r\n` +
      `x-log-apiversion: 0.6.0\r\nx-log-bodyrawsize: 0\r\n${lengthHeader}\r\n`;

    // Declared too large: refused before the body is read.
    const declared = await socketExchange(server.port, headOf(`Content-Length: ${MAX_BODY + 1}\r\n`), [
      Buffer.alloc(1024, 1),
    ]);
    assert.equal(declared.status, 400);
    assert.equal((JSON.parse(declared.body.toString('utf8')) as { errorCode: string }).errorCode, 'PostBodyTooLarge');
    assert.match(declared.headers['x-log-requestid'] ?? '', /^[0-9A-F]{24}$/);

    const huge = await socketExchange(server.port, headOf('Content-Length: 99999999999999\r\n'), []);
    assert.equal(huge.status, 400);
    assert.equal((JSON.parse(huge.body.toString('utf8')) as { errorCode: string }).errorCode, 'PostBodyTooLarge');

    // Chunked: counted while reading, cut off past the limit.
    const chunk = Buffer.alloc(8 * 1024, 0x41);
    const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    const pieces = Array.from({ length: Math.ceil((MAX_BODY * 3) / chunk.length) }, () => framed);
    // Repeated: closing on a client that is still sending must not reset the connection under the response.
    for (let i = 0; i < 25; i++) {
      const chunked = await socketExchange(server.port, headOf('Transfer-Encoding: chunked\r\n'), pieces);
      assert.equal(chunked.status, 400);
      assert.equal((JSON.parse(chunked.body.toString('utf8')) as { errorCode: string }).errorCode, 'PostBodyTooLarge');
    }

    // A chunked body under the limit goes through (signed, through node:http).
    const small = encodeLogGroup(group('chunked-ok', 1));
    const ok = await signedRaw(server.port, {
      method: 'POST',
      project,
      path: '/logstores/store/shards/lb',
      headers: PB,
      body: small,
      chunked: true,
    });
    assertEmptyOk(ok, 'small chunked body');
    written.push(group('chunked-ok', 1));

    // Raw protocol garbage on a socket.
    const garbage = await socketExchange(server.port, 'THIS IS NOT HTTP\r\n\r\n', []);
    assert.equal(garbage.status, 400);
  });

  test('a client that sends half a body and stalls does not block others', async () => {
    const body = encodeLogGroup(group('stalled'));
    const stalled: Socket[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const s = connect({ host: '127.0.0.1', port: server.port });
        s.on('error', () => {});
        await new Promise<void>((resolve) => s.once('connect', () => resolve()));
        s.write(
          `POST /logstores/store/shards/lb HTTP/1.1\r\nHost: ${project}.localhost:${server.port}\r\n` +
            `Content-Type: application/x-protobuf\r\nx-log-apiversion: 0.6.0\r\nContent-Length: ${body.length}\r\n\r\n`,
        );
        s.write(body.subarray(0, Math.floor(body.length / 2)));
        stalled.push(s);
      }
      // A stalled header block too.
      const s = connect({ host: '127.0.0.1', port: server.port });
      s.on('error', () => {});
      await new Promise<void>((resolve) => s.once('connect', () => resolve()));
      s.write(`GET / HTTP/1.1\r\nHost: ${project}.localhost:${server.port}\r\nx-log-apiv`);
      stalled.push(s);

      // Meanwhile, everything else works, each call bounded by the client's timeout.
      const other = testClient(server.url);
      try {
        const extra = group('while-stalled', 2);
        assertEmptyOk(
          await other.send({
            method: 'POST',
            project,
            path: '/logstores/store/shards/lb',
            headers: PB,
            body: encodeLogGroup(extra),
          }),
        );
        written.push(extra);
        const groups = await pullShard(other, project, 'store', 0);
        assert.deepEqual(groups.map(plainGroup), written.map(plainGroup));
        const health = await rawHttp(
          server.port,
          { method: 'GET', url: '/health', headers: { host: 'localhost' } },
          5_000,
        );
        assert.equal(health.status, 200);
      } finally {
        other.close();
      }
    } finally {
      for (const s of stalled) s.destroy();
    }
  });

  test('after the barrage: the server still serves and the data written before is intact', async () => {
    const groups = await pullShard(client, project, 'store', 0);
    assert.deepEqual(groups.map(plainGroup), written.map(plainGroup));
    const begin = await getCursor(client, project, 'store', 0, 'begin');
    const end = await getCursor(client, project, 'store', 0, 'end');
    assert.equal(cursorSeq(end) - cursorSeq(begin), BigInt(written.length));
    // Every encoding still decodes to the same groups.
    for (const enc of ['lz4', 'deflate', '']) {
      const res = await pull(client, project, 'store', 0, begin, 1000, { acceptEncoding: enc });
      assert.equal(headerOf(res, 'x-log-count'), String(written.length));
    }
    // And new writes land after the old ones.
    const last = group('after-barrage', 1);
    assertEmptyOk(
      await client.send({
        method: 'POST',
        project,
        path: '/logstores/store/shards/lb',
        headers: PB,
        body: encodeLogGroup(last),
      }),
    );
    written.push(last);
    assert.deepEqual((await pullShard(client, project, 'store', 0)).map(plainGroup), written.map(plainGroup));
    const ls = jsonOf<{ logstoreName: string }>(
      await client.send({ method: 'GET', project, path: '/logstores/store' }),
    );
    assert.equal(ls.logstoreName, 'store');
    assert.equal(server.child.exitCode, null, 'the server process is still running');
    assert.doesNotMatch(server.output(), /unexpected error|InternalServerError|TypeError|RangeError/);
  });
});
