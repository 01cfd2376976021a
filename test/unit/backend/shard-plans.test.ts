/**
 * Shard-set arithmetic (sls-api.md §5.6, §6): initial tiling of the 128-bit key space, split, merge, delete and
 * routing a hash key to its readwrite shard.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  planDelete,
  planInitialShards,
  planMerge,
  planSplit,
  requireShard,
  shardForKey,
} from '../../../src/backend/shard-plans.js';
import type { ShardMeta } from '../../../src/meta/meta-store.js';
import { SlsError } from '../../../src/protocol/errors.js';

const MIN = '00000000000000000000000000000000';
const MAX = 'ffffffffffffffffffffffffffffffff';
const K40 = '40000000000000000000000000000000';
const K80 = '80000000000000000000000000000000';
const KC0 = 'c0000000000000000000000000000000';
const NOW = 1_700_000_000;

/** A cursor-base source that counts 100, 200, 300, … */
function bases(): () => number {
  let n = 0;
  return () => (n += 100);
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SlsError, `expected SlsError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

function twoShards(): ShardMeta[] {
  return planInitialShards(2, NOW, bases());
}

describe('planInitialShards', () => {
  for (const n of [1, 2, 3, 4, 7]) {
    test(`${n} shard(s) tile the key space: contiguous, from 00…0 to ff…f`, () => {
      const shards = planInitialShards(n, NOW, bases());
      assert.equal(shards.length, n);
      assert.equal(shards[0]!.beginKey, MIN);
      assert.equal(shards.at(-1)!.endKey, MAX);
      for (let i = 0; i < n; i++) {
        const s = shards[i]!;
        assert.equal(s.id, i);
        assert.equal(s.status, 'readwrite');
        assert.equal(s.createTime, NOW);
        assert.deepEqual(s.parents, []);
        assert.equal(s.baseSeq, 100 * (i + 1), 'one fresh cursor base per shard');
        assert.match(s.beginKey, /^[0-9a-f]{32}$/);
        assert.ok(s.beginKey < s.endKey, `shard ${i} is non-empty`);
        if (i > 0) assert.equal(s.beginKey, shards[i - 1]!.endKey, `shard ${i} starts where shard ${i - 1} ends`);
      }
    });
  }

  test('exact boundaries: begin_i = floor(2^128 * i / n)', () => {
    const ranges = (n: number) => planInitialShards(n, NOW, bases()).map((s) => [s.beginKey, s.endKey]);
    assert.deepEqual(ranges(1), [[MIN, MAX]]);
    assert.deepEqual(ranges(2), [
      [MIN, K80],
      [K80, MAX],
    ]);
    assert.deepEqual(ranges(3), [
      [MIN, '55555555555555555555555555555555'],
      ['55555555555555555555555555555555', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'],
      ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', MAX],
    ]);
    assert.deepEqual(ranges(4), [
      [MIN, K40],
      [K40, K80],
      [K80, KC0],
      [KC0, MAX],
    ]);
    assert.deepEqual(
      planInitialShards(7, NOW, bases()).map((s) => s.beginKey),
      [
        MIN,
        '24924924924924924924924924924924',
        '49249249249249249249249249249249',
        '6db6db6db6db6db6db6db6db6db6db6d',
        '92492492492492492492492492492492',
        'b6db6db6db6db6db6db6db6db6db6db6',
        'db6db6db6db6db6db6db6db6db6db6db',
      ],
    );
  });

  test('a shard count below 1 is refused', () => {
    assert.throws(() => planInitialShards(0, NOW, bases()), RangeError);
    assert.throws(() => planInitialShards(1.5, NOW, bases()), RangeError);
  });
});

describe('planSplit', () => {
  test('parent first and readonly, then children max+1 [begin,key) and max+2 [key,end)', () => {
    const next = bases();
    const shards = planInitialShards(2, NOW, next);
    const out = planSplit(shards, 0, K40, NOW + 5, next);
    assert.deepEqual(out, [
      { ...shards[0]!, status: 'readonly' },
      shards[1],
      { id: 2, status: 'readwrite', beginKey: MIN, endKey: K40, createTime: NOW + 5, baseSeq: 300, parents: [0] },
      { id: 3, status: 'readwrite', beginKey: K40, endKey: K80, createTime: NOW + 5, baseSeq: 400, parents: [0] },
    ]);
    assert.equal(shards[0]!.status, 'readwrite', 'the input list is not modified');
  });

  test('splitting the last shard keeps ff…f as the right child end; ids keep growing from the max', () => {
    const next = bases();
    const first = planSplit(planInitialShards(2, NOW, next), 1, KC0, NOW, next);
    assert.deepEqual(
      first.slice(2).map((s) => [s.id, s.beginKey, s.endKey]),
      [
        [2, K80, KC0],
        [3, KC0, MAX],
      ],
    );
    const second = planSplit(first, 2, 'a0000000000000000000000000000000', NOW, next);
    assert.deepEqual(
      second.map((s) => [s.id, s.status]),
      [
        [0, 'readwrite'],
        [1, 'readonly'],
        [2, 'readonly'],
        [3, 'readwrite'],
        [4, 'readwrite'],
        [5, 'readwrite'],
      ],
    );
    assert.deepEqual(second[4]!.parents, [2]);
  });

  test('an upper-case split key is accepted and stored lower-case', () => {
    const out = planSplit(twoShards(), 1, 'C0000000000000000000000000000ABC', NOW, bases());
    assert.equal(out[2]!.endKey, 'c0000000000000000000000000000abc');
    assert.equal(out[3]!.beginKey, 'c0000000000000000000000000000abc');
  });

  test('a split key at the edge or outside the shard is ParameterInvalid', () => {
    const shards = twoShards();
    throwsCode(() => planSplit(shards, 0, MIN, NOW, bases()), 'ParameterInvalid');
    throwsCode(() => planSplit(shards, 0, K80, NOW, bases()), 'ParameterInvalid');
    throwsCode(() => planSplit(shards, 0, KC0, NOW, bases()), 'ParameterInvalid');
    throwsCode(() => planSplit(shards, 1, K80, NOW, bases()), 'ParameterInvalid');
    throwsCode(() => planSplit(shards, 1, MAX, NOW, bases()), 'ParameterInvalid');
    throwsCode(() => planSplit(shards, 1, K40, NOW, bases()), 'ParameterInvalid');
  });

  test('a malformed split key is ParameterInvalid', () => {
    const shards = twoShards();
    throwsCode(() => planSplit(shards, 0, '4000', NOW, bases()), 'ParameterInvalid');
    throwsCode(() => planSplit(shards, 0, `${K40}0`, NOW, bases()), 'ParameterInvalid');
    throwsCode(() => planSplit(shards, 0, '4000000000000000000000000000000g', NOW, bases()), 'ParameterInvalid');
    throwsCode(() => planSplit(shards, 0, '', NOW, bases()), 'ParameterInvalid');
  });

  test('splitting a readonly shard is refused; an unknown shard is ShardNotExist', () => {
    const split = planSplit(twoShards(), 0, K40, NOW, bases());
    throwsCode(() => planSplit(split, 0, '20000000000000000000000000000000', NOW, bases()), 'ParameterInvalid');
    throwsCode(() => planSplit(split, 9, K40, NOW, bases()), 'ShardNotExist');
  });
});

describe('planMerge', () => {
  test('merges with the right neighbour: both readonly, one new shard over the union', () => {
    const next = bases();
    const shards = planInitialShards(2, NOW, next);
    const out = planMerge(shards, 0, NOW + 1, next);
    assert.deepEqual(out, [
      { ...shards[0]!, status: 'readonly' },
      { ...shards[1]!, status: 'readonly' },
      { id: 2, status: 'readwrite', beginKey: MIN, endKey: MAX, createTime: NOW + 1, baseSeq: 300, parents: [0, 1] },
    ]);
  });

  test('the neighbour is the readwrite shard beginning at this end, not a readonly one', () => {
    const next = bases();
    // [0: 00-80 rw] [1: 80-ff ro] [2: 80-c0 rw] [3: c0-ff rw]
    const split = planSplit(planInitialShards(2, NOW, next), 1, KC0, NOW, next);
    const out = planMerge(split, 0, NOW, next);
    assert.deepEqual(
      out.map((s) => [s.id, s.status, s.beginKey, s.endKey]),
      [
        [0, 'readonly', MIN, K80],
        [1, 'readonly', K80, MAX],
        [2, 'readonly', K80, KC0],
        [3, 'readwrite', KC0, MAX],
        [4, 'readwrite', MIN, KC0],
      ],
    );
    assert.deepEqual(out[4]!.parents, [0, 2]);
  });

  test('the last shard has no right neighbour: ParameterInvalid', () => {
    throwsCode(() => planMerge(twoShards(), 1, NOW, bases()), 'ParameterInvalid');
    throwsCode(() => planMerge(planInitialShards(1, NOW, bases()), 0, NOW, bases()), 'ParameterInvalid');
  });

  test('a neighbour that is readonly does not count', () => {
    const next = bases();
    // Merge 0+1 → [0 ro] [1 ro] [2: 00-ff rw]; 0 is readonly and 1 (its old neighbour) too.
    const merged = planMerge(planInitialShards(2, NOW, next), 0, NOW, next);
    throwsCode(() => planMerge(merged, 0, NOW, next), 'ParameterInvalid');
    throwsCode(() => planMerge(merged, 2, NOW, next), 'ParameterInvalid');
    throwsCode(() => planMerge(merged, 7, NOW, next), 'ShardNotExist');
  });
});

describe('planDelete', () => {
  test('deletes a readonly shard only', () => {
    const split = planSplit(twoShards(), 0, K40, NOW, bases());
    throwsCode(() => planDelete(split, 1), 'ParameterInvalid');
    throwsCode(() => planDelete(split, 2), 'ParameterInvalid');
    throwsCode(() => planDelete(split, 42), 'ShardNotExist');
    assert.deepEqual(
      planDelete(split, 0).map((s) => s.id),
      [1, 2, 3],
    );
    assert.equal(split.length, 4, 'the input list is not modified');
  });
});

describe('shardForKey', () => {
  test('routes a key to the readwrite shard whose [begin, end) holds it; ff…f belongs to the last shard', () => {
    const four = planInitialShards(4, NOW, bases());
    const route = (key: string) => shardForKey(four, key)?.id;
    assert.equal(route(MIN), 0);
    assert.equal(route('3fffffffffffffffffffffffffffffff'), 0);
    assert.equal(route(K40), 1);
    assert.equal(route(K80), 2);
    assert.equal(route('bfffffffffffffffffffffffffffffff'), 2);
    assert.equal(route(KC0), 3);
    assert.equal(route('fffffffffffffffffffffffffffffffe'), 3);
    assert.equal(route(MAX), 3);
    assert.equal(shardForKey(planInitialShards(1, NOW, bases()), MAX)?.id, 0);
  });

  test('after a split keys go to the children, never to the readonly parent', () => {
    const split = planSplit(twoShards(), 1, KC0, NOW, bases());
    assert.equal(shardForKey(split, K80)?.id, 2);
    assert.equal(shardForKey(split, 'bfffffffffffffffffffffffffffffff')?.id, 2);
    assert.equal(shardForKey(split, KC0)?.id, 3);
    assert.equal(shardForKey(split, MAX)?.id, 3);
    assert.equal(shardForKey(split, MIN)?.id, 0);
  });

  test('a key no readwrite shard covers routes nowhere', () => {
    const shards = twoShards().map((s) => (s.id === 1 ? { ...s, status: 'readonly' as const } : s));
    assert.equal(shardForKey(shards, KC0), undefined);
    assert.equal(shardForKey([], MIN), undefined);
  });
});

describe('requireShard', () => {
  test('finds by id or fails with ShardNotExist (404)', () => {
    const shards = twoShards();
    assert.equal(requireShard(shards, 1), shards[1]);
    assert.throws(
      () => requireShard(shards, 2),
      (err: unknown) => err instanceof SlsError && err.code === 'ShardNotExist' && err.status === 404,
    );
  });
});
