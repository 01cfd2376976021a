/**
 * page-rows — the query side of a distinct needle without HTTP: search pages over the segments of a day kept by
 * `bench:search --keep DIR`, in this process, the way a server's GetLogs runs them (searchAsync, then the rows as
 * JSON). It times a repeated needle, then `--runs` distinct rare client IPs (none seen before: every row read from
 * its segment), and prints their median, mean and the process CPU per distinct query (which includes V8's
 * compiler threads: the first dozens of queries after a start run while their code is being optimized).
 *
 * How to run: `node dist/bench/search.js --keep /tmp/day5m` once (loads the day), then
 * `node dist/bench/page-rows.js --keep /tmp/day5m [--runs 21]`. `SLUICE_ROWS_NATIVE=off` reads pages through the
 * JS path instead of the addon's page-row reader (native-rows.ts): run both, alternating, to compare them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileIndex, type IndexDocument } from '../src/index/index-config.js';
import { parseQuery, searchAsync } from '../src/query/executor.js';
import { rowJson } from '../src/server/routes/get-logs.js';
import { nativeRows } from '../src/storage/segment/native-rows.js';
import { SegmentReader } from '../src/storage/segment/segment-reader.js';
import { DAY, printMachine } from './nginx-day.js';
import { NginxLogGenerator } from './nginx-generator.js';

function option(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required (see bench/page-rows.ts)`);
  return v;
}

async function main(): Promise<void> {
  const keep = option('keep');
  const runs = Number(option('runs', '21'));
  printMachine({ keep, runs });
  const meta = JSON.parse(readFileSync(join(keep, 'meta', 'meta.json'), 'utf8')) as {
    resources: { index: Record<string, IndexDocument> };
  };
  const doc = meta.resources.index['bench/nginx/'];
  if (!doc) throw new Error(`${keep} holds no bench/nginx index: load it with bench:search --keep ${keep}`);
  const index = compileIndex(doc, 3650);
  const root = join(keep, 'index', 'bench', 'nginx');
  const dir = join(root, readdirSync(root)[0]!);
  const parts = readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .map((f) => SegmentReader.open(join(dir, f)));
  console.log(`${parts.length} segments; pages read by ${nativeRows() ? 'the addon' : 'the JS path'}`);
  const gen = new NginxLogGenerator(42, DAY);
  const ips = (gen as unknown as { ips: string[] }).ips;
  const needle = ips[ips.length - 1]!;
  const distinct = [...new Set(ips.slice(0, -1).reverse())].filter((ip) => ip !== needle).slice(0, runs);
  const page = async (q: string): Promise<number> => {
    const t = performance.now();
    const r = await searchAsync(index, parts, parseQuery(q), {
      from: DAY,
      to: DAY + 86_400,
      offset: 0,
      line: 100,
      reverse: true,
    });
    JSON.stringify(r.rows.map(rowJson));
    return performance.now() - t;
  };
  const repeated: number[] = [];
  for (let i = 0; i < runs; i++) repeated.push(await page(needle));
  const times: number[] = [];
  const cpu = process.cpuUsage();
  for (const ip of distinct) times.push(await page(ip));
  const used = process.cpuUsage(cpu);
  const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(`repeated needle:  median ${median(repeated).toFixed(2)} ms`);
  console.log(
    `distinct needles: median ${median(times).toFixed(2)} ms, mean ${mean.toFixed(2)} ms, first ${times[0]!.toFixed(2)} ms; ` +
      `process CPU ${((used.user + used.system) / 1000 / times.length).toFixed(2)} ms per query (${times.length} queries)`,
  );
  for (const p of parts) p.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
