/**
 * When merges wait for segment builds: a bulk load's young segments are not merged beside the builds that make its
 * logs searchable, yet the wait is bounded so an overload that never drains cannot pile up segments without end.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { MERGE_DEFER_FACTOR, mergeWaitsForBuilds } from '../../../src/index/indexer.js';
import { DEFAULT_INDEX_OPTIONS, MAX_MERGE_INPUTS, pickMerge } from '../../../src/index/logstore-index.js';

const BOUND = DEFAULT_INDEX_OPTIONS.maxSegments;

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

/** Rows rewritten by merges per row ingested when `count` segments of `young` rows arrive one by one. */
function rewritesPerRow(
  young: number,
  count: number,
  o: typeof DEFAULT_INDEX_OPTIONS,
): { rewrites: number; segments: number } {
  let segments: { n: number }[] = [];
  let written = 0;
  for (let i = 0; i < count; i++) {
    segments.push({ n: young });
    while (segments.length > o.maxSegments) {
      const pick = pickMerge(segments, o);
      if (!pick) break;
      const n = pick.reduce((a, s) => a + s.n, 0);
      segments = [...segments.filter((s) => !pick.includes(s)), { n }];
      written += n;
    }
  }
  return { rewrites: written / (young * count), segments: segments.length };
}

test('merges take the smallest segments, at most MAX_MERGE_INPUTS and at most maxSegmentRows in all', () => {
  const segs = [900, 10, 30, 20, 500].map((n) => ({ n }));
  assert.deepEqual(
    pickMerge(segs, { maxSegmentRows: 1_000, mergeRatio: 0 })?.map((s) => s.n),
    [10, 20, 30, 500],
  );
  const many = Array.from({ length: MAX_MERGE_INPUTS + 12 }, () => ({ n: 1 }));
  assert.equal(pickMerge(many, { maxSegmentRows: 1_000, mergeRatio: 2 })?.length, MAX_MERGE_INPUTS);
  assert.equal(pickMerge([{ n: 600 }, { n: 600 }], { maxSegmentRows: 1_000, mergeRatio: 0 }), undefined);
});

test('a merge holds at least mergeRatio times its largest input: a big segment is not rewritten to add a little', () => {
  const o = { maxSegmentRows: 2_000_000, mergeRatio: 2 };
  assert.equal(pickMerge([{ n: 260 }, { n: 130 }], o), undefined);
  assert.deepEqual(
    pickMerge([{ n: 130 }, { n: 260 }, { n: 130 }], o)?.map((s) => s.n),
    [130, 130, 260],
  );
  // The small ones merge among themselves when adding the larger one would break the ratio.
  const six = [...Array.from({ length: 6 }, () => ({ n: 10 })), { n: 80 }];
  assert.deepEqual(
    pickMerge(six, o)?.map((s) => s.n),
    [10, 10, 10, 10, 10, 10],
  );
});

test('steady small segments are rewritten a few times each, not once per later segment', () => {
  // 2,000 segments of 10k rows (a slow stream sealed by age): under the former rule (no ratio, 8 segments of at most
  // 524,288 rows) each row was rewritten ~23 times.
  const now = rewritesPerRow(10_000, 2_000, DEFAULT_INDEX_OPTIONS);
  assert.ok(now.rewrites < 6, `${now.rewrites.toFixed(2)} rewrites per row`);
  const before = rewritesPerRow(10_000, 2_000, {
    ...DEFAULT_INDEX_OPTIONS,
    maxSegments: 8,
    maxSegmentRows: 524_288,
    mergeRatio: 0,
  });
  assert.ok(before.rewrites > 20, `former rule: ${before.rewrites.toFixed(2)} rewrites per row`);
  // Segments stay near the cap: 20M rows in at most ~2x the minimum number of segments.
  assert.ok(now.segments <= 2 * Math.ceil(20_000_000 / DEFAULT_INDEX_OPTIONS.maxSegmentRows) + 2, `${now.segments}`);
});

test('a day loaded in bulk (80 young segments of 62,500 rows) settles near the fewest segments the cap allows', () => {
  let segments = Array.from({ length: 80 }, () => ({ n: 62_500 }));
  for (;;) {
    if (segments.length <= DEFAULT_INDEX_OPTIONS.maxSegments) break;
    const pick = pickMerge(segments, DEFAULT_INDEX_OPTIONS);
    if (!pick) break;
    segments = [...segments.filter((s) => !pick.includes(s)), { n: pick.reduce((a, s) => a + s.n, 0) }];
  }
  const fewest = Math.max(
    DEFAULT_INDEX_OPTIONS.maxSegments,
    Math.ceil(5_000_000 / DEFAULT_INDEX_OPTIONS.maxSegmentRows),
  );
  assert.ok(segments.length <= fewest + 1, `${segments.length} segments`);
});

test('a bulk-loaded day is rewritten once: its young segments merge straight into segments near the largest size', () => {
  // bench:search's 5M nginx logs arrive as 122 young segments of 40,960 rows (one 16 MB flush each). With 8 inputs
  // at most, each row was merged twice: into 327,680 rows, then into ~1M.
  let segments = Array.from({ length: 122 }, () => ({ n: 40_960, merges: 0 }));
  let written = 0;
  const outputs: number[] = [];
  while (segments.length > DEFAULT_INDEX_OPTIONS.maxSegments) {
    const pick = pickMerge(segments, DEFAULT_INDEX_OPTIONS);
    if (!pick) break;
    const n = pick.reduce((a, s) => a + s.n, 0);
    written += n;
    outputs.push(n);
    segments = [
      ...segments.filter((s) => !pick.includes(s)),
      { n, merges: 1 + Math.max(...pick.map((s) => s.merges)) },
    ];
  }
  const rows = 122 * 40_960;
  assert.ok(written / rows < 1.1, `${(written / rows).toFixed(2)} rewrites per row`);
  assert.ok(
    segments.every((s) => s.merges <= 1),
    `merged ${segments.map((s) => s.merges).join(',')} times`,
  );
  const large = outputs.filter((n) => n >= DEFAULT_INDEX_OPTIONS.maxSegmentRows / 2);
  assert.ok(large.length >= 4, `merges of ${outputs.join(',')} rows`);
  assert.ok(segments.length <= 7, `${segments.length} segments`);
});
