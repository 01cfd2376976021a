/**
 * What bench:search and bench:analytics share: the generated nginx day loaded into a real `sluice serve` child with
 * an index, measured on the way (acknowledged rate, time until everything is searchable, disk), and a loop that
 * times queries by their median.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { SlsClient, type SlsRequest, type SlsResponse } from '../src/client/sls-client.js';
import { DEFAULT_TOKENS } from '../src/index/index-config.js';
import { encodeLogGroup } from '../src/protocol/log-group.js';
import { lz4BlockCompress } from '../src/protocol/lz4-block.js';
import { type ServerProcess, startServerProcess } from '../test/helpers/server-process.js';
import { accessLine, type NginxLogGenerator } from './nginx-generator.js';

export interface DayOptions {
  logs: number;
  batch: number;
  clients: number;
  shards: number;
  runs: number;
  /** Seconds to wait at most for background merges to settle before queries (0 = do not wait). */
  settle: number;
  /**
   * Seconds to wait at most, before queries, for the server to go quiet (under 2.5 % of a core over 2 s: background
   * work such as a last merge, SQL copies and value tables of new segments done). 0 = do not wait. Default 120: the
   * settle above only sees merges that finish, and one merge can run longer than its 15 s of a steady count (merges
   * wait for the builds, so after a bulk load they run back to back for ~25 s), leaving queries timed beside it.
   * A fresh load also waits so before measuring disk: the shard logs' compaction to zstd runs at the lowest priority
   * and may finish after the merges (disk is measured at rest).
   */
  quiet: number;
  /**
   * `--keep DIR`: load into DIR once and keep it; later runs with the same DIR (and the same --logs) restart a server
   * over the kept data instead of loading again (query experiments without a 5M reload). Delete DIR to reload.
   */
  keep?: string;
  /**
   * `--signature v4`: the loading clients sign with SLS4-HMAC-SHA256, which binds each body by its SHA-256 instead of
   * v1's Content-MD5 (what `sluice agent` sends; the official SDKs default to v1, the default here). Both sides then
   * hash the ~700 MB of LZ4 bodies with SHA-256 (CPU SHA extensions) instead of MD5.
   */
  signature?: 'v1' | 'v4';
  /**
   * `--rate R`: send at most R MB/s of raw (protobuf) bytes, paced, instead of as fast as the server acknowledges
   * (0, the default). A paced load shows a sustained rate: the builds keep up between flushes, so merges run during
   * the load instead of after it, and the time from the last acknowledgement to all searchable is the index's lag at
   * that rate.
   */
  rate: number;
}

export function parseDayOptions(argv: readonly string[]): DayOptions {
  const o: DayOptions = {
    logs: 5_000_000,
    batch: 4096,
    clients: 4,
    shards: 2,
    runs: 21,
    settle: 300,
    quiet: 120,
    rate: 0,
  };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--keep' && argv[i + 1]) {
      o.keep = argv[i + 1]!;
      continue;
    }
    if (argv[i] === '--signature' && (argv[i + 1] === 'v1' || argv[i + 1] === 'v4')) {
      o.signature = argv[i + 1] as 'v1' | 'v4';
      continue;
    }
    const key = argv[i]?.replace(/^--/, '') as Exclude<keyof DayOptions, 'keep' | 'signature'>;
    const value = Number(argv[i + 1]);
    if (
      !(key in o) ||
      !Number.isFinite(value) ||
      value < 0 ||
      (value === 0 && key !== 'settle' && key !== 'quiet' && key !== 'rate')
    )
      throw new Error(`bad option ${argv[i]} ${argv[i + 1]}`);
    o[key] = value;
  }
  return o;
}

/** 2026-01-01T00:00:00Z: the generated day. */
export const DAY = 1_767_225_600;

export const NGINX_INDEX = {
  line: { token: [...DEFAULT_TOKENS], caseSensitive: false, chn: false },
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

export function proc(pid: number): { rssMiB: number; hwmMiB: number; cpuSec: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    rssMiB: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024,
    hwmMiB: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024,
    cpuSec: (Number(f[11]) + Number(f[12])) / 100,
  };
}

/** Waits (at most `maxMs`) until process `pid` uses under 2.5 % of a core over 2 s; returns how long it waited. */
export async function waitQuiet(pid: number, maxMs: number): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < maxMs) {
    const before = proc(pid).cpuSec;
    await new Promise((r) => setTimeout(r, 2000));
    if (proc(pid).cpuSec - before < 0.05) break;
  }
  return performance.now() - start;
}

