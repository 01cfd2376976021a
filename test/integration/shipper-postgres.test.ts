/**
 * Shipping to PostgreSQL (127.0.0.1:5432, database `test`) against a real `sluice serve`: rows loaded with COPY and
 * read back, new keys extending the table, PostgreSQL unreachable then back (through a TCP proxy the test controls),
 * and the server SIGKILLed mid-shipping then restarted — every log exactly once. Each test run uses its own schema
 * and drops it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { SlsClient } from '../../src/client/sls-client.js';
import { removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import {
  createIndex,
  createLogstore,
  createProject,
  createShipper,
  json,
  putLogs,
  putRecords,
  shipperStatus,
  waitFor,
  waitShipped,
} from '../helpers/ship-kit.js';
import { testClient } from '../helpers/sls-kit.js';

/** The machine's PostgreSQL (trust auth); `SLUICE_TEST_PG` points the suite elsewhere. */
const PG = process.env['SLUICE_TEST_PG'] ?? 'postgres://root@127.0.0.1:5432/test';
const PG_URL = new URL(PG);
const SCHEMA = `sluice_ship_${randomBytes(4).toString('hex')}`;
const db = new pg.Client({ connectionString: PG });
let server: ServerProcess;
let client: SlsClient;

before(async () => {
  await db.connect();
  server = await startServerProcess();
  client = testClient(server.url);
  await createProject(client, 'pgship');
});

after(async () => {
  client.close();
  await server.stop();
  await removeDir(server.dataDir);
  await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await db.end();
});

async function one(sql: string): Promise<Record<string, string | null>> {
  return (await db.query(sql)).rows[0] as Record<string, string | null>;
}

/** Counts, distinct ids and per-column content checks (columns are functions of the id, see ship-kit `record`). */
async function checkTable(table: string, total: number, perGroup: number, extraFrom?: number): Promise<void> {
  const r = await one(`
    SELECT count(*) AS n, count(DISTINCT id) AS ids, min(id::bigint) AS lo, max(id::bigint) AS hi,
      count(*) FILTER (WHERE method <> (ARRAY['GET','POST','PUT'])[id::bigint % 3 + 1]) AS bad_method,
      count(*) FILTER (WHERE status <> (200 + id::bigint % 5)::text) AS bad_status,
      count(*) FILTER (WHERE url <> '/path/' || (id::bigint % 1000) || '?q=' || id) AS bad_url,
      count(*) FILTER (WHERE __time__ <> 1735689600 + (id::bigint / ${perGroup}) * 10) AS bad_time,
      count(*) FILTER (WHERE __topic__ <> 't' || ((id::bigint / ${perGroup}) % 3)) AS bad_topic,
      count(*) FILTER (WHERE "__tag__:host" <> 'h' || ((id::bigint / ${perGroup}) % 2)) AS bad_tag
    FROM ${SCHEMA}.${table}`);
  const sample = await db.query(
    `SELECT id, __time__ FROM ${SCHEMA}.${table} WHERE __time__ <> 1735689600 + (id::bigint / ${perGroup}) * 10 LIMIT 3`,
  );
  assert.deepEqual(
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)])),
    {
      n: total,
      ids: total,
      lo: 0,
      hi: total - 1,
      bad_method: 0,
      bad_status: 0,
      bad_url: 0,
      bad_time: 0,
      bad_topic: 0,
      bad_tag: 0,
    },
    `sample of rows with a wrong time: ${JSON.stringify(sample.rows)}`,
  );
  if (extraFrom !== undefined) {
    const e = await one(`
      SELECT count(*) FILTER (WHERE id::bigint < ${extraFrom} AND extra IS NOT NULL) AS early,
        count(*) FILTER (WHERE id::bigint >= ${extraFrom} AND extra IS DISTINCT FROM 'x' || id) AS late
      FROM ${SCHEMA}.${table}`);
    assert.deepEqual({ early: Number(e['early']), late: Number(e['late']) }, { early: 0, late: 0 });
  }
}

function shipper(name: string, table: string, conn = PG, extra: Record<string, unknown> = {}) {
  return {
    shipperName: name,
    targetType: 'postgresql',
    targetConfiguration: {
      connectionString: conn,
      schema: SCHEMA,
      table,
      bufferInterval: 0.5,
      bufferSize: 8,
      timeout: 2,
      ...extra,
    },
  };
}

