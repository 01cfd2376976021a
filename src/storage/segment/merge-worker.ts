import { parentPort } from 'node:worker_threads';
import { mergeSegments } from './segment-merge.js';
import { damagedSegments, SegmentReader } from './segment-reader.js';

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
}

/** Which of these segment files are damaged (damagedSegments): a query met damaged bytes in their logstore. */
export interface VerifyRequest {
  readonly verify: readonly string[];
}

/** What a merge did: merged, or not because these inputs are damaged (damagedSegments); or what a check found. */
export interface MergeReply {
  readonly damaged: readonly string[];
}

parentPort?.on('message', (req: MergeRequest | VerifyRequest) => {
  if ('verify' in req) {
    try {
      parentPort!.postMessage({ ok: true, damaged: damagedSegments(req.verify) });
    } catch (err) {
      fail(err);
    }
    return;
  }
  const readers: SegmentReader[] = [];
  let failure: unknown;
  try {
    for (const path of req.inputs) readers.push(SegmentReader.open(path));
    mergeSegments(readers, req.output, req.id, req.configVersion);
  } catch (err) {
    failure = err;
  } finally {
    for (const r of readers) r.close();
  }
  if (failure === undefined) {
    parentPort!.postMessage({ ok: true, damaged: [] });
    return;
  }
  try {
    // Damaged inputs are answered as such (the index moves them aside); any other failure is an error.
    const damaged = damagedSegments(req.inputs);
    if (damaged.length > 0) {
      parentPort!.postMessage({ ok: true, damaged });
      return;
    }
  } catch {
    // The check failed as the merge did: report the merge's own error.
  }
  fail(failure);
});

function fail(err: unknown): void {
  parentPort!.postMessage({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
}
