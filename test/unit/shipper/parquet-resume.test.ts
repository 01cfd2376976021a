/**
 * Where a Parquet shipper resumes a shard after a crash: the files named after cursor ranges say whether the batch
 * starting at the checkpoint was (partly) written, and then exactly its range is redone, so rewritten files replace
 * the old ones instead of adding rows twice.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { listShardFiles, ParquetTarget, parquetFileName } from '../../../src/shipper/targets/parquet-target.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function folder(files: readonly [string, string, number, number, number][]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'sluice-resume-'));
  dirs.push(root);
  for (const [dt, hh, shard, from, to] of files) {
    await mkdir(join(root, `dt=${dt}`, `hh=${hh}`), { recursive: true });
    await writeFile(join(root, `dt=${dt}`, `hh=${hh}`, parquetFileName(shard, from, to)), '');
  }
  return root;
}

test('committed batches only: resume at the checkpoint', async () => {
  const root = await folder([
    ['2025-01-01', '00', 0, 100, 110],
    ['2025-01-01', '01', 0, 110, 120],
  ]);
  const target = new ParquetTarget({ path: root, compression: 'zstd' });
  assert.deepEqual(await target.resume(0, 120), {});
});

test('a batch written (in two partitions) but not checkpointed: redo exactly its range', async () => {
  const root = await folder([
    ['2025-01-01', '00', 0, 100, 110],
    ['2025-01-01', '01', 0, 110, 125],
    ['2025-01-01', '02', 0, 110, 125],
    ['2025-01-01', '02', 1, 110, 999],
  ]);
  const target = new ParquetTarget({ path: root, compression: 'zstd' });
  assert.deepEqual(await target.resume(0, 110), { from: 110, until: 125 });
  // A checkpoint behind the files (lost, or the group recreated): the newest batch is redone, nothing before it.
  assert.deepEqual(await target.resume(0, 100), { from: 110, until: 125 });
  // Never checkpointed at all: the lowest batch is the pending one.
  assert.deepEqual(await target.resume(1, undefined), { from: 110, until: 999 });
  assert.deepEqual(await target.resume(2, undefined), {});
});

test('file names carry shard and range; staging folders and other files are not listed', async () => {
  const root = await folder([['2025-01-01', '00', 3, 7, 9]]);
  await mkdir(join(root, '.sluice-tmp-s3_9_12', 'dt=2025-01-01', 'hh=00'), { recursive: true });
  await writeFile(join(root, 'dt=2025-01-01', 'hh=00', 'notes.txt'), '');
  await writeFile(join(root, 'dt=2025-01-01', 'hh=00', parquetFileName(3, 9, 12, 1)), '');
  const files = (await listShardFiles(root)).map((f) => [f.shard, f.from, f.to]).sort();
  assert.deepEqual(files, [
    [3, 7, 9],
    [3, 9, 12],
  ]);
});
