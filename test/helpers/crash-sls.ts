/**
 * SLS calls the crash suites make through our signed client: admin (project, logstore, shards), PutLogs of one
 * LogGroup, and reading a whole shard back with PullLogs while checking the cursor contract of sls-api.md §5.8/§6
 * on every page (consecutive integers, `x-log-cursor` = request cursor + `x-log-count`, `begin`/`end` agree with the
 * number of groups read).
 */
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { SlsClient, type SlsResponse } from '../../src/client/sls-client.js';
import { splitLogGroupList } from '../../src/protocol/log-group.js';
import { lz4BlockCompress, lz4BlockDecompress } from '../../src/protocol/lz4-block.js';
import type { Prng } from './crash-prng.js';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET } from './server-process.js';

export function crashClient(url: string, maxSockets = 4): SlsClient {
  return new SlsClient({
    endpoint: url,
    accessKeyId: TEST_ACCESS_KEY_ID,
    accessKeySecret: TEST_ACCESS_KEY_SECRET,
    maxSockets,
    timeoutMs: 20_000,
  });
}

export function header(res: SlsResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function expectOk(res: SlsResponse, what: string): SlsResponse {
  assert.equal(res.status, 200, `${what}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 500)}`);
  return res;
}

/** The integer inside a cursor; fails unless it is standard padded base64 of a decimal integer (sls-api.md §6). */
export function cursorToSeq(cursor: string | undefined, what: string): number {
  assert.ok(cursor !== undefined && cursor !== '', `${what}: no cursor`);
  const text = Buffer.from(cursor, 'base64').toString('latin1');
  assert.match(text, /^\d{1,16}$/, `${what}: cursor ${cursor} is not base64 of a decimal integer`);
  assert.equal(
    Buffer.from(text, 'latin1').toString('base64'),
    cursor,
    `${what}: cursor ${cursor} is not padded base64`,
  );
  const seq = Number(text);
  assert.ok(Number.isSafeInteger(seq), `${what}: cursor ${text} is not a safe integer`);
  return seq;
}

export function seqToCursor(seq: number): string {
  return Buffer.from(String(seq), 'latin1').toString('base64');
}

export async function createProject(client: SlsClient, project: string): Promise<void> {
  const body = Buffer.from(JSON.stringify({ projectName: project, description: 'crash test' }));
  expectOk(await client.send({ method: 'POST', path: '/', body }), `CreateProject ${project}`);
}

/** Sends CreateLogstore; the caller decides what a non-200 means (the metadata test kills right after it). */
export function sendCreateLogstore(
  client: SlsClient,
  project: string,
  logstore: string,
  shardCount: number,
): Promise<SlsResponse> {
  const body = Buffer.from(JSON.stringify({ logstoreName: logstore, ttl: 3650, shardCount }));
  return client.send({ method: 'POST', project, path: '/logstores', body });
}

export async function createLogstore(
  client: SlsClient,
  project: string,
  logstore: string,
  shardCount: number,
): Promise<void> {
  expectOk(await sendCreateLogstore(client, project, logstore, shardCount), `CreateLogstore ${logstore}`);
}

export async function listLogstores(client: SlsClient, project: string): Promise<string[]> {
  const res = expectOk(
    await client.send({ method: 'GET', project, path: '/logstores', query: { offset: '0', size: '500' } }),
    'ListLogstores',
  );
  return (JSON.parse(res.body.toString('utf8')) as { logstores: string[] }).logstores;
}

export interface ShardInfo {
  readonly shardID: number;
  readonly status: string;
  readonly inclusiveBeginKey: string;
  readonly exclusiveEndKey: string;
}

export async function listShards(client: SlsClient, project: string, logstore: string): Promise<ShardInfo[]> {
  const res = expectOk(
    await client.send({ method: 'GET', project, path: `/logstores/${logstore}/shards` }),
    `ListShards ${logstore}`,
  );
  return JSON.parse(res.body.toString('utf8')) as ShardInfo[];
}

export function sendSplitShard(
  client: SlsClient,
  project: string,
  logstore: string,
  shardId: number,
  key: string,
): Promise<SlsResponse> {
  return client.send({
    method: 'POST',
    project,
    path: `/logstores/${logstore}/shards/${shardId}`,
    query: { action: 'split', key },
  });
}

/** The readwrite shard owning `key` (keys compare as equal-length lowercase hex). */
export function shardOwning(shards: readonly ShardInfo[], key: string): ShardInfo | undefined {
  const max = 'ffffffffffffffffffffffffffffffff';
  return shards.find(
    (s) =>
      s.status === 'readwrite' &&
      key >= s.inclusiveBeginKey &&
      (key < s.exclusiveEndKey || (s.exclusiveEndKey === max && key === max)),
  );
}

export async function getCursor(
  client: SlsClient,
  project: string,
  logstore: string,
  shardId: number,
  from: 'begin' | 'end',
): Promise<number> {
  const res = expectOk(
    await client.send({
      method: 'GET',
      project,
      path: `/logstores/${logstore}/shards/${shardId}`,
      query: { type: 'cursor', from },
    }),
    `GetCursor ${logstore}/${shardId} ${from}`,
  );
  const cursor = (JSON.parse(res.body.toString('utf8')) as { cursor?: string }).cursor;
  return cursorToSeq(cursor, `GetCursor ${logstore}/${shardId} ${from}`);
}

export type Route = 'lb' | 'lb-hashkey' | 'route';

export interface PutOptions {
  readonly lz4: boolean;
  readonly route: Route;
  /** Hash key for `lb-hashkey` and `route`. */
  readonly key?: string;
}

/** PutLogs of one serialized LogGroup; resolves with the response (the caller decides what counts as acknowledged). */
export function putLogGroup(
  client: SlsClient,
  project: string,
  logstore: string,
  raw: Buffer,
  options: PutOptions,
): Promise<SlsResponse> {
  const headers: Record<string, string> = {
    'content-type': 'application/x-protobuf',
    'x-log-bodyrawsize': String(raw.length),
  };
  const body = options.lz4 ? lz4BlockCompress(raw) : raw;
  if (options.lz4) headers['x-log-compresstype'] = 'lz4';
  if (options.route === 'lb-hashkey') headers['x-log-hashkey'] = options.key!;
  return client.send({
    method: 'POST',
    project,
    path: `/logstores/${logstore}/shards/${options.route === 'route' ? 'route' : 'lb'}`,
    ...(options.route === 'route' ? { query: { key: options.key! } } : {}),
    headers,
    body,
  });
}

export interface PulledGroup {
  readonly seq: number;
  /** The serialized LogGroup exactly as the server returned it (decompressed). */
  readonly raw: Buffer;
}

export interface PulledShard {
  readonly begin: number;
  readonly end: number;
  readonly groups: PulledGroup[];
}

/**
 * Reads a shard from `begin` to `end` with PullLogs pages of random size, random `Accept-Encoding`, sometimes an
 * `end_cursor`, and checks every page's cursor headers. Must run while nothing writes to the shard. The loop is
 * bounded: every page must make progress.
 */
export async function pullWholeShard(
  client: SlsClient,
  project: string,
  logstore: string,
  shardId: number,
  rng: Prng,
): Promise<PulledShard> {
  const where = `${logstore}/${shardId}`;
  const begin = await getCursor(client, project, logstore, shardId, 'begin');
  const end = await getCursor(client, project, logstore, shardId, 'end');
  assert.ok(begin <= end, `${where}: begin cursor ${begin} is after end cursor ${end}`);
  const groups: PulledGroup[] = [];
  let at = begin;
  for (let page = 0; at < end; page++) {
    assert.ok(page <= end - begin, `${where}: PullLogs made no progress at ${at}`);
    const count = rng.chance(0.3) ? 1000 : rng.int(1, 60);
    const endCursor = rng.chance(0.2) ? Math.min(end, at + rng.int(1, 80)) : undefined;
    const stop = endCursor ?? end;
    const encoding = rng.pick(['lz4', 'deflate', '']);
    const res = await pullPage(client, project, logstore, shardId, at, count, endCursor, encoding);
    const k = Number(header(res, 'x-log-count'));
    const next = cursorToSeq(header(res, 'x-log-cursor'), `${where} x-log-cursor`);
    assert.ok(Number.isInteger(k) && k >= 1 && k <= count, `${where}: x-log-count ${k} at ${at} (count=${count})`);
    assert.equal(next, at + k, `${where}: x-log-cursor after ${k} groups from ${at}`);
    assert.ok(next <= stop, `${where}: read past the end cursor (${next} > ${stop})`);
    assert.equal(header(res, 'x-log-read-last-cursor'), String(next - 1), `${where}: x-log-read-last-cursor`);
    assert.equal(header(res, 'x-log-end-of-cursor'), next >= end ? '1' : '0', `${where}: x-log-end-of-cursor`);
    const raws = splitLogGroupList(pullBody(res, where));
    assert.equal(raws.length, k, `${where}: body holds ${raws.length} groups, x-log-count says ${k}`);
    for (let i = 0; i < k; i++) groups.push({ seq: at + i, raw: Buffer.from(raws[i]!) });
    at = next;
  }
  // At the end: an empty page whose cursor stays put.
  const last = await pullPage(client, project, logstore, shardId, end, 10, undefined, 'lz4');
  assert.equal(header(last, 'x-log-count'), '0', `${where}: pull at end returns nothing`);
  assert.equal(header(last, 'x-log-bodyrawsize'), '0', `${where}: pull at end has an empty body`);
  assert.equal(cursorToSeq(header(last, 'x-log-cursor'), where), end, `${where}: pull at end keeps the cursor`);
  assert.equal(groups.length, end - begin, `${where}: groups read vs end - begin`);
  return { begin, end, groups };
}

async function pullPage(
  client: SlsClient,
  project: string,
  logstore: string,
  shardId: number,
  at: number,
  count: number,
  endCursor: number | undefined,
  encoding: string,
): Promise<SlsResponse> {
  const query: Record<string, string> = {
    type: count % 2 === 0 ? 'log' : 'logs',
    cursor: seqToCursor(at),
    count: String(count),
  };
  if (endCursor !== undefined) query['end_cursor'] = seqToCursor(endCursor);
  return expectOk(
    await client.send({
      method: 'GET',
      project,
      path: `/logstores/${logstore}/shards/${shardId}`,
      query,
      headers: { accept: 'application/x-protobuf', 'accept-encoding': encoding },
    }),
    `PullLogs ${logstore}/${shardId} at ${at}`,
  );
}

function pullBody(res: SlsResponse, where: string): Buffer {
  const rawSize = Number(header(res, 'x-log-bodyrawsize'));
  const type = header(res, 'x-log-compresstype');
  let raw: Buffer;
  if (type === 'lz4') raw = lz4BlockDecompress(res.body, rawSize);
  else if (type === 'deflate') raw = inflateSync(res.body);
  else {
    assert.equal(type, undefined, `${where}: unexpected x-log-compresstype ${type}`);
    raw = res.body;
  }
  assert.equal(raw.length, rawSize, `${where}: x-log-bodyrawsize vs decompressed body`);
  return raw;
}
