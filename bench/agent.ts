/**
 * bench:agent — the agent's cost per MB, end to end.
 *
 * What it measures: `sluice agent` (a real child process, line mode, LZ4, checkpoints and intents fsync'd) shipping
 * a file of N generated nginx lines (default 5,000,000, about 1.2 GB) into a running `sluice serve`. Prints MB/s,
 * agent CPU seconds, MB per agent CPU-second, peak RSS (VmHWM), then the agent's CPU share while a writer appends
 * at a steady 10 MB/s.
 *
 * How to run: `npm run bench:agent` or `npm run bench:agent -- --lines 1000000 --steady-seconds 20 --mode nginx`;
 * `--input /tmp/agent-5m.log` keeps the generated file for the next run with the same `--lines` (generating 1.1 GB
 * takes ~2 min here); `--cpu-prof DIR` profiles the agent's main thread. The steady phase also prints user/system
 * CPU and CPU per thread (main thread `node`, libuv pool `libuv-worker`, V8 helpers), from `/proc`.
 * Needs: this repo built and ~2.5 GB free in the temp folder (removed afterwards). Server and agent share the
 * machine (2 cores here), so MB/s is bounded by the server too; CPU seconds are the agent's own (utime + stime).
 */
import {
  createWriteStream,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProjectAndLogstore, logtailConfig, startAgent } from '../test/helpers/agent-harness.js';
import { startServerProcess } from '../test/helpers/server-process.js';
import { testClient } from '../test/helpers/sls-kit.js';
import { NginxLineGenerator } from './agent-lines.js';

interface Options {
  lines: number;
  steadySeconds: number;
  mode: 'line' | 'nginx';
  /** Writes a V8 CPU profile of the agent into this directory. */
  cpuProf: string | undefined;
  /** Generated input kept here between runs (same lines for the same count), hard-linked into the watched folder. */
  input: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { lines: 5_000_000, steadySeconds: 20, mode: 'line', cpuProf: undefined, input: undefined };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = argv[i + 1] ?? '';
    if (k === '--lines') o.lines = Number(v);
    else if (k === '--steady-seconds') o.steadySeconds = Number(v);
    else if (k === '--mode' && (v === 'line' || v === 'nginx')) o.mode = v;
    else if (k === '--cpu-prof') o.cpuProf = v;
    else if (k === '--input') o.input = v;
    else throw new Error(`bad option ${k} ${v}`);
  }
  return o;
}

function procStat(pid: number): { cpuSec: number; userSec: number; rssPeakMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
  return {
    cpuSec: ticks / 100,
    userSec: Number(fields[11]) / 100,
    rssPeakMiB: hwm ? Number(hwm[1]) / 1024 : Number.NaN,
  };
}

/** CPU seconds per thread name (main `node`, `libuv-worker`, V8's `V8 DefaultWorke` GC/compiler helpers, …). */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const sec = (Number(fields[11]) + Number(fields[12])) / 100;
      out.set(name, (out.get(name) ?? 0) + sec);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

function threadDelta(before: Map<string, number>, after: Map<string, number>): string {
  return [...after]
    .map(([name, sec]) => [name, sec - (before.get(name) ?? 0)] as const)
    .filter(([, d]) => d > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, d]) => `${name} ${d.toFixed(2)} s`)
    .join(', ');
}

interface Status {
  files: { path: string; committed: number; size: number }[];
  counters: Record<string, number>;
}

function readStatus(dataDir: string): Status | undefined {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'status.json'), 'utf8')) as Status;
  } catch {
    return undefined;
  }
}

function committedOf(dataDir: string, path: string): number {
  return readStatus(dataDir)?.files.find((f) => f.path === path)?.committed ?? 0;
}

