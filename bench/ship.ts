/**
 * bench:ship — shipping throughput and lag, per target.
 *
 * What it measures, for Parquet and for PostgreSQL, against a real `sluice serve` child process:
 *  1. backlog: N generated nginx logs already stored, then a shipper created; time until everything is shipped
 *     (logs/s, raw MB/s, server CPU);
 *  2. steady state: logs written at a fixed rate while the shipper runs (bufferInterval 1 s); the shipper's lag
 *     behind ingestion sampled every 250 ms (`lagSeconds`, `lagGroups` of GetShipper's status);
 *  3. checkpoints: cost of one durable consumer-group checkpoint in its own file versus a document of the metadata
 *     store (why checkpoints are kept apart).
 *
 * How to run: `npm run bench:ship`, or `npm run bench:ship -- --logs 500000 --rate 20000 --seconds 15`.
 * Needs: PostgreSQL on 127.0.0.1:5432 (trust auth, database `test`, or the URL in SLUICE_TEST_PG; the bench creates
 * and drops its own schema) —
 * `--pg 0` skips it. Data goes to temp folders removed afterwards.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SlsClient } from '../src/client/sls-client.js';
import { CheckpointStore } from '../src/consumer/checkpoint-store.js';
import { FileMetaStore } from '../src/meta/embedded/file-meta-store.js';
import { encodeLogGroup } from '../src/protocol/log-group.js';
import { lz4BlockCompress } from '../src/protocol/lz4-block.js';
import { type ServerProcess, startServerProcess } from '../test/helpers/server-process.js';
import { NginxLogGenerator } from './nginx-generator.js';

interface Options {
  logs: number;
  perGroup: number;
  rate: number;
  seconds: number;
  pg: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { logs: 500_000, perGroup: 4096, rate: 20_000, seconds: 15, pg: 1 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '') as keyof Options;
    const value = Number(argv[i + 1]);
    if (!(key in o) || !Number.isFinite(value) || value < 0) throw new Error(`bad option ${argv[i]} ${argv[i + 1]}`);
    o[key] = value;
  }
  return o;
}

function cpuSec(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Body {
  body: Buffer;
  rawSize: number;
}

async function put(client: SlsClient, b: Body): Promise<void> {
  await client.call({
    method: 'POST',
    project: 'bench',
    path: '/logstores/nginx/shards/lb',
    headers: {
      'content-type': 'application/x-protobuf',
      'x-log-compresstype': 'lz4',
      'x-log-bodyrawsize': String(b.rawSize),
    },
    body: b.body,
  });
}

interface Status {
  logsShipped: number;
  lagGroups: number;
  lagSeconds: number;
  failures: number;
}

async function status(client: SlsClient): Promise<Status> {
  const res = await client.call({ method: 'GET', project: 'bench', path: '/logstores/nginx/shipper/bench' });
  return (JSON.parse(res.body.toString('utf8')) as { status: Status }).status;
}

async function runTarget(
  name: string,
  targetType: string,
  targetConfiguration: Record<string, unknown>,
  bodies: Body[],
  o: Options,
): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-bench-ship-'));
  let server: ServerProcess | undefined;
  const client = () =>
    new SlsClient({
      endpoint: server!.url,
      accessKeyId: 'test-ak',
      accessKeySecret: 'test-secret-0123456789',
      maxSockets: 4,
    });
  server = await startServerProcess({ dataDir });
  const c = client();
  try {
    await c.call({
      method: 'POST',
      path: '/',
      body: Buffer.from(JSON.stringify({ projectName: 'bench', description: '' })),
    });
    await c.call({
      method: 'POST',
      project: 'bench',
      path: '/logstores',
      body: Buffer.from(JSON.stringify({ logstoreName: 'nginx', ttl: 1, shardCount: 2 })),
    });
    // 1. Backlog.
    const requests = Math.ceil(o.logs / o.perGroup);
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = next++; i < requests; i = next++) await put(c, bodies[i % bodies.length]!);
      }),
    );
    const logs = requests * o.perGroup;
    const raw = Array.from({ length: requests }, (_, i) => bodies[i % bodies.length]!.rawSize).reduce(
      (a, b) => a + b,
      0,
    );
    const cpu0 = cpuSec(server.child.pid!);
    const t0 = performance.now();
    await c.call({
      method: 'POST',
      project: 'bench',
      path: '/logstores/nginx/shipper',
      body: Buffer.from(JSON.stringify({ shipperName: 'bench', targetType, targetConfiguration })),
    });
    for (;;) {
      const s = await status(c);
      if (s.lagGroups === 0 && s.logsShipped >= logs) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const sec = (performance.now() - t0) / 1000;
    const cpu = cpuSec(server.child.pid!) - cpu0;
    console.log(
      `${name} backlog: ${logs} logs (${(raw / 1e6).toFixed(0)} MB raw) shipped in ${sec.toFixed(1)} s: ` +
        `${Math.round(logs / sec).toLocaleString('en')} logs/s, ${(raw / 1e6 / sec).toFixed(1)} MB/s raw, server CPU ${(cpu / sec).toFixed(2)} cores`,
    );

    // 2. Steady state at a fixed write rate.
    const perSec = o.rate / o.perGroup;
    const lags: number[] = [];
    const lagGroups: number[] = [];
    const start = performance.now();
    let sent = 0;
    const sampler = (async () => {
      while (performance.now() - start < o.seconds * 1000) {
        const s = await status(c);
        lags.push(s.lagSeconds);
        lagGroups.push(s.lagGroups);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    while (performance.now() - start < o.seconds * 1000) {
      const due = Math.floor(((performance.now() - start) / 1000) * perSec) + 1;
      while (sent < due) await put(c, bodies[sent++ % bodies.length]!);
      await new Promise((r) => setTimeout(r, 20));
    }
    await sampler;
    const t1 = performance.now();
    for (;;) {
      const s = await status(c);
      if (s.lagGroups === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const drain = (performance.now() - t1) / 1000;
    lags.sort((a, b) => a - b);
    lagGroups.sort((a, b) => a - b);
    const pct = (a: number[], p: number) => a[Math.min(a.length - 1, Math.floor((a.length * p) / 100))]!;
    console.log(
      `${name} steady: ${Math.round((sent * o.perGroup) / o.seconds).toLocaleString('en')} logs/s written for ${o.seconds} s; ` +
        `lag p50 ${pct(lags, 50)} s / p99 ${pct(lags, 99)} s / max ${lags[lags.length - 1]} s, ` +
        `groups behind p50 ${pct(lagGroups, 50)} / max ${lagGroups[lagGroups.length - 1]}; drained ${drain.toFixed(1)} s after the last write`,
    );
    const s = await status(c);
    if (s.failures > 0) console.log(`${name}: ${s.failures} failed attempts (retried)`);
  } finally {
    c.close();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function checkpointCost(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-cp-'));
  try {
    const meta = await FileMetaStore.open(join(dir, 'meta'));
    // A metadata store with some content, as a server with a few projects has.
    for (let i = 0; i < 200; i++) await meta.updateResource('doc', `p/l/${i}`, () => ({ text: 'x'.repeat(200), i }));
    const store = new CheckpointStore(join(dir, 'cp'));
    const n = 200;
    const time = async (f: (i: number) => Promise<unknown>, parallel: number) => {
      const t = performance.now();
      for (let i = 0; i < n; i += parallel) await Promise.all(Array.from({ length: parallel }, (_, j) => f(i + j)));
      return (performance.now() - t) / n;
    };
    const metaSeq = await time((i) => meta.updateResource('cp', 'p/l/g', () => ({ seq: i })), 1);
    const fileSeq = await time((i) => store.update('p/l/g', 'id', 0, { seq: i, consumer: 'c', updateTimeUs: 0 }), 1);
    const metaPar = await time((i) => meta.updateResource('cp', `p/l/g${i % 16}`, () => ({ seq: i })), 16);
    const filePar = await time(
      (i) => store.update(`p/l/g${i % 16}`, 'id', 0, { seq: i, consumer: 'c', updateTimeUs: 0 }),
      16,
    );
    const fileSame = await time(
      (i) => store.update('p/l/g', 'id', i % 16, { seq: i, consumer: 'c', updateTimeUs: 0 }),
      16,
    );
    console.log(
      `checkpoint, ms per durable update: metadata store ${metaSeq.toFixed(2)} sequential / ${metaPar.toFixed(2)} with 16 groups at once; ` +
        `own file ${fileSeq.toFixed(2)} sequential / ${filePar.toFixed(2)} with 16 groups at once / ${fileSame.toFixed(2)} with 16 shards of one group at once`,
    );
    await meta.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  console.log(
    `machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}`,
  );
  console.log(`options: ${JSON.stringify(o)}`);
  const gen = new NginxLogGenerator(42);
  const bodies: Body[] = [];
  for (let i = 0; i < 16; i++) {
    const raw = encodeLogGroup(gen.group(o.perGroup, `10.0.0.${i}`));
    bodies.push({ body: lz4BlockCompress(raw), rawSize: raw.length });
  }
  await checkpointCost();
  const out = await mkdtemp(join(tmpdir(), 'sluice-bench-parquet-'));
  try {
    await runTarget('parquet', 'parquet', { path: out, bufferInterval: 1, bufferSize: 64 }, bodies, o);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
  if (o.pg) {
    const schema = `sluice_bench_${process.pid}`;
    const conn = process.env['SLUICE_TEST_PG'] ?? 'postgres://root@127.0.0.1:5432/test';
    try {
      await runTarget(
        'postgresql',
        'postgresql',
        { connectionString: conn, schema, table: 'nginx', bufferInterval: 1, bufferSize: 64 },
        bodies,
        o,
      );
    } finally {
      const db = new pg.Client({ connectionString: conn });
      await db.connect();
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.end();
    }
  }
}

await main();
