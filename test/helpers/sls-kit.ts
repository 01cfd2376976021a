/**
 * Shared pieces of the integration suites: a signed client for a test server, reading a whole shard back with
 * PullLogs, cursor arithmetic and SLS error assertions.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { inflateSync } from 'node:zlib';
import { decompress } from 'zstd-napi';
import { SlsClient, type SlsResponse } from '../../src/client/sls-client.js';
import { decodeLogGroupList, type LogGroup } from '../../src/protocol/log-group.js';
import { lz4BlockDecompress } from '../../src/protocol/lz4-block.js';
import { encodeQuery } from '../../src/protocol/query-string.js';
import { signRequestV1, signRequestV4 } from '../../src/protocol/signature.js';
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
  else if (type === 'zstd') bytes = decompress(res.body);
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

export interface RawRequest {
  readonly method: string;
  /** Path plus raw query, sent verbatim. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  /** Send the body with chunked transfer encoding (no Content-Length). */
  readonly chunked?: boolean;
}

/** One request on a fresh connection, headers exactly as given (Host included), no client-side checks. */
export function rawHttp(port: number, req: RawRequest, timeoutMs = 15_000): Promise<SlsResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...req.headers };
    const body = req.body ?? new Uint8Array(0);
    if (!req.chunked && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
    const r = request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers, agent: false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`raw request timed out after ${timeoutMs} ms`)));
    r.on('error', reject);
    if (req.chunked) {
      // Several writes so the body really travels in chunks.
      const step = Math.max(1, Math.ceil(body.length / 4));
      for (let i = 0; i < body.length; i += step) r.write(body.subarray(i, i + step));
      r.end();
    } else r.end(body);
  });
}

export interface SignedRawOptions {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly project?: string;
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  /** Signed along (x-log-* headers are part of the signature). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  readonly keyId?: string;
  readonly secret?: string;
  readonly now?: Date;
  /** Sign with v4 for this region instead of v1. */
  readonly v4Region?: string;
  /** Applied after signing: what a broken or malicious client changes in transit. */
  readonly tamper?: (headers: Record<string, string>) => void;
  readonly chunked?: boolean;
  /** Send a body without Content-Type (signed with an empty Content-Type line). */
  readonly noContentType?: boolean;
  /** Sent instead of the signed `body` (a body changed in transit). */
  readonly sendBody?: Uint8Array;
}

/** Builds, signs (v1 or v4) and sends a request with raw node:http. */
export function signedRaw(port: number, o: SignedRawOptions): Promise<SlsResponse> {
  const body = o.body ?? new Uint8Array(0);
  const host = `${o.project ? `${o.project}.` : ''}localhost:${port}`;
  const headers: Record<string, string> = {
    'x-log-apiversion': '0.6.0',
    'x-log-bodyrawsize': String(body.length),
    ...(body.length > 0 && !o.noContentType ? { 'content-type': 'application/json' } : {}),
    ...o.headers,
  };
  const sign = {
    method: o.method,
    path: o.path,
    ...(o.query ? { query: o.query } : {}),
    headers: o.v4Region !== undefined ? { ...headers, host } : headers,
    body,
    accessKeyId: o.keyId ?? TEST_ACCESS_KEY_ID,
    accessKeySecret: o.secret ?? TEST_ACCESS_KEY_SECRET,
    ...(o.now ? { now: o.now } : {}),
  };
  const signed = o.v4Region !== undefined ? signRequestV4({ ...sign, region: o.v4Region }) : signRequestV1(sign);
  const all: Record<string, string> = { ...headers, ...signed, host };
  o.tamper?.(all);
  const qs = o.query ? encodeQuery(o.query) : '';
  return rawHttp(port, {
    method: o.method,
    url: qs ? `${o.path}?${qs}` : o.path,
    headers: all,
    body: o.sendBody ?? body,
    ...(o.chunked ? { chunked: true } : {}),
  });
}
