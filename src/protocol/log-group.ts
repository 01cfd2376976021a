/**
 * The SLS protobuf model (sls-api.md §4) and its hand-written wire codec.
 *
 * Decoding is lenient the way the SDKs need it: values may be arbitrary bytes (PY writes binary values), so invalid
 * UTF-8 becomes U+FFFD instead of an error; unknown fields (incl. ilogtail's `Log.values`, field 3) are skipped, and a
 * known field arriving with an unexpected wire type is skipped as unknown (protobuf-go does the same). Policy checks
 * (required Time, key rules, sizes) live in log-group-validate.ts, which runs first on ingest.
 *
 * Encoding emits optional fields only when present on the object: aliyun-sdk's decoder crashes on fields it does not
 * know (e.g. `TimeNs`), so a LogGroup must go out with exactly the fields its writer sent.
 */
import { SlsError } from './errors.js';
import {
  at,
  malformed,
  readFixed32,
  readLenEnd,
  readTag,
  readVarint,
  seek,
  skipField,
  utf8Length,
  varintSize,
  WIRE_FIXED32,
  WIRE_LEN,
  WIRE_VARINT,
  writeVarint,
} from './wire.js';

export interface LogContent {
  key: string;
  value: string;
}

export interface Log {
  /** Unix seconds (uint32). */
  time: number;
  /** Nanosecond part 0..999999999 (fixed32 field 4); absent when the writer did not send it. */
  timeNs?: number;
  contents: LogContent[];
}

export interface LogTag {
  key: string;
  value: string;
}

export interface LogGroup {
  logs: Log[];
  topic?: string;
  source?: string;
  machineUuid?: string;
  /** Field 2, a.k.a. Category; unused by SLS but kept so it round-trips. */
  reserved?: string;
  tags: LogTag[];
}

/** One entry of a `batch_group` body (`SlsLogPackage`). */
export interface SlsLogPackage {
  /** One serialized LogGroup, compressed per `compressType`. */
  data: Uint8Array;
  uncompressSize?: number;
  /** Absent when the writer did not set it (the format says LZ4 then). */
  compressType?: 'none' | 'deflate' | 'lz4' | 'zstd';
}

const TAG_LOG = (1 << 3) | WIRE_LEN;
const TAG_RESERVED = (2 << 3) | WIRE_LEN;
const TAG_TOPIC = (3 << 3) | WIRE_LEN;
const TAG_SOURCE = (4 << 3) | WIRE_LEN;
const TAG_MACHINE_UUID = (5 << 3) | WIRE_LEN;
const TAG_LOG_TAG = (6 << 3) | WIRE_LEN;
const TAG_TIME = (1 << 3) | WIRE_VARINT;
const TAG_CONTENT = (2 << 3) | WIRE_LEN;
const TAG_TIME_NS = (4 << 3) | WIRE_FIXED32;
const TAG_KEY = (1 << 3) | WIRE_LEN;
const TAG_VALUE = (2 << 3) | WIRE_LEN;

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * Native UTF-8 decoding (invalid sequences become U+FFFD). A JS fast path that concatenated char codes measured no
 * faster and produced cons-strings, which made every later `charCodeAt` over the value (re-encoding, indexing) slow.
 */
function readString(buf: Buffer, start: number, end: number): string {
  return buf.toString('utf8', start, end);
}

/**
 * Keys repeat in the same order log after log, so each content slot remembers the last key bytes it decoded and
 * reuses the string when the next log has the same bytes there: no allocation for most keys.
 */
interface KeyMemo {
  starts: number[];
  lens: number[];
  strs: string[];
}

function sameBytes(buf: Buffer, a: number, b: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}

function readKeyValue(buf: Buffer, end: number, memo: KeyMemo | undefined, slot: number): LogContent {
  let key = '';
  let value = '';
  while (at < end) {
    const tag = readTag(buf, end);
    if (tag === TAG_KEY) {
      const e = readLenEnd(buf, end);
      const len = e - at;
      if (
        memo !== undefined &&
        slot < memo.strs.length &&
        memo.lens[slot] === len &&
        sameBytes(buf, memo.starts[slot]!, at, len)
      ) {
        key = memo.strs[slot]!;
      } else {
        key = readString(buf, at, e);
        if (memo !== undefined && slot <= memo.strs.length) {
          memo.starts[slot] = at;
          memo.lens[slot] = len;
          memo.strs[slot] = key;
        }
      }
      seek(e);
    } else if (tag === TAG_VALUE) {
      const e = readLenEnd(buf, end);
      value = readString(buf, at, e);
      seek(e);
    } else skipField(buf, tag & 7, end);
  }
  return { key, value };
}