async function writeLines(path: string, lines: number): Promise<number> {
  const gen = new NginxLineGenerator(42);
  const out = createWriteStream(path);
  let bytes = 0;
  for (let i = 0; i < lines; i += 10_000) {
    const parts: string[] = [];
    for (let j = 0; j < Math.min(10_000, lines - i); j++) parts.push(gen.line());
    const text = `${parts.join('\n')}\n`;
    bytes += text.length;
    if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((done) => out.end(done));
  return bytes;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const work = await mkdtemp(join(tmpdir(), 'sluice-bench-agent-'));
  const logs = join(work, 'logs');
  mkdirSync(logs);
  const big = join(logs, 'access.log');
  console.log(`bench:agent — ${o.lines} nginx lines, mode ${o.mode}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}`);
  let t = Date.now();
  let bytes: number;
  if (o.input !== undefined && existsSync(o.input)) {
    linkSync(o.input, big);
    bytes = statSync(big).size;
  } else {
    bytes = await writeLines(big, o.lines);
    if (o.input !== undefined) linkSync(big, o.input);
  }
  const mb = bytes / 1e6;
  console.log(`generated ${mb.toFixed(0)} MB in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  const server = await startServerProcess();
  const client = testClient(server.url);
  await createProjectAndLogstore(client, 'bench', 'agent', 2);
  const dataDir = join(work, 'agent');
  const detail = o.mode === 'nginx' ? { logType: 'common_reg_log', preset: 'nginx' } : {};
  const agent = await startAgent({
    url: server.url,
    project: 'bench',
    dataDir,
    configs: [logtailConfig(logs, 'agent', { ...detail, filePattern: '*.log' })],
    ...(o.cpuProf ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', o.cpuProf] } : {}),
  });
  try {
    t = Date.now();
    const pid = agent.child.pid!;
    const deadline = Date.now() + 30 * 60_000;
    while (committedOf(dataDir, big) < bytes && Date.now() < deadline) {
      if (agent.child.exitCode !== null) throw new Error(`agent exited:\n${agent.output()}`);
      await sleep(200);
    }
    const secs = (Date.now() - t) / 1000;
    const s = procStat(pid);
    const status = readStatus(dataDir);
    console.log(`shipped ${mb.toFixed(0)} MB in ${secs.toFixed(1)} s: ${(mb / secs).toFixed(1)} MB/s`);
    console.log(`agent CPU ${s.cpuSec.toFixed(2)} s → ${(mb / s.cpuSec).toFixed(0)} MB per agent CPU-second`);
    console.log(`agent peak RSS ${s.rssPeakMiB.toFixed(1)} MiB`);
    console.log(
      `batches ${status?.counters['sentBatches']}, retries ${status?.counters['retries']}, lost ${status?.counters['lostBytes']} B`,
    );

    // Steady 10 MB/s: 1 MB every 100 ms into a second file.
    const steady = join(logs, 'steady.log');
    writeFileSync(steady, '');
    const gen = new NginxLineGenerator(7);
    const chunk = gen.chunk(1_000_000);
    await sleep(1500);
    const start = procStat(pid);
    const before = start.cpuSec;
    const threadsBefore = threadCpu(pid);
    const t0 = Date.now();
    let written = 0;
    for (let i = 0; i < o.steadySeconds * 10; i++) {
      await appendFile(steady, chunk);
      written += chunk.length;
      const next = t0 + (i + 1) * 100;
      await sleep(Math.max(0, next - Date.now()));
    }
    const wall = (Date.now() - t0) / 1000;
    const end = procStat(pid);
    const cpu = end.cpuSec - before;
    const user = end.userSec - start.userSec;
    const threads = threadDelta(threadsBefore, threadCpu(pid));
    const catchUp = Date.now() + 60_000;
    while (committedOf(dataDir, steady) < written && Date.now() < catchUp) await sleep(100);
    console.log(
      `steady ${(written / 1e6 / wall).toFixed(1)} MB/s for ${wall.toFixed(0)} s: agent CPU ${cpu.toFixed(2)} s = ` +
        `${((cpu / wall) * 100).toFixed(1)} % of a core; peak RSS now ${procStat(pid).rssPeakMiB.toFixed(1)} MiB`,
    );
    console.log(`steady CPU: user ${user.toFixed(2)} s, system ${(cpu - user).toFixed(2)} s; by thread: ${threads}`);
    if (statSync(steady).size !== written) throw new Error('steady file size mismatch');
  } finally {
    await agent.stop();
    client.close();
    await server.stop();
    await rm(server.dataDir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
