/**
 * A set of row ids within one part (segment or head), in one of two forms: a sorted id list for sparse sets, a
 * bitset for dense ones. Needle terms stay tiny lists (AND = a merge of a few ids); frequent terms such as
 * `status:200` are bitsets, where AND/OR/NOT are word operations (a 1 M-row part is 31 Ki words, ~30 µs per op).
 */
export type DocSet =
  | { readonly kind: 'ids'; readonly ids: Uint32Array }
  | { readonly kind: 'bits'; readonly words: Uint32Array; readonly n: number };

/** Above this density a list becomes a bitset (a bitset costs n/8 bytes, a list 4 bytes per id). */
const DENSE = 1 / 32;

export const EMPTY: DocSet = { kind: 'ids', ids: new Uint32Array(0) };

/** Whether a set of `count` ids of `n` rows is kept as a bitset. */
export function isDenseSet(count: number, n: number): boolean {
  return count > n * DENSE;
}

export function fromIds(ids: Uint32Array, n: number): DocSet {
  if (isDenseSet(ids.length, n)) return toBits({ kind: 'ids', ids }, n);
  return { kind: 'ids', ids };
}

export function allOf(n: number): DocSet {
  const words = new Uint32Array((n + 31) >>> 5).fill(0xffffffff);
  clearTail(words, n);
  return { kind: 'bits', words, n };
}

/** Ids in [lo, hi). */
export function rangeOf(lo: number, hi: number, n: number): DocSet {
  if (hi <= lo) return EMPTY;
  if (hi - lo <= n * DENSE) {
    const ids = new Uint32Array(hi - lo);
    for (let i = 0; i < ids.length; i++) ids[i] = lo + i;
    return { kind: 'ids', ids };
  }
  const words = new Uint32Array((n + 31) >>> 5);
  for (let i = lo; i < hi; ) {
    if ((i & 31) === 0 && i + 32 <= hi) {
      words[i >>> 5] = 0xffffffff;
      i += 32;
    } else {
      words[i >>> 5]! |= 1 << (i & 31);
      i++;
    }
  }
  return { kind: 'bits', words, n };
}

export function toBits(s: DocSet, n: number): DocSet & { kind: 'bits' } {
  if (s.kind === 'bits') return s;
  const words = new Uint32Array((n + 31) >>> 5);
  const ids = s.ids;
  for (let i = 0; i < ids.length; i++) words[ids[i]! >>> 5]! |= 1 << (ids[i]! & 31);
  return { kind: 'bits', words, n };
}

export function count(s: DocSet): number {
  if (s.kind === 'ids') return s.ids.length;
  let c = 0;
  const w = s.words;
  for (let i = 0; i < w.length; i++) c += popcount(w[i]!);
  return c;
}

export function isEmpty(s: DocSet): boolean {
  if (s.kind === 'ids') return s.ids.length === 0;
  const w = s.words;
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
  return true;
}

export function and(a: DocSet, b: DocSet): DocSet {
  if (a.kind === 'ids' && b.kind === 'ids') return { kind: 'ids', ids: intersectSorted(a.ids, b.ids) };
  if (a.kind === 'ids') return filterIds(a.ids, b as DocSet & { kind: 'bits' }, true);
  if (b.kind === 'ids') return filterIds(b.ids, a, true);
  const words = new Uint32Array(a.words.length);
  for (let i = 0; i < words.length; i++) words[i] = a.words[i]! & b.words[i]!;
  return { kind: 'bits', words, n: a.n };
}

/**
 * The intersection of several sets at once: id lists smallest first (each later set only filters the survivors),
 * and dense sets in one pass over their words instead of an intermediate bitset per pair (a 15-token phrase of
 * common tokens is 15 dense sets per part).
 */
export function andMany(sets: readonly DocSet[], n: number): DocSet {
  if (sets.length === 0) return allOf(n);
  if (sets.length === 1) return sets[0]!;
  const lists = sets.filter((s): s is DocSet & { kind: 'ids' } => s.kind === 'ids');
  const dense = sets.filter((s): s is DocSet & { kind: 'bits' } => s.kind === 'bits');
  if (lists.length > 0) {
    lists.sort((a, b) => a.ids.length - b.ids.length);
    let acc: DocSet = lists[0]!;
    for (let i = 1; i < lists.length && !isEmpty(acc); i++) acc = and(acc, lists[i]!);
    for (let i = 0; i < dense.length && !isEmpty(acc); i++) acc = and(acc, dense[i]!);
    return acc;
  }
  const words = new Uint32Array(dense[0]!.words);
  for (let k = 1; k < dense.length; k++) {
    const w = dense[k]!.words;
    for (let i = 0; i < words.length; i++) words[i]! &= w[i]!;
  }
  return { kind: 'bits', words, n: dense[0]!.n };
}

