/**
 * The on-disk frame of one shard-log record. A segment file is nothing but these frames back to back, so a file can be
 * validated, cut and replayed with no other metadata.
 *
 * Layout (all integers little-endian, 32-byte header, then the body: an optional id block and the payload as given,
 * still compressed):
 *
 *   offset size field
 *   0      2    magic          0x51C3 ("sluice record"); a zeroed or foreign region fails here first
 *   2      1    version        1
 *   3      1    codec          bits 0-6: 0 none, 1 lz4, 2 deflate, 3 zstd, 4 zstd-columns (`PayloadCodec`); bit 7
 *                              (0x80): the body starts with an id block
 *   4      4    bodyLength     bytes of body that follow the header (id block + payload)
 *   8      8    seq            the record's sequence number (u64, kept below 2^53)
 *   16     8    receiveTimeMs  server receive time, unix ms (u64, kept below 2^53)
 *   24     4    rawSize        payload size once decompressed
 *   28     4    crc32c         CRC-32C (Castagnoli) over header bytes [0, 28) followed by the whole body
 *   32     n    body           [id block] payload
 *
 * The id block (only with bit 7 of the codec byte) is `[u8 length 1-128][idempotency id, printable ASCII]`. It lives
 * inside the CRC-covered frame, so a record is either kept with its id or cut with it: a crash cannot leave the data
 * stored without the id that would stop a resend from storing it twice.
 *
 * The flag bit rather than a version bump keeps the format backward compatible: records without an id are byte for
 * byte what earlier versions wrote, so old files read unchanged, and only files holding ids need this code to read
 * (a binary from before the flag would take a flagged frame for a torn one: do not downgrade past it). Codec 4
 * (zstd-columns) came the same way, and only compacted `.zlog` files hold it.
 *
 * The CRC comes last in the header so it can cover every other header byte plus the body in one chained pass.
 * A torn write shows up as a short header, a length running past end of file, or a CRC mismatch; recovery cuts the
 * file at the first such frame.
 */
import { crc32c } from '@node-rs/crc32';
import { MAX_IDEMPOTENCY_ID_LENGTH, type PayloadCodec } from '../shard-log.js';

export const RECORD_MAGIC = 0x51c3;
export const RECORD_VERSION = 1;
export const RECORD_HEADER_BYTES = 32;
const CRC_OFFSET = 28;
/**
 * Format ceiling on one payload, independent of configuration: recovery must not reject records that an earlier run
 * accepted under a larger configured limit, yet a garbage length field above this is rejected before any read.
 */
export const MAX_PAYLOAD_BYTES_FORMAT = 1024 * 1024 * 1024;
/** Bit 7 of the codec byte: the body starts with an id block. */
const HAS_ID_FLAG = 0x80;
const CODEC_MASK = 0x7f;
/** Largest id block: the length byte plus the longest id. */
const MAX_ID_BLOCK_BYTES = 1 + MAX_IDEMPOTENCY_ID_LENGTH;

const CODEC_IDS: Readonly<Record<PayloadCodec, number>> = { none: 0, lz4: 1, deflate: 2, zstd: 3, 'zstd-columns': 4 };
const CODECS_BY_ID: readonly PayloadCodec[] = ['none', 'lz4', 'deflate', 'zstd', 'zstd-columns'];

export function codecId(codec: PayloadCodec): number | undefined {
  return Object.hasOwn(CODEC_IDS, codec) ? CODEC_IDS[codec] : undefined;
}

export interface RecordHeader {
  readonly codec: PayloadCodec;
  /** The body starts with an id block. */
  readonly hasId: boolean;
  /** Bytes after the header: id block (when `hasId`) plus payload. */
  readonly bodyLength: number;
  readonly seq: number;
  readonly receiveTimeMs: number;
  readonly rawSize: number;
  readonly crc: number;
}

export type HeaderProblem = 'bad-magic' | 'bad-version' | 'bad-codec' | 'bad-length' | 'bad-number';

/** A record's body split into its parts. */
export interface RecordBody {
  readonly idempotencyId: string | undefined;
  readonly payload: Buffer;
}

const TWO_32 = 2 ** 32;

function writeU64(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32LE(value % TWO_32, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_32), offset + 4);
}

/** Reads a u64 that must fit a JS safe integer; returns -1 when it does not (only garbage does that). */
function readU64(buf: Buffer, offset: number): number {
  const hi = buf.readUInt32LE(offset + 4);
  if (hi > 0x1fffff) return -1;
  return hi * TWO_32 + buf.readUInt32LE(offset);
}

