/**
 * Walks the records of one segment file forward from a byte offset up to a byte limit, reading in chunks so that a
 * run of small records costs one read rather than one per record. Used by recovery (verify everything), by readers
 * (payloads, verified) and by cursor lookups (headers only, payloads skipped without reading them).
 */
import type { FileHandle } from 'node:fs/promises';
import {
  decodeRecordHeader,
  isHeaderProblem,
  RECORD_HEADER_BYTES,
  type RecordHeader,
  recordCrcMatches,
} from './record-codec.js';

export type Frame =
  | { readonly kind: 'record'; readonly offset: number; readonly header: RecordHeader; readonly payload: Buffer | null }
  | { readonly kind: 'end' }
  | { readonly kind: 'invalid'; readonly offset: number; readonly reason: string };

const EMPTY = Buffer.alloc(0);

export class RecordCursor {
  private buf: Buffer = EMPTY;
  private bufStart = 0;
  /** Offset of the next frame. */
  position: number;

  constructor(
    private readonly file: FileHandle,
    start: number,
    /** Bytes beyond this offset are never read: for the active file, the durable size when the read began. */
    private readonly limit: number,
    private readonly chunkBytes: number,
  ) {
    this.position = start;
  }

  /**
   * The frame at the current position, then moves past it. With `verify`, the payload is read and its CRC checked;
   * with neither `payload` nor `verify`, only the 32 header bytes are read.
   */
  async next(options: { readonly payload: boolean; readonly verify: boolean }): Promise<Frame> {
    const offset = this.position;
    if (offset >= this.limit) return { kind: 'end' };
    if (!(await this.ensure(offset, RECORD_HEADER_BYTES))) {
      return { kind: 'invalid', offset, reason: `short header (${this.limit - offset} bytes before end of file)` };
    }
    const headerBuf = this.buf;
    const headerOffset = offset - this.bufStart;
    const header = decodeRecordHeader(headerBuf, headerOffset);
    if (isHeaderProblem(header)) return { kind: 'invalid', offset, reason: header };
    const payloadStart = offset + RECORD_HEADER_BYTES;
    const end = payloadStart + header.payloadLength;
    if (end > this.limit) {
      return { kind: 'invalid', offset, reason: `payload of ${header.payloadLength} bytes runs past end of file` };
    }
    let payload: Buffer | null = null;
    if (options.payload || options.verify) {
      // Keep the header bytes: `ensure` may replace the buffer that holds them.
      const headerCopy = this.contains(offset, end)
        ? headerBuf
        : Buffer.from(headerBuf.subarray(headerOffset, headerOffset + RECORD_HEADER_BYTES));
      const headerCopyOffset = headerCopy === headerBuf ? headerOffset : 0;
      if (!(await this.ensure(payloadStart, header.payloadLength))) {
        return { kind: 'invalid', offset, reason: 'file shorter than its size' };
      }
      const at = payloadStart - this.bufStart;
      payload = this.buf.subarray(at, at + header.payloadLength);
      if (options.verify && !recordCrcMatches(headerCopy, headerCopyOffset, header, payload)) {
        return { kind: 'invalid', offset, reason: 'CRC mismatch' };
      }
    }
    this.position = end;
    return { kind: 'record', offset, header, payload };
  }

  private contains(from: number, to: number): boolean {
    return from >= this.bufStart && to <= this.bufStart + this.buf.length;
  }

  /** Makes bytes [at, at + n) available in `buf`; false if they lie past the limit or the file is shorter. */
  private async ensure(at: number, n: number): Promise<boolean> {
    if (this.contains(at, at + n)) return true;
    if (at + n > this.limit) return false;
    const size = Math.min(Math.max(n, this.chunkBytes), this.limit - at);
    const buf = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await this.file.read(buf, filled, size - filled, at + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    this.buf = filled === size ? buf : buf.subarray(0, filled);
    this.bufStart = at;
    return filled >= n;
  }
}