/** a AND NOT b. */
export function andNot(a: DocSet, b: DocSet, n: number): DocSet {
  if (a.kind === 'ids') {
    if (b.kind === 'bits') return filterIds(a.ids, b, false);
    return { kind: 'ids', ids: differenceSorted(a.ids, b.ids) };
  }
  const bb = toBits(b, n);
  const words = new Uint32Array(a.words.length);
  for (let i = 0; i < words.length; i++) words[i] = a.words[i]! & ~bb.words[i]!;
  return { kind: 'bits', words, n: a.n };
}

export function or(a: DocSet, b: DocSet, n: number): DocSet {
  if (a.kind === 'ids' && b.kind === 'ids' && a.ids.length + b.ids.length <= n * DENSE) {
    return { kind: 'ids', ids: unionSorted(a.ids, b.ids) };
  }
  const aa = a.kind === 'bits' ? a : toBits(a, n);
  const words = new Uint32Array(aa.words);
  if (b.kind === 'ids') {
    for (let i = 0; i < b.ids.length; i++) words[b.ids[i]! >>> 5]! |= 1 << (b.ids[i]! & 31);
  } else {
    for (let i = 0; i < words.length; i++) words[i]! |= b.words[i]!;
  }
  return { kind: 'bits', words, n };
}

/** Unions many sets at once (prefix expansion, numeric ranges): one bitset, no intermediate copies. */
export function orMany(sets: readonly DocSet[], n: number): DocSet {
  if (sets.length === 0) return EMPTY;
  if (sets.length === 1) return sets[0]!;
  let total = 0;
  for (const s of sets) total += s.kind === 'ids' ? s.ids.length : n;
  if (total <= n * DENSE && sets.length <= 4) {
    // A few lists (a numeric range over a handful of values): merge them instead of sorting the concatenation.
    let acc = (sets[0] as { ids: Uint32Array }).ids;
    for (let i = 1; i < sets.length; i++) acc = unionSorted(acc, (sets[i] as { ids: Uint32Array }).ids);
    return { kind: 'ids', ids: acc };
  }
  if (total <= n * DENSE) {
    const all = new Uint32Array(total);
    let o = 0;
    for (const s of sets) {
      all.set((s as { ids: Uint32Array }).ids, o);
      o += (s as { ids: Uint32Array }).ids.length;
    }
    all.sort();
    let w = 0;
    for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[w - 1]) all[w++] = all[i]!;
    return { kind: 'ids', ids: all.subarray(0, w) };
  }
  const words = new Uint32Array((n + 31) >>> 5);
  for (const s of sets) {
    if (s.kind === 'ids') for (let i = 0; i < s.ids.length; i++) words[s.ids[i]! >>> 5]! |= 1 << (s.ids[i]! & 31);
    else for (let i = 0; i < words.length; i++) words[i]! |= s.words[i]!;
  }
  return { kind: 'bits', words, n };
}

/**
 * Accumulates a union of many posting lists without a DocSet per list (a prefix like `9*` expands to thousands of
 * tokens of one or two rows each; a numeric range to thousands of values): ids go into one growing buffer, dense
 * lists OR into one bitset; `finish` sorts once.
 */
export class UnionBuilder {
  private ids = new Uint32Array(1024);
  private len = 0;
  private words: Uint32Array | undefined;

  constructor(readonly n: number) {}

  add(id: number): void {
    if (this.len === this.ids.length) {
      const next = new Uint32Array(this.ids.length * 2);
      next.set(this.ids);
      this.ids = next;
    }
    this.ids[this.len++] = id;
    if (this.len > this.n * DENSE && !this.words) this.spill();
  }