/** Bytes of the id block written in front of the payload: 0 without an id. The id must be ASCII (1-128 chars). */
export function idBlockBytes(idempotencyId: string | undefined): number {
  return idempotencyId === undefined ? 0 : 1 + idempotencyId.length;
}

/**
 * Writes the 32-byte header of one record into `target` at `offset`, followed by the id block when `idempotencyId` is
 * given (the caller reserves `RECORD_HEADER_BYTES + idBlockBytes(idempotencyId)` bytes). The CRC covers `payload`,
 * which the caller writes right after. `idempotencyId` must already be valid (`idempotencyIdProblem`).
 */
export function encodeRecordHeader(
  target: Buffer,
  offset: number,
  seq: number,
  receiveTimeMs: number,
  codec: number,
  rawSize: number,
  payload: Uint8Array,
  idempotencyId?: string,
): void {
  const idBytes = idBlockBytes(idempotencyId);
  target.writeUInt16LE(RECORD_MAGIC, offset);
  target.writeUInt8(RECORD_VERSION, offset + 2);
  target.writeUInt8(idempotencyId === undefined ? codec : codec | HAS_ID_FLAG, offset + 3);
  target.writeUInt32LE(idBytes + payload.length, offset + 4);
  writeU64(target, offset + 8, seq);
  writeU64(target, offset + 16, receiveTimeMs);
  target.writeUInt32LE(rawSize, offset + 24);
  let crc = crc32c(target.subarray(offset, offset + CRC_OFFSET));
  if (idempotencyId !== undefined) {
    const at = offset + RECORD_HEADER_BYTES;
    target.writeUInt8(idempotencyId.length, at);
    target.write(idempotencyId, at + 1, 'latin1');
    crc = crc32c(target.subarray(at, at + idBytes), crc);
  }
  target.writeUInt32LE(crc32c(payload, crc), offset + CRC_OFFSET);
}

/** Parses the 32 header bytes at `offset`; structural checks only (the CRC needs the payload: `recordCrcMatches`). */
export function decodeRecordHeader(buf: Buffer, offset: number): RecordHeader | HeaderProblem {
  if (buf.readUInt16LE(offset) !== RECORD_MAGIC) return 'bad-magic';
  if (buf.readUInt8(offset + 2) !== RECORD_VERSION) return 'bad-version';
  const codecByte = buf.readUInt8(offset + 3);
  const codec = CODECS_BY_ID[codecByte & CODEC_MASK];
  if (codec === undefined) return 'bad-codec';
  const hasId = (codecByte & HAS_ID_FLAG) !== 0;
  const bodyLength = buf.readUInt32LE(offset + 4);
  if (bodyLength > MAX_PAYLOAD_BYTES_FORMAT + (hasId ? MAX_ID_BLOCK_BYTES : 0)) return 'bad-length';
  if (hasId && bodyLength < 2) return 'bad-length';
  const seq = readU64(buf, offset + 8);
  const receiveTimeMs = readU64(buf, offset + 16);
  if (seq < 0 || receiveTimeMs < 0) return 'bad-number';
  return {
    codec,
    hasId,
    bodyLength,
    seq,
    receiveTimeMs,
    rawSize: buf.readUInt32LE(offset + 24),
    crc: buf.readUInt32LE(offset + CRC_OFFSET),
  };
}

/** True when the stored CRC matches header bytes [0, 28) at `headerOffset` in `headerBuf` chained with `body`. */
export function recordCrcMatches(headerBuf: Buffer, headerOffset: number, header: RecordHeader, body: Buffer): boolean {
  const crc = crc32c(body, crc32c(headerBuf.subarray(headerOffset, headerOffset + CRC_OFFSET)));
  return crc === header.crc;
}

/**
 * Splits a body (already CRC-checked) into its id and payload; a string says why the id block is malformed, which
 * only a bug can produce under a good CRC.
 */
export function splitRecordBody(header: RecordHeader, body: Buffer): RecordBody | string {
  if (!header.hasId) return { idempotencyId: undefined, payload: body };
  const length = body.length > 0 ? body.readUInt8(0) : 0;
  if (length === 0 || length > MAX_IDEMPOTENCY_ID_LENGTH || 1 + length > body.length) {
    return `bad id block (length ${length}, body ${body.length} bytes)`;
  }
  return { idempotencyId: body.toString('latin1', 1, 1 + length), payload: body.subarray(1 + length) };
}

export function isHeaderProblem(value: RecordHeader | HeaderProblem): value is HeaderProblem {
  return typeof value === 'string';
}
