import type { Worker } from 'node:worker_threads';

/** A worker's answer to one request: `ok` with its fields, or the error it caught. */
export type WorkerReply<T extends object> =
  | ({ readonly ok: true } & T)
  | { readonly ok: false; readonly error: string };

/**
 * Posts `message` to `worker` and waits for its one reply (the worker answers requests one at a time). A reply with
 * `ok: false` rejects with `failed` + its error; a worker that errors or exits before answering rejects too, after
 * `gone()` lets the caller drop it. While the request is out, the 'message' listener holds the process even if the
 * worker is unref'd, so a caller awaiting it (a closing shard log, a merge) is not left behind by an exiting loop.
 */
export function callWorker<T extends object>(
  worker: Worker,
  message: unknown,
  failed: string,
  gone: () => void,
): Promise<{ readonly ok: true } & T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: WorkerReply<T>): void => {
      cleanup();
      if (m.ok) resolve(m);
      else reject(new Error(`${failed}: ${m.error}`));
    };
    const onError = (err: Error): void => {
      cleanup();
      gone();
      reject(err);
    };
    const onExit = (code: number): void => {
      cleanup();
      gone();
      reject(new Error(`${failed}: the worker exited with code ${code}`));
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(message);
  });
}
