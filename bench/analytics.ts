/**
 * bench:analytics — `search | SQL` latency on a running server over the generated nginx day.
 *
 * What it measures: a real `sluice serve` child process (default config) with an index on an nginx logstore (status,
 * body_bytes_sent long; request_time double; method, request_uri text). It loads `--logs` generated logs (the seeded
 * generator of bench:ingest/bench:search, one day of timestamps) as LZ4 PutLogs, waits until all are searchable and
 * merges settle, then runs the five statements of issue 4 through GetLogs v1 `--runs` times each and prints the
 * median, the first run (which also builds the Parquet sidecars of the sealed segments, once) and the result size.
 *
 * How to run: `npm run bench:analytics` (5,000,000 logs) or `npm run bench:analytics -- --logs 1000000`.
 * Needs: this repo built; ~1.5 GB of free disk in the temp folder (removed afterwards).
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
  const day = await loadNginxDay(o, new NginxLogGenerator(42, DAY), 'analytics');
  try {
    const sql = (query: string) => async (): Promise<number> => {
      const res = await day.call({
        method: 'GET',
        path: '/logstores/nginx',
        query: { type: 'log', from: String(DAY), to: String(DAY + 86_400), query },
      });
      if (res.status !== 200) throw new Error(`${query}: ${res.status} ${res.body.toString('utf8')}`);
      return (JSON.parse(res.body.toString('utf8')) as unknown[]).length;
    };
    await timeQueries(
      [
        ['group by status', sql('* | select status, count(*) as c group by status')],
        ['top 10 paths', sql('* | select request_uri, count(*) as c group by request_uri order by c desc limit 10')],
        [
          'per-minute count (date_trunc)',
          sql("* | select date_trunc('minute', __time__) as t, count(*) as c group by t order by t limit 1440"),
        ],
        [
          'p99 request_time by method',
          sql('* | select method, approx_percentile(request_time, 0.99) as p99 group by method'),
        ],
        ['status:500 | count(*)', sql('status:500 | select count(*) as c')],
        ['status:500 | group by method', sql('status:500 | select method, count(*) as c group by method')],
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
