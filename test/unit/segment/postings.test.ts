/**
 * Posting lists on disk: the encoding each density gets (delta varints up to 1 row in DENSE_POSTING_ROWS, a bitset
 * beyond), that it is the smaller one on either side of the line, and that every encoding reads back as the same set,
 * whatever form DocSet keeps it in.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByteReader, ByteWriter } from '../../../src/storage/segment/bytes.js';
import { type DocSet, toIds } from '../../../src/storage/segment/doc-set.js';
import { DENSE_POSTING_ROWS, readPosting, writePosting } from '../../../src/storage/segment/postings.js';

const N = 100_000;

/** Every `step`-th row from `first` (deterministic, sorted). */
function every(step: number, first = 0): number[] {
  const ids: number[] = [];
  for (let i = first; i < N; i += step) ids.push(i);
  return ids;
}

function encode(ids: readonly number[]): Buffer {
  const w = new ByteWriter(1 << 12);
  writePosting(w, ids, N);
  return Buffer.from(w.finish());
}

function idsOf(set: DocSet): number[] {
  return Array.from(toIds(set));
}

describe('posting lists', () => {
  test('lists up to 1 row in 8 are delta varints, denser ones bitsets, each the smaller encoding there', () => {
    const bitsetBytes = 1 + Math.ceil(N / 32) * 4;
    assert.equal(DENSE_POSTING_ROWS, 8);
    for (const [step, dense] of [
      [1000, false],
      [100, false],
      [32, false],
      [16, false],
      [9, false],
      [7, true],
      [4, true],
      [2, true],
      [1, true],
    ] as const) {
      const ids = every(step, 3 % step);
      const bytes = encode(ids);
      assert.equal(bytes[0], dense ? 1 : 0, `1 row in ${step}: kind`);
      if (dense) assert.equal(bytes.length, bitsetBytes);
      // Between 1 in 32 and 1 in 8 (a bitset until 2026-11-23) the varints take a byte a row: half a bitset at 1 in
      // 16, a quarter at 1 in 32.
      else assert.ok(bytes.length < bitsetBytes, `1 row in ${step}: ${bytes.length} bytes, a bitset ${bitsetBytes}`);
      assert.deepEqual(idsOf(readPosting(new ByteReader(bytes), N)), ids, `1 row in ${step}: read back`);
    }
  });

  test('varints dense enough for a bitset read straight into one, multi-byte gaps and the last row included', () => {
    // Gaps of 1 to 300 (one- and two-byte varints), ending on the last row; about 1 row in 16.
    const ids: number[] = [];
    for (let id = 0, k = 0; id < N; k++) {
      ids.push(id);
      id += k % 50 === 0 ? 300 : 1 + ((k * 7) % 25);
    }
    if (ids.at(-1) !== N - 1) ids.push(N - 1);
    const bytes = encode(ids);
    assert.equal(bytes[0], 0);
    const set = readPosting(new ByteReader(bytes), N);
    assert.equal(set.kind, 'bits', 'a set of more than 1 row in 32 is used as a bitset');
    assert.deepEqual(idsOf(set), ids);
    // A sparse list stays a list of ids.
    const sparse = every(500, 7);
    const sparseSet = readPosting(new ByteReader(encode(sparse)), N);
    assert.equal(sparseSet.kind, 'ids');
    assert.deepEqual(idsOf(sparseSet), sparse);
  });
});
