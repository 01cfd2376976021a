/**
 * Shipping to Parquet against a real `sluice serve`: a million logs shipped and read back with DuckDB (counts and
 * contents equal, hive partitions, zstd), and a server SIGKILLed mid-shipping then restarted: no loss, no duplicates,
 * no file covering a cursor range twice.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { listShardFiles } from '../../src/shipper/targets/parquet-target.js';
import { removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import {
  createIndex,
  createLogstore,
  createProject,
  createShipper,
  putLogs,
  putRecords,
  shipperStatus,
  waitFor,
  waitShipped,
} from '../helpers/ship-kit.js';
import { testClient } from '../helpers/sls-kit.js';

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

const glob = (dir: string) => `read_parquet('${dir}/*/*/*.parquet', hive_partitioning = true, union_by_name = true)`;

/** Every content check in one scan: each column is a function of `id` (see ship-kit `record`). */
async function checkContents(dir: string, total: number, perGroup: number): Promise<void> {
  const [r] = await query(`
    SELECT count(*) AS n, count(DISTINCT id) AS ids, min(id::BIGINT) AS lo, max(id::BIGINT) AS hi,
      count(*) FILTER (WHERE method <> ['GET','POST','PUT'][id::BIGINT % 3 + 1]) AS bad_method,
      count(*) FILTER (WHERE status <> CAST(200 + id::BIGINT % 5 AS VARCHAR)) AS bad_status,
      count(*) FILTER (WHERE url <> '/path/' || (id::BIGINT % 1000) || '?q=' || id) AS bad_url,
      count(*) FILTER (WHERE __time__ <> 1735689600 + (id::BIGINT // ${perGroup}) * 10) AS bad_time,
      count(*) FILTER (WHERE __topic__ <> 't' || ((id::BIGINT // ${perGroup}) % 3)) AS bad_topic,
      count(*) FILTER (WHERE __source__ <> '10.0.0.' || ((id::BIGINT // ${perGroup}) % 4)) AS bad_source,
      count(*) FILTER (WHERE "__tag__:host" <> 'h' || ((id::BIGINT // ${perGroup}) % 2)) AS bad_tag,
      count(*) FILTER (WHERE strftime(to_timestamp(__time__), '%Y-%m-%d') <> CAST(dt AS VARCHAR)
        OR CAST(strftime(to_timestamp(__time__), '%H') AS INTEGER) <> CAST(hh AS INTEGER)) AS bad_partition
    FROM ${glob(dir)}`);
  assert.deepEqual(Object.fromEntries(Object.entries(r!).map(([k, v]) => [k, Number(v)])), {
    n: total,
    ids: total,
    lo: 0,
    hi: total - 1,
    bad_method: 0,
    bad_status: 0,
    bad_url: 0,
    bad_time: 0,
    bad_topic: 0,
    bad_source: 0,
    bad_tag: 0,
    bad_partition: 0,
  });
}

/** Per shard, the files' cursor ranges tile a prefix of the shard without overlap. */
async function checkRanges(dir: string): Promise<void> {
  const files = await listShardFiles(dir);
  const byShard = new Map<number, Map<number, number>>();
  for (const f of files) {
    const ranges = byShard.get(f.shard) ?? new Map<number, number>();
    // Files of one batch share its range (one per hour partition).
    const prev = ranges.get(f.from);
    assert.ok(prev === undefined || prev === f.to, `shard ${f.shard}: two batches start at ${f.from}`);
    ranges.set(f.from, f.to);
    byShard.set(f.shard, ranges);
  }
  for (const [shard, ranges] of byShard) {
    const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) {
      assert.equal(sorted[i]![0], sorted[i - 1]![1], `shard ${shard}: ranges are contiguous`);
    }
  }
  for (const dt of await readdir(dir)) {
    for (const hh of await readdir(join(dir, dt))) {
      const names = await readdir(join(dir, dt, hh));
      assert.deepEqual(
        names.filter((n) => !n.endsWith('.parquet')),
        [],
        'no temp files left',
      );
    }
  }
}

async function start(dataDir?: string, port?: number): Promise<ServerProcess> {
  return startServerProcess({ ...(dataDir ? { dataDir } : {}), ...(port ? { port } : {}) });
}

