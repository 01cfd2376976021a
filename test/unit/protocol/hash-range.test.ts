import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  HASH_KEY_MAX,
  HASH_KEY_MIN,
  initialRanges,
  keyInRange,
  md5Key,
  midKey,
  parseHashKey,
  splitKeyValid,
} from '../../../src/protocol/hash-range.js';
import { throwsSls } from './sls-error-assert.js';

test('initialRanges(2) matches the real service: 00…0 / 80…0 / ff…f', () => {
  assert.deepEqual(initialRanges(2), [
    { begin: HASH_KEY_MIN, end: '80000000000000000000000000000000' },
    { begin: '80000000000000000000000000000000', end: HASH_KEY_MAX },
  ]);
  assert.deepEqual(initialRanges(1), [{ begin: HASH_KEY_MIN, end: HASH_KEY_MAX }]);
});

test('initialRanges(n) tiles the space with floor(2^128*i/n) boundaries', () => {
  for (const n of [3, 4, 7, 64, 100]) {
    const r = initialRanges(n);
    assert.equal(r.length, n);
    assert.equal(r[0]!.begin, HASH_KEY_MIN);
    assert.equal(r[n - 1]!.end, HASH_KEY_MAX);
    for (let i = 0; i < n; i++) {
      assert.match(r[i]!.begin, /^[0-9a-f]{32}$/);
      assert.equal(BigInt(`0x${r[i]!.begin}`), ((1n << 128n) * BigInt(i)) / BigInt(n));
      if (i > 0) assert.equal(r[i]!.begin, r[i - 1]!.end);
      assert.ok(r[i]!.begin < r[i]!.end);
    }
  }
  assert.equal(initialRanges(3)[1]!.begin, '55555555555555555555555555555555');
  assert.throws(() => initialRanges(0), RangeError);
});

test('keyInRange: [begin, end), and ff…f belongs to the last shard', () => {
  const [a, b] = initialRanges(2) as [{ begin: string; end: string }, { begin: string; end: string }];
  assert.ok(keyInRange(HASH_KEY_MIN, a.begin, a.end));
  assert.ok(keyInRange('7fffffffffffffffffffffffffffffff', a.begin, a.end));
  assert.ok(!keyInRange('80000000000000000000000000000000', a.begin, a.end));
  assert.ok(keyInRange('80000000000000000000000000000000', b.begin, b.end));
  assert.ok(keyInRange(HASH_KEY_MAX, b.begin, b.end));
  assert.ok(!keyInRange(HASH_KEY_MAX, a.begin, a.end));
  // Exactly one shard of any tiling holds each key.
  const ranges = initialRanges(5);
  for (const key of [HASH_KEY_MIN, HASH_KEY_MAX, md5Key('x'), md5Key('y'), ranges[3]!.begin]) {
    assert.equal(ranges.filter((r) => keyInRange(key, r.begin, r.end)).length, 1, key);
  }
});

test('md5Key and parseHashKey', () => {
  assert.equal(md5Key(''), 'd41d8cd98f00b204e9800998ecf8427e');
  assert.equal(parseHashKey('C0000000000000000000000000000000'), 'c0000000000000000000000000000000');
  for (const bad of [
    '',
    'c000',
    'g0000000000000000000000000000000',
    `${HASH_KEY_MAX}0`,
    ' 0000000000000000000000000000000',
  ]) {
    throwsSls(() => parseHashKey(bad), 'ParameterInvalid');
  }
});

test('splitKeyValid and midKey', () => {
  const lo = HASH_KEY_MIN;
  const hi = '80000000000000000000000000000000';
  assert.equal(midKey(lo, hi), '40000000000000000000000000000000');
  assert.equal(midKey(lo, HASH_KEY_MAX), '7fffffffffffffffffffffffffffffff');
  assert.ok(splitKeyValid(lo, hi, '40000000000000000000000000000000'));
  assert.ok(!splitKeyValid(lo, hi, lo));
  assert.ok(!splitKeyValid(lo, hi, hi));
  assert.ok(!splitKeyValid(lo, hi, '90000000000000000000000000000000'));
  assert.ok(!splitKeyValid(lo, hi, '4000000000000000000000000000000A'));
  assert.ok(!splitKeyValid(lo, hi, '4'));
  // A range of width 1 has no valid split key, and its midKey is its begin.
  const one = '00000000000000000000000000000001';
  assert.equal(midKey(lo, one), lo);
  assert.ok(!splitKeyValid(lo, one, midKey(lo, one)));
});
