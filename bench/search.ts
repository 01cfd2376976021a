/**
 * bench:search — ingest with indexing, time to searchable, disk and memory, and query latency on a running server.
 *
 * What it measures: a real `sluice serve` child process (fsync on, default config) with an index on an nginx
 * logstore. It loads `--logs` distinct realistic nginx access logs (seeded generator of bench:ingest, one day of
 * timestamps) over 4 keep-alive clients as LZ4 PutLogs of 4,096 logs, then reports: acknowledged ingest rate (raw
 * MB/s), seconds from the last acknowledgement until every log is searchable, bytes on disk (shard logs, segments,
 * metadata) against raw, server RSS, and the median latency (of `--runs`) of: a rare client IP (needle),
 * `status:500` (page and count), `status >= 500 and method:POST`, a phrase, a prefix, a one-minute histogram over
 * the day. Each query but the histogram runs twice `--runs` times: the same statement repeated (later runs may be
 * served from the server's caches of recent rows and query postings), then a "distinct" series where every run uses a
 * value no earlier run used (another rare IP seen a few dozen times, another status / method, another `status >= X
 * and method:Y` pair, another path prefix, another user agent, another histogram phase), picked deterministically
 * from the generator: the latency of a query the server has not seen.
 *
 * How to run: `npm run bench:search` (5,000,000 logs: 2.12 GB raw protobuf, 1.14 GB as access-log text lines) or
 * `npm run bench:search -- --logs 1000000`. Rates and disk are printed against both sizes: raw is what SLS meters (the
 * uncompressed LogGroup, with every key name), text what the same logs weigh as an nginx access log.
 * Needs: this repo built; ~1 GB of free disk in the temp folder (removed afterwards). Bodies are generated before the
 * server starts so generation does not compete with the server for CPU.
 * Options (bench/nginx-day.ts): `--keep DIR` loads once into DIR and later runs restart a server over it (delete DIR
 * to reload); `--settle S` waits at most S seconds (default 300, 0 = not at all) for background merges to stop
 * changing the segment count before the queries; `--quiet S` waits at most S seconds (default 120, 0 = not at all)
 * for the server to go idle (its background work on new segments and the shard logs' compaction done) before
 * measuring disk and again before the queries; `--rate R` sends at most R MB/s of protobuf, paced (a sustained load:
 * merges then run during it); `--runs R`. Each query
 * prints its median, its first run and the server's CPU per run. `SLUICE_BENCH_ONLY=needle,status` times only the queries whose label starts so (a profile of
 * one kind); `SLUICE_BENCH_SERVER_ARGS` passes node flags to the server (bench/nginx-day.ts).
 */

import { DAY, loadNginxDay, parseDayOptions, printMachine, proc, timeQueries, waitQuiet } from './nginx-day.js';
import { NginxLogGenerator } from './nginx-generator.js';

