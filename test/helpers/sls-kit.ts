/**
 * Shared pieces of the integration suites: a signed client for a test server, reading a whole shard back with
 * PullLogs, cursor arithmetic and SLS error assertions.
 */
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { SlsClient, type SlsResponse } from '../../src/client/sls-client.js';
import { decodeLogGroupList, type LogGroup } from '../../src/protocol/log-group.js';
import { lz4BlockDecompress } from '../../src/protocol/lz4-block.js';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET } from './server-process.js';

export function testClient(url: string, keyId = TEST_ACCESS_KEY_ID, secret = TEST_ACCESS_KEY_SECRET): SlsClient {
  return new SlsClient({ endpoint: url, accessKeyId: keyId, accessKeySecret: secret, timeoutMs: 15_000 });
}

export function headerOf(res: SlsResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The sequence number inside a cursor (base64 of a decimal integer). */
export function cursorSeq(cursor: string): bigint {
  const text = Buffer.from(cursor, 'base64').toString('latin1');
  assert.match(text, /^\d+$/, `cursor ${cursor} is not base64 of a decimal integer`);
  assert.equal(Buffer.from(text, 'latin1').toString('base64'), cursor, 'cursor is standard padded base64');
  return BigInt(text);
}

export function seqCursor(seq: bigint): string {
  return Buffer.from(seq.toString(), 'latin1').toString('base64');
}

/** Asserts an SLS error response: status, JSON body with exactly this code and a non-empty message, request id. */
export function assertSlsError(res: SlsResponse, status: number, code: string, what = ''): void {
  const text = res.body.toString('utf8');
  assert.equal(res.status, status, `${what} status (body ${text})`);
  assert.match(headerOf(res, 'content-type') ?? '', /^application\/json/, `${what} error content type`);
  const json = JSON.parse(text) as { errorCode?: unknown; errorMessage?: unknown };
  assert.equal(json.errorCode, code, `${what} errorCode (body ${text})`);
  assert.equal(typeof json.errorMessage, 'string', `${what} errorMessage`);
  assert.ok((json.errorMessage as string).length > 0, `${what} errorMessage is empty`);
  assert.match(headerOf(res, 'x-log-requestid') ?? '', /^[0-9A-F]{24}$/, `${what} x-log-requestid`);
}

/** Asserts an empty 200: no body and no JSON content type (N1 would JSON.parse('') and throw). */
export function assertEmptyOk(res: SlsResponse, what = ''): void {
  assert.equal(res.status, 200, `${what} status (body ${res.body.toString('utf8')})`);
  assert.equal(res.body.length, 0, `${what} body`);
  assert.equal(headerOf(res, 'content-type'), undefined, `${what} content type`);
  assert.match(headerOf(res, 'x-log-requestid') ?? '', /^[0-9A-F]{24}$/, `${what} x-log-requestid`);
}

export function jsonOf<T = unknown>(res: SlsResponse): T {
  assert.equal(res.status, 200, `status (body ${res.body.toString('utf8')})`);
  assert.match(headerOf(res, 'content-type') ?? '', /^application\/json/);
  return JSON.parse(res.body.toString('utf8')) as T;
}

/** Decodes a PullLogs body according to its `x-log-compresstype` / `x-log-bodyrawsize`. */
export function pullBody(res: SlsResponse): LogGroup[] {
  const raw = Number(headerOf(res, 'x-log-bodyrawsize'));
  if (raw === 0) {
    assert.equal(res.body.length, 0, 'empty pull has an empty body');
    return [];
  }
  const type = headerOf(res, 'x-log-compresstype');
  let bytes: Buffer;
  if (type === 'lz4') bytes = lz4BlockDecompress(res.body, raw);
  else if (type === 'deflate') bytes = inflateSync(res.body);
  else {
    assert.equal(type, undefined, 'unexpected x-log-compresstype');
    bytes = res.body;
  }
  assert.equal(bytes.length, raw, 'x-log-bodyrawsize matches the decompressed body');
  return decodeLogGroupList(bytes);
}

export async function getCursor(
  client: SlsClient,
  project: string,
  logstore: string,
  shard: number,
  from: string,
): Promise<string> {
  const res = await client.send({
    method: 'GET',
    project,
    path: `/logstores/${logstore}/shards/${shard}`,
    query: { type: 'cursor', from },
  });
  return jsonOf<{ cursor: string }>(res).cursor;
}

export function pull(
  client: SlsClient,
  project: string,
  logstore: string,
  shard: number,
  cursor: string,
  count = 1000,
  extra: { readonly acceptEncoding?: string; readonly endCursor?: string } = {},
): Promise<SlsResponse> {
  return client.send({
    method: 'GET',
    project,
    path: `/logstores/${logstore}/shards/${shard}`,
    query: {
      type: 'log',
      cursor,
      count: String(count),
      ...(extra.endCursor !== undefined ? { end_cursor: extra.endCursor } : {}),
    },
    headers: {
      accept: 'application/x-protobuf',
      ...(extra.acceptEncoding !== undefined ? { 'accept-encoding': extra.acceptEncoding } : {}),
    },
  });
}

/** Every LogGroup of a shard from `begin`, in order (bounded loop). */
export async function pullShard(
  client: SlsClient,
  project: string,
  logstore: string,
  shard: number,
): Promise<LogGroup[]> {
  let cursor = await getCursor(client, project, logstore, shard, 'begin');
  const out: LogGroup[] = [];
  for (let i = 0; i < 1000; i++) {
    const res = await pull(client, project, logstore, shard, cursor, 100, { acceptEncoding: 'lz4' });
    assert.equal(res.status, 200, `pull: ${res.body.toString('utf8')}`);
    const groups = pullBody(res);
    out.push(...groups);
    const next = headerOf(res, 'x-log-cursor')!;
    if (groups.length === 0) return out;
    cursor = next;
  }
  throw new Error('pullShard: shard did not end within 1000 pulls');
}

/** Every LogGroup of every shard of a logstore, shard by shard. */
export async function pullLogstore(client: SlsClient, project: string, logstore: string): Promise<LogGroup[]> {
  const shards = jsonOf<{ shardID: number }[]>(
    await client.send({ method: 'GET', project, path: `/logstores/${logstore}/shards` }),
  );
  const out: LogGroup[] = [];
  for (const s of shards) out.push(...(await pullShard(client, project, logstore, s.shardID)));
  return out;
}

/** A LogGroup as plain data for deepEqual: optional fields only when present. */
export function plainGroup(g: LogGroup): unknown {
  return {
    logs: g.logs.map((l) => ({
      time: l.time,
      ...(l.timeNs !== undefined ? { timeNs: l.timeNs } : {}),
      contents: l.contents.map((c) => [c.key, c.value]),
    })),
    ...(g.topic !== undefined ? { topic: g.topic } : {}),
    ...(g.source !== undefined ? { source: g.source } : {}),
    tags: g.tags.map((t) => [t.key, t.value]),
  };
}