  /** ORs a bitset (little-endian words as stored) in. */
  addWords(bytes: Uint8Array, offset: number): void {
    if (!this.words) this.spill();
    const w = this.words!;
    const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, w.length * 4);
    for (let i = 0; i < w.length; i++) w[i]! |= dv.getUint32(i * 4, true);
  }

  finish(): DocSet {
    if (this.words) {
      this.spill();
      return { kind: 'bits', words: this.words, n: this.n };
    }
    if (this.len === 0) return EMPTY;
    const all = this.ids.subarray(0, this.len).sort();
    let w = 0;
    for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[w - 1]) all[w++] = all[i]!;
    return fromIds(all.subarray(0, w), this.n);
  }

  /** Moves the buffered ids into the bitset. */
  private spill(): void {
    this.words ??= new Uint32Array((this.n + 31) >>> 5);
    const w = this.words;
    for (let i = 0; i < this.len; i++) w[this.ids[i]! >>> 5]! |= 1 << (this.ids[i]! & 31);
    this.len = 0;
  }
}

/** Members in [lo, hi). */
export function clip(s: DocSet, lo: number, hi: number, n: number): DocSet {
  if (lo <= 0 && hi >= n) return s;
  if (s.kind === 'ids') {
    const a = lowerBound(s.ids, lo);
    const b = lowerBound(s.ids, hi);
    return { kind: 'ids', ids: s.ids.subarray(a, b) };
  }
  // What and(s, rangeOf(lo, hi, n)) gives, without building the range: an id list for a short range, else the words
  // of [lo, hi) (a partial time range of a segment cost a bitset of the whole segment and a pass over it).
  if (hi <= lo) return EMPTY;
  const w = s.words;
  if (hi - lo <= n * DENSE) {
    const out = new Uint32Array(hi - lo);
    let o = 0;
    for (let id = lo; id < hi; id++) if ((w[id >>> 5]! >>> (id & 31)) & 1) out[o++] = id;
    return { kind: 'ids', ids: out.subarray(0, o) };
  }
  const words = new Uint32Array(w.length);
  const a = lo >>> 5;
  const b = (hi - 1) >>> 5;
  words.set(w.subarray(a, b + 1), a);
  words[a]! &= (0xffffffff << (lo & 31)) >>> 0;
  if ((hi & 31) !== 0) words[b]! &= (2 ** (hi & 31) - 1) >>> 0;
  return { kind: 'bits', words, n: s.n };
}

/**
 * The members in [base, end), renumbered from 0 (`base` a multiple of 32): the set as a window of a part sees it
 * (query windows, see SegmentReader.termWindow). A copy: the input may be shared (posting cache).
 */
export function windowOf(s: DocSet, base: number, end: number): DocSet {
  const n = end - base;
  if (n <= 0) return EMPTY;
  if (s.kind === 'ids') {
    const a = lowerBound(s.ids, base);
    const b = lowerBound(s.ids, end);
    const ids = new Uint32Array(b - a);
    for (let i = a; i < b; i++) ids[i - a] = s.ids[i]! - base;
    return fromIds(ids, n);
  }
  const words = s.words.slice(base >>> 5, (end + 31) >>> 5);
  clearPast(words, n);
  return { kind: 'bits', words, n };
}

/** Clears the bits at n and above (a window's last word holds rows past its end). */
export function clearPast(words: Uint32Array, n: number): void {
  const rem = n & 31;
  const last = n >>> 5;
  if (rem !== 0 && last < words.length) words[last]! &= (2 ** rem - 1) >>> 0;
  for (let i = rem === 0 ? last : last + 1; i < words.length; i++) words[i] = 0;
}

/** Number of members in [lo, hi). */
export function countIn(s: DocSet, lo: number, hi: number): number {
  if (hi <= lo) return 0;
  if (s.kind === 'ids') return lowerBound(s.ids, hi) - lowerBound(s.ids, lo);
  const w = s.words;
  let c = 0;
  let i = lo;
  while (i < hi && (i & 31) !== 0) {
    if ((w[i >>> 5]! >>> (i & 31)) & 1) c++;
    i++;
  }
  while (i + 32 <= hi) {
    c += popcount(w[i >>> 5]!);
    i += 32;
  }
  while (i < hi) {
    if ((w[i >>> 5]! >>> (i & 31)) & 1) c++;
    i++;
  }
  return c;
}

/**
 * Calls `visit` for members from the highest id down (newest first, since parts are time-ordered) until it returns
 * false.
 */
