/**
 * bench:visibility — how soon an acknowledged log is searchable, while other logs stream in.
 *
 * What it measures: a real `sluice serve` child process (default config) with a full-text index on a 2-shard
 * logstore. A background client sends LZ4 PutLogs of 1,024 generated nginx logs at `--rate` raw MB/s; meanwhile
 * `--probes` times, one log with a token of its own is sent, and GetLogs polls for that token every 10 ms from its
 * acknowledgement until it is found. Prints the median, p90 and the longest of those waits, the rate reached, the
 * server's CPU (cores) over the run, and the machine.
 *
 * How to run: `npm run build && node dist/bench/visibility.js [--rate 20] [--probes 40]`.
 * Needs: nothing but this repo built; data goes to a temp folder removed afterwards.
 */
import { SlsClient, type SlsRequest } from '../src/client/sls-client.js';
import { DEFAULT_TOKENS } from '../src/index/index-config.js';
import { encodeLogGroup, type LogGroup } from '../src/protocol/log-group.js';
import { lz4BlockCompress } from '../src/protocol/lz4-block.js';
import { removeDir, startServerProcess } from '../test/helpers/server-process.js';
import { printMachine, proc } from './nginx-day.js';
import { NginxLogGenerator } from './nginx-generator.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`bad --${name}`);
  return v;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function main(): Promise<void> {
  const rate = option('rate', 20);
  const probes = option('probes', 40);
  printMachine({ rate, probes });
  const server = await startServerProcess();
  const client = new SlsClient({
    endpoint: server.url,
    accessKeyId: 'test-ak',
    accessKeySecret: 'test-secret-0123456789',
    maxSockets: 4,
  });
  const call = (req: Omit<SlsRequest, 'project'>) => client.call({ ...req, project: 'vis' });
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  let stop = false;
  try {
    await client.call({ method: 'POST', path: '/', body: json({ projectName: 'vis', description: '' }) });
    await call({ method: 'POST', path: '/logstores', body: json({ logstoreName: 'web', ttl: 7, shardCount: 2 }) });
    await call({
      method: 'POST',
      path: '/logstores/web/index',
      body: json({ line: { token: [...DEFAULT_TOKENS], caseSensitive: false }, keys: { status: { type: 'long' } } }),
    });
    const now = Math.floor(Date.now() / 1000);
    const gen = new NginxLogGenerator(5, now - 600);
    const bodies: { body: Buffer; raw: number }[] = [];
    for (let i = 0; i < 40; i++) {
      const raw = encodeLogGroup(gen.group(1024, `10.1.0.${i}`));
      bodies.push({ body: lz4BlockCompress(raw), raw: raw.length });
    }
    const put = (b: { body: Buffer; raw: number }) =>
      call({
        method: 'POST',
        path: '/logstores/web/shards/lb',
        headers: {
          'content-type': 'application/x-protobuf',
          'x-log-compresstype': 'lz4',
          'x-log-bodyrawsize': String(b.raw),
        },
        body: b.body,
      });
    let sentMB = 0;
    const t0 = performance.now();
    const cpu0 = proc(server.child.pid!).cpuSec;
    const background = (async () => {
      for (let i = 0; !stop; ) {
        if (sentMB < ((performance.now() - t0) / 1000) * rate) {
          const b = bodies[i++ % bodies.length]!;
          await put(b);
          sentMB += b.raw / 1e6;
        } else await sleep(5);
      }
    })();
    await sleep(3000);
    const waits: number[] = [];
    for (let p = 0; p < probes; p++) {
      const token = `probe${p}x${Math.random().toString(36).slice(2, 10)}`;
      const group: LogGroup = {
        logs: [{ time: Math.floor(Date.now() / 1000), contents: [{ key: 'msg', value: token }] }],
        tags: [],
      };
      const raw = encodeLogGroup(group);
      await put({ body: lz4BlockCompress(raw), raw: raw.length });
      const acked = performance.now();
      for (;;) {
        const res = await call({
          method: 'GET',
          path: '/logstores/web',
          query: { type: 'log', from: String(now - 3600), to: String(now + 3600), query: token, line: '1' },
        });
        if ((JSON.parse(res.body.toString('utf8')) as unknown[]).length > 0) break;
        if (performance.now() - acked > 60_000) throw new Error(`probe ${p} not searchable after 60 s`);
        await sleep(10);
      }
      waits.push(performance.now() - acked);
      await sleep(200);
    }
    stop = true;
    await background;
    const seconds = (performance.now() - t0) / 1000;
    const reached = sentMB / seconds;
    const cores = (proc(server.child.pid!).cpuSec - cpu0) / seconds;
    waits.sort((a, b) => a - b);
    const at = (q: number) => waits[Math.min(waits.length - 1, Math.floor(waits.length * q))]!.toFixed(0);
    console.log(
      `background ${reached.toFixed(1)} MB/s raw (server ${cores.toFixed(2)} cores); acknowledged -> searchable over ` +
        `${probes} probes: median ${at(0.5)} ms, p90 ${at(0.9)} ms, longest ${at(1)} ms`,
    );
  } finally {
    stop = true;
    client.close();
    await server.stop();
    await removeDir(server.dataDir);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
