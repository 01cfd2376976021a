/**
 * bench:search — ingest with indexing, time to searchable, disk and memory, and query latency on a running server.
 *
 * What it measures: a real `sluice serve` child process (fsync on, default config) with an index on an nginx
 * logstore. It loads `--logs` distinct realistic nginx access logs (seeded generator of bench:ingest, one day of
 * timestamps) over 4 keep-alive clients as LZ4 PutLogs of 4,096 logs, then reports: acknowledged ingest rate (raw
 * MB/s), seconds from the last acknowledgement until every log is searchable, bytes on disk (shard logs, segments,
 * metadata) against raw, server RSS, and the median latency (of `--runs`) of: a rare client IP (needle),
 * `status:500` (page and count), `status >= 500 and method:POST`, a phrase, a prefix, a one-minute histogram over
 * the day.
 *
 * How to run: `npm run bench:search` (5,000,000 logs, ~1.27 GB raw) or `npm run bench:search -- --logs 1000000`.
 * Needs: this repo built; ~1 GB of free disk in the temp folder (removed afterwards). Bodies are generated before the
 * server starts so generation does not compete with the server for CPU.
 */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { SlsClient, type SlsRequest } from '../src/client/sls-client.js';
import { DEFAULT_TOKENS } from '../src/index/index-config.js';
import { encodeLogGroup } from '../src/protocol/log-group.js';
import { lz4BlockCompress } from '../src/protocol/lz4-block.js';
import { startServerProcess } from '../test/helpers/server-process.js';
import { NginxLogGenerator } from './nginx-generator.js';

interface Options {
  logs: number;
  batch: number;
  clients: number;
  shards: number;
  runs: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { logs: 5_000_000, batch: 4096, clients: 4, shards: 2, runs: 21 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '') as keyof Options;
    const value = Number(argv[i + 1]);
    if (!(key in o) || !Number.isFinite(value) || value <= 0) throw new Error(`bad option ${argv[i]} ${argv[i + 1]}`);
    o[key] = value;
  }
  return o;
}

const DAY = 1_767_225_600;
const INDEX = {
  line: {
    token: [...DEFAULT_TOKENS],
    caseSensitive: false,
    chn: false,
  },
  keys: {
    remote_addr: { type: 'text', token: [' '], caseSensitive: false },
    method: { type: 'text', token: [' '], caseSensitive: false },
    request_uri: { type: 'text', token: ['/', '?', '&', '='], caseSensitive: false },
    status: { type: 'long' },
    body_bytes_sent: { type: 'long' },
    request_time: { type: 'double' },
    http_user_agent: { type: 'text', token: [' ', '(', ')', ';', '/'], caseSensitive: false },
  },
};

function proc(pid: number): { rssMiB: number; hwmMiB: number; cpuSec: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    rssMiB: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024,
    hwmMiB: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024,
    cpuSec: (Number(f[11]) + Number(f[12])) / 100,
  };
}

