/**
 * The head's dictionary of one index (full-text or a field): token → ascending row ids.
 *
 * `addText` tokenizes and hashes in one scan of the value's UTF-16 code units (FNV-1a, ASCII lowercased on the fly)
 * and probes an open-addressing table; a token's string is created only the first time it is seen. A `Map` keyed by
 * freshly sliced strings measured ~500 ns per token (slice, lowercase, hash, GC of the garbage strings) and was the
 * largest cost of ingest with indexing; this path allocates nothing for tokens already known.
 */
export class TokenTable {
  readonly tokens: string[] = [];
  private slots: Int32Array = new Int32Array(1024);
  private hashes: Int32Array = new Int32Array(256);
  private last: Int32Array = new Int32Array(256);
  /**
   * Postings live in one pool of chunks `[next, id…]` per token, doubling from 4 to 4096 ids: appends are typed-array
   * stores (no per-token JS arrays to grow and collect, which cost ~200 ns per id under GC pressure).
   */
  private pool: Uint32Array = new Uint32Array(1 << 16);
  private poolUsed = 1;
  private firstChunk: Int32Array = new Int32Array(256);
  private tailChunk: Int32Array = new Int32Array(256);
  private tailFill: Int32Array = new Int32Array(256);
  private tailCap: Int32Array = new Int32Array(256);
  private counts: Int32Array = new Int32Array(256);

  get size(): number {
    return this.tokens.length;
  }

  /** Adds every token of `text` (split where `delim[code] === 1`) for `row`. */
  addText(text: string, delim: Uint8Array, lower: boolean, maxToken: number, row: number): void {
    const n = text.length;
    let i = 0;
    while (i < n) {
      // Skip delimiters, then scan one token while hashing it.
      while (i < n && delim[text.charCodeAt(i)] === 1) i++;
      if (i >= n) return;
      const start = i;
      let h = -2128831035; // FNV offset basis 0x811c9dc5 as int32
      let folded = false;
      let slow = false;
      for (; i < n; i++) {
        let c = text.charCodeAt(i);
        if (delim[c] === 1) break;
        if (lower) {
          if (c >= 65 && c <= 90) {
            c += 32;
            folded = true;
          } else if (c >= 128) slow = true;
        }
        h = Math.imul(h ^ c, 16777619);
      }
      let end = i;
      if (end - start > maxToken) {
        end = start + maxToken;
        slow = true;
      }
      if (slow) {
        const t = text.slice(start, end);
        this.addString(lower ? t.toLowerCase() : t, row);
      } else {
        this.addRange(text, start, end, folded, h, row);
      }
    }
  }

  /** Adds `token` as is (already normalized) for `row`. */
  addString(token: string, row: number): void {
    let h = -2128831035;
    for (let i = 0; i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 16777619);
    const mask = this.slots.length - 1;
    let s = h & mask;
    for (;;) {
      const v = this.slots[s]!;
      if (v === 0) {
        this.insert(s, token, h, row);
        return;
      }
      const idx = v - 1;
      if (this.hashes[idx] === h && this.tokens[idx] === token) {
        this.push(idx, row);
        return;
      }
      s = (s + 1) & mask;
    }
  }

  /** Row ids of token `idx`, ascending. */
  postings(idx: number): Uint32Array {
    const out = new Uint32Array(this.counts[idx]!);
    let o = 0;
    let chunk = this.firstChunk[idx]!;
    let cap = 4;
    while (chunk !== 0) {
      const isTail = chunk === this.tailChunk[idx];
      const fill = isTail ? this.tailFill[idx]! : cap;
      out.set(this.pool.subarray(chunk + 1, chunk + 1 + fill), o);
      o += fill;
      if (isTail) break;
      chunk = this.pool[chunk]!;
      cap = Math.min(cap * 2, MAX_CHUNK);
    }
    return out;
  }

