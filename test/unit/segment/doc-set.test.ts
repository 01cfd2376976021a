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
  andMany,
  andNot,
  clip,
  count,
  countIn,
  cursor,
  type DocSet,
  eachAscending,
  eachDescending,
  fromIds,
  or,
  orMany,
  rangeOf,
  toBits,
  UnionBuilder,
} from '../../../src/storage/segment/doc-set.js';
import { SegmentReader } from '../../../src/storage/segment/segment-reader.js';
import { MANUAL_SEALS } from '../../helpers/indexer-kit.js';

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

test('clip of a bitset equals its intersection with the range, representation included', () => {
  const r = rng(11);
  for (const n of [33, 1000, 4099, 70_000]) {
    for (const d of [0.01, 0.3, 0.95]) {
      const s = toBits(fromIds(Uint32Array.from(random(r, n, d)), n), n);
      const edges = [0, 1, 31, 32, 33, 63, 64, Math.floor(n / 2), n - 33, n - 32, n - 1, n];
      for (let k = 0; k < 30; k++) edges.push(Math.floor(r() * (n + 1)));
      for (const lo of edges)
        for (const hi of edges) {
          if (lo < 0 || hi > n) continue;
          const want = and(s, rangeOf(lo, hi, n));
          const got = clip(s, lo, hi, n);
          if (lo <= 0 && hi >= n) assert.equal(got, s);
          else assert.deepEqual(got, want, `n=${n} d=${d} [${lo}, ${hi})`);
        }
    }
  }
});

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
          for (const descending of [false, true]) {
            const pull = cursor(x, descending);
            const got: number[] = [];
            for (let id = pull(); id >= 0; id = pull()) got.push(id);
            assert.deepEqual(got, descending ? [...a].reverse() : a);
            assert.equal(pull(), -1);
          }
        }
      }
    }
  }
});

test('orMany, andMany and UnionBuilder over many lists of mixed density agree with a set model', () => {
  const r = rng(11);
  for (const n of [33, 1000, 5000]) {
    for (const k of [1, 2, 3, 5, 40]) {
      for (const density of [0.0005, 0.01, 0.3]) {
        const lists = Array.from({ length: k }, () => random(r, n, density * (r() < 0.2 ? 10 : 1)));
        const want = [...new Set(lists.flat())].sort((a, b) => a - b);
        const sets = lists.map((l) => fromIds(Uint32Array.from(l), n));
        assert.deepEqual(members(orMany(sets, n)), want);
        const inAll = Array.from({ length: n }, (_, i) => i).filter((i) => lists.every((l) => l.includes(i)));
        assert.deepEqual(members(andMany(sets, n)), inAll);
        assert.deepEqual(
          members(
            andMany(
              sets.map((x) => toBits(x, n)),
              n,
            ),
          ),
          inAll,
        );
        const u = new UnionBuilder(n);
        for (const s of sets) {
          if (s.kind === 'bits') u.addWords(new Uint8Array(s.words.buffer), 0);
          else for (const id of s.ids) u.add(id);
        }
        assert.deepEqual(members(u.finish()), want);
      }
    }
  }
});

test('a segment answers numeric ranges over many values and prefixes over many tokens exactly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-union-'));
  dirs.push(dir);
  const compiled = compileIndex(
    { config: { keys: { v: { type: 'long' }, w: { type: 'text', token: [' '] } } }, lastModifyTime: 0, version: 1 },
    30,
  );
  const idx = LogstoreIndex.open(dir, compiled, MANUAL_SEALS);
  const N = 6000;
  const logs = Array.from({ length: N }, (_, i) => ({
    time: 1000 + i,
    contents: [
      { key: 'v', value: String((i * 7919) % 997) },
      { key: 'w', value: `t${(i * 31) % 1700} x${i % 3}` },
    ],
  }));
  idx.add('0-0', 0, encodeLogGroup({ logs, topic: '', source: '', tags: [] }));
  idx.seal();
  const seg = idx.parts().find((p) => p instanceof SegmentReader)!;
  const v = (i: number) => (i * 7919) % 997;
  const w = (i: number) => `t${(i * 31) % 1700}`;
  const ids = (f: (i: number) => boolean) => Array.from({ length: N }, (_, i) => i).filter(f);
  // Rows are time-ordered, so row id = i.
  // Twice each: the second answer comes from the posting cache.
  for (const [lo, hi] of [
    [0, 3],
    [10, 20],
    [100, 900],
    [0, 996],
    [500, 500],
    [0, 3],
    [100, 900],
    [500, 500],
  ] as const) {
    assert.deepEqual(
      members(seg.numeric('v', lo, true, hi, true)),
      ids((i) => v(i) >= lo && v(i) <= hi),
      `${lo}..${hi}`,
    );
    assert.deepEqual(
      members(seg.numeric('v', lo, false, hi, false)),
      ids((i) => v(i) > lo && v(i) < hi),
    );
  }
  // Twice each: the second answer comes from the posting cache.
  for (const prefix of ['t1', 't16', 't9', 't', 'x', 'nothing', 't1', 't16', 't9', 't', 'x', 'nothing']) {
    assert.deepEqual(
      members(seg.prefix('f:w', prefix)),
      ids((i) => w(i).startsWith(prefix) || `x${i % 3}`.startsWith(prefix)),
      prefix,
    );
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
  const idx = LogstoreIndex.open(dir, compiled, MANUAL_SEALS);
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
  const again = LogstoreIndex.open(dir, compiled, MANUAL_SEALS);
  assert.equal(again.resumeAt('0-0', 0), 3);
  assert.equal(again.rowCount(), 1);
  again.close();
});
