/**
 * SLS calls the consumer-group and shipper suites make through the signed client: admin, PutLogs of LogGroups built
 * from plain records, and consumer-group / shipper requests answered as JSON.
 */
import assert from 'node:assert/strict';
import type { SlsClient, SlsResponse } from '../../src/client/sls-client.js';
import { encodeLogGroup, type LogGroup } from '../../src/protocol/log-group.js';

export function ok(res: SlsResponse, what: string): SlsResponse {
  assert.equal(res.status, 200, `${what}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 500)}`);
  return res;
}

export function json<T>(res: SlsResponse, what: string): T {
  return JSON.parse(ok(res, what).body.toString('utf8')) as T;
}

export async function createProject(client: SlsClient, project: string): Promise<void> {
  const body = Buffer.from(JSON.stringify({ projectName: project, description: 'ship test' }));
  ok(await client.send({ method: 'POST', path: '/', body }), `CreateProject ${project}`);
}

export async function createLogstore(client: SlsClient, project: string, logstore: string, shards: number) {
  const body = Buffer.from(JSON.stringify({ logstoreName: logstore, ttl: 3650, shardCount: shards }));
  ok(await client.send({ method: 'POST', project, path: '/logstores', body }), `CreateLogstore ${logstore}`);
}

/** Hash key that lands in shard `i` of `n` equal shards (the start of its range). */
export function shardKey(i: number, n: number): string {
  const begin = (2n ** 128n * BigInt(i)) / BigInt(n);
  return begin.toString(16).padStart(32, '0');
}

export interface PutOptions {
  readonly time?: number;
  readonly topic?: string;
  readonly source?: string;
  readonly tags?: Readonly<Record<string, string>>;
  /** Send to the shard owning this key; round-robin otherwise. */
  readonly hashKey?: string;
}

/** One PutLogs request: a LogGroup of `records` (each a key → value map). */
export async function putLogs(
  client: SlsClient,
  project: string,
  logstore: string,
  records: readonly Readonly<Record<string, string>>[],
  options: PutOptions = {},
): Promise<void> {
  const time = options.time ?? Math.floor(Date.now() / 1000);
  const group: LogGroup = {
    logs: records.map((r) => ({ time, contents: Object.entries(r).map(([key, value]) => ({ key, value })) })),
    tags: Object.entries(options.tags ?? {}).map(([key, value]) => ({ key, value })),
    ...(options.topic !== undefined ? { topic: options.topic } : {}),
    ...(options.source !== undefined ? { source: options.source } : {}),
  };
  const body = encodeLogGroup(group);
  const path =
    options.hashKey !== undefined ? `/logstores/${logstore}/shards/route` : `/logstores/${logstore}/shards/lb`;
  ok(
    await client.send({
      method: 'POST',
      project,
      path,
      ...(options.hashKey !== undefined ? { query: { key: options.hashKey } } : {}),
      headers: { 'content-type': 'application/x-protobuf', 'x-log-bodyrawsize': String(body.length) },
      body,
    }),
    'PutLogs',
  );
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface ShipperStatusJson {
  running: boolean;
  logsShipped: number;
  batches: number;
  failures: number;
  lastError: string;
  lagGroups: number;
  lagSeconds: number;
  shards: { shard: number; lagGroups: number }[];
}

export async function createShipper(
  client: SlsClient,
  project: string,
  logstore: string,
  body: { shipperName: string; targetType: string; targetConfiguration: Record<string, unknown> },
): Promise<void> {
  ok(
    await client.send({
      method: 'POST',
      project,
      path: `/logstores/${logstore}/shipper`,
      body: Buffer.from(JSON.stringify(body)),
    }),
    'CreateShipper',
  );
}

export async function shipperStatus(
  client: SlsClient,
  project: string,
  logstore: string,
  name: string,
): Promise<ShipperStatusJson> {
  const doc = json<{ status: ShipperStatusJson }>(
    await client.send({ method: 'GET', project, path: `/logstores/${logstore}/shipper/${name}` }),
    'GetShipper',
  );
  return doc.status;
}

/** Waits until the shipper has shipped everything received so far. */
export function waitShipped(
  client: SlsClient,
  project: string,
  logstore: string,
  name: string,
  timeoutMs = 60_000,
): Promise<ShipperStatusJson> {
  return waitFor(
    `shipper ${name} to catch up`,
    async () => {
      const s = await shipperStatus(client, project, logstore, name);
      return s.lagGroups === 0 ? s : undefined;
    },
    timeoutMs,
    200,
  );
}

/** Deterministic test records: every field is a function of the id, so contents can be checked in SQL. */
export function record(id: number): Record<string, string> {
  return {
    id: String(id),
    method: ['GET', 'POST', 'PUT'][id % 3]!,
    status: String(200 + (id % 5)),
    url: `/path/${id % 1000}?q=${id}`,
  };
}

/**
 * Puts `total` records (ids from `firstId`) in LogGroups of `perGroup`, `parallel` requests at a time; log times
 * step ten seconds per group from `baseTime`, topic `t<group % 3>`, source `10.0.0.<group % 4>`, tag `host`.
 */
export async function putRecords(
  client: SlsClient,
  project: string,
  logstore: string,
  options: { total: number; perGroup: number; firstId?: number; baseTime?: number; parallel?: number; extra?: boolean },
): Promise<void> {
  const first = options.firstId ?? 0;
  const groups = Math.ceil(options.total / options.perGroup);
  // Group-derived fields follow the global group number, so a second call continues the pattern.
  const firstGroup = Math.floor(first / options.perGroup);
  let next = 0;
  const worker = async () => {
    for (let g = next++; g < groups; g = next++) {
      const records: Record<string, string>[] = [];
      for (let i = g * options.perGroup; i < Math.min((g + 1) * options.perGroup, options.total); i++) {
        const r = record(first + i);
        if (options.extra) r['extra'] = `x${first + i}`;
        records.push(r);
      }
      await putLogs(client, project, logstore, records, {
        time: (options.baseTime ?? 1_735_689_600) + (firstGroup + g) * 10,
        topic: `t${(firstGroup + g) % 3}`,
        source: `10.0.0.${(firstGroup + g) % 4}`,
        tags: { host: `h${(firstGroup + g) % 2}` },
      });
    }
  };
  await Promise.all(Array.from({ length: options.parallel ?? 4 }, worker));
}

/** CreateIndex with field indexes of the given types (columns of every shipped batch). */
export async function createIndex(
  client: SlsClient,
  project: string,
  logstore: string,
  keys: Readonly<Record<string, 'text' | 'long' | 'double' | 'json'>>,
): Promise<void> {
  const body = {
    line: { token: [' ', ','], caseSensitive: false },
    keys: Object.fromEntries(
      Object.entries(keys).map(([k, type]) => [k, type === 'text' ? { type, token: [' '] } : { type }]),
    ),
  };
  ok(
    await client.send({
      method: 'POST',
      project,
      path: `/logstores/${logstore}/index`,
      body: Buffer.from(JSON.stringify(body)),
    }),
    'CreateIndex',
  );
}
