import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LruMap } from '../../../src/storage/segment/lru.js';

test('shift drops the least recently used key: get and set refresh a key, peek does not', () => {
  const m = new LruMap<string, number>();
  for (const k of ['a', 'b', 'c', 'd']) m.set(k, k.charCodeAt(0));
  assert.equal(m.get('a'), 97); // a is the newest now
  m.set('b', 1); // b updated and the newest
  assert.equal(m.peek('c'), 99); // c stays where it was
  assert.deepEqual([...m.keys()], ['c', 'd', 'a', 'b']);
  assert.deepEqual(m.shift(), ['c', 99]);
  assert.deepEqual(m.shift(), ['d', 100]);
  assert.equal(m.size, 2);
  assert.equal(m.get('b'), 1);
  assert.deepEqual(m.shift(), ['a', 97]);
  assert.deepEqual(m.shift(), ['b', 1]);
  assert.equal(m.shift(), undefined);
  assert.equal(m.size, 0);
});

test('delete unlinks a key anywhere in the order; a deleted key can come back', () => {
  const m = new LruMap<number, string>();
  for (let i = 0; i < 5; i++) m.set(i, `v${i}`);
  assert.equal(m.delete(2), true);
  assert.equal(m.delete(2), false);
  assert.equal(m.delete(0), true); // the oldest
  assert.equal(m.delete(4), true); // the newest
  assert.deepEqual([...m.keys()], [1, 3]);
  m.set(2, 'again');
  assert.deepEqual([...m.keys()], [1, 3, 2]);
  assert.equal(m.has(2), true);
  assert.equal(m.has(0), false);
  assert.deepEqual(m.shift(), [1, 'v1']);
  assert.deepEqual(m.shift(), [3, 'v3']);
  assert.deepEqual(m.shift(), [2, 'again']);
  assert.equal(m.size, 0);
  assert.deepEqual([...m.keys()], []);
  m.set(7, 'x');
  assert.deepEqual(m.shift(), [7, 'x']);
});

test('a bounded cache under churn keeps exactly its newest keys, in order', () => {
  const m = new LruMap<number, number>();
  const cap = 1000;
  for (let i = 0; i < 50_000; i++) {
    m.set(i, i);
    if (i % 7 === 0) m.get(i - 500); // refresh an older key now and then (absent ones do nothing)
    if (m.size > cap) m.shift();
  }
  assert.equal(m.size, cap);
  const keys = [...m.keys()];
  assert.equal(keys.length, cap);
  assert.equal(new Set(keys).size, cap);
  assert.equal(keys[keys.length - 1], 49_999);
  for (const k of keys) assert.equal(m.peek(k), k);
});
