import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResumePoint, ShardBatch } from '../../consumer/consumer-worker.js';
import { fsyncDir } from '../../meta/embedded/snapshot-file.js';
import type { DeclaredColumns } from '../rows.js';
import { type ParquetThreadPool, parquetThreadPool } from './parquet-pool.js';
import type { ShipTarget, WriteResult } from './target.js';

export interface ParquetTargetConfig {
  /** Folder the hive partitions are created in. */
  readonly path: string;
  readonly compression: 'zstd' | 'snappy' | 'uncompressed';
}

/** `s<shard>_<fromSeq>_<toSeq>[.<k>].parquet`: the cursor range `[from, to)` of the shard the file holds. */
const FILE_NAME = /^s(\d+)_(\d+)_(\d+)(?:\.\d+)?\.parquet$/;
/**
 * Staging folders of batches being written (`.sluice-tmp-s<shard>_<from>_<to>`): inside the target folder so the
 * final rename stays on one disk, hidden, and one level deeper than the data files, so readers never match them.
 */
const TMP_PREFIX = '.sluice-tmp-';

export function parquetFileName(shard: number, from: number, to: number, part?: number): string {
  return `s${shard}_${from}_${to}${part !== undefined ? `.${part}` : ''}.parquet`;
}

/**
 * Parquet files in hive partitions (`<path>/dt=YYYY-MM-DD/hh=HH/`, UTC log time), written with DuckDB in worker
 * threads (./parquet-thread.ts): a batch
 * becomes one file per hour it spans, named after the batch's cursor range. DuckDB writes them into a staging folder;
 * each is fsynced and renamed into place, so a reader never sees half a file, and a batch redone after a crash (same
 * range, same rows) replaces its files instead of adding new ones. Columns: `__time__` (BIGINT, unix seconds), then
 * VARCHAR `__topic__`, `__source__`, `__tag__:<key>` and keys; each file has the columns of its batch, so read the
 * files (three levels below the folder) with `union_by_name`.
 */
export class ParquetTarget implements ShipTarget {
  readonly kind = 'parquet';
  /** Batches being written; awaited by `close`. */
  private readonly writing = new Set<Promise<unknown>>();
  private opened = false;

  constructor(
    private readonly config: ParquetTargetConfig,
    private readonly pool: ParquetThreadPool = parquetThreadPool(),
  ) {}

  async open(): Promise<void> {
    await mkdir(this.config.path, { recursive: true });
    await removeTempFiles(this.config.path);
    this.pool.retain();
    this.opened = true;
  }

  /**
   * Batches of a shard are written one after another, and a batch starts only once the previous one's files are all
   * in place, so only the newest batch (highest start) can be partly written: redo exactly its range. Unless the
   * checkpoint is past it (its files are complete and checkpointed): then resume at the checkpoint. The files, not
   * the checkpoint alone, decide, so a lost checkpoint (the shipper's consumer group deleted) ships nothing twice.
   */
  async resume(shard: number, checkpoint: number | undefined): Promise<ResumePoint> {
    let from = -1;
    let until = -1;
    // Loops, not Math.max(...spread): a folder can hold more files than a call has room for arguments.
    for (const f of await listShardFiles(this.config.path)) {
      if (f.shard !== shard) continue;
      if (f.from > from) {
        from = f.from;
        until = f.to;
      } else if (f.from === from) until = Math.max(until, f.to);
    }
    if (from < 0 || (checkpoint !== undefined && from < checkpoint)) return {};
    return { from, until };
  }

  write(batch: ShardBatch, declared: DeclaredColumns): Promise<WriteResult> {
    const run = this.writeNow(batch, declared);
    const settled = run.catch(() => {});
    this.writing.add(settled);
    void settled.finally(() => this.writing.delete(settled));
    return run;
  }

  async close(): Promise<void> {
    await Promise.all(this.writing);
    if (this.opened) {
      this.opened = false;
      await this.pool.release();
    }
  }

  private async writeNow(batch: ShardBatch, declared: DeclaredColumns): Promise<WriteResult> {
    const name = parquetFileName(batch.shard, batch.from, batch.to);
    const staging = join(this.config.path, `${TMP_PREFIX}${name.replace(/\.parquet$/, '')}`);
    await rm(staging, { recursive: true, force: true });
    // Decoding and DuckDB run in a worker thread; DuckDB writes the hive folders into the staging folder.
    const rows = await this.pool.stage(
      staging,
      this.config.compression,
      batch.groups.map((g) => g.bytes),
      declared,
    );
    let outputs = 0;
    for (const dtDir of await dirs(staging, 'dt=')) {
      for (const hhDir of await dirs(join(staging, dtDir), 'hh=')) {
        const from = join(staging, dtDir, hhDir);
        const parts = (await readdir(from)).filter((f) => f.endsWith('.parquet')).sort();
        const dir = join(this.config.path, dtDir, hhDir);
        await mkdir(dir, { recursive: true });
        for (const [k, part] of parts.entries()) {
          await fsyncFile(join(from, part));
          // One file per partition is the rule; should DuckDB split one, the parts keep the range and get an index.
          const final = parts.length === 1 ? name : parquetFileName(batch.shard, batch.from, batch.to, k);
          await rename(join(from, part), join(dir, final));
          outputs++;
        }
        await fsyncDir(dir);
      }
    }
    await rm(staging, { recursive: true, force: true });
    return { rows, outputs };
  }
}

export interface ShardFile {
  readonly shard: number;
  readonly from: number;
  readonly to: number;
  readonly path: string;
}

/** Every finished Parquet file under `root` (two levels of partitions), with the range its name says. */
export async function listShardFiles(root: string): Promise<ShardFile[]> {
  const out: ShardFile[] = [];
  for (const dt of await dirs(root, 'dt=')) {
    for (const hh of await dirs(join(root, dt), 'hh=')) {
      const dir = join(root, dt, hh);
      for (const f of await readdir(dir)) {
        const m = FILE_NAME.exec(f);
        if (m) out.push({ shard: Number(m[1]), from: Number(m[2]), to: Number(m[3]), path: join(dir, f) });
      }
    }
  }
  return out;
}

async function dirs(path: string, prefix: string): Promise<string[]> {
  try {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && e.name.startsWith(prefix)).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function removeTempFiles(root: string): Promise<void> {
  for (const entry of await readdir(root)) {
    if (entry.startsWith(TMP_PREFIX)) await rm(join(root, entry), { recursive: true, force: true });
  }
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
