import { readSync } from 'node:fs';
import { Compressor, Decompressor } from 'zstd-napi';

/**
 * Byte-level helpers for segment files: a growable writer, varints, and zstd blocks. zstd level 3 on column blocks:
 * storage-anchors.md §8.2 measured ~320 MB per CPU-second with a reused context at ratio 4.7 (vs 2.95 for LZ4),
 * and segments are written once and read many times.
 */
const compressor = new Compressor();
compressor.setParameters({ compressionLevel: 3 });
const decompressor = new Decompressor();

export function zstdCompress(data: Uint8Array): Buffer {
  return compressor.compress(data);
}

export function zstdDecompress(data: Uint8Array): Buffer {
  try {
    return decompressor.decompress(data);
  } catch (err) {
    // Segment sections only: a frame that does not decode is damaged bytes.
    throw new DamagedBytesError(`a zstd frame does not decode (${err instanceof Error ? err.message : String(err)})`);
  }
}

/**
 * Reads of a file walked front to back (merges reading their inputs' row groups and dictionary blocks): served from
 * one read of `chunk` bytes while they last; a read past it starts the next chunk at its own offset. A 24-input merge
 * otherwise made ~84,000 preads of 1-16 KB (one per 16-row group, as groups were then, and per 64-token block),
 * ~5,500 with 256 KB chunks.
 */
export class ChunkedReads {
  private buf: Buffer | undefined;
  private off = 0;

  constructor(
    private readonly fd: number,
    private readonly size: number,
    private readonly chunk: number,
    private readonly path: string,
  ) {}

  /** `len` bytes at `off`: a view of the current chunk, valid while anything holds it. */
  read(off: number, len: number): Buffer {
    checkRange(off, len, this.size, this.path);
    const c = this.buf;
    if (c && off >= this.off && off + len <= this.off + c.length)
      return c.subarray(off - this.off, off - this.off + len);
    const want = Math.max(len, Math.min(this.chunk, this.size - off));
    const buf = readFully(this.fd, Buffer.allocUnsafe(want), off, want, this.path);
    this.buf = buf;
    this.off = off;
    return buf.subarray(0, len);
  }
}

/**
 * Throws DamagedBytesError unless [off, off + len) is a range of whole numbers inside a file of `size` bytes.
 * Segment offsets and lengths come from the file itself: a damaged one must fail before anything is allocated.
 */
export function checkRange(off: number, len: number, size: number, what: string): void {
  if (!(Number.isInteger(off) && Number.isInteger(len) && off >= 0 && len >= 0 && off + len <= size))
    throw new DamagedBytesError(`${what}: a read of ${len} bytes at ${off} in a file of ${size}`);
}

/** Fills `buf[0, len)` from `fd` at `off`; returns `buf`. A file shorter than that (shrunk since) throws. */
export function readFully(fd: number, buf: Buffer, off: number, len: number, what: string): Buffer {
  for (let done = 0; done < len; ) {
    const got = readSync(fd, buf, done, len - done, off + done);
    if (got === 0) throw new Error(`${what} is truncated at ${off + done}`);
    done += got;
  }
  return buf;
}

/** `len` bytes at `off` of `fd`, a file of `size` bytes (checkRange, then readFully). */
export function readExact(fd: number, off: number, len: number, size: number, what: string): Buffer {
  checkRange(off, len, size, what);
  return readFully(fd, Buffer.allocUnsafe(len), off, len, what);
}

export class ByteWriter {
  private buf: Buffer;
  length = 0;

  constructor(initial = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    // 1.5x: builders keep their writers between builds, so the slack of doubling would stay resident.
    let size = Math.ceil(this.buf.length * 1.5);
    while (size < this.length + extra) size = Math.ceil(size * 1.5);
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  varint(v: number): void {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.length++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.length++] = v;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Copies `src[start, end)` (runs under 128 bytes by a loop: cheaper than a native call with its checks). */
  bytesOf(src: Uint8Array, start: number, end: number): void {
    const len = end - start;
    this.ensure(len);
    const buf = this.buf;
    let o = this.length;
    if (len < 128) {
      for (let i = start; i < end; i++) buf[o++] = src[i]!;
    } else {
      buf.set(src.subarray(start, end), o);
    }
    this.length += len;
  }

  /** Room for `extra` more bytes; returns the buffer to write into at `length` (then advance `length`). */
  reserve(extra: number): Buffer {
    this.ensure(extra);
    return this.buf;
  }

  /** Writes `s` as UTF-8 prefixed with its byte length. */
  string(s: string): void {
    const max = s.length * 3;
    this.ensure(max + 10);
    // Reserve a 1-byte length when it surely fits; otherwise encode first, then the length.
    if (max < 128) {
      const at = this.length++;
      const n = this.buf.write(s, this.length, 'utf8');
      this.buf[at] = n;
      this.length += n;
    } else {
      const enc = Buffer.from(s, 'utf8');
      this.varint(enc.length);
      this.bytes(enc);
    }
  }

  /** Writes `s` as UTF-8 prefixed with varint(byte length + 1), the column cell encoding (0 = absent). */
  cell(s: string): void {
    const max = s.length * 3;
    if (max < 127) {
      this.ensure(max + 1);
      const at = this.length++;
      const n = this.buf.write(s, this.length, 'utf8');
      this.buf[at] = n + 1;
      this.length += n;
    } else {
      const n = Buffer.byteLength(s, 'utf8');
      this.varint(n + 1);
      this.ensure(n);
      this.buf.write(s, this.length, 'utf8');
      this.length += n;
    }
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }
}

/**
 * Bytes of a segment file that cannot be what its writer wrote (a length or offset past its buffer, a posting id past
 * the segment's rows). Segments are not checksummed: decoders check what would otherwise loop, allocate without bound
 * or put a wrong row into a merge, and throw this.
 */
export class DamagedBytesError extends Error {
  constructor(what: string) {
    super(`damaged segment bytes: ${what}`);
    this.name = 'DamagedBytesError';
  }
}

export class ByteReader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    pos = 0,
  ) {
    this.pos = pos;
  }

  /** An unsigned varint (at most 2^53); throws DamagedBytesError if it runs past the buffer or is longer. */
  varint(): number {
    const b = this.buf;
    let x = b[this.pos++]!;
    if (x < 0x80) return x;
    x &= 0x7f;
    let mul = 128;
    for (;;) {
      // Past the end (undefined) or past 2^53: damaged bytes, which would otherwise loop here without end.
      const c = b[this.pos++];
      if (c === undefined || mul > 2 ** 49) throw new DamagedBytesError('a varint runs past its bytes');
      x += (c & 0x7f) * mul;
      if (c < 0x80) return x;
      mul *= 128;
    }
  }

  string(): string {
    const n = this.varint();
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** Skips a length-prefixed string and returns its byte range. */
  stringRange(): [number, number] {
    const n = this.varint();
    const start = this.pos;
    this.pos += n;
    return [start, this.pos];
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }
}
