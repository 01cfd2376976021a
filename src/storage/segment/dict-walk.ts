import type { DictFooter } from './segment-format.js';

/**
 * A text dictionary's entries in token order, block by block: each block's postings and token block are one read
 * (they are adjacent in the file). Reads plain and packed entries (DictFooter.packed). Merges walk their inputs'
 * dictionaries with it, and the full-text dictionary being written walks the field dictionaries written before it
 * (segment-writer.ts).
 */
export class DictWalk {
  done = false;
  /** The current block: its postings, then its token block. */
  buf: Buffer = Buffer.alloc(0);
  /** The current entry's token: `tokBuf[tokStart, tokEnd)` (UTF-8), valid until the walk moves on. */
  tokBuf: Uint8Array = this.buf;
  tokStart = 0;
  tokEnd = 0;
  /** The current entry's single row (a packed entry without a posting), or -1. */
  row = -1;
  /** Where the current entry's posting is in `buf`, or -1 when it is elsewhere (`postingAt`) or absent (`row`). */
  postingOff = -1;
  /** Where the current entry's posting is in the file, and its length. */
  postingAt = 0;
  postingLen = 0;
  private block = -1;
  private pos = 0;
  private blockPostings = 0;
  /** Packed: the next stored posting's offset in `buf`, and the current token (front-coded in the block). */
  private nextPosting = 0;
  private tok = Buffer.alloc(256);

  constructor(
    private readonly read: (off: number, len: number) => Buffer,
    private readonly d: DictFooter,
  ) {
    this.next();
  }

  next(): void {
    if (this.block < 0 || this.pos >= this.buf.length) {
      this.block++;
      if (this.block >= this.d.blocks.length) {
        this.done = true;
        return;
      }
      const b = this.d.blocks[this.block]!;
      this.buf = this.read(b.postings, b.off + b.len - b.postings);
      this.blockPostings = b.postings;
      this.pos = b.off - b.postings;
      this.nextPosting = 0;
      this.tokEnd = 0;
    }
    if (this.d.packed) this.nextPacked();
    else this.nextPlain();
  }

  private nextPlain(): void {
    const len = this.varint();
    this.tokBuf = this.buf;
    this.tokStart = this.pos;
    this.tokEnd = this.pos + len;
    this.pos = this.tokEnd;
    this.postingOff = this.varint();
    this.postingLen = this.varint();
    this.postingAt = this.blockPostings + this.postingOff;
    this.row = -1;
  }

  private nextPacked(): void {
    const shared = this.varint();
    const rest = this.varint();
    if (this.tok.length < shared + rest) {
      const grown = Buffer.alloc(2 * (shared + rest));
      this.tok.copy(grown, 0, 0, shared);
      this.tok = grown;
    }
    this.buf.copy(this.tok, shared, this.pos, this.pos + rest);
    this.pos += rest;
    this.tokBuf = this.tok;
    this.tokStart = 0;
    this.tokEnd = shared + rest;
    const kind = this.varint();
    this.row = -1;
    this.postingOff = -1;
    if (kind === 0) {
      this.row = this.varint();
      this.postingLen = 0;
    } else if (kind === 1) {
      this.postingAt = this.blockPostings - this.varint();
      this.postingLen = this.varint();
    } else {
      this.postingLen = kind - 2;
      this.postingOff = this.nextPosting;
      this.postingAt = this.blockPostings + this.nextPosting;
      this.nextPosting += this.postingLen;
    }
  }

  private varint(): number {
    const buf = this.buf;
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = buf[this.pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  }
}
