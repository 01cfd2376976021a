import { ByteReader } from './bytes.js';
import type { DictFooter } from './segment-format.js';

/**
 * The entries of one token block, one at a time, plain or packed (segment-format.ts, DictFooter.packed): the one
 * decoder of the entry format, for query lookups (segment-reader.ts, over the token block alone) and for walks of
 * whole dictionaries (DictWalk).
 */
export class TokenEntries {
  /** The current entry's token: `tokBuf[tokStart, tokEnd)` (UTF-8), valid until the next entry. */
  tokBuf: Buffer;
  tokStart = 0;
  tokEnd = 0;
  /** The current entry's single row (a packed entry that stores no posting), or -1. */
  row = -1;
  /** Where the current entry's posting is in the file (before `blockPostings`: another dictionary's), its length. */
  postingAt = 0;
  postingLen = 0;
  private readonly r: ByteReader;
  /** Packed: where the next stored posting is (offsets are implied), and the current token (front-coded). */
  private nextPosting: number;
  private tok: Buffer | undefined;

  /** The entries in `buf` from `start` to its end, of a block whose postings start at `blockPostings` in the file. */
  constructor(
    buf: Buffer,
    start: number,
    readonly blockPostings: number,
    private readonly packed: boolean,
  ) {
    this.r = new ByteReader(buf, start);
    this.tokBuf = buf;
    this.nextPosting = blockPostings;
  }

  get done(): boolean {
    return this.r.done;
  }

  next(): void {
    const r = this.r;
    this.row = -1;
    if (!this.packed) {
      const len = r.varint();
      this.tokStart = r.pos;
      this.tokEnd = r.pos + len;
      r.pos = this.tokEnd;
      this.postingAt = this.blockPostings + r.varint();
      this.postingLen = r.varint();
      return;
    }
    const same = r.varint();
    const rest = r.varint();
    let tok = this.tok ?? Buffer.allocUnsafe(64);
    if (tok.length < same + rest) {
      const grown = Buffer.allocUnsafe(2 * (same + rest));
      tok.copy(grown, 0, 0, same);
      tok = grown;
    }
    r.buf.copy(tok, same, r.pos, r.pos + rest);
    r.pos += rest;
    this.tok = tok;
    this.tokBuf = tok;
    this.tokStart = 0;
    this.tokEnd = same + rest;
    const kind = r.varint();
    if (kind === 0) {
      this.row = r.varint();
      this.postingLen = 0;
    } else if (kind === 1) {
      this.postingAt = this.blockPostings - r.varint();
      this.postingLen = r.varint();
    } else {
      this.postingAt = this.nextPosting;
      this.postingLen = kind - 2;
      this.nextPosting += kind - 2;
    }
  }
}

/**
 * A text dictionary's entries in token order, block by block: each block's postings and token block are one read
 * (they are adjacent in the file). Merges walk their inputs' dictionaries with it, and the full-text dictionary being
 * written walks the field dictionaries written before it (segment-writer.ts).
 */
export class DictWalk {
  done = false;
  /** The current block: its postings, then its token block. */
  buf: Buffer = Buffer.alloc(0);
  /** The current entry (TokenEntries): its token, its single row or -1, where its posting is in the file. */
  tokBuf: Uint8Array = this.buf;
  tokStart = 0;
  tokEnd = 0;
  row = -1;
  postingAt = 0;
  postingLen = 0;
  /** Where the current entry's posting is in `buf`, or -1 when it is elsewhere (`postingAt`) or absent (`row`). */
  postingOff = -1;
  private block = -1;
  private entries: TokenEntries | undefined;

  constructor(
    private readonly read: (off: number, len: number) => Buffer,
    private readonly d: DictFooter,
  ) {
    this.next();
  }

  next(): void {
    while (!this.entries || this.entries.done) {
      this.block++;
      if (this.block >= this.d.blocks.length) {
        this.done = true;
        return;
      }
      const b = this.d.blocks[this.block]!;
      this.buf = this.read(b.postings, b.off + b.len - b.postings);
      this.entries = new TokenEntries(this.buf, b.off - b.postings, b.postings, this.d.packed === true);
    }
    const e = this.entries;
    e.next();
    this.tokBuf = e.tokBuf;
    this.tokStart = e.tokStart;
    this.tokEnd = e.tokEnd;
    this.row = e.row;
    this.postingAt = e.postingAt;
    this.postingLen = e.postingLen;
    this.postingOff = e.row < 0 && e.postingAt >= e.blockPostings ? e.postingAt - e.blockPostings : -1;
  }
}
