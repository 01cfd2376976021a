/**
 * Writes bench:search's day (the same seed, bodies and sources) as files another engine can load, so that its load
 * time, disk and query latency compare with Sluice's on the very same logs:
 *
 *   node dist/bench/nginx-export.js DIR [--logs N]
 *
 * - `DIR/logs.tsv`: one row per log, tab-separated: time (unix s), topic, source, the `__hostname__` tag, then the
 *   values of the generator's keys in their order (remote_addr … upstream_response_time); `\t`, `\n`, `\\` escaped
 *   as ClickHouse's TabSeparated reads them.
 * - `DIR/access.log`: the same logs as nginx access-log lines (`accessLine`), the text they came from.
 *
 * docs/benchmarks.md (session 13) loads both into Debian's ClickHouse 18 with the commands it lists.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DAY } from './nginx-day.js';
import { accessLine, NginxLogGenerator } from './nginx-generator.js';

const BATCH = 4096;

function escapeTsv(value: string): string {
  return value.replace(/[\\\t\n]/g, (c) => (c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\\\'));
}

async function write(stream: WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dir = args[0];
  if (dir === undefined || dir.startsWith('--')) throw new Error('usage: nginx-export.js DIR [--logs N]');
  const at = args.indexOf('--logs');
  const logs = at >= 0 ? Number(args[at + 1]) : 5_000_000;
  if (!Number.isSafeInteger(logs) || logs <= 0)
    throw new Error(`--logs must be a positive integer, got ${args[at + 1]}`);
  await mkdir(dir, { recursive: true });
  const gen = new NginxLogGenerator(42, DAY);
  const tsv = createWriteStream(join(dir, 'logs.tsv'));
  const text = createWriteStream(join(dir, 'access.log'));
  let tsvBytes = 0;
  let textBytes = 0;
  // The same bodies as loadNginxDay: BATCH logs each, the source numbered by body.
  for (let left = logs, i = 0; left > 0; left -= BATCH, i++) {
    const group = gen.group(Math.min(BATCH, left), `10.0.${(i >> 8) & 255}.${i & 255}`);
    const tag = group.tags[0]?.value ?? '';
    let rows = '';
    let lines = '';
    for (const log of group.logs) {
      const values = log.contents.map((c) => escapeTsv(c.value));
      rows += `${[String(log.time), group.topic ?? '', group.source ?? '', tag, ...values].join('\t')}\n`;
      lines += `${accessLine(log)}\n`;
    }
    tsvBytes += Buffer.byteLength(rows);
    textBytes += Buffer.byteLength(lines);
    await write(tsv, rows);
    await write(text, lines);
  }
  await Promise.all([new Promise((resolve) => tsv.end(resolve)), new Promise((resolve) => text.end(resolve))]);
  console.log(
    `${logs.toLocaleString('en-US')} logs: ${join(dir, 'logs.tsv')} ${(tsvBytes / 1e9).toFixed(3)} GB, ` +
      `${join(dir, 'access.log')} ${(textBytes / 1e9).toFixed(3)} GB`,
  );
}

await main();