export function du(path: string): number {
  return Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Prints the machine and a bench's options (any JSON-able object). */
export function printMachine(o: object): void {
  console.log(
    `machine: ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}`,
  );
  console.log(`options: ${JSON.stringify(o)}`);
}

export interface LoadedDay {
  readonly server: ServerProcess;
  readonly pid: number;
  readonly dataDir: string;
  /** Signed calls to project `bench` (logstore `nginx`). */
  call(req: Omit<SlsRequest, 'project'>): Promise<SlsResponse>;
  /** Logs matching `query` in the day, counted by GetHistograms. */
  count(query: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Generates `o.logs` logs (before the server starts, so generation does not compete with it), starts the server,
 * creates project `bench` / logstore `nginx` with NGINX_INDEX, sends everything from `o.clients` keep-alive
 * clients, waits until every log is searchable and background merges settle, and prints acknowledged and searchable
 * rates and disk use.
 */
export async function loadNginxDay(o: DayOptions, gen: NginxLogGenerator, label: string): Promise<LoadedDay> {
  const marker = o.keep ? join(o.keep, 'bench-loaded.json') : undefined;
  if (o.keep && marker && existsSync(marker)) {
    const kept = JSON.parse(readFileSync(marker, 'utf8')) as { logs: number };
    if (kept.logs !== o.logs)
      throw new Error(`${o.keep} holds ${kept.logs} logs, not ${o.logs}: delete it or pass --logs`);
    return reuseNginxDay(o, o.keep);
  }
  const bodies: { body: Buffer; rawSize: number }[] = [];
  // Raw = uncompressed LogGroup bytes (x-log-bodyrawsize, what SLS meters). The same logs as nginx access-log lines
  // weigh about half as much (no key names, no protobuf framing): every rate and ratio is printed against both.
  let rawTotal = 0;
  let textTotal = 0;
  const t0 = performance.now();
  for (let left = o.logs, i = 0; left > 0; left -= o.batch, i++) {
    const group = gen.group(Math.min(o.batch, left), `10.0.${(i >> 8) & 255}.${i & 255}`);
    for (const log of group.logs) textTotal += Buffer.byteLength(accessLine(log)) + 1;
    const raw = encodeLogGroup(group);
    rawTotal += raw.length;
    bodies.push({ body: lz4BlockCompress(raw), rawSize: raw.length });
  }
  console.log(
    `generated ${o.logs.toLocaleString('en-US')} logs in ${bodies.length} bodies, ${(rawTotal / 1e9).toFixed(3)} GB raw ` +
      `(as access-log lines ${(textTotal / 1e9).toFixed(3)} GB = text), in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  let dataDir: string;
  if (o.keep) {
    await rm(o.keep, { recursive: true, force: true });
    await mkdir(o.keep, { recursive: true });
    dataDir = o.keep;
  } else dataDir = await mkdtemp(join(tmpdir(), `sluice-bench-${label}-`));
  const day = await attach(o, dataDir, !o.keep);
  const { server, pid, client, call, count, close } = day;
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
    await call({ method: 'POST', path: '/logstores/nginx/index', body: Buffer.from(JSON.stringify(NGINX_INDEX)) });

    const cpu0 = proc(pid).cpuSec;
    // The bench's own CPU while it sends (signing, hashing each body for Content-MD5, HTTP): on a 2-core machine it is
    // taken from the server, so it is printed beside the server's.
    const clientCpu0 = process.cpuUsage();
    const start = performance.now();
    let next = 0;
    let sentRaw = 0;
    const worker = async (): Promise<void> => {
      while (next < bodies.length) {
        if (o.rate > 0) {
          const ahead = sentRaw / (o.rate * 1e3) - (performance.now() - start);
          if (ahead > 0) {
            await new Promise((r) => setTimeout(r, ahead));
            continue;
          }
        }
        const b = bodies[next++]!;
        sentRaw += b.rawSize;
        await call({
          method: 'POST',
          path: '/logstores/nginx/shards/lb',
          headers: {
            'content-type': 'application/x-protobuf',
            'x-log-compresstype': 'lz4',
            'x-log-bodyrawsize': String(b.rawSize),
          },
          body: b.body,
          ...(o.signature ? { signature: o.signature } : {}),
        });
      }
    };
    await Promise.all(Array.from({ length: o.clients }, worker));
    const acked = (performance.now() - start) / 1000;
    const clientCpu = process.cpuUsage(clientCpu0);
    let seen = 0;
    for (let i = 0; i < 6000 && seen < o.logs; i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await count('*');
    }
    const searchable = (performance.now() - start) / 1000;
    const cpuIngest = proc(pid).cpuSec - cpu0;
    const mb = rawTotal / 1e6;
    const textMb = textTotal / 1e6;
    console.log('');
    console.log(
      `acknowledged: ${acked.toFixed(1)} s, ${(mb / acked).toFixed(1)} MB/s raw (${(textMb / acked).toFixed(1)} MB/s text), ` +
        `${Math.round(o.logs / acked).toLocaleString('en-US')} logs/s; the bench's clients used ` +
        `${((clientCpu.user + clientCpu.system) / 1e6).toFixed(1)} CPU s`,
    );
    console.log(
      `searchable:   all ${seen.toLocaleString('en-US')} after ${searchable.toFixed(1)} s (${(searchable - acked).toFixed(1)} s after the last ack); ` +
        `end to end ${(mb / searchable).toFixed(1)} MB/s raw (${(textMb / searchable).toFixed(1)} MB/s text); server ${cpuIngest.toFixed(1)} CPU s`,
    );
    if (seen !== o.logs) throw new Error(`only ${seen} of ${o.logs} logs became searchable`);
    // Let background seals/merges settle before measuring disk and queries: queries are measured on the index the
    // server keeps at rest (merges bound the segment count), not while merges rewrite it. `--settle 0` measures
    // right away (12 s after the last log became searchable, the earlier behaviour).
    await new Promise((r) => setTimeout(r, 12_000));
    const settled = await settleSegments(join(dataDir, 'index'), o.settle * 1000);
    // The background work after a load (merges, shard-log compaction) is what a sustained load would have to fit
    // beside its builds: its CPU is printed with the time the segment count last changed.
    console.log(
      `segments:     ${settled.count} after waiting ${(settled.waitedMs / 1000).toFixed(0)} s for merges to settle ` +
        `(the last change ${(12 + settled.lastChangeMs / 1000).toFixed(0)} s after all were searchable; ` +
        `server ${(proc(pid).cpuSec - cpu0 - cpuIngest).toFixed(1)} CPU s since then)`,
    );
    if (o.quiet > 0) {
      const waited = await waitQuiet(pid, o.quiet * 1000);
      console.log(
        `quiet:        waited ${(waited / 1000).toFixed(0)} s more for background work before measuring disk ` +
          `(server ${(proc(pid).cpuSec - cpu0 - cpuIngest).toFixed(1)} CPU s since all were searchable)`,
      );
    }
    const shardBytes = du(join(dataDir, 'shards'));
    const indexBytes = du(join(dataDir, 'index'));
    const total = du(dataDir);
    console.log(
      `disk:         ${(total / 1e6).toFixed(0)} MB total = ${(total / rawTotal).toFixed(3)} x raw = ${(total / textTotal).toFixed(3)} x text ` +
        `(shard logs ${(shardBytes / 1e6).toFixed(0)} MB = ${(shardBytes / rawTotal).toFixed(3)} x, segments ${(indexBytes / 1e6).toFixed(0)} MB = ${(indexBytes / rawTotal).toFixed(3)} x)`,
    );
    if (marker) await writeFile(marker, JSON.stringify({ logs: o.logs, loadedAt: new Date().toISOString() }));
  } catch (err) {
    console.error(server.output().slice(-4000));
    await close();
    throw err;
  }
  return { server, pid, dataDir, call, count, close };
}

/** Number of segment files under `dir`. */
export function segmentCount(dir: string): number {
  let n = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.seg')) n++;
    }
  };
  walk(dir);
  return n;
}

