/** Shared fixtures for the shard-log tests: temp directories and recognisable payloads. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AppendEntry } from '../../../src/storage/shard-log/shard-log.js';

/** A fresh directory under the OS temp dir, plus a cleanup to call from `after`/`finally`. */
export async function tempDir(prefix = 'sluice-shard-log-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Deterministic bytes derived from `tag`, so a test can check a record's payload by regenerating it. */
export function payloadFor(tag: number, size: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = (tag * 2654435761 + 1) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    buf[i] = x >>> 24;
  }
  return buf;
}

export function entryFor(tag: number, size: number): AppendEntry {
  return { payload: payloadFor(tag, size), codec: 'lz4', rawSize: size * 5 };
}
