/**
 * Embedded shard log, whole-operation benchmark: N concurrent appenders write 40–400 KB records (the size of
 * compressed PutLogs bodies) to a few shards with fsync on, for a fixed time. Then it measures what the server depends
 * on next: reopening those shards (recovery), sequential reads, and positioning reads at random cursors.
 *
 * Prints appends/s, payload MB/s, fsyncs/s, append latency p50/p99/max, and the machine. The server's target is
 * ≥150 MB/s of raw logs acknowledged durably; stored compressed (~4–6x), that needs well over 40 MB/s of payload here.
 *
 * `--ids` gives every append an idempotency id shaped like the agent's (`sl1-<file identity>-<start>-<end>`, ~50
 * characters), to measure what ids cost: frame bytes, the id map, sidecars that list them, reopen.
 *
 * Run:  npx tsc -p tsconfig.json && node dist/bench/storage-shard-log.js [--shards 3] [--appenders 24]
 *         [--seconds 10] [--min-kb 40] [--max-kb 400] [--dir <parent dir>] [--no-fsync] [--ids] [--keep]
 * Needs: a few GB free under the parent dir (default the OS temp dir); everything written is removed unless --keep.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type FileShardLog, openFileShardLog } from '../src/storage/shard-log/embedded/mod.js';
import type { AppendEntry } from '../src/storage/shard-log/shard-log.js';

const { values: args } = parseArgs({
  options: {
    shards: { type: 'string', default: '3' },
    appenders: { type: 'string', default: '24' },
    seconds: { type: 'string', default: '10' },
    'min-kb': { type: 'string', default: '40' },
    'max-kb': { type: 'string', default: '400' },
    dir: { type: 'string', default: os.tmpdir() },
    'no-fsync': { type: 'boolean', default: false },
    ids: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

const shards = Number(args.shards);
const appenders = Number(args.appenders);
const seconds = Number(args.seconds);
const minBytes = Number(args['min-kb']) * 1024;
const maxBytes = Number(args['max-kb']) * 1024;
const fsync = !args['no-fsync'];
const withIds = args.ids;
const MB = 1024 * 1024;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}

// Random bytes stand in for compressed payloads (incompressible, like LZ4 output). A pool of 64 reused buffers keeps
// generation out of the measurement; the log never mutates payloads.
const pool: AppendEntry[] = Array.from({ length: 64 }, () => {
  const size = Math.round(minBytes + Math.random() * (maxBytes - minBytes));
  return { payload: randomBytes(size), codec: 'lz4', rawSize: size * 5 };
});

const root = await mkdtemp(path.join(args.dir, 'sluice-bench-shard-log-'));
const dirs = Array.from({ length: shards }, (_, i) => path.join(root, `shard-${i}`));

console.log(
  `machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, ${fmt(os.totalmem() / 2 ** 30)} GiB RAM, ` +
    `Node ${process.version}, ${os.platform()} ${os.release()}, load avg ${os
      .loadavg()
      .map((l) => fmt(l, 2))
      .join(' ')}`,
);
console.log(
  `config: ${shards} shards, ${appenders} concurrent appenders, records ${minBytes / 1024}-${maxBytes / 1024} KB, ` +
    `${seconds} s, fsync ${fsync ? 'on' : 'OFF'}, idempotency ids ${withIds ? 'on' : 'off'}, dir ${root}`,
);

try {
  let logs: FileShardLog[] = await Promise.all(dirs.map((dir) => openFileShardLog(dir, { fsync })));

  // --- append phase
  const latencies: number[] = [];
  let payloadBytes = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: appenders }, async (_, id) => {
      const log = logs[id % shards]!;
      let k = id;
      let offset = 0;
      while (performance.now() < deadline) {
        const entry = pool[k++ % pool.length]!;
        const t0 = performance.now();
        if (withIds) {
          const end = offset + entry.rawSize;
          await log.append([
            { ...entry, idempotencyId: `sl1-2049:${1_300_000 + id}:9f86d081884c7d65-${offset}-${end}` },
          ]);
          offset = end;
        } else await log.append([entry]);
        latencies.push(performance.now() - t0);
        payloadBytes += entry.payload.length;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const fsyncs = logs.reduce((sum, log) => sum + log.stats().fsyncs, 0);
  const diskBytes = logs.reduce((sum, log) => sum + log.stats().bytes, 0);
  latencies.sort((a, b) => a - b);
  console.log('\nappend (durable acknowledgements):');
  console.log(`  appends/s      ${fmt(latencies.length / elapsed, 0)}  (${latencies.length} in ${fmt(elapsed, 2)} s)`);
  console.log(
    `  payload MB/s   ${fmt(payloadBytes / MB / elapsed)}  (= ~${fmt((5 * payloadBytes) / MB / elapsed, 0)} MB/s raw at 5x)`,
  );
  console.log(
    `  fsyncs/s       ${fmt(fsyncs / elapsed, 0)}  (${fmt(latencies.length / Math.max(1, fsyncs), 1)} appends per fsync)`,
  );
  console.log(
    `  latency ms     p50 ${fmt(percentile(latencies, 50), 2)}  p99 ${fmt(percentile(latencies, 99), 2)}  ` +
      `max ${fmt(latencies.at(-1) ?? Number.NaN, 2)}`,
  );
  console.log(`  process CPU    ${fmt((cpu.user + cpu.system) / 1e6 / elapsed, 2)} cores`);
  console.log(`  on disk        ${fmt(diskBytes / MB, 0)} MB in ${shards} shards`);

  // --- reopen phase: what a restart costs with this much data
  await Promise.all(logs.map((log) => log.close()));
  logs = [];
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const reopenStarted = performance.now();
  logs = await Promise.all(dirs.map((dir) => openFileShardLog(dir, { fsync })));
  const reopenMs = performance.now() - reopenStarted;
  globalThis.gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  const indexed = logs.reduce((sum, log) => sum + log.recovery.indexedFiles, 0);
  const scanned = logs.reduce((sum, log) => sum + log.recovery.scannedFiles, 0);
  const scannedBytes = logs.reduce((sum, log) => sum + log.recovery.scannedBytes, 0);
  console.log('\nreopen:');
  console.log(
    `  ${fmt(reopenMs, 0)} ms for ${fmt(diskBytes / MB, 0)} MB: ${indexed} sealed files via sidecar, ` +
      `${scanned} active files scanned (${fmt(scannedBytes / MB, 0)} MB)`,
  );
  if (globalThis.gc) console.log(`  heap held by the reopened logs: ${fmt((heapAfter - heapBefore) / MB, 2)} MB`);
  let sidecarBytes = 0;
  for (const dir of dirs) {
    for (const name of await readdir(dir))
      if (name.endsWith('.idx')) sidecarBytes += (await stat(path.join(dir, name))).size;
  }
  console.log(`  sidecars       ${fmt(sidecarBytes / 1024, 1)} KiB in all`);

  // --- worst case: every sidecar lost, so every file is scanned and CRC-checked
  await Promise.all(logs.map((l) => l.close()));
  for (const dir of dirs) {
    for (const name of await readdir(dir)) if (name.endsWith('.idx')) await rm(path.join(dir, name));
  }
  const scanStarted = performance.now();
  logs = await Promise.all(dirs.map((dir) => openFileShardLog(dir, { fsync })));
  const scanMs = performance.now() - scanStarted;
  const fullyScanned = logs.reduce((sum, l) => sum + l.recovery.scannedBytes, 0);
  console.log(
    `  ${fmt(scanMs, 0)} ms with every sidecar deleted (${fmt(fullyScanned / MB, 0)} MB scanned, ` +
      `${fmt(fullyScanned / MB / (scanMs / 1000), 0)} MB/s; page cache warm)`,
  );

  // --- read phase: one shard, sequentially, the way a consumer pulls
  const log = logs[0]!;
  let readBytes = 0;
  const readStarted = performance.now();
  for (let seq = log.beginSeq(); seq < log.endSeq(); ) {
    const batch = await log.read(seq, { maxCount: 1000, maxBytes: 8 * MB });
    for (const record of batch) readBytes += record.payload.length;
    seq += batch.length;
  }
  const readSeconds = (performance.now() - readStarted) / 1000;
  console.log('\nread (shard 0, sequential, 8 MB per call, CRC verified; page cache warm):');
  console.log(`  ${fmt(readBytes / MB / readSeconds, 0)} MB/s  (${fmt(readBytes / MB, 0)} MB)`);

  // --- positioning: one record at a random cursor, and seqAtTime at a random time
  const samples = 2000;
  const positionLatencies: number[] = [];
  const span = log.endSeq() - log.beginSeq();
  for (let i = 0; i < samples; i++) {
    const seq = log.beginSeq() + Math.floor(Math.random() * span);
    const t0 = performance.now();
    await log.read(seq, { maxCount: 1, maxBytes: 1 });
    positionLatencies.push(performance.now() - t0);
  }
  positionLatencies.sort((a, b) => a - b);
  const firstTime = await log.timeOfSeq(log.beginSeq());
  const lastTime = await log.timeOfSeq(log.endSeq() - 1);
  const timeLatencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await log.seqAtTime(firstTime + Math.random() * (lastTime - firstTime));
    timeLatencies.push(performance.now() - t0);
  }
  timeLatencies.sort((a, b) => a - b);
  console.log(`\npositioning (shard 0, ${span} records, ${samples} samples each):`);
  console.log(
    `  read 1 record at a random seq   p50 ${fmt(percentile(positionLatencies, 50), 3)} ms  p99 ${fmt(percentile(positionLatencies, 99), 3)} ms`,
  );
  console.log(
    `  seqAtTime at a random time      p50 ${fmt(percentile(timeLatencies, 50), 3)} ms  p99 ${fmt(percentile(timeLatencies, 99), 3)} ms`,
  );
  await Promise.all(logs.map((l) => l.close()));
} finally {
  if (!args.keep) await rm(root, { recursive: true, force: true });
}
