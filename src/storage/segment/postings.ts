import { type ByteReader, type ByteWriter, DamagedBytesError } from './bytes.js';
import { type DocSet, fromIds, isDenseSet } from './doc-set.js';

/**
 * A posting list on disk: kind 0 = delta varints (sparse), kind 1 = a bitset of n bits (dense: more than 1 in
 * DENSE_POSTING_ROWS rows). A delta varint takes at least a byte, so from 1 row in 8 on the bitset is the smaller; below
 * it, the varints. (Until 2026-11-23 bitsets began at 1 in 32, for DocSet's sake: a bitset needs no decoding. Between 1
 * in 32 and 1 in 8 they took 2-4x the bytes of varints: 47 MB of the 211 MB of postings of bench:search's day.)
 */
export const DENSE_POSTING_ROWS = 8;

/** Whether `count` ids of a segment of `n` rows are stored as a bitset. */
export function isDensePosting(count: number, n: number): boolean {
  return count * DENSE_POSTING_ROWS > n;
}

export function writePosting(w: ByteWriter, ids: ArrayLike<number>, n: number, from = 0, to = ids.length): void {
  const count = to - from;
  if (isDensePosting(count, n)) {
    const words = new Uint32Array((n + 31) >>> 5);
    for (let i = from; i < to; i++) words[ids[i]! >>> 5]! |= 1 << (ids[i]! & 31);
    writeBitset(w, words);
    return;
  }
  // Delta varints written straight into the buffer (ids < 2^32: at most 5 bytes each).
  const buf = w.reserve(1 + 5 * (count + 1));
  let o = w.length;
  buf[o++] = 0;
  let v = count;
  while (v >= 0x80) {
    buf[o++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[o++] = v;
  let prev = 0;
  for (let i = from; i < to; i++) {
    const id = ids[i]!;
    let d = id - prev;
    prev = id;
    while (d >= 0x80) {
      buf[o++] = (d & 0x7f) | 0x80;
      d >>>= 7;
    }
    buf[o++] = d;
  }
  w.length = o;
}

/** A bitset posting (kind 1) from its words (`(n + 31) >>> 5` of them, rows past n clear). */
export function writeBitset(w: ByteWriter, words: Uint32Array): void {
  w.u8(1);
  w.bytes(new Uint8Array(words.buffer, words.byteOffset, words.length * 4));
}

export function readPosting(r: ByteReader, n: number): DocSet {
  const kind = r.buf[r.pos++];
  if (kind === 1) {
    const nWords = (n + 31) >>> 5;
    if (r.pos + nWords * 4 > r.buf.length) throw new DamagedBytesError('a bitset posting runs past its bytes');
    const words = new Uint32Array(nWords);
    new Uint8Array(words.buffer).set(r.buf.subarray(r.pos, r.pos + nWords * 4));
    r.pos += nWords * 4;
    return { kind: 'bits', words, n };
  }
  if (kind !== 0) throw new DamagedBytesError(`posting kind ${kind}`);
  const count = postingCount(r.varint(), n);
  if (isDenseSet(count, n)) return varintsToBits(r, count, n);
  const ids = new Uint32Array(count);
  let prev = 0;
  for (let i = 0; i < count; i++) {
    prev += r.varint();
    ids[i] = prev;
  }
  checkLastId(prev, n);
  return fromIds(ids, n);
}

/** `count` as a posting's length in a segment of `n` rows: at most n (a damaged count would allocate without bound). */
export function postingCount(count: number, n: number): number {
  if (count > n) throw new DamagedBytesError(`a posting of ${count} ids in a segment of ${n} rows`);
  return count;
}

/** Checks the last (largest: ids ascend) id of a decoded posting, and so all of them, against the `n` rows. */
export function checkLastId(last: number, n: number): void {
  if (last >= n && n > 0) throw new DamagedBytesError(`posting id ${last} in a segment of ${n} rows`);
}

/**
 * Delta varints of a list dense enough to be used as a bitset (between 1 row in 32 and 1 in DENSE_POSTING_ROWS),
 * decoded straight into the words: no id array and no second pass to convert it, which tripled the cost of such a
 * list (a phrase of common user-agent tokens reads several per segment).
 */
function varintsToBits(r: ByteReader, count: number, n: number): DocSet {
  const words = new Uint32Array((n + 31) >>> 5);
  const buf = r.buf;
  let p = r.pos;
  let id = 0;
  for (let i = 0; i < count; i++) {
    let x = buf[p++]!;
    if (x >= 0x80) {
      x &= 0x7f;
      let shift = 7;
      let c: number;
      do {
        c = buf[p++]!;
        x |= (c & 0x7f) << shift;
        shift += 7;
      } while (c >= 0x80);
    }
    id += x;
    words[id >>> 5]! |= 1 << (id & 31);
  }
  // Past the end, bytes read as undefined (0): the walk ends, and this throws.
  if (p > buf.length) throw new DamagedBytesError('a posting runs past its bytes');
  checkLastId(id, n);
  r.pos = p;
  return { kind: 'bits', words, n };
}
