import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignShards } from '../../../src/consumer/assignment.js';

function byConsumer(owners: Map<number, string>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [shard, c] of [...owners].sort((a, b) => a[0] - b[0])) {
    out[c] = [...(out[c] ?? []), shard];
  }
  return out;
}

test('free shards are spread over live consumers', () => {
  const owners = assignShards({ shards: [0, 1, 2, 3], consumers: ['a', 'b'], owners: new Map() });
  assert.deepEqual(byConsumer(owners), { a: [0, 2], b: [1, 3] });
});

test('a shard stays with its live holder; a newcomer gets a share from the busiest', () => {
  const prev = new Map([0, 1, 2, 3].map((s) => [s, 'a']));
  const owners = assignShards({ shards: [0, 1, 2, 3], consumers: ['a', 'b'], owners: prev });
  assert.deepEqual(byConsumer(owners), { a: [0, 1], b: [2, 3] });
});

test('shards of a dead consumer go to the live ones, the others stay put', () => {
  const prev = new Map<number, string>([
    [0, 'a'],
    [1, 'b'],
    [2, 'c'],
    [3, 'a'],
  ]);
  const owners = assignShards({ shards: [0, 1, 2, 3], consumers: ['a', 'c'], owners: prev });
  assert.equal(owners.get(0), 'a');
  assert.equal(owners.get(2), 'c');
  assert.equal(owners.get(3), 'a');
  assert.equal(owners.get(1), 'c');
});

test('no consumers, no assignment; shards no longer consumable are dropped', () => {
  assert.equal(assignShards({ shards: [0], consumers: [], owners: new Map() }).size, 0);
  const owners = assignShards({ shards: [1], consumers: ['a'], owners: new Map([[0, 'a']]) });
  assert.deepEqual([...owners], [[1, 'a']]);
});