test('1,000,000 logs shipped to Parquet read back with DuckDB: counts and contents equal', async () => {
  const server = await start();
  const out = await mkdtemp(join(tmpdir(), 'sluice-parquet-'));
  cleanup.push(async () => {
    await server.stop();
    await removeDir(server.dataDir);
    await rm(out, { recursive: true, force: true });
  });
  const client = testClient(server.url);
  cleanup.push(async () => client.close());
  await createProject(client, 'ship');
  await createLogstore(client, 'ship', 'big', 4);
  const total = 1_000_000;
  const perGroup = 1000;
  const t0 = Date.now();
  await putRecords(client, 'ship', 'big', { total, perGroup, parallel: 4 });
  const putMs = Date.now() - t0;
  const t1 = Date.now();
  await createShipper(client, 'ship', 'big', {
    shipperName: 'to-parquet',
    targetType: 'parquet',
    targetConfiguration: { path: out, bufferInterval: 1, bufferSize: 64, compressType: 'zstd' },
  });
  const status = await waitShipped(client, 'ship', 'big', 'to-parquet', 120_000);
  const shipMs = Date.now() - t1;
  assert.equal(status.logsShipped, total);
  assert.equal(status.failures, 0);
  console.log(
    `# put ${total} logs in ${putMs} ms; shipped in ${shipMs} ms (${Math.round(total / (shipMs / 1000))} logs/s)`,
  );

  await checkContents(out, total, perGroup);
  await checkRanges(out);
  const codecs = await query(`SELECT DISTINCT compression FROM parquet_metadata('${out}/*/*/*.parquet')`);
  assert.deepEqual(
    codecs.map((c) => c['compression']),
    ['ZSTD'],
  );
  const partitions = await readdir(out);
  assert.deepEqual(partitions, ['dt=2025-01-01']);
  assert.deepEqual((await readdir(join(out, 'dt=2025-01-01'))).sort(), ['hh=00', 'hh=01', 'hh=02']);

  // Tasks in the SLS shape.
  const tasks = JSON.parse(
    (
      await client.send({ method: 'GET', project: 'ship', path: '/logstores/big/shipper/to-parquet/tasks' })
    ).body.toString(),
  ) as { count: number; total: number; statistics: Record<string, number>; tasks: Record<string, unknown>[] };
  assert.ok(tasks.count > 0 && tasks.statistics['success'] === tasks.total && tasks.statistics['fail'] === 0);
  for (const key of [
    'id',
    'taskStatus',
    'taskMessage',
    'taskCreateTime',
    'taskLastDataReceiveTime',
    'taskFinishTime',
  ]) {
    assert.ok(key in tasks.tasks[0]!, `task has ${key}`);
  }
});

