import type { ByteReader, ByteWriter } from './bytes.js';
import { type DocSet, fromIds } from './doc-set.js';

/**
 * A posting list on disk: kind 0 = delta varints (sparse), kind 1 = a bitset of n bits (dense, more than 1 in 32
 * rows: cheaper than ~1 byte per id and directly usable by DocSet without decoding).
 */
export function writePosting(w: ByteWriter, ids: ArrayLike<number>, n: number, from = 0, to = ids.length): void {
  const count = to - from;
  if (count * 32 > n) {
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
    const words = new Uint32Array(nWords);
    new Uint8Array(words.buffer).set(r.buf.subarray(r.pos, r.pos + nWords * 4));
    r.pos += nWords * 4;
    return { kind: 'bits', words, n };
  }
  const count = r.varint();
  const ids = new Uint32Array(count);
  let prev = 0;
  for (let i = 0; i < count; i++) {
    prev += r.varint();
    ids[i] = prev;
  }
  return fromIds(ids, n);
}