/** Waits (at most `maxMs`) until the segment count has not changed for 15 s. */
async function settleSegments(
  dir: string,
  maxMs: number,
): Promise<{ count: number; waitedMs: number; lastChangeMs: number }> {
  const start = performance.now();
  let count = segmentCount(dir);
  let since = performance.now();
  while (performance.now() - start < maxMs && performance.now() - since < 15_000) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = segmentCount(dir);
    if (now !== count) {
      count = now;
      since = performance.now();
    }
  }
  return { count, waitedMs: performance.now() - start, lastChangeMs: since - start };
}

/** A server over a kept, already loaded data folder (see DayOptions.keep); waits until every log is searchable. */
async function reuseNginxDay(o: DayOptions, dataDir: string): Promise<LoadedDay> {
  const day = await attach(o, dataDir, false);
  try {
    const start = performance.now();
    let seen = 0;
    for (let i = 0; i < 6000 && seen < o.logs; i++) {
      seen = await day.count('*');
      if (seen < o.logs) await new Promise((r) => setTimeout(r, 100));
    }
    if (seen !== o.logs) throw new Error(`only ${seen} of ${o.logs} kept logs are searchable`);
    console.log(
      `reusing ${dataDir}: ${seen.toLocaleString('en-US')} logs searchable ${((performance.now() - start) / 1000).toFixed(1)} s after the restart`,
    );
    const settled = await settleSegments(join(dataDir, 'index'), o.settle * 1000);
    console.log(
      `segments:     ${settled.count} after waiting ${(settled.waitedMs / 1000).toFixed(0)} s for merges to settle`,
    );
  } catch (err) {
    console.error(day.server.output().slice(-4000));
    await day.close();
    throw err;
  }
  return day;
}

