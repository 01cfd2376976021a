import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BIGINT, type DuckDBConnection, DuckDBDataChunk, DuckDBInstance, VARCHAR } from '@duckdb/node-api';
import type { ResumePoint, ShardBatch } from '../../consumer/consumer-worker.js';
import { fsyncDir } from '../../meta/embedded/snapshot-file.js';
import { partitionByHour, type Row, TIME_COLUMN } from '../rows.js';
import type { ShipTarget, WriteResult } from './target.js';

export interface ParquetTargetConfig {
  /** Folder the hive partitions are created in. */
  readonly path: string;
  readonly compression: 'zstd' | 'snappy' | 'uncompressed';
}

/** `s<shard>_<fromSeq>_<toSeq>.parquet`: the cursor range `[from, to)` of the shard the file holds. */
const FILE_NAME = /^s(\d+)_(\d+)_(\d+)\.parquet$/;
const TMP_SUFFIX = '.tmp';
/** Rows per DuckDB data chunk (its vector size). */
const CHUNK_ROWS = 2048;

export function parquetFileName(shard: number, from: number, to: number): string {
  return `s${shard}_${from}_${to}.parquet`;
}

/**
 * Parquet files in hive partitions (`<path>/dt=YYYY-MM-DD/hh=HH/`), written with DuckDB: a batch becomes one file
 * per hour it spans, named after the batch's cursor range. Each file is written to a temp name, fsynced and renamed,
 * so a reader never sees half a file, and a batch redone after a crash (same range, same rows) replaces its files
 * instead of adding new ones. Columns: `__time__` (BIGINT, unix seconds), then VARCHAR `__topic__`, `__source__`,
 * `__tag__:<key>` and keys — each file has the columns its rows have; read the folder with `union_by_name`.
 */
export class ParquetTarget implements ShipTarget {
  readonly kind = 'parquet';
  private db: DuckDBInstance | undefined;
  private conn: DuckDBConnection | undefined;
  /** DuckDB calls of one connection run one at a time; shards take turns. */
  private queue: Promise<unknown> = Promise.resolve();
  private seq = 0;

  constructor(private readonly config: ParquetTargetConfig) {}

  async open(): Promise<void> {
    await mkdir(this.config.path, { recursive: true });
    await removeTempFiles(this.config.path);
    this.db = await DuckDBInstance.create(':memory:', { threads: '1' });
    this.conn = await this.db.connect();
  }

  /**
   * Files whose range starts at the checkpoint belong to a batch that was being written when the shipper stopped
   * (the checkpoint moves only after every file of a batch is renamed): redo exactly that range.
   */
  async resume(shard: number, checkpoint: number | undefined): Promise<ResumePoint> {
    const ranges = (await listShardFiles(this.config.path)).filter((f) => f.shard === shard);
    const start = checkpoint ?? Math.min(...ranges.map((r) => r.from));
    const pending = ranges.filter((r) => r.from === start);
    if (pending.length === 0) return {};
    return { from: start, until: Math.max(...pending.map((r) => r.to)) };
  }

  write(batch: ShardBatch, rows: readonly Row[]): Promise<WriteResult> {
    const run = this.queue.then(() => this.writeNow(batch, rows));
    this.queue = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    await this.queue;
    this.conn?.closeSync();
    this.db?.closeSync();
    this.conn = undefined;
    this.db = undefined;
  }

  private async writeNow(batch: ShardBatch, rows: readonly Row[]): Promise<WriteResult> {
    const conn = this.conn;
    if (!conn) throw new Error('parquet target is not open');
    const partitions = partitionByHour(rows);
    const name = parquetFileName(batch.shard, batch.from, batch.to);
    for (const part of partitions) {
      const dir = join(this.config.path, part.path);
      await mkdir(dir, { recursive: true });
      const final = join(dir, name);
      const tmp = `${final}${TMP_SUFFIX}`;
      const table = `batch_${++this.seq}`;
      const columns = uniqueColumnNames(part.columns);
      await conn.run(
        `CREATE TABLE ${table} (${quote(TIME_COLUMN)} BIGINT, ${columns.map((c) => `${quote(c.name)} VARCHAR`).join(', ')})`,
      );
      try {
        const appender = await conn.createAppender(table);
        const types = [BIGINT, ...columns.map(() => VARCHAR)];
        for (let off = 0; off < part.rows.length; off += CHUNK_ROWS) {
          const slice = part.rows.slice(off, off + CHUNK_ROWS);
          const chunk = DuckDBDataChunk.create(types, slice.length);
          chunk.setColumnValues(
            0,
            slice.map((r) => BigInt(r.time)),
          );
          columns.forEach((c, i) => {
            chunk.setColumnValues(
              i + 1,
              slice.map((r) => r.values.get(c.key) ?? null),
            );
          });
          appender.appendDataChunk(chunk);
        }
        appender.flushSync();
        appender.closeSync();
        await conn.run(
          `COPY ${table} TO '${tmp.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION ${this.config.compression})`,
        );
      } finally {
        await conn.run(`DROP TABLE IF EXISTS ${table}`);
      }
      await fsyncFile(tmp);
      await rename(tmp, final);
      await fsyncDir(dir);
    }
    return { rows: rows.length, outputs: partitions.length };
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
  for (const dt of await dirs(root, 'dt=')) {
    for (const hh of await dirs(join(root, dt), 'hh=')) {
      const dir = join(root, dt, hh);
      for (const f of await readdir(dir)) if (f.endsWith(TMP_SUFFIX)) await rm(join(dir, f), { force: true });
    }
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

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * DuckDB column names are case-insensitive, SLS keys are not: `Status` and `status` in one file would collide, so
 * later spellings get a `#2`, `#3`… suffix instead of failing the batch.
 */
function uniqueColumnNames(keys: readonly string[]): { key: string; name: string }[] {
  const taken = new Set<string>([TIME_COLUMN]);
  return keys.map((key) => {
    let name = key;
    for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${key}#${n}`;
    taken.add(name.toLowerCase());
    return { key, name };
  });
}