  /** Index of `token`, or -1. */
  find(token: string): number {
    let h = -2128831035;
    for (let i = 0; i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 16777619);
    const mask = this.slots.length - 1;
    let s = h & mask;
    for (;;) {
      const v = this.slots[s]!;
      if (v === 0) return -1;
      const idx = v - 1;
      if (this.hashes[idx] === h && this.tokens[idx] === token) return idx;
      s = (s + 1) & mask;
    }
  }

  /** `folded`: the range holds ASCII upper case that the token has lowered. */
  private addRange(text: string, start: number, end: number, folded: boolean, h: number, row: number): void {
    const mask = this.slots.length - 1;
    const len = end - start;
    let s = h & mask;
    for (;;) {
      const v = this.slots[s]!;
      if (v === 0) {
        const t = text.slice(start, end);
        this.insert(s, folded ? t.toLowerCase() : t, h, row);
        return;
      }
      const idx = v - 1;
      if (this.hashes[idx] === h) {
        const t = this.tokens[idx]!;
        // Unfolded ranges compare natively; folded ones char by char with ASCII lowering.
        if (t.length === len && (folded ? sameFolded(text, start, t) : text.startsWith(t, start))) {
          this.push(idx, row);
          return;
        }
      }
      s = (s + 1) & mask;
    }
  }

  private push(idx: number, row: number): void {
    if (this.last[idx] === row) return;
    this.last[idx] = row;
    this.counts[idx]!++;
    const fill = this.tailFill[idx]!;
    if (fill < this.tailCap[idx]!) {
      this.pool[this.tailChunk[idx]! + 1 + fill] = row;
      this.tailFill[idx] = fill + 1;
      return;
    }
    const cap = Math.min(this.tailCap[idx]! * 2, MAX_CHUNK);
    const chunk = this.alloc(cap);
    this.pool[this.tailChunk[idx]!] = chunk;
    this.pool[chunk + 1] = row;
    this.tailChunk[idx] = chunk;
    this.tailFill[idx] = 1;
    this.tailCap[idx] = cap;
  }

  private alloc(cap: number): number {
    if (this.poolUsed + cap + 1 > this.pool.length) {
      let size = this.pool.length * 2;
      while (size < this.poolUsed + cap + 1) size *= 2;
      const next = new Uint32Array(size);
      next.set(this.pool.subarray(0, this.poolUsed));
      this.pool = next;
    }
    const at = this.poolUsed;
    this.poolUsed += cap + 1;
    this.pool[at] = 0;
    return at;
  }

  private insert(slot: number, token: string, h: number, row: number): void {
    const idx = this.tokens.length;
    if (idx >= this.hashes.length) {
      this.hashes = grow(this.hashes);
      this.last = grow(this.last);
      this.firstChunk = grow(this.firstChunk);
      this.tailChunk = grow(this.tailChunk);
      this.tailFill = grow(this.tailFill);
      this.tailCap = grow(this.tailCap);
      this.counts = grow(this.counts);
    }
    this.tokens.push(token);
    const chunk = this.alloc(4);
    this.pool[chunk + 1] = row;
    this.firstChunk[idx] = chunk;
    this.tailChunk[idx] = chunk;
    this.tailFill[idx] = 1;
    this.tailCap[idx] = 4;
    this.counts[idx] = 1;
    this.hashes[idx] = h;
    this.last[idx] = row;
    this.slots[slot] = idx + 1;
    // Keep the load factor under 1/2 so probes stay short.
    if ((idx + 1) * 2 > this.slots.length) this.rehash();
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let idx = 0; idx < this.tokens.length; idx++) {
      let s = this.hashes[idx]! & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = idx + 1;
    }
    this.slots = slots;
  }
}

const MAX_CHUNK = 4096;

function sameFolded(text: string, start: number, token: string): boolean {
  for (let i = 0; i < token.length; i++) {
    let c = text.charCodeAt(start + i);
    if (c >= 65 && c <= 90) c += 32;
    if (token.charCodeAt(i) !== c) return false;
  }
  return true;
}

function grow(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
