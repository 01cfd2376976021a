/**
 * DocSet algebra against a plain Set model, over random sparse and dense sets (both representations and their
 * mixes), plus TTL: whole expired segments are dropped and the rest stay searchable.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { compileIndex } from '../../../src/index/index-config.js';
import { LogstoreIndex } from '../../../src/index/logstore-index.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import {
  and,
  andNot,
  clip,
  count,
  countIn,
  type DocSet,
  eachAscending,
  eachDescending,
  fromIds,
  or,
  orMany,
  toBits,
} from '../../../src/storage/segment/doc-set.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function members(s: DocSet): number[] {
  const out: number[] = [];
  eachAscending(s, (id) => {
    out.push(id);
    return true;
  });
  return out;
}

function random(r: () => number, n: number, density: number): number[] {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) if (r() < density) ids.push(i);
  return ids;
}

test('and / or / andNot / clip / counts agree with a set model in every representation', () => {
  const r = rng(7);
  for (const n of [1, 31, 32, 33, 1000, 4099]) {
    for (const da of [0.001, 0.02, 0.5]) {
      for (const db of [0.001, 0.1, 0.9]) {
        const a = random(r, n, da);
        const b = random(r, n, db);
        const sa = new Set(a);
        const sb = new Set(b);
        for (const [x, y] of [
          [fromIds(Uint32Array.from(a), n), fromIds(Uint32Array.from(b), n)],
          [toBits(fromIds(Uint32Array.from(a), n), n), fromIds(Uint32Array.from(b), n)],
          [{ kind: 'ids', ids: Uint32Array.from(a) } as DocSet, toBits({ kind: 'ids', ids: Uint32Array.from(b) }, n)],
        ] as [DocSet, DocSet][]) {
          const all = Array.from({ length: n }, (_, i) => i);
          assert.deepEqual(
            members(and(x, y)),
            a.filter((i) => sb.has(i)),
          );
          assert.deepEqual(
            members(or(x, y, n)),
            all.filter((i) => sa.has(i) || sb.has(i)),
          );
          assert.deepEqual(
            members(orMany([x, y], n)),
            all.filter((i) => sa.has(i) || sb.has(i)),
          );
          assert.deepEqual(
            members(andNot(x, y, n)),
            a.filter((i) => !sb.has(i)),
          );
          const lo = Math.floor(n / 3);
          const hi = Math.floor((2 * n) / 3) + 1;
          assert.deepEqual(
            members(clip(x, lo, hi, n)),
            a.filter((i) => i >= lo && i < hi),
          );
          assert.equal(countIn(x, lo, hi), a.filter((i) => i >= lo && i < hi).length);
          assert.equal(count(x), a.length);
          const down: number[] = [];
          eachDescending(x, (id) => {
            down.push(id);
            return down.length < 5;
          });
          assert.deepEqual(down, [...a].reverse().slice(0, 5));
        }
      }
    }
  }
});

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('TTL drops whole segments older than the cut, keeps the rest searchable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-ttl-'));
  dirs.push(dir);
  const compiled = compileIndex({ config: { line: {} }, lastModifyTime: 0, version: 1 }, 30);
  const idx = LogstoreIndex.open(dir, compiled, {
    sealRows: 1e9,
    sealAgeMs: 1e12,
    maxSegments: 100,
    maxSegmentRows: 1e9,
  });
  const group = (t: number) =>
    encodeLogGroup({ logs: [{ time: t, contents: [{ key: 'k', value: `v${t}` }] }], tags: [] });
  idx.add('0-0', 0, group(1000));
  idx.seal();
  idx.add('0-0', 1, group(2000));
  idx.seal();
  idx.add('0-0', 2, group(3000));
  assert.equal(idx.dropBefore(2500), 2);
  assert.equal(idx.segmentCount(), 0);
  assert.equal(idx.rowCount(), 1);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.seg')),
    [],
  );
  // Progress is kept: a restart does not re-index the dropped records.
  idx.seal();
  idx.close();
  const again = LogstoreIndex.open(dir, compiled, {
    sealRows: 1e9,
    sealAgeMs: 1e12,
    maxSegments: 100,
    maxSegmentRows: 1e9,
  });
  assert.equal(again.resumeAt('0-0', 0), 3);
  assert.equal(again.rowCount(), 1);
  again.close();
});
