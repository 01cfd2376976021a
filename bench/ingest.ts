/**
 * bench:ingest — the durable write path, end to end.
 *
 * What it measures: a real `sluice serve` child process (fsync on, default config) receiving LZ4 PutLogs of ~4,096
 * realistic nginx access logs each from N concurrent keep-alive clients. Prints logs/s, raw MB/s (uncompressed
 * LogGroup bytes, what SLS meters as raw), p50/p99 latency, server CPU seconds and peak RSS, and the machine.
 *
 * How to run: `npm run bench:ingest` (defaults), or
 *   `npm run bench:ingest -- --clients 4 --seconds 20 --logs 4096 --shards 2`
 * Needs: nothing but this repo built; data goes to a temp folder removed afterwards.
 *
 * The clients send pre-encoded bodies (generated once from a fixed seed) so the client side costs only signing and
 * the socket write: on a 2-core machine the load generator competes with the server for CPU, and we want to measure
 * the server. The server still decompresses, validates, checksums and fsyncs every request.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { SlsClient } from '../src/client/sls-client.js';
import { encodeLogGroup } from '../src/protocol/log-group.js';
import { lz4BlockCompress } from '../src/protocol/lz4-block.js';
import { startServerProcess } from '../test/helpers/server-process.js';
import { NginxLogGenerator } from './nginx-generator.js';

interface Options {
  clients: number;
  seconds: number;
  logs: number;
  shards: number;
  batches: number;
  maxRequests: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { clients: 4, seconds: 20, logs: 4096, shards: 2, batches: 24, maxRequests: 100_000 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '') as keyof Options;
    const value = Number(argv[i + 1]);
    if (!(key in o) || !Number.isFinite(value) || value <= 0) throw new Error(`bad option ${argv[i]} ${argv[i + 1]}`);
    o[key] = value;
  }
  return o;
}

function procStat(pid: number): { cpuSec: number; rssPeakMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
  return { cpuSec: ticks / 100, rssPeakMiB: hwm ? Number(hwm[1]) / 1024 : Number.NaN };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  console.log(
    `machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM ` +
      `(${(freemem() / 2 ** 30).toFixed(1)} GiB free), node ${process.version}, data in ${tmpdir()}`,
  );
  console.log(`options: ${JSON.stringify(opts)}`);

  const gen = new NginxLogGenerator(42);
  const bodies: { body: Buffer; rawSize: number }[] = [];
  for (let i = 0; i < opts.batches; i++) {
    const raw = encodeLogGroup(gen.group(opts.logs, `10.0.${i >> 8}.${i & 255}`));
    bodies.push({ body: lz4BlockCompress(raw), rawSize: raw.length });
  }
  const avgRaw = bodies.reduce((a, b) => a + b.rawSize, 0) / bodies.length;
  const avgSent = bodies.reduce((a, b) => a + b.body.length, 0) / bodies.length;
  console.log(
    `batches: ${opts.batches} x ${opts.logs} logs, avg raw ${(avgRaw / 1024).toFixed(0)} KiB, ` +
      `LZ4 ${(avgSent / 1024).toFixed(0)} KiB (ratio ${(avgRaw / avgSent).toFixed(2)})`,
  );

  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  const server = await startServerProcess({ dataDir });
  const pid = server.child.pid!;
  const client = new SlsClient({
    endpoint: server.url,
    accessKeyId: 'test-ak',
    accessKeySecret: 'test-secret-0123456789',
    maxSockets: opts.clients,
  });
  try {
    await client.call({
      method: 'POST',
      path: '/',
      body: Buffer.from(JSON.stringify({ projectName: 'bench', description: '' })),
    });
    await client.call({
      method: 'POST',
      project: 'bench',
      path: '/logstores',
      body: Buffer.from(JSON.stringify({ logstoreName: 'nginx', ttl: 1, shardCount: opts.shards })),
    });

    const before = procStat(pid);
    const latencies: number[] = [];
    let sentRequests = 0;
    let rawBytes = 0;
    let logs = 0;
    let failures = 0;
    const start = performance.now();
    const deadline = start + opts.seconds * 1000;
    const worker = async (w: number): Promise<void> => {
      let i = w;
      while (performance.now() < deadline && sentRequests < opts.maxRequests) {
        sentRequests++;
        const b = bodies[i++ % bodies.length]!;
        const t0 = performance.now();
        const res = await client.send({
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
        if (res.status !== 200) {
          failures++;
          if (failures < 5) console.error(`request failed: ${res.status} ${res.body.toString()}`);
          continue;
        }
        latencies.push(performance.now() - t0);
        rawBytes += b.rawSize;
        logs += opts.logs;
      }
    };
    await Promise.all(Array.from({ length: opts.clients }, (_, w) => worker(w)));
    const elapsed = (performance.now() - start) / 1000;
    const after = procStat(pid);
    latencies.sort((a, b) => a - b);

    const mbps = rawBytes / 2 ** 20 / elapsed;
    console.log('');
    console.log(
      `acknowledged: ${latencies.length} requests, ${logs} logs in ${elapsed.toFixed(1)} s (${failures} failed)`,
    );
    console.log(
      `throughput:   ${Math.round(logs / elapsed).toLocaleString('en-US')} logs/s, ${mbps.toFixed(1)} MB/s raw (MiB)`,
    );
    console.log(
      `latency:      p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
    );
    console.log(
      `server:       ${(after.cpuSec - before.cpuSec).toFixed(1)} CPU s (${((after.cpuSec - before.cpuSec) / elapsed).toFixed(2)} cores), ` +
        `peak RSS ${after.rssPeakMiB.toFixed(0)} MiB, ${(rawBytes / 2 ** 20 / (after.cpuSec - before.cpuSec)).toFixed(0)} MB raw per server CPU s`,
    );
  } finally {
    client.close();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
