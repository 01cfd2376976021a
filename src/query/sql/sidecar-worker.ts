import { parentPort } from 'node:worker_threads';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { SegmentReader } from '../../storage/segment/segment-reader.js';
import { buildSidecar, type SidecarRequest } from './sidecar-build.js';
import { computeValueCounts } from './value-counts.js';

/**
 * Builds Parquet sidecars off the event loop: decoding a segment's columns and appending them to DuckDB costs about
 * a second per 500k rows, which must not stall queries and ingestion on the main thread.
 */
const port = parentPort;
if (!port) throw new Error('sidecar-worker must run as a worker thread');
// One thread and a bounded memory: building copies is background work beside queries and ingestion. Opened on
// the first copy (a worker that only counts values never opens it).
let instance: DuckDBInstance | undefined;
let connecting: Promise<DuckDBConnection> | undefined;
const connection = (): Promise<DuckDBConnection> =>
  (connecting ??= DuckDBInstance.create(':memory:', { threads: '1', memory_limit: '1GB' }).then((i) => {
    instance = i;
    return i.connect();
  }));
let chain: Promise<void> = Promise.resolve();
/**
 * Set by a `close` message: jobs still queued are refused, the one running finishes, then DuckDB is closed here.
 * Terminating the thread while DuckDB or zstd run native code can abort the whole process.
 */
let closing = false;
port.on(
  'message',
  (msg: { id: number; close?: true; req?: SidecarRequest; counts?: { segmentPath: string; column: string } }) => {
    if (msg.close) {
      closing = true;
      chain = chain.then(async () => {
        try {
          if (connecting) (await connecting).closeSync();
          instance?.closeSync();
        } catch {}
        port.postMessage({ id: msg.id, closed: true });
      });
      return;
    }
    chain = chain.then(async () => {
      if (closing) {
        port.postMessage({ id: msg.id, error: 'the SQL engine is closing' });
        return;
      }
      try {
        if (msg.counts) {
          // Per-segment value counts of a text column (value-counts.ts), also off the event loop.
          const seg = SegmentReader.open(msg.counts.segmentPath);
          try {
            const counts = computeValueCounts(seg, msg.counts.column);
            const transfer = [counts.counts.buffer, counts.singleHashes.buffer, counts.singleRows.buffer];
            if (counts.codes) transfer.push(counts.codes.buffer);
            port.postMessage({ id: msg.id, counts }, transfer as ArrayBuffer[]);
          } finally {
            seg.close();
          }
          return;
        }
        await buildSidecar(await connection(), msg.req!);
        port.postMessage({ id: msg.id });
      } catch (err) {
        port.postMessage({ id: msg.id, error: String((err as Error)?.message ?? err) });
      }
    });
  },
);