function du(path: string): number {
  return Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  console.log(
    `machine: ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}`,
  );
  console.log(`options: ${JSON.stringify(o)}`);

  const gen = new NginxLogGenerator(42, DAY);
  const ips = (gen as unknown as { ips: string[] }).ips;
  const needleIp = ips[ips.length - 1]!;
  // A phrase: a whole user agent of moderate frequency (many tokens; only the rows of a page are verified).
  const phrase = (gen as unknown as { agents: string[] }).agents[5]!.replaceAll('"', '\\"');
  const bodies: { body: Buffer; rawSize: number }[] = [];
  let rawTotal = 0;
  const t0 = performance.now();
  for (let left = o.logs, i = 0; left > 0; left -= o.batch, i++) {
    const raw = encodeLogGroup(gen.group(Math.min(o.batch, left), `10.0.${(i >> 8) & 255}.${i & 255}`));
    rawTotal += raw.length;
    bodies.push({ body: lz4BlockCompress(raw), rawSize: raw.length });
  }
  console.log(
    `generated ${o.logs.toLocaleString('en-US')} logs in ${bodies.length} bodies, ${(rawTotal / 1e9).toFixed(3)} GB raw, ` +
      `in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-bench-search-'));
  const server = await startServerProcess({ dataDir });
  const pid = server.child.pid!;
  const client = new SlsClient({
    endpoint: server.url,
    accessKeyId: 'test-ak',
    accessKeySecret: 'test-secret-0123456789',
    maxSockets: o.clients,
    timeoutMs: 120_000,
  });
  const call = (req: Omit<SlsRequest, 'project'>) => client.call({ ...req, project: 'bench' });
  try {
    await client.call({
      method: 'POST',
      path: '/',
      body: Buffer.from(JSON.stringify({ projectName: 'bench', description: '' })),
    });
    await call({
      method: 'POST',
      path: '/logstores',
      body: Buffer.from(JSON.stringify({ logstoreName: 'nginx', ttl: 3650, shardCount: o.shards })),
    });
    await call({ method: 'POST', path: '/logstores/nginx/index', body: Buffer.from(JSON.stringify(INDEX)) });

    const cpu0 = proc(pid).cpuSec;
    const start = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < bodies.length) {
        const b = bodies[next++]!;
        await call({
          method: 'POST',
          path: '/logstores/nginx/shards/lb',
          headers: {
            'content-type': 'application/x-protobuf',
            'x-log-compresstype': 'lz4',
            'x-log-bodyrawsize': String(b.rawSize),
          },
          body: b.body,
        });
      }
    };
    await Promise.all(Array.from({ length: o.clients }, worker));
    const acked = (performance.now() - start) / 1000;
    const count = async (query: string, from = DAY, to = DAY + 86_400): Promise<number> => {
      const res = await call({
        method: 'GET',
        path: '/logstores/nginx',
        query: { type: 'histogram', from: String(from), to: String(to), query, interval: String(to - from) },
      });
      return Number(res.headers['x-log-count']);
    };
    let seen = 0;
    for (let i = 0; i < 6000 && seen < o.logs; i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await count('*');
    }
    const searchable = (performance.now() - start) / 1000;
    const cpuIngest = proc(pid).cpuSec - cpu0;
    const mb = rawTotal / 1e6;
    console.log('');
    console.log(
      `acknowledged: ${acked.toFixed(1)} s, ${(mb / acked).toFixed(1)} MB/s raw, ${Math.round(o.logs / acked).toLocaleString('en-US')} logs/s`,
    );
    console.log(
      `searchable:   all ${seen.toLocaleString('en-US')} after ${searchable.toFixed(1)} s (${(searchable - acked).toFixed(1)} s after the last ack); ` +
        `end to end ${(mb / searchable).toFixed(1)} MB/s raw; server ${cpuIngest.toFixed(1)} CPU s`,
    );
    if (seen !== o.logs) throw new Error(`only ${seen} of ${o.logs} logs became searchable`);
    // Let background seals/merges settle before measuring disk and queries.
    await new Promise((r) => setTimeout(r, 12_000));
    const shardBytes = du(join(dataDir, 'shards'));
    const indexBytes = du(join(dataDir, 'index'));
    const total = du(dataDir);
    console.log(
      `disk:         ${(total / 1e6).toFixed(0)} MB total = ${(total / rawTotal).toFixed(3)} x raw ` +
        `(shard logs ${(shardBytes / 1e6).toFixed(0)} MB = ${(shardBytes / rawTotal).toFixed(3)} x, segments ${(indexBytes / 1e6).toFixed(0)} MB = ${(indexBytes / rawTotal).toFixed(3)} x)`,
    );

    const getLogs = (query: string) => async (): Promise<number> => {
      const res = await call({
        method: 'GET',
        path: '/logstores/nginx',
        query: { type: 'log', from: String(DAY), to: String(DAY + 86_400), query, line: '100', reverse: 'true' },
      });
      return (JSON.parse(res.body.toString('utf8')) as unknown[]).length;
    };
    const queries: [string, () => Promise<number>][] = [
      [`needle: ${needleIp}`, getLogs(needleIp)],
      ['status:500 (page of 100)', getLogs('status:500')],
      ['status:500 (count)', () => count('status:500')],
      ['status >= 500 and method:POST', getLogs('status >= 500 and method:POST')],
      [`phrase "${phrase.slice(0, 30)}…"`, getLogs(`"${phrase}"`)],
      ['prefix request_uri:/orders/9*', getLogs('request_uri:/orders/9*')],
      [
        'histogram * 1 min x 1 day',
        async () => {
          const res = await call({
            method: 'GET',
            path: '/logstores/nginx',
            query: { type: 'histogram', from: String(DAY), to: String(DAY + 86_400), query: '*', interval: '60' },
          });
          return (JSON.parse(res.body.toString('utf8')) as unknown[]).length;
        },
      ],
    ];
    console.log('');
    for (const [name, run] of queries) {
      const times: number[] = [];
      let result = 0;
      for (let i = 0; i < o.runs; i++) {
        const q0 = performance.now();
        result = await run();
        times.push(performance.now() - q0);
      }
      console.log(
        `${name.padEnd(40)} median ${median(times).toFixed(1).padStart(7)} ms  (first ${times[0]!.toFixed(1)} ms, result ${result})`,
      );
    }
    const p = proc(pid);
    console.log('');
    console.log(`server RSS:   ${p.rssMiB.toFixed(0)} MiB now, peak ${p.hwmMiB.toFixed(0)} MiB`);
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