async function main(): Promise<void> {
  const o = parseDayOptions(process.argv.slice(2));
  printMachine(o);
  const gen = new NginxLogGenerator(42, DAY);
  const ips = (gen as unknown as { ips: string[] }).ips;
  const needleIp = ips[ips.length - 1]!;
  // A phrase: a whole user agent of moderate frequency (many tokens; only the rows of a page are verified).
  const agents = (gen as unknown as { agents: string[] }).agents;
  const phrase = agents[5]!.replaceAll('"', '\\"');
  const d = distinctValues(gen, o.runs);
  const day = await loadNginxDay(o, gen, 'search');
  try {
    if (o.quiet > 0) {
      const waited = await waitQuiet(day.pid, o.quiet * 1000);
      console.log(`quiet:        waited ${(waited / 1000).toFixed(0)} s for the server's background work to stop`);
    }
    const getLogs = (query: string) => async (): Promise<number> => {
      const res = await day.call({
        method: 'GET',
        path: '/logstores/nginx',
        query: { type: 'log', from: String(DAY), to: String(DAY + 86_400), query, line: '100', reverse: 'true' },
      });
      return (JSON.parse(res.body.toString('utf8')) as unknown[]).length;
    };
    /** One-minute buckets over the day, shifted by `phase` seconds (another phase: nothing of it cached). */
    const histogram = async (phase: number): Promise<number> => {
      const res = await day.call({
        method: 'GET',
        path: '/logstores/nginx',
        query: {
          type: 'histogram',
          from: String(DAY + phase),
          to: String(DAY + 86_400),
          query: '*',
          interval: '60',
        },
      });
      return (JSON.parse(res.body.toString('utf8')) as unknown[]).length;
    };
    // SLUICE_BENCH_ONLY=needle,status: only the queries whose label starts with one of these (profiling one kind).
    const only = process.env['SLUICE_BENCH_ONLY']?.split(',').filter((x) => x !== '');
    const pick = (qs: Parameters<typeof timeQueries>[0]): Parameters<typeof timeQueries>[0] =>
      only ? qs.filter(([name]) => only.some((x) => name.startsWith(x))) : qs;
    await timeQueries(
      pick([
        [`needle: ${needleIp}`, getLogs(needleIp), (i) => getLogs(d.ips[i]!)()],
        ['status:500 (page of 100)', getLogs('status:500'), (i) => getLogs(d.terms[i]!)()],
        ['status:500 (count)', () => day.count('status:500'), (i) => day.count(d.terms[i]!)],
        ['status >= 500 and method:POST', getLogs('status >= 500 and method:POST'), (i) => getLogs(d.pairs[i]!)()],
        [`phrase "${phrase.slice(0, 30)}…"`, getLogs(`"${phrase}"`), (i) => getLogs(d.phrases[i]!)()],
        ['prefix request_uri:/orders/9*', getLogs('request_uri:/orders/9*'), (i) => getLogs(d.prefixes[i]!)()],
        ['histogram * 1 min x 1 day', () => histogram(0), (i) => histogram(i + 1)],
      ]),
      o.runs,
      day.pid,
    );
    const p = proc(day.pid);
    console.log('');
    console.log(`server RSS:   ${p.rssMiB.toFixed(0)} MiB now, peak ${p.hwmMiB.toFixed(0)} MiB`);
  } finally {
    await day.close();
  }
}

/**
 * Per query kind, `runs` statements that differ from the repeated one and from each other, from the generator's own
 * tables: the rarest client IPs (the skewed pick gives the last of 20,000 about 1/60,000 of the logs, ~80 in 5M),
 * every status and method and the busiest path words as field terms, `status >= X and method:Y` with a new X each
 * run, the user agents other than the repeated one as phrases, and path prefixes of two digits (the repeated
 * `/orders/9*` has one; a shorter prefix's expansion is a different posting union, so none is reused).
 */
function distinctValues(
  gen: NginxLogGenerator,
  runs: number,
): { ips: string[]; terms: string[]; pairs: string[]; phrases: string[]; prefixes: string[] } {
  const g = gen as unknown as { ips: string[]; agents: string[]; paths: string[] };
  const needle = g.ips[g.ips.length - 1]!;
  const ips = [...new Set(g.ips.slice(0, -1).reverse())].filter((ip) => ip !== needle).slice(0, runs);
  const statuses = ['502', '503', '404', '400', '403', '301', '304', '200'];
  const methods = ['POST', 'PUT', 'DELETE', 'HEAD', 'GET'];
  const words = ['orders', 'users', 'items', 'api', 'search', 'cart', 'login', 'admin', 'static', 'img', 'v1', 'v2'];
  const terms = [
    ...statuses.map((s) => `status:${s}`),
    ...methods.map((m) => `method:${m}`),
    ...words.map((w) => `request_uri:${w}`),
  ];
  const pairs: string[] = [];
  for (let i = 0; pairs.length < runs; i++) {
    // A new threshold each run: 499, 498, … (each a different numeric range; the rows of `status >= 500`).
    const threshold = 499 - i;
    pairs.push(`status >= ${threshold} and method:${methods[i % methods.length]}`);
  }
  const phrases = [...new Set(g.agents)].filter((a) => a !== g.agents[5]).map((a) => `"${a.replaceAll('"', '\\"')}"`);
  const prefixes: string[] = [];
  const seen = new Set<string>();
  for (const path of g.paths) {
    const m = /\/([a-z0-9]+)\/(\d{2})\d*/.exec(path);
    if (!m || seen.has(m[2]!)) continue;
    seen.add(m[2]!);
    prefixes.push(`request_uri:/${m[1]}/${m[2]}*`);
  }
  for (const [name, list] of Object.entries({ ips, terms, phrases, prefixes }))
    if (list.length < runs) throw new Error(`only ${list.length} distinct ${name} for --runs ${runs}`);
  return { ips, terms, pairs, phrases, prefixes };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
