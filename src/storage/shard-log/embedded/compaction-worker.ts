import { parentPort, workerData } from 'node:worker_threads';
import { type CompactionRequest, compactFile, lowerThreadPriority } from './compaction.js';

/** Worker-thread entry: one compaction (compaction.ts), then the thread ends. */
lowerThreadPriority();
try {
  parentPort!.postMessage({ ok: true, result: compactFile(workerData as CompactionRequest) });
} catch (err) {
  parentPort!.postMessage({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
}
