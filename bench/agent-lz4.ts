/**
 * bench/agent-lz4 — the agent's two hot native calls alone, per MB of line-mode input: LZ4 block compression of a
 * LogGroup at several accelerations (CPU and ratio, against the `lz4` package's LZ4_compress_default), and line
 * framing (split + LogGroup bytes) in JS against the addon's `frameLines`.
 *
 * How to run: `node dist/bench/agent-lz4.js --input /tmp/agent-5m.log [--accelerations 1,2,4,8,16]` (the file of
 * `bench:agent --input`, or any file of log lines of a few MB or more). CPU is `process.cpuUsage` of this process;
 * run it under the bench lock, as the other benchmarks. Needs the `sluice-lz4` addon built (native/lz4).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { LogGroupWriter } from '../src/agent/batch/log-group-writer.js';
import { sluiceNative } from '../src/agent/native-addon.js';
import { splitEntries } from '../src/agent/tail/entry-splitter.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const input = option('--input', '/tmp/agent-5m.log');
const accelerations = option('--accelerations', '1,2,4,8,12,16').split(',').map(Number);
const addon = sluiceNative();
if (addon === undefined)
  throw new Error('the sluice-lz4 addon is not built (npm ci, or node-gyp rebuild in native/lz4)');

// Eight ~1 MB LogGroups of 4,096 lines each from spread-out places of the file, as the agent cuts them.
const fd = openSync(input, 'r');
const groups: Buffer[] = [];
const chunks: Buffer[] = [];
for (let g = 0; g < 8; g++) {
  const src = Buffer.alloc(1200 * 1024);
  const n = readSync(fd, src, 0, src.length, g * 50_000_000);
  let s = src.indexOf(10) + 1;
  const w = new LogGroupWriter();
  for (let k = 0; k < 4096; k++) {
    const e = src.indexOf(10, s);
    if (e < 0 || e >= n) break;
    w.addRaw(1_763_800_000, src, s, e);
    s = e + 1;
  }
  groups.push(Buffer.from(w.finish('', '10.0.0.1', [['__path__', '/var/log/app.log']])));
  chunks.push(src.subarray(0, s));
}
closeSync(fd);
const total = groups.reduce((a, g) => a + g.length, 0);
const out = Buffer.alloc(4 * 1024 * 1024);
const reference = createRequire(import.meta.url)('lz4/build/Release/lz4.node') as {
  compress(i: Buffer, o: Buffer, s: number, e: number): number;
};

function perMb(bytesPerRep: number, reps: number, fn: () => number): { ms: number; out: number } {
  let produced = 0;
  const t = process.cpuUsage();
  for (let r = 0; r < reps; r++) produced += fn();
  const c = process.cpuUsage(t);
  return { ms: (c.user + c.system) / 1000 / ((reps * bytesPerRep) / 1e6), out: produced / reps };
}

for (let round = 0; round < 3; round++) {
  const ref = perMb(total, 20, () => groups.reduce((a, g) => a + reference.compress(g, out, 0, out.length), 0));
  const cells = [`LZ4_compress_default ${ref.ms.toFixed(3)} ms/MB ratio ${(total / ref.out).toFixed(2)}`];
  for (const a of accelerations) {
    const r = perMb(total, 20, () => groups.reduce((s, g) => s + addon.compress(g, out, 0, out.length, a), 0));
    cells.push(`a${a} ${r.ms.toFixed(3)} ms/MB ratio ${(total / r.out).toFixed(2)}`);
  }
  console.log(cells.join(' | '));
}

const raw = chunks.reduce((a, c) => a + c.length, 0);
const limit = 2 * 1024 * 1024;
const arena = Buffer.alloc(limit + 1300 * 1024);
const src = arena.subarray(limit);
const frameJs = (): number =>
  chunks.reduce((a, c) => {
    c.copy(src);
    const w = LogGroupWriter.inArena(arena, limit);
    splitEntries(src, c.length, false, { beginRegex: undefined, maxEntryBytes: 512 * 1024 }, (s, e) =>
      w.addRaw(1_763_800_000, src, s, e),
    );
    return a + w.finish('', 'h', []).length;
  }, 0);
const frameNative = (): number =>
  chunks.reduce((a, c) => {
    c.copy(src);
    const w = LogGroupWriter.inArena(arena, limit);
    w.addLines(1_763_800_000, src, c.length, false, 512 * 1024, Number.MAX_SAFE_INTEGER); // no 4,096 cap: as frameJs
    return a + w.finish('', 'h', []).length;
  }, 0);
if (frameJs() !== frameNative()) throw new Error('framing: JS and addon disagree');
for (let round = 0; round < 3; round++) {
  const js = perMb(raw, 40, frameJs);
  const native = perMb(raw, 40, frameNative);
  console.log(
    `framing (incl. a 1 MB copy per chunk): JS ${js.ms.toFixed(3)} ms/MB | addon ${native.ms.toFixed(3)} ms/MB`,
  );
}
