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
 * Options (bench/nginx-day.ts): `--keep DIR` loads once into DIR and later runs restart a server over it (delete DIR
 * to reload); `--settle S` waits at most S seconds (default 300, 0 = not at all) for background merges to stop
 * changing the segment count before the queries; `--runs R`. Each query prints its median, its first run and the
 * server's CPU per run.
 */

import { DAY, loadNginxDay, parseDayOptions, printMachine, proc, timeQueries } from './nginx-day.js';
import { NginxLogGenerator } from './nginx-generator.js';

async function main(): Promise<void> {
  const o = parseDayOptions(process.argv.slice(2));
  printMachine(o);
  const gen = new NginxLogGenerator(42, DAY);
  const ips = (gen as unknown as { ips: string[] }).ips;
  const needleIp = ips[ips.length - 1]!;
  // A phrase: a whole user agent of moderate frequency (many tokens; only the rows of a page are verified).
  const phrase = (gen as unknown as { agents: string[] }).agents[5]!.replaceAll('"', '\\"');
  const day = await loadNginxDay(o, gen, 'search');
  try {
    const getLogs = (query: string) => async (): Promise<number> => {
      const res = await day.call({
        method: 'GET',
        path: '/logstores/nginx',
        query: { type: 'log', from: String(DAY), to: String(DAY + 86_400), query, line: '100', reverse: 'true' },
      });
      return (JSON.parse(res.body.toString('utf8')) as unknown[]).length;
    };
    await timeQueries(
      [
        [`needle: ${needleIp}`, getLogs(needleIp)],
        ['status:500 (page of 100)', getLogs('status:500')],
        ['status:500 (count)', () => day.count('status:500')],
        ['status >= 500 and method:POST', getLogs('status >= 500 and method:POST')],
        [`phrase "${phrase.slice(0, 30)}…"`, getLogs(`"${phrase}"`)],
        ['prefix request_uri:/orders/9*', getLogs('request_uri:/orders/9*')],
        [
          'histogram * 1 min x 1 day',
          async () => {
            const res = await day.call({
              method: 'GET',
              path: '/logstores/nginx',
              query: { type: 'histogram', from: String(DAY), to: String(DAY + 86_400), query: '*', interval: '60' },
            });
            return (JSON.parse(res.body.toString('utf8')) as unknown[]).length;
          },
        ],
      ],
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

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