function readLog(buf: Buffer, end: number, memo: KeyMemo): Log {
  let time = 0;
  let timeNs: number | undefined;
  const contents: LogContent[] = [];
  while (at < end) {
    const tag = readTag(buf, end);
    if (tag === TAG_CONTENT) {
      const e = readLenEnd(buf, end);
      contents.push(readKeyValue(buf, e, memo, contents.length));
      seek(e);
    } else if (tag === TAG_TIME) {
      // uint32: protobuf parsers keep the low 32 bits of an over-long varint.
      const v = readVarint(buf, end);
      time = v <= 0xffffffff ? v : Number.isFinite(v) ? v % 0x100000000 : 0;
    } else if (tag === TAG_TIME_NS) {
      timeNs = readFixed32(buf, end);
    } else skipField(buf, tag & 7, end);
  }
  return timeNs === undefined ? { time, contents } : { time, timeNs, contents };
}

function readStringField(buf: Buffer, end: number): string {
  const e = readLenEnd(buf, end);
  const s = readString(buf, at, e);
  seek(e);
  return s;
}

function decodeAt(buf: Buffer, start: number, end: number): LogGroup {
  seek(start);
  const logs: Log[] = [];
  const tags: LogTag[] = [];
  const g: LogGroup = { logs, tags };
  const memo: KeyMemo = { starts: [], lens: [], strs: [] };
  while (at < end) {
    const tag = readTag(buf, end);
    switch (tag) {
      case TAG_LOG: {
        const e = readLenEnd(buf, end);
        logs.push(readLog(buf, e, memo));
        seek(e);
        break;
      }
      case TAG_TOPIC:
        g.topic = readStringField(buf, end);
        break;
      case TAG_SOURCE:
        g.source = readStringField(buf, end);
        break;
      case TAG_LOG_TAG: {
        const e = readLenEnd(buf, end);
        tags.push(readKeyValue(buf, e, undefined, 0));
        seek(e);
        break;
      }
      case TAG_MACHINE_UUID:
        g.machineUuid = readStringField(buf, end);
        break;
      case TAG_RESERVED:
        g.reserved = readStringField(buf, end);
        break;
      default:
        skipField(buf, tag & 7, end);
    }
  }
  return g;
}

/** Decodes one serialized LogGroup; malformed wire data is `400 PostBodyInvalid`. */
export function decodeLogGroup(bytes: Uint8Array): LogGroup {
  const buf = asBuffer(bytes);
  return decodeAt(buf, 0, buf.length);
}

/** The serialized LogGroups of a LogGroupList (field 1), as views into `bytes` (no copy, no decode). */
export function splitLogGroupList(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const end = bytes.length;
  seek(0);
  while (at < end) {
    const tag = readTag(bytes, end);
    if (tag === TAG_LOG) {
      const e = readLenEnd(bytes, end);
      out.push(bytes.subarray(at, e));
      seek(e);
    } else skipField(bytes, tag & 7, end);
  }
  return out;
}

export function decodeLogGroupList(bytes: Uint8Array): LogGroup[] {
  return splitLogGroupList(bytes).map((g) => decodeLogGroup(g));
}

/** Frames already-serialized LogGroups as a LogGroupList (repeated field 1) without re-encoding them. */
export function encodeLogGroupList(rawGroups: readonly Uint8Array[]): Buffer {
  let size = 0;
  for (const g of rawGroups) size += 1 + varintSize(g.length) + g.length;
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const g of rawGroups) {
    out[pos++] = TAG_LOG;
    pos = writeVarint(out, pos, g.length);
    out.set(g, pos);
    pos += g.length;
  }
  return out;
}

const PACKAGE_CODECS = ['none', 'deflate', 'lz4', 'zstd'] as const;

/**
 * Decodes an `SlsLogPackageList` (`x-log-mode: batch_group`): `data` = field 1 bytes, `uncompress_size` = field 2
 * int32, `compress_type` = field 3 enum (0 none, 1 deflate, 2 lz4, 3 zstd; another value is `InvalidCompressType`).
 */