test('server SIGKILLed mid-shipping and restarted: Parquet output has no loss and no duplicates', async () => {
  let server = await start();
  const dataDir = server.dataDir;
  const out = await mkdtemp(join(tmpdir(), 'sluice-parquet-'));
  cleanup.push(async () => {
    await server.stop();
    await removeDir(dataDir);
    await rm(out, { recursive: true, force: true });
  });
  let client = testClient(server.url);
  await createProject(client, 'ship');
  await createLogstore(client, 'ship', 'crash', 2);
  const total = 300_000;
  const perGroup = 100;
  await putRecords(client, 'ship', 'crash', { total, perGroup, parallel: 4 });
  // Small batches (about 10 KB, two LogGroups, each), so the kill lands between and inside many writes.
  await createShipper(client, 'ship', 'crash', {
    shipperName: 'crashy',
    targetType: 'parquet',
    targetConfiguration: { path: out, bufferInterval: 1, bufferSize: 0.01 },
  });
  await waitFor('some files', async () => ((await listShardFiles(out)).length >= 20 ? true : undefined), 60_000, 10);
  const before = await shipperStatus(client, 'ship', 'crash', 'crashy');
  await server.kill();
  client.close();
  assert.ok(before.lagGroups > 0, 'killed before the shipper was done');

  server = await start(dataDir, server.port);
  client = testClient(server.url);
  cleanup.push(async () => client.close());
  await waitShipped(client, 'ship', 'crash', 'crashy', 120_000);
  const redone = /redoing \[/.test(server.output());
  console.log(`# restart redid a partly written batch: ${redone}`);
  await checkContents(out, total, perGroup);
  await checkRanges(out);
});

test('Parquet columns typed by the index config; a declared key is a column before any log has it', async () => {
  const server = await start();
  const out = await mkdtemp(join(tmpdir(), 'sluice-parquet-'));
  cleanup.push(async () => {
    await server.stop();
    await removeDir(server.dataDir);
    await rm(out, { recursive: true, force: true });
  });
  const client = testClient(server.url);
  cleanup.push(async () => client.close());
  await createProject(client, 'ship');
  await createLogstore(client, 'ship', 'typed', 1);
  await createIndex(client, 'ship', 'typed', { status: 'long', latency: 'double', later: 'text' });
  await putLogs(client, 'ship', 'typed', [
    { status: '200', latency: '0.25' },
    { status: 'n/a', latency: 'slow' },
  ]);
  await createShipper(client, 'ship', 'typed', {
    shipperName: 'typed',
    targetType: 'parquet',
    targetConfiguration: { path: out, bufferInterval: 0.5 },
  });
  await waitShipped(client, 'ship', 'typed', 'typed');
  const schema = await query(`DESCRIBE SELECT * FROM ${glob(out)}`);
  const types = Object.fromEntries(schema.map((c) => [c['column_name'], c['column_type']]));
  assert.equal(types['status'], 'BIGINT');
  assert.equal(types['latency'], 'DOUBLE');
  assert.equal(types['later'], 'VARCHAR');
  const rows = await query(`SELECT status, latency, later FROM ${glob(out)} ORDER BY status NULLS LAST`);
  assert.deepEqual(rows, [
    { status: 200n, latency: 0.25, later: null },
    { status: null, latency: null, later: null },
  ]);
});

/**
 * Regression: a batch found half written at start is redone over exactly its range even when the shipper's
 * bufferSize now closes batches sooner; a shorter redo would write a second file (another name) beside the first and
 * ship those logs twice. The crash is simulated by putting back the state it leaves: files renamed, checkpoint not.
 */
test('a partly written batch is redone over its whole range whatever bufferSize says now', async () => {
  let server = await start();
  const dataDir = server.dataDir;
  const out = await mkdtemp(join(tmpdir(), 'sluice-parquet-'));
  cleanup.push(async () => {
    await server.stop();
    await removeDir(dataDir);
    await rm(out, { recursive: true, force: true });
  });
  let client = testClient(server.url);
  await createProject(client, 'ship');
  await createLogstore(client, 'ship', 'redo', 1);
  await putRecords(client, 'ship', 'redo', { total: 1000, perGroup: 100 });
  await createShipper(client, 'ship', 'redo', {
    shipperName: 'redo',
    targetType: 'parquet',
    targetConfiguration: { path: out, bufferInterval: 0.5, bufferSize: 64 },
  });
  await waitShipped(client, 'ship', 'redo', 'redo');
  const before = await listShardFiles(out);
  assert.equal(before.length, 1, 'one batch, one file');
  const body = Buffer.from(
    JSON.stringify({ targetConfiguration: { path: out, bufferInterval: 0.5, bufferSize: 0.001 } }),
  );
  assert.equal(
    (await client.send({ method: 'PUT', project: 'ship', path: '/logstores/redo/shipper/redo', body })).status,
    200,
  );
  const port = server.port;
  await server.stop();
  client.close();
  const cpFile = join(dataDir, 'checkpoints', 'ship', 'redo', 'sluice-shipper-redo.json');
  const cp = JSON.parse(await readFile(cpFile, 'utf8')) as { checkpoints: Record<string, unknown> };
  cp.checkpoints = {};
  await writeFile(cpFile, JSON.stringify(cp));

  server = await start(dataDir, port);
  client = testClient(server.url);
  cleanup.push(async () => client.close());
  await waitShipped(client, 'ship', 'redo', 'redo');
  const after = await listShardFiles(out);
  assert.deepEqual(
    after.map((f) => [f.from, f.to]),
    before.map((f) => [f.from, f.to]),
    'the same file, rewritten',
  );
  assert.match(server.output(), /redoing \[/);
  const [r] = await query(`SELECT count(*) AS n, count(DISTINCT id) AS ids FROM ${glob(out)}`);
  assert.deepEqual({ n: Number(r!['n']), ids: Number(r!['ids']) }, { n: 1000, ids: 1000 });
});

/**
 * Regression: with its checkpoints lost (the shipper's consumer group deleted, or its file gone), a Parquet shipper
 * resumed at the lowest batch in the folder and shipped every later batch again. Now the files decide: only the
 * newest batch is redone. Also: deleting the group under a running shipper does not stop it.
 */
test('checkpoints lost: Parquet ships nothing twice', async () => {
  let server = await start();
  const dataDir = server.dataDir;
  const out = await mkdtemp(join(tmpdir(), 'sluice-parquet-'));
  cleanup.push(async () => {
    await server.stop();
    await removeDir(dataDir);
    await rm(out, { recursive: true, force: true });
  });
  let client = testClient(server.url);
  await createProject(client, 'ship');
  await createLogstore(client, 'ship', 'lost', 1);
  await putRecords(client, 'ship', 'lost', { total: 3000, perGroup: 100 });
  await createShipper(client, 'ship', 'lost', {
    shipperName: 'lost',
    targetType: 'parquet',
    targetConfiguration: { path: out, bufferInterval: 0.5, bufferSize: 0.02 },
  });
  await waitShipped(client, 'ship', 'lost', 'lost');
  assert.ok((await listShardFiles(out)).length > 3, 'several batches');

  // The group deleted under the running shipper: it is created again and shipping goes on.
  const del = await client.send({
    method: 'DELETE',
    project: 'ship',
    path: '/logstores/lost/consumergroups/sluice-shipper-lost',
  });
  assert.equal(del.status, 200);
  await putRecords(client, 'ship', 'lost', { total: 1000, perGroup: 100, firstId: 3000 });
  await waitShipped(client, 'ship', 'lost', 'lost');

  // Checkpoints gone while stopped: the restart must not ship the early batches again.
  const port = server.port;
  await server.stop();
  client.close();
  await rm(join(dataDir, 'checkpoints'), { recursive: true, force: true });
  server = await start(dataDir, port);
  client = testClient(server.url);
  cleanup.push(async () => client.close());
  await putRecords(client, 'ship', 'lost', { total: 500, perGroup: 100, firstId: 4000 });
  await waitShipped(client, 'ship', 'lost', 'lost');
  const [r] = await query(`SELECT count(*) AS n, count(DISTINCT id) AS ids FROM ${glob(out)}`);
  assert.deepEqual({ n: Number(r!['n']), ids: Number(r!['ids']) }, { n: 4500, ids: 4500 });
});
