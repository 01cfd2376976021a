import { read } from 'node:fs';

/**
 * Reads the row groups of a page side by side. A page of a rare term is one 128-row group per row, each a `pread`
 * of ~5 KB; the kernel's DAMON reclaim keeps part of the segment files out of the page cache, and a group read from
 * disk costs ~200-400 µs. On the event loop they ran one after the other. Here every group of the page (of every
 * segment: requests made in one tick go together) is read at once on libuv's thread pool (16 threads in the server,
 * see bin/sluice.js), and each is decoded on the event loop as soon as its bytes arrive, while the others still wait
 * for the disk.
 *
 * Decoding on worker threads as well was measured and not kept (docs/benchmarks.md, Search, "Page reads side by
 * side"): on these 2 cores it cost ~5 ms more server CPU per distinct needle for no shorter answer. This is now the
 * path where the addon's page-row reader (native-rows.ts) is not built: that one reads, decodes and walks a segment's
 * groups of a page in one job on the pool, with no JS object per group (a distinct needle over the bench day: ~14.5 ->
 * ~6 ms of CPU in one process, docs/benchmarks.md).
 */
export interface GroupRead {
  readonly fd: number;
  readonly off: number;
  readonly len: number;
  /** Decodes the group from its compressed bytes (valid during the call). */
  readonly decode: (span: Buffer) => void;
}

interface Pending {
  readonly job: GroupRead;
  readonly done: () => void;
  readonly fail: (err: Error) => void;
}

let queued: Pending[] = [];

/**
 * Reads `job`'s bytes and decodes them; resolves once decoded, rejects if the read or the decode failed. The file
 * descriptor must stay open until the promise settles (it settles only after its read ended).
 */
export function readGroup(job: GroupRead): Promise<void> {
  return new Promise((done, fail) => {
    if (queued.length === 0) queueMicrotask(flush);
    queued.push({ job, done, fail });
  });
}

function flush(): void {
  const items = queued;
  queued = [];
  let total = 0;
  for (const p of items) total += p.job.len;
  // One buffer for the batch: a page is ~100 groups of ~5 KB.
  const input = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const p of items) {
    const { fd, off, len } = p.job;
    const start = pos;
    pos += len;
    const more = (done: number): void => {
      read(fd, input, start + done, len - done, off + done, (err, got) => {
        if (err || got === 0) return p.fail(err ?? new Error(`row group at ${off} is truncated at ${off + done}`));
        if (done + got < len) return more(done + got);
        try {
          p.job.decode(input.subarray(start, start + len));
          p.done();
        } catch (e) {
          p.fail(e instanceof Error ? e : new Error(String(e)));
        }
      });
    };
    more(0);
  }
}