test('rows loaded with COPY and read back; new keys extend the table', async () => {
  await createLogstore(client, 'pgship', 'evolve', 2);
  await putRecords(client, 'pgship', 'evolve', { total: 20_000, perGroup: 100 });
  await createShipper(client, 'pgship', 'evolve', shipper('to-pg', 'evolve'));
  await waitShipped(client, 'pgship', 'evolve', 'to-pg');
  await checkTable('evolve', 20_000, 100);

  // Schema evolution: a key never seen before becomes a column; older rows have NULL there.
  await putRecords(client, 'pgship', 'evolve', {
    total: 5_000,
    perGroup: 100,
    firstId: 20_000,
    extra: true,
  });
  await waitShipped(client, 'pgship', 'evolve', 'to-pg');
  const cols = await db.query(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'evolve' ORDER BY column_name`,
    [SCHEMA],
  );
  assert.deepEqual(
    cols.rows.map((c: { column_name: string; data_type: string }) => `${c.column_name}:${c.data_type}`),
    [
      '__source__:text',
      '__tag__:host:text',
      '__time__:bigint',
      '__topic__:text',
      'extra:text',
      'id:text',
      'method:text',
      'status:text',
      'url:text',
    ],
  );
  await checkTable('evolve', 25_000, 100, 20_000);
  // The positions committed with the rows are the shard ends.
  const cursors = await db.query(
    `SELECT shard, next_seq FROM ${SCHEMA}.sluice_ship_cursors WHERE shipper = 'pgship/evolve/to-pg' ORDER BY shard`,
  );
  assert.equal(cursors.rows.length, 2);
});

/** A loopback TCP proxy to PostgreSQL that the test can take down (refusing and cutting connections) and bring back. */
class PgProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(readonly port: number) {}

  static async freePort(): Promise<number> {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as { port: number }).port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  async up(): Promise<void> {
    this.server = createServer((inbound) => {
      const outbound = connect(Number(PG_URL.port || 5432), PG_URL.hostname);
      for (const s of [inbound, outbound]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', () => r()));
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = undefined;
  }
}

test('PostgreSQL unreachable, then back: failures show in the tasks, retry ships everything exactly once', async () => {
  const proxy = new PgProxy(await PgProxy.freePort());
  try {
    await createLogstore(client, 'pgship', 'outage', 2);
    await putRecords(client, 'pgship', 'outage', { total: 10_000, perGroup: 100 });
    await createShipper(
      client,
      'pgship',
      'outage',
      shipper('to-pg', 'outage', `postgres://${PG_URL.username}@127.0.0.1:${proxy.port}${PG_URL.pathname}`),
    );
    const tasks = await waitFor('a failed task', async () => {
      const t = json<{
        statistics: { fail: number };
        tasks: { id: string; taskStatus: string; taskMessage: string }[];
      }>(
        await client.send({
          method: 'GET',
          project: 'pgship',
          path: '/logstores/outage/shipper/to-pg/tasks',
          query: { status: 'fail' },
        }),
        'tasks',
      );
      return t.statistics.fail > 0 ? t : undefined;
    });
    assert.match(tasks.tasks[0]!.taskMessage, /ECONNREFUSED/);
    const status = await shipperStatus(client, 'pgship', 'outage', 'to-pg');
    assert.ok(status.failures > 0 && status.lagGroups > 0, 'nothing shipped while down');

    await proxy.up();
    // Retry now instead of waiting out the backoff.
    const retry = await client.send({
      method: 'PUT',
      project: 'pgship',
      path: '/logstores/outage/shipper/to-pg/tasks',
      body: Buffer.from(JSON.stringify(tasks.tasks.map((t) => t.id))),
    });
    assert.equal(retry.status, 200);
    await waitShipped(client, 'pgship', 'outage', 'to-pg', 30_000);

    // A second outage mid-stream: connections cut while batches load.
    await putRecords(client, 'pgship', 'outage', {
      total: 10_000,
      perGroup: 100,
      firstId: 10_000,
    });
    await proxy.down();
    await new Promise((r) => setTimeout(r, 500));
    await proxy.up();
    await waitShipped(client, 'pgship', 'outage', 'to-pg', 30_000);
    await checkTable('outage', 20_000, 100);
  } finally {
    await proxy.down();
  }
});

test('server SIGKILLed mid-shipping and restarted: every log in PostgreSQL exactly once', async () => {
  await createLogstore(client, 'pgship', 'crash', 2);
  await putRecords(client, 'pgship', 'crash', { total: 200_000, perGroup: 100 });
  await createShipper(client, 'pgship', 'crash', shipper('to-pg', 'crash', PG, { bufferSize: 0.02 }));
  await waitFor(
    'some rows',
    async () =>
      Number((await one(`SELECT count(*) AS n FROM ${SCHEMA}.crash`).catch(() => ({ n: '0' }))).n) > 5000
        ? true
        : undefined,
    30_000,
    10,
  );
  const before = await shipperStatus(client, 'pgship', 'crash', 'to-pg');
  const port = server.port;
  await server.kill();
  client.close();
  assert.ok(before.lagGroups > 0, 'killed before the shipper was done');
  server = await startServerProcess({ dataDir: server.dataDir, port });
  client = testClient(server.url);
  await waitShipped(client, 'pgship', 'crash', 'to-pg', 60_000);
  await checkTable('crash', 200_000, 100);
});

test('columns typed by the index config: long and double keys, declared keys present before any log has them', async () => {
  await createLogstore(client, 'pgship', 'typed', 1);
  await createIndex(client, 'pgship', 'typed', { status: 'long', latency: 'double', note: 'text', later: 'long' });
  await putLogs(client, 'pgship', 'typed', [
    { status: '200', latency: '0.25', note: 'ok' },
    { status: 'n/a', latency: 'slow', note: 'unparseable numbers are NULL' },
    { status: '-9223372036854775808', latency: '1e3' },
  ]);
  await createShipper(client, 'pgship', 'typed', shipper('to-pg', 'typed'));
  await waitShipped(client, 'pgship', 'typed', 'to-pg');
  const cols = await db.query(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'typed' ORDER BY column_name`,
    [SCHEMA],
  );
  assert.deepEqual(
    cols.rows.map((c: { column_name: string; data_type: string }) => `${c.column_name}:${c.data_type}`),
    [
      '__source__:text',
      '__time__:bigint',
      '__topic__:text',
      'latency:double precision',
      'later:bigint',
      'note:text',
      'status:bigint',
    ],
  );
  const rows = await db.query(
    `SELECT status::text, latency, note, later FROM ${SCHEMA}.typed ORDER BY note NULLS LAST`,
  );
  assert.deepEqual(rows.rows, [
    { status: '200', latency: 0.25, note: 'ok', later: null },
    { status: null, latency: null, note: 'unparseable numbers are NULL', later: null },
    { status: '-9223372036854775808', latency: 1000, note: null, later: null },
  ]);
});