export function decodeSlsLogPackageList(bytes: Uint8Array): SlsLogPackage[] {
  const out: SlsLogPackage[] = [];
  const end = bytes.length;
  seek(0);
  while (at < end) {
    const tag = readTag(bytes, end);
    if (tag !== TAG_LOG) {
      skipField(bytes, tag & 7, end);
      continue;
    }
    const pend = readLenEnd(bytes, end);
    let data: Uint8Array | undefined;
    const pkg: Partial<SlsLogPackage> = {};
    while (at < pend) {
      const t = readTag(bytes, pend);
      if (t === ((1 << 3) | WIRE_LEN)) {
        const e = readLenEnd(bytes, pend);
        data = bytes.subarray(at, e);
        seek(e);
      } else if (t === ((2 << 3) | WIRE_VARINT)) {
        const v = readVarint(bytes, pend);
        // int32: negative values travel as 10-byte varints and make no sense as a size.
        if (v > 0x7fffffff) throw malformed('SlsLogPackage.uncompress_size out of range');
        pkg.uncompressSize = v;
      } else if (t === ((3 << 3) | WIRE_VARINT)) {
        const v = readVarint(bytes, pend);
        const codec = PACKAGE_CODECS[v];
        if (codec === undefined) throw new SlsError('InvalidCompressType', `unknown SlsLogPackage.compress_type ${v}`);
        pkg.compressType = codec;
      } else skipField(bytes, t & 7, pend);
    }
    if (data === undefined) throw malformed('SlsLogPackage without data');
    out.push({ ...pkg, data });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding: a sizing pass records every nested length in a scratch Int32Array (pre-order), then the write pass
// consumes them in the same order, so each string's UTF-8 length is computed once. The scratch array is reused
// across calls (a growing number[] measured ~25% slower); encoding is synchronous, so sharing it is safe.

const enc = { lens: new Int32Array(4096), n: 0, r: 0 };

function pushLen(v: number): void {
  if (enc.n === enc.lens.length) {
    const bigger = new Int32Array(enc.lens.length * 2);
    bigger.set(enc.lens);
    enc.lens = bigger;
  }
  enc.lens[enc.n++] = v;
}

function nextLen(): number {
  return enc.lens[enc.r++]!;
}

function checkUint32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${what} must be a uint32, got ${v}`);
}

function pairSize(key: string, value: string): number {
  const kl = utf8Length(key);
  const vl = utf8Length(value);
  const size = 1 + varintSize(kl) + kl + 1 + varintSize(vl) + vl;
  pushLen(size);
  pushLen(kl);
  pushLen(vl);
  return size;
}

function stringFieldSize(s: string | undefined): number {
  if (s === undefined) return 0;
  const l = utf8Length(s);
  pushLen(l);
  return 1 + varintSize(l) + l;
}

function writeString(out: Buffer, pos: number, s: string, byteLen: number): number {
  if (byteLen === s.length && byteLen <= 64) {
    // ASCII (byte length equals UTF-16 length only when every char is < 0x80) and short: a JS copy beats the native
    // call; long strings go to the native encoder.
    for (let i = 0; i < byteLen; i++) out[pos + i] = s.charCodeAt(i);
  } else out.write(s, pos, byteLen, 'utf8');
  return pos + byteLen;
}

function writeStringField(out: Buffer, pos: number, tag: number, s: string | undefined): number {
  if (s === undefined) return pos;
  const l = nextLen();
  out[pos++] = tag;
  pos = writeVarint(out, pos, l);
  return writeString(out, pos, s, l);
}

function writePair(out: Buffer, pos: number, tag: number, key: string, value: string): number {
  const size = nextLen();
  const kl = nextLen();
  const vl = nextLen();
  out[pos++] = tag;
  pos = writeVarint(out, pos, size);
  out[pos++] = TAG_KEY;
  pos = writeVarint(out, pos, kl);
  pos = writeString(out, pos, key, kl);
  out[pos++] = TAG_VALUE;
  pos = writeVarint(out, pos, vl);
  return writeString(out, pos, value, vl);
}

/** Serializes a LogGroup; fields absent on the object are not emitted. */
export function encodeLogGroup(g: LogGroup): Buffer {
  enc.n = 0;
  enc.r = 0;
  let total = 0;
  for (const log of g.logs) {
    checkUint32(log.time, 'Log.time');
    const idx = enc.n;
    pushLen(0);
    let size = 1 + varintSize(log.time);
    for (const c of log.contents) {
      const s = pairSize(c.key, c.value);
      size += 1 + varintSize(s) + s;
    }
    if (log.timeNs !== undefined) {
      checkUint32(log.timeNs, 'Log.timeNs');
      size += 5;
    }
    enc.lens[idx] = size;
    total += 1 + varintSize(size) + size;
  }
  total += stringFieldSize(g.reserved);
  total += stringFieldSize(g.topic);
  total += stringFieldSize(g.source);
  total += stringFieldSize(g.machineUuid);
  for (const t of g.tags) {
    const s = pairSize(t.key, t.value);
    total += 1 + varintSize(s) + s;
  }

  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const log of g.logs) {
    out[pos++] = TAG_LOG;
    pos = writeVarint(out, pos, nextLen());
    out[pos++] = TAG_TIME;
    pos = writeVarint(out, pos, log.time);
    for (const c of log.contents) pos = writePair(out, pos, TAG_CONTENT, c.key, c.value);
    if (log.timeNs !== undefined) {
      out[pos++] = TAG_TIME_NS;
      out.writeUInt32LE(log.timeNs, pos);
      pos += 4;
    }
  }
  pos = writeStringField(out, pos, TAG_RESERVED, g.reserved);
  pos = writeStringField(out, pos, TAG_TOPIC, g.topic);
  pos = writeStringField(out, pos, TAG_SOURCE, g.source);
  pos = writeStringField(out, pos, TAG_MACHINE_UUID, g.machineUuid);
  for (const t of g.tags) pos = writePair(out, pos, TAG_LOG_TAG, t.key, t.value);
  if (pos !== total) throw new Error(`encodeLogGroup: wrote ${pos} bytes, sized ${total}`);
  return out;
}
