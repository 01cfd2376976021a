/**
 * Child process for the shard-log crash test: opens the log in argv[2] (fsync on), then several workers append in a
 * loop and print `ack <seq> <tag> <size>` for each record only after its append resolved. The parent kills it with
 * SIGKILL at an arbitrary moment and checks every acknowledged record survived. Bounded: each worker stops after
 * argv[4] appends. stdout is a pipe, which Node writes synchronously on Linux, so a printed ack is never lost.
 *
 * Usage: node dist/test/helpers/shard-log-appender.js <dir> <maxFileBytes> <appendsPerWorker> <workers>
 */
import { openFileShardLog } from '../../src/storage/shard-log/embedded/mod.js';
import { entryFor } from '../unit/storage/shard-log-fixtures.js';

const [dir, maxFileBytes, appendsPerWorker, workers] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: shard-log-appender <dir> <maxFileBytes> <appendsPerWorker> <workers>');

const log = await openFileShardLog(dir, { maxFileBytes: Number(maxFileBytes ?? 65536) });
process.stdout.write(`ready ${log.endSeq()}\n`);

async function worker(id: number): Promise<void> {
  for (let i = 0; i < Number(appendsPerWorker ?? 1000); i++) {
    // Tags are unique across runs of this helper: pid in the high part.
    const tag = (process.pid % 10_000) * 100_000_000 + id * 1_000_000 + i;
    const count = 1 + (i % 3);
    const sizes = Array.from({ length: count }, (_, k) => 50 + (((tag + k) * 7919) % 30_000));
    const first = await log.append(sizes.map((size, k) => entryFor(tag * 4 + k, size)));
    process.stdout.write(sizes.map((size, k) => `ack ${first + k} ${tag * 4 + k} ${size}\n`).join(''));
  }
}

await Promise.all(Array.from({ length: Number(workers ?? 4) }, (_, id) => worker(id)));
await log.close();
process.stdout.write('done\n');
