/**
 * Looking at shard-log files from outside the server, for the crash suites: where a shard's segment files are and
 * whether the newest one ends in a partial frame. Uses only the documented frame layout (record-codec.ts: a 32-byte
 * header whose bytes 4..8 hold the length of what follows), so it stays valid while the header's other fields evolve.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

const HEADER_BYTES = 32;

/** `<data>/shards/<project>/<logstore>/<id>-<base>/`, per shard id. */
export async function shardDirs(dataDir: string, project: string, logstore: string): Promise<Map<number, string>> {
  const base = join(dataDir, 'shards', project, logstore);
  const out = new Map<number, string>();
  let names: string[];
  try {
    names = await readdir(base);
  } catch {
    return out; // no shard opened yet
  }
  for (const name of names) {
    const m = /^(\d+)-\d+$/.exec(name);
    if (m) out.set(Number(m[1]), join(base, name));
  }
  return out;
}

/** Segment files of one shard directory, oldest first. */
export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * True when the newest segment file of `dir` does not end on a frame boundary: a write was torn by the crash (what
 * recovery must cut). A frame whose length runs past the end counts too. CRCs are not checked.
 */
export async function hasTornTail(dir: string): Promise<boolean> {
  const newest = (await segmentFiles(dir)).at(-1);
  if (newest === undefined) return false;
  const buf = await readFile(newest);
  let at = 0;
  while (at + HEADER_BYTES <= buf.length) {
    const next = at + HEADER_BYTES + buf.readUInt32LE(at + 4);
    if (next > buf.length) return true;
    at = next;
  }
  return at !== buf.length;
}
