import { unzigzag } from './postings.js';
import type { DictFooter } from './segment-format.js';

/**
 * A text dictionary's entries in token order, block by block: each block's postings and token block are one read
 * (they are adjacent in the file). Merges walk their inputs' dictionaries with it, and a shared dictionary being
 * written walks the ones written before it (segment-writer.ts).
 */
export class DictWalk {
  done = false;
  /** The current block: its postings, then its token block. */
  buf: Buffer = Buffer.alloc(0);
  /** The current entry's token: `buf[tokStart, tokEnd)` (UTF-8). */
  tokStart = 0;
  tokEnd = 0;
  /**
   * The current entry's posting: at `postingOff` in `buf`, or, when negative (a shared dictionary's entry), at
   * `postingAt` in the file, before this block.
   */
  postingOff = 0;
  postingLen = 0;
  private block = -1;
  private pos = 0;

  constructor(
    private readonly read: (off: number, len: number) => Buffer,
    private readonly d: DictFooter,
  ) {
    this.next();
  }

  /** The current entry's posting's offset in the file. */
  get postingAt(): number {
    return this.d.blocks[this.block]!.postings + this.postingOff;
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
      this.pos = b.off - b.postings;
    }
    const len = this.varint();
    this.tokStart = this.pos;
    this.tokEnd = this.pos + len;
    this.pos = this.tokEnd;
    const v = this.varint();
    this.postingOff = this.d.shared ? unzigzag(v) : v;
    this.postingLen = this.varint();
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
