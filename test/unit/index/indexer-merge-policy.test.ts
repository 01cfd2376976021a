/**
 * When merges wait for segment builds: a bulk load's young segments are not merged beside the builds that make its
 * logs searchable, yet the wait is bounded so an overload that never drains cannot pile up segments without end.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { MERGE_DEFER_FACTOR, mergeWaitsForBuilds } from '../../../src/index/indexer.js';

const BOUND = 8;

test('with no build queued or running, merges never wait', () => {
  assert.equal(mergeWaitsForBuilds(0, BOUND + 1, BOUND), false);
  assert.equal(mergeWaitsForBuilds(0, 1_000, BOUND), false);
});

test('a 5M-log bulk load (about 90 young segments) is not merged while its builds run', () => {
  assert.equal(mergeWaitsForBuilds(1, 90, BOUND), true);
  assert.equal(mergeWaitsForBuilds(4, 128, BOUND), true);
});

test('past the cap, merges run beside the builds', () => {
  assert.equal(mergeWaitsForBuilds(2, MERGE_DEFER_FACTOR * BOUND, BOUND), true);
  assert.equal(mergeWaitsForBuilds(2, MERGE_DEFER_FACTOR * BOUND + 1, BOUND), false);
  assert.ok(MERGE_DEFER_FACTOR * BOUND <= 512, 'the cap bounds open segments to a few hundred');
});
