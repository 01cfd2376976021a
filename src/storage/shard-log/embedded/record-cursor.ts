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
  splitRecordBody,
} from './record-codec.js';

export type Frame =
  | {
      readonly kind: 'record';
      readonly offset: number;
      readonly header: RecordHeader;
      /** The payload proper (id block stripped); null when the body was not read. */
      readonly payload: Buffer | null;
      /** The record's idempotency id; undefined when it has none or the body was not read. */
      readonly idempotencyId: string | undefined;
    }
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
   * The frame at the current position, then moves past it. With `verify`, the body is read and its CRC checked; with
   * `payload` or `verify`, the body is split into id and payload; with neither, only the 32 header bytes are read.
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
    const bodyStart = offset + RECORD_HEADER_BYTES;
    const end = bodyStart + header.bodyLength;
    if (end > this.limit) {
      return { kind: 'invalid', offset, reason: `body of ${header.bodyLength} bytes runs past end of file` };
    }
    let payload: Buffer | null = null;
    let idempotencyId: string | undefined;
    if (options.payload || options.verify) {
      // Keep the header bytes: `ensure` may replace the buffer that holds them.
      const headerCopy = this.contains(offset, end)
        ? headerBuf
        : Buffer.from(headerBuf.subarray(headerOffset, headerOffset + RECORD_HEADER_BYTES));
      const headerCopyOffset = headerCopy === headerBuf ? headerOffset : 0;
      if (!(await this.ensure(bodyStart, header.bodyLength))) {
        return { kind: 'invalid', offset, reason: 'file shorter than its size' };
      }
      const at = bodyStart - this.bufStart;
      const body = this.buf.subarray(at, at + header.bodyLength);
      if (options.verify && !recordCrcMatches(headerCopy, headerCopyOffset, header, body)) {
        return { kind: 'invalid', offset, reason: 'CRC mismatch' };
      }
      const parts = splitRecordBody(header, body);
      if (typeof parts === 'string') return { kind: 'invalid', offset, reason: parts };
      payload = parts.payload;
      idempotencyId = parts.idempotencyId;
    }
    this.position = end;
    return { kind: 'record', offset, header, payload, idempotencyId };
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
