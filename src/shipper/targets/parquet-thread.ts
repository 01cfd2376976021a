/**
 * Worker-thread entry of the Parquet target: decodes a batch's LogGroups, turns them into columns and stages them as
 * Parquet with its own DuckDB. These steps are CPU-bound JavaScript (decode, columns, DuckDB appends); in worker
 * threads, batches of different shards use every core instead of queueing on the server's main thread.
 */
import { parentPort } from 'node:worker_threads';
import { DuckDBInstance } from '@duckdb/node-api';
import { decodeLogGroup } from '../../protocol/log-group.js';
import { type NumericType, toColumns } from '../rows.js';
import { stageParquet } from './parquet-stage.js';

export interface StageJob {
  readonly id: number;
  readonly staging: string;
  readonly compression: string;
  /** Serialized LogGroups. */
  readonly groups: readonly Uint8Array[];
  /** Keys the index config declares, with their types. */
  readonly declared: readonly (readonly [string, NumericType | 'text'])[];
}

/** Asks the thread to close its DuckDB and end: a thread with an open DuckDB keeps the process from exiting. */
export interface CloseMessage {
  readonly type: 'close';
}

export type StageResult =
  | { readonly id: number; readonly rows: number }
  | { readonly id: number; readonly error: string };

const port = parentPort;
if (!port) throw new Error('parquet-thread.js runs as a worker thread');
// One thread per DuckDB: the pool runs one worker per core.
const db = await DuckDBInstance.create(':memory:', { threads: '1' });

let running: Promise<unknown> = Promise.resolve();
port.on('message', (message: StageJob | CloseMessage) => {
  if ('type' in message) {
    void running.then(() => {
      db.closeSync();
      port.close();
    });
    return;
  }
  running = run(message).then((result) => port.postMessage(result));
});

async function run(job: StageJob): Promise<StageResult> {
  try {
    const data = toColumns(
      job.groups.map((bytes) => ({ group: decodeLogGroup(bytes) })),
      new Map(job.declared),
    );
    const conn = await db.connect();
    try {
      await stageParquet(conn, data, job.staging, job.compression);
    } finally {
      conn.closeSync();
    }
    return { id: job.id, rows: data.count };
  } catch (err) {
    return { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
}
