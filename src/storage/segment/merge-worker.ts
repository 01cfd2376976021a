import { parentPort } from 'node:worker_threads';
import { mergeSegments } from './segment-merge.js';
import { SegmentReader } from './segment-reader.js';

/**
 * Worker-thread entry: merges segment files into one. A merge recompresses every column and re-encodes every
 * posting list of its inputs (seconds of CPU for a million rows); here it never blocks the event loop that acknowledges
 * writes and answers queries. Inputs are opened read-only; the output is written atomically.
 */
export interface MergeRequest {
  readonly inputs: readonly string[];
  readonly output: string;
  readonly id: string;
  readonly configVersion: number;
  /** zstd level of the output's times and row groups (default: the writer's, 3). */
  readonly level?: number;
}

parentPort?.on('message', (req: MergeRequest) => {
  const readers: SegmentReader[] = [];
  try {
    for (const path of req.inputs) readers.push(SegmentReader.open(path));
    mergeSegments(readers, req.output, req.id, req.configVersion, req.level === undefined ? {} : { level: req.level });
    parentPort!.postMessage({ ok: true });
  } catch (err) {
    parentPort!.postMessage({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  } finally {
    for (const r of readers) r.close();
  }
});