/** Starts a server over `dataDir` and a signed client for project `bench`. */
async function attach(
  o: DayOptions,
  dataDir: string,
  removeOnClose: boolean,
): Promise<LoadedDay & { client: SlsClient }> {
  // SLUICE_BENCH_SERVER_ARGS: node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (NODE_OPTIONS
  // does not accept --cpu-prof).
  const nodeArgs = process.env['SLUICE_BENCH_SERVER_ARGS']?.split(' ').filter((a) => a !== '');
  const server = await startServerProcess({ dataDir, ...(nodeArgs ? { nodeArgs } : {}) });
  const pid = server.child.pid!;
  const client = new SlsClient({
    endpoint: server.url,
    accessKeyId: 'test-ak',
    accessKeySecret: 'test-secret-0123456789',
    maxSockets: o.clients,
    timeoutMs: 120_000,
  });
  const call = (req: Omit<SlsRequest, 'project'>) => client.call({ ...req, project: 'bench' });
  const count = async (query: string): Promise<number> => {
    const res = await call({
      method: 'GET',
      path: '/logstores/nginx',
      query: { type: 'histogram', from: String(DAY), to: String(DAY + 86_400), query, interval: '86400' },
    });
    return Number(res.headers['x-log-count']);
  };
  const close = async (): Promise<void> => {
    client.close();
    await server.stop();
    // SLUICE_BENCH_SERVER_LOG=FILE: what the server printed (e.g. with --trace-opt or --trace-gc in
    // SLUICE_BENCH_SERVER_ARGS), written there after it stops.
    const log = process.env['SLUICE_BENCH_SERVER_LOG'];
    if (log) await writeFile(log, server.output());
    if (removeOnClose) await rm(dataDir, { recursive: true, force: true });
  };
  return { server, pid, dataDir, client, call, count, close };
}

/**
 * A query to time: `run` is repeated `runs` times (the same statement: later runs may be served from the server's
 * caches of rows and postings); `distinct`, when given, is a second series of `runs` runs where run i uses a value no
 * earlier run used (nothing of it is cached, only what any query shares: blocks, JIT).
 */
export type TimedQuery = readonly [name: string, run: () => Promise<number>, distinct?: (i: number) => Promise<number>];

/**
 * Runs each query `runs` times and prints its median, its first (cold) run and its result size; with `pid`, also the
 * server's CPU per run (after the first; /proc, steadier than wall time on a shared machine). A query with a
 * `distinct` series prints a second line: its median, first run, range of result sizes and CPU per run (every run).
 */
export async function timeQueries(queries: readonly TimedQuery[], runs: number, pid?: number): Promise<void> {
  console.log('');
  for (const [name, run, distinct] of queries) {
    const times: number[] = [];
    let result = 0;
    let cpu0 = 0;
    for (let i = 0; i < runs; i++) {
      if (i === 1 && pid !== undefined) cpu0 = proc(pid).cpuSec;
      const q0 = performance.now();
      result = await run();
      times.push(performance.now() - q0);
    }
    const cpu = pid !== undefined && runs > 1 ? ((proc(pid).cpuSec - cpu0) * 1000) / (runs - 1) : undefined;
    console.log(
      `${name.padEnd(40)} median ${median(times).toFixed(1).padStart(7)} ms  (first ${times[0]!.toFixed(1)} ms, result ${result})` +
        (cpu === undefined ? '' : `  server CPU ${cpu.toFixed(1)} ms/run`),
    );
    if (!distinct) continue;
    const dtimes: number[] = [];
    const results: number[] = [];
    const dcpu0 = pid !== undefined ? proc(pid).cpuSec : 0;
    for (let i = 0; i < runs; i++) {
      const q0 = performance.now();
      results.push(await distinct(i));
      dtimes.push(performance.now() - q0);
    }
    const dcpu = pid !== undefined ? ((proc(pid).cpuSec - dcpu0) * 1000) / runs : undefined;
    console.log(
      `${'  ... distinct values'.padEnd(40)} median ${median(dtimes).toFixed(1).padStart(7)} ms  (first ${dtimes[0]!.toFixed(1)} ms, ` +
        `results ${Math.min(...results)}–${Math.max(...results)})` +
        (dcpu === undefined ? '' : `  server CPU ${dcpu.toFixed(1)} ms/run`),
    );
  }
}
