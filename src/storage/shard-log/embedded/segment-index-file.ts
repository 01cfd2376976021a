/**
 * The sidecar written when a segment is sealed (`<first seq>.idx` beside `<first seq>.log`, or `.zlog` once compacted:
 * rewritten then, since offsets change), so reopening a shard reads
 * a few KiB per sealed file instead of scanning it. It is only a cache: when it is missing, fails its CRC, or disagrees
 * with the data file's size, recovery scans the data file and writes a fresh one.
 *
 * Layout (little-endian):
 *
 *   offset size field
 *   0      4    magic        "SLIX"
 *   4      2    version      2
 *   6      2    reserved     0
 *   8      8    firstSeq     must match the file name
 *   16     4    count        records in the data file
 *   20     8    dataBytes    size of the data file when sealed
 *   28     8    lastOffset   offset of the last record (spot-checked on open)
 *   36     8    minTimeMs    receive time of the first record
 *   44     8    maxTimeMs    receive time of the last record
 *   52     4    entries      number of sparse index entries that follow
 *   56     24*n entries      seq u64, offset u64, receiveTimeMs u64
 *   ...    4    idCount      records of the file that carry an idempotency id
 *   ...    var  ids          per such record, in seq order: seq - firstSeq u32, length u8, the id (ASCII)
 *   ...    4    crc32c       over every byte before it
 *
 * Version 2 added the ids, so that reopening rebuilds the shard's id -> seq map without reading the data files. A
 * version 1 sidecar is refused like a damaged one: the file is scanned once and gets a version 2 sidecar.
 */
import { open, rename } from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import { MAX_IDEMPOTENCY_ID_LENGTH } from '../shard-log.js';
import { Segment } from './segment.js';

const INDEX_MAGIC = 0x58494c53; // "SLIX" read as little-endian u32
const INDEX_VERSION = 2;
const FIXED_BYTES = 56;
const ENTRY_BYTES = 24;
const TWO_32 = 2 ** 32;

function writeU64(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32LE(value % TWO_32, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_32), offset + 4);
}

function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset + 4) * TWO_32 + buf.readUInt32LE(offset);
}

export function encodeSegmentIndex(segment: Segment): Buffer {
  const entries = segment.entrySeq.length;
  const ids = segment.idList.length;
  let idBytes = 4;
  for (const id of segment.idList) idBytes += 5 + id.length;
  const buf = Buffer.alloc(FIXED_BYTES + entries * ENTRY_BYTES + idBytes + 4);
  buf.writeUInt32LE(INDEX_MAGIC, 0);
  buf.writeUInt16LE(INDEX_VERSION, 4);
  writeU64(buf, 8, segment.firstSeq);
  buf.writeUInt32LE(segment.count, 16);
  writeU64(buf, 20, segment.bytes);
  writeU64(buf, 28, segment.lastOffset);
  writeU64(buf, 36, segment.minTimeMs);
  writeU64(buf, 44, segment.maxTimeMs);
  buf.writeUInt32LE(entries, 52);
  for (let i = 0; i < entries; i++) {
    const at = FIXED_BYTES + i * ENTRY_BYTES;
    writeU64(buf, at, segment.entrySeq[i]!);
    writeU64(buf, at + 8, segment.entryOffset[i]!);
    writeU64(buf, at + 16, segment.entryTime[i]!);
  }
  let at = FIXED_BYTES + entries * ENTRY_BYTES;
  buf.writeUInt32LE(ids, at);
  at += 4;
  for (let i = 0; i < ids; i++) {
    const id = segment.idList[i]!;
    buf.writeUInt32LE(segment.idSeq[i]! - segment.firstSeq, at);
    buf.writeUInt8(id.length, at + 4);
    buf.write(id, at + 5, 'latin1');
    at += 5 + id.length;
  }
  const crcAt = buf.length - 4;
  buf.writeUInt32LE(crc32c(buf.subarray(0, crcAt)), crcAt);
  return buf;
}

/**
 * Rebuilds a sealed segment's in-memory view from its sidecar, or returns why the sidecar cannot be trusted.
 * `dataBytes` is the data file's current size; a mismatch means the file changed after sealing.
 */
export function decodeSegmentIndex(
  buf: Buffer,
  dir: string,
  firstSeq: number,
  dataBytes: number,
  compacted = false,
): Segment | string {
  if (buf.length < FIXED_BYTES + 4) return 'too short';
  const crcAt = buf.length - 4;
  if (crc32c(buf.subarray(0, crcAt)) !== buf.readUInt32LE(crcAt)) return 'CRC mismatch';
  if (buf.readUInt32LE(0) !== INDEX_MAGIC || buf.readUInt16LE(4) !== INDEX_VERSION) return 'bad magic or version';
  if (readU64(buf, 8) !== firstSeq) return 'first sequence number differs from the file name';
  if (readU64(buf, 20) !== dataBytes) return `data file is ${dataBytes} bytes, index says ${readU64(buf, 20)}`;
  const entries = buf.readUInt32LE(52);
  const idsAt = FIXED_BYTES + entries * ENTRY_BYTES;
  if (idsAt + 4 > crcAt) return 'entry count does not match size';
  const count = buf.readUInt32LE(16);
  if (count === 0 || entries === 0) return 'empty segment';
  const segment = new Segment(dir, firstSeq, compacted);
  segment.count = count;
  segment.bytes = dataBytes;
  segment.lastOffset = readU64(buf, 28);
  segment.minTimeMs = readU64(buf, 36);
  segment.maxTimeMs = readU64(buf, 44);
  for (let i = 0; i < entries; i++) {
    const at = FIXED_BYTES + i * ENTRY_BYTES;
    segment.entrySeq.push(readU64(buf, at));
    segment.entryOffset.push(readU64(buf, at + 8));
    segment.entryTime.push(readU64(buf, at + 16));
  }
  if (segment.entrySeq[0] !== firstSeq || segment.entryOffset[0] !== 0) return 'first entry is not the first record';
  const ids = buf.readUInt32LE(idsAt);
  let at = idsAt + 4;
  for (let i = 0; i < ids; i++) {
    if (at + 5 > crcAt) return 'ids run past the end';
    const delta = buf.readUInt32LE(at);
    const length = buf.readUInt8(at + 4);
    const previous = segment.idSeq.at(-1);
    if (delta >= count || (previous !== undefined && firstSeq + delta <= previous)) return 'id sequence out of order';
    if (length === 0 || length > MAX_IDEMPOTENCY_ID_LENGTH || at + 5 + length > crcAt) return 'bad id length';
    segment.idSeq.push(firstSeq + delta);
    segment.idList.push(buf.toString('latin1', at + 5, at + 5 + length));
    at += 5 + length;
  }
  if (at !== crcAt) return 'ids do not fill the index';
  return segment;
}

/**
 * Writes the sidecar through a temporary file and a rename, so a crash leaves either no sidecar or a whole one. The
 * caller fsyncs the directory.
 */
export async function writeSegmentIndex(segment: Segment, fsync: boolean): Promise<void> {
  const tmp = segment.indexPath + '.tmp';
  const file = await open(tmp, 'w');
  try {
    await file.writeFile(encodeSegmentIndex(segment));
    if (fsync) await file.datasync();
  } finally {
    await file.close();
  }
  await rename(tmp, segment.indexPath);
}
