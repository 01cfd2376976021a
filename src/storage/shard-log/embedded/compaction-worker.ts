import { parentPort } from 'node:worker_threads';
import { type CompactionRequest, compactFile, lowerThreadPriority, newScratch } from './compaction.js';

/** Worker-thread entry: rewrites (compaction.ts) one at a time as they are posted, with one set of buffers. */
lowerThreadPriority();
const scratch = newScratch();
parentPort!.on('message', (req: CompactionRequest) => {
  try {
    parentPort!.postMessage({ ok: true, result: compactFile(req, scratch) });
  } catch (err) {
    parentPort!.postMessage({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
