/**
 * A damaged segment file must not hang a reader, a query or a merge. Segments are written by Sluice itself and
 * rebuildable from the shard log, so the reader does not checksum them; but a disk error, a half-copied backup or a
 * bug must end in an error (the query fails, the merge keeps its inputs), never in a loop without end or an allocation
 * of gigabytes: a posting offset one byte off used to be read as a varint running past its buffer, forever.
 *
 * The test flips one bit at seeded random places of a young and a rested segment (footer, times, row groups,
 * dictionaries, postings, number tables alike), then runs everything that reads a segment: open, every dictionary and
 * number table walked whole (what a merge reads), terms, prefixes, numeric ranges, rows sync and async, whole columns,
 * and a merge. Each may throw; all must return, and a read that throws after the file opened throws DamagedBytesError
 * (what the query route reports, and what has the logstore's segments checked). A hang fails the test at its timeout.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { NGINX_INDEX } from '../../../bench/nginx-day.js';
import { NginxLogGenerator, prng } from '../../../bench/nginx-generator.js';
import { compileIndex } from '../../../src/index/index-config.js';
import { SegmentBuild } from '../../../src/index/segment-build.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import { DamagedBytesError } from '../../../src/storage/segment/bytes.js';
import { mergeSegments } from '../../../src/storage/segment/segment-merge.js';
import { SegmentReader } from '../../../src/storage/segment/segment-reader.js';
import { type SegmentWriterOptions, YOUNG_SEGMENT } from '../../../src/storage/segment/segment-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-segdamage-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function build(path: string, logs: number, options: SegmentWriterOptions): void {
  const gen = new NginxLogGenerator(11);
  const b = new SegmentBuild(compileIndex({ config: NGINX_INDEX, version: 1, lastModifyTime: 0 }, 30));
  for (let g = 0; g * 512 < logs; g++) {
    b.addGroup('0', g, encodeLogGroup(gen.group(Math.min(512, logs - g * 512), `10.0.0.${g}`)));
  }
  b.write(path, `000000000${options === YOUNG_SEGMENT ? 1 : 2}`, 1, undefined, options);
}

/** A few tokens of each dictionary and the number fields of the intact segment: what the damaged ones are asked. */
function probes(path: string): { terms: [string, string][]; numbers: string[] } {
  const r = SegmentReader.open(path);
  try {
    const terms: [string, string][] = [];
    for (const d of r.dictNames()) {
      let k = 0;
      for (const [token] of r.dictEntries(d)) if (k++ % 97 === 0) terms.push([d, token]);
    }
    return { terms, numbers: r.numberNames() };
  } finally {
    r.close();
  }
}

/** Errors of reads after a successful open that were not DamagedBytesError (each should have been). */
const misreported: string[] = [];

/** Everything that reads `path`; returns how many of the reads threw. */
async function readAll(path: string, p: ReturnType<typeof probes>, other: SegmentReader): Promise<number> {
  let failed = 0;
  const attempt = async (f: () => unknown): Promise<void> => {
    try {
      await f();
    } catch (err) {
      failed++;
      // The query route reports damage (and has the segments checked) only when it is named as such.
      if (!(err instanceof DamagedBytesError)) misreported.push(String(err instanceof Error ? err.stack : err));
    }
  };
  let r: SegmentReader;
  try {
    r = SegmentReader.open(path);
  } catch {
    return 1;
  }
  try {
    const ids = Array.from({ length: Math.min(r.n, 300) }, (_, i) => Math.floor((i * r.n) / 300));
    await attempt(() => {
      for (const d of r.dictNames()) for (const _ of r.dictEntries(d));
    });
    await attempt(() => {
      for (const f of r.numberNames()) for (const _ of r.numberEntries(f));
    });
    for (const [d, token] of p.terms) await attempt(() => r.term(d, token));
    for (const [d, token] of p.terms.slice(0, 8)) await attempt(() => r.prefix(d, token.slice(0, 1)));
    for (const f of p.numbers) {
      await attempt(() => r.numeric(f, 0, true, 1e9, true));
      await attempt(() => r.numericWindow(f, 100, true, 600, false, 0, Math.min(r.n, 1024)));
    }
    await attempt(() => r.rows(ids));
    await attempt(() => r.rowsAsync(ids.slice(0, 40)));
    for (const c of r.footer.columns) await attempt(() => r.columnValues(c.name));
    await attempt(() => {
      const out = `${path}.merged`;
      try {
        mergeSegments([r, other], out, '0000000099', 1);
      } finally {
        rmSync(out, { force: true });
      }
    });
  } finally {
    r.close();
  }
  return failed;
}

for (const [name, options] of [
  ['young', YOUNG_SEGMENT],
  ['rested', {}],
] as const) {
  test(`a ${name} segment with one bit flipped anywhere: every read returns or throws`, {
    timeout: 120_000,
  }, async () => {
    const intact = join(dir, `${name}.seg`);
    build(intact, 1_200, options);
    const otherPath = join(dir, `${name}-other.seg`);
    build(otherPath, 700, options);
    const other = SegmentReader.open(otherPath);
    const p = probes(intact);
    assert.ok(p.terms.length > 20 && p.numbers.length === 3);
    assert.equal(await readAll(intact, p, other), 0, 'the intact segment reads without errors');
    const bytes = readFileSync(intact);
    const rand = prng(name === 'young' ? 5 : 6);
    let failing = 0;
    const MUTATIONS = 150;
    for (let i = 0; i < MUTATIONS; i++) {
      const at = Math.floor(rand() * bytes.length);
      const damaged = Buffer.from(bytes);
      damaged[at] = damaged[at]! ^ (1 << Math.floor(rand() * 8));
      // A fresh name each time: the readers' shared caches are keyed by path.
      const path = join(dir, `${name}-${i}.seg`);
      writeFileSync(path, damaged);
      if ((await readAll(path, p, other)) > 0) failing++;
      rmSync(path);
    }
    other.close();
    assert.deepEqual(misreported, [], 'every failed read names the damage (DamagedBytesError)');
    // Without checksums some flips change only a cell or a time and read back as such (a literal in a zstd block, a
    // time); the rest land in compressed or checked bytes and must be noticed.
    assert.ok(failing > MUTATIONS / 10, `${failing} of ${MUTATIONS} damaged files were noticed`);
  });
}
