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
let connecting: Promise<DuckDBConnection> | undefined;
const connection = (): Promise<DuckDBConnection> =>
  (connecting ??= DuckDBInstance.create(':memory:', { threads: '1', memory_limit: '1GB' }).then((i) => i.connect()));
let chain: Promise<void> = Promise.resolve();
port.on('message', (msg: { id: number; req?: SidecarRequest; counts?: { segmentPath: string; column: string } }) => {
  chain = chain.then(async () => {
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
});
