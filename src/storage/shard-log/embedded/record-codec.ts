/**
 * The on-disk frame of one shard-log record. A segment file is nothing but these frames back to back, so a file can be
 * validated, cut and replayed with no other metadata.
 *
 * Layout (all integers little-endian, 32-byte header, then the payload as given, still compressed):
 *
 *   offset size field
 *   0      2    magic          0x51C3 ("sluice record"); a zeroed or foreign region fails here first
 *   2      1    version        1
 *   3      1    codec          0 none, 1 lz4, 2 deflate, 3 zstd (`PayloadCodec`)
 *   4      4    payloadLength  bytes of payload that follow the header
 *   8      8    seq            the record's sequence number (u64, kept below 2^53)
 *   16     8    receiveTimeMs  server receive time, unix ms (u64, kept below 2^53)
 *   24     4    rawSize        payload size once decompressed
 *   28     4    crc32c         CRC-32C (Castagnoli) over header bytes [0, 28) followed by the payload
 *   32     n    payload
 *
 * The CRC comes last in the header so it can cover every other header byte plus the payload in one chained pass.
 * A torn write shows up as a short header, a length running past end of file, or a CRC mismatch; recovery cuts the
 * file at the first such frame.
 */
import { crc32c } from '@node-rs/crc32';
import type { PayloadCodec } from '../shard-log.js';

export const RECORD_MAGIC = 0x51c3;
export const RECORD_VERSION = 1;
export const RECORD_HEADER_BYTES = 32;
const CRC_OFFSET = 28;
/**
 * Format ceiling on one payload, independent of configuration: recovery must not reject records that an earlier run
 * accepted under a larger configured limit, yet a garbage length field above this is rejected before any read.
 */
export const MAX_PAYLOAD_BYTES_FORMAT = 1024 * 1024 * 1024;

const CODEC_IDS: Readonly<Record<PayloadCodec, number>> = { none: 0, lz4: 1, deflate: 2, zstd: 3 };
const CODECS_BY_ID: readonly PayloadCodec[] = ['none', 'lz4', 'deflate', 'zstd'];

export function codecId(codec: PayloadCodec): number | undefined {
  return Object.hasOwn(CODEC_IDS, codec) ? CODEC_IDS[codec] : undefined;
}

export interface RecordHeader {
  readonly codec: PayloadCodec;
  readonly payloadLength: number;
  readonly seq: number;
  readonly receiveTimeMs: number;
  readonly rawSize: number;
  readonly crc: number;
}

export type HeaderProblem = 'bad-magic' | 'bad-version' | 'bad-codec' | 'bad-length' | 'bad-number';

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

/**
 * Writes the 32-byte header of one record into `target` at `offset`; its CRC covers `payload`, which the caller writes
 * right after the header.
 */
export function encodeRecordHeader(
  target: Buffer,
  offset: number,
  seq: number,
  receiveTimeMs: number,
  codec: number,
  rawSize: number,
  payload: Uint8Array,
): void {
  target.writeUInt16LE(RECORD_MAGIC, offset);
  target.writeUInt8(RECORD_VERSION, offset + 2);
  target.writeUInt8(codec, offset + 3);
  target.writeUInt32LE(payload.length, offset + 4);
  writeU64(target, offset + 8, seq);
  writeU64(target, offset + 16, receiveTimeMs);
  target.writeUInt32LE(rawSize, offset + 24);
  const crc = crc32c(payload, crc32c(target.subarray(offset, offset + CRC_OFFSET)));
  target.writeUInt32LE(crc, offset + CRC_OFFSET);
}

/** Parses the 32 header bytes at `offset`; structural checks only (the CRC needs the payload: `recordCrcMatches`). */
export function decodeRecordHeader(buf: Buffer, offset: number): RecordHeader | HeaderProblem {
  if (buf.readUInt16LE(offset) !== RECORD_MAGIC) return 'bad-magic';
  if (buf.readUInt8(offset + 2) !== RECORD_VERSION) return 'bad-version';
  const codec = CODECS_BY_ID[buf.readUInt8(offset + 3)];
  if (codec === undefined) return 'bad-codec';
  const payloadLength = buf.readUInt32LE(offset + 4);
  if (payloadLength > MAX_PAYLOAD_BYTES_FORMAT) return 'bad-length';
  const seq = readU64(buf, offset + 8);
  const receiveTimeMs = readU64(buf, offset + 16);
  if (seq < 0 || receiveTimeMs < 0) return 'bad-number';
  return {
    codec,
    payloadLength,
    seq,
    receiveTimeMs,
    rawSize: buf.readUInt32LE(offset + 24),
    crc: buf.readUInt32LE(offset + CRC_OFFSET),
  };
}

/** True when the stored CRC matches header bytes [0, 28) at `headerOffset` in `headerBuf` chained with `payload`. */
export function recordCrcMatches(
  headerBuf: Buffer,
  headerOffset: number,
  header: RecordHeader,
  payload: Buffer,
): boolean {
  const crc = crc32c(payload, crc32c(headerBuf.subarray(headerOffset, headerOffset + CRC_OFFSET)));
  return crc === header.crc;
}

export function isHeaderProblem(value: RecordHeader | HeaderProblem): value is HeaderProblem {
  return typeof value === 'string';
}