export function eachDescending(s: DocSet, visit: (id: number) => boolean): void {
  if (s.kind === 'ids') {
    for (let i = s.ids.length - 1; i >= 0; i--) if (!visit(s.ids[i]!)) return;
    return;
  }
  const w = s.words;
  for (let wi = w.length - 1; wi >= 0; wi--) {
    let word = w[wi]!;
    while (word !== 0) {
      const bit = 31 - Math.clz32(word);
      if (!visit((wi << 5) + bit)) return;
      word &= ~(1 << bit);
    }
  }
}

export function eachAscending(s: DocSet, visit: (id: number) => boolean): void {
  if (s.kind === 'ids') {
    for (let i = 0; i < s.ids.length; i++) if (!visit(s.ids[i]!)) return;
    return;
  }
  const w = s.words;
  for (let wi = 0; wi < w.length; wi++) {
    let word = w[wi]!;
    while (word !== 0) {
      const low = word & -word;
      const bit = 31 - Math.clz32(low);
      if (!visit((wi << 5) + bit)) return;
      word ^= low;
    }
  }
}

/**
 * A pull cursor over the members, descending (newest first in a time-ordered part) or ascending: each call returns
 * the next id, or -1 at the end. Lets a page take ids one at a time instead of materializing every hit.
 */
export function cursor(s: DocSet, descending: boolean): () => number {
  if (s.kind === 'ids') {
    const ids = s.ids;
    let i = descending ? ids.length - 1 : 0;
    return descending ? () => (i >= 0 ? ids[i--]! : -1) : () => (i < ids.length ? ids[i++]! : -1);
  }
  const w = s.words;
  let wi = descending ? w.length - 1 : 0;
  let word = w.length > 0 ? w[wi]! : 0;
  if (descending) {
    return () => {
      while (word === 0) {
        if (--wi < 0) return -1;
        word = w[wi]!;
      }
      const bit = 31 - Math.clz32(word);
      word &= ~(1 << bit);
      return (wi << 5) + bit;
    };
  }
  return () => {
    while (word === 0) {
      if (++wi >= w.length) return -1;
      word = w[wi]!;
    }
    const low = word & -word;
    word ^= low;
    return (wi << 5) + 31 - Math.clz32(low);
  };
}

export function toIds(s: DocSet): Uint32Array {
  if (s.kind === 'ids') return s.ids;
  const out = new Uint32Array(count(s));
  let o = 0;
  eachAscending(s, (id) => {
    out[o++] = id;
    return true;
  });
  return out;
}

export function lowerBound(a: Uint32Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function filterIds(ids: Uint32Array, bits: { readonly words: Uint32Array }, keep: boolean): DocSet {
  const out = new Uint32Array(ids.length);
  let o = 0;
  const w = bits.words;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const has = ((w[id >>> 5]! >>> (id & 31)) & 1) === 1;
    if (has === keep) out[o++] = id;
  }
  return { kind: 'ids', ids: out.subarray(0, o) };
}

function intersectSorted(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (a.length > b.length) [a, b] = [b, a];
  const out = new Uint32Array(a.length);
  let o = 0;
  // Galloping when one side is much smaller: binary-search each small id in the big list.
  if (a.length * 16 < b.length) {
    let from = 0;
    for (let i = 0; i < a.length; i++) {
      let lo = from;
      let hi = b.length;
      const x = a[i]!;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (b[mid]! < x) lo = mid + 1;
        else hi = mid;
      }
      if (lo < b.length && b[lo] === x) out[o++] = x;
      from = lo;
    }
    return out.subarray(0, o);
  }
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out[o++] = x;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out.subarray(0, o);
}

function differenceSorted(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length);
  let o = 0;
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    while (j < b.length && b[j]! < x) j++;
    if (j >= b.length || b[j] !== x) out[o++] = x;
  }
  return out.subarray(0, o);
}

function unionSorted(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let o = 0;
  // Both lists open: one comparison chain per step; then the tail of whichever is left is copied.
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x < y) {
      out[o++] = x;
      i++;
    } else if (y < x) {
      out[o++] = y;
      j++;
    } else {
      out[o++] = x;
      i++;
      j++;
    }
  }
  if (i < a.length) {
    out.set(a.subarray(i), o);
    o += a.length - i;
  } else if (j < b.length) {
    out.set(b.subarray(j), o);
    o += b.length - j;
  }
  return out.subarray(0, o);
}

function clearTail(words: Uint32Array, n: number): void {
  const rem = n & 31;
  if (rem !== 0 && words.length > 0) words[words.length - 1] = (1 << rem) - 1;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}
