/**
 * Minimal protobuf wire-format primitives shared by the hand-written SLS codecs. Reading works on a module-level
 * cursor (`at`) instead of returning `{value, pos}` pairs: it keeps the decode loops free of per-field allocations,
 * and every caller is synchronous, so there is no reentrancy to worry about.
 */
import { SlsError } from './errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

/** Read position of the current decode. */
export let at = 0;

export function seek(pos: number): void {
  at = pos;
}

export function malformed(what: string): SlsError {
  return new SlsError('PostBodyInvalid', `malformed protobuf: ${what}`);
}

/**
 * Reads a varint of up to 10 bytes that must end before `end`; returns it as a non-negative number when it fits in
 * 2^53, otherwise `Infinity` (callers that need an exact uint32 range-check it themselves).
 */
export function readVarint(buf: Uint8Array, end: number): number {
  let b = buf[at++]!;
  if (b < 0x80 && at <= end) return b;
  let v = b & 0x7f;
  let mul = 0x80;
  for (let i = 1; i < 10; i++) {
    if (at >= end) throw malformed('truncated varint');
    b = buf[at++]!;
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v > Number.MAX_SAFE_INTEGER ? Number.POSITIVE_INFINITY : v;
    mul *= 0x80;
  }
  throw malformed('varint longer than 10 bytes');
}

/** Reads a length prefix and returns the end of the payload, checked against `end`. */
export function readLenEnd(buf: Uint8Array, end: number): number {
  const len = readVarint(buf, end);
  if (len > end - at) throw malformed('length-delimited field runs past the end of its message');
  return at + len;
}

export function readFixed32(buf: Uint8Array, end: number): number {
  if (end - at < 4) throw malformed('truncated fixed32');
  const v = (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
  at += 4;
  return v;
}

/** Skips one field of the given wire type. Groups (types 3/4) are not used by any SLS message and count as malformed. */
export function skipField(buf: Uint8Array, wireType: number, end: number): void {
  switch (wireType) {
    case WIRE_VARINT:
      readVarint(buf, end);
      return;
    case WIRE_FIXED64:
      if (end - at < 8) throw malformed('truncated fixed64');
      at += 8;
      return;
    case WIRE_LEN:
      at = readLenEnd(buf, end);
      return;
    case WIRE_FIXED32:
      if (end - at < 4) throw malformed('truncated fixed32');
      at += 4;
      return;
    default:
      throw malformed(`unsupported wire type ${wireType}`);
  }
}

/** Reads a field tag; field number 0 and tags beyond 32 bits are malformed. */
export function readTag(buf: Uint8Array, end: number): number {
  const tag = readVarint(buf, end);
  if (tag < 8 || tag > 0xffffffff) throw malformed(`invalid field tag ${tag}`);
  return tag;
}

export function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  if (v < 0x800000000) return 5;
  let n = 5;
  let x = Math.floor(v / 0x800000000);
  while (x > 0) {
    n++;
    x = Math.floor(x / 0x80);
  }
  return n;
}

/** Writes a non-negative safe-integer varint at `pos`; returns the new position. */
export function writeVarint(out: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80;
    v = v >= 0x80000000 ? Math.floor(v / 0x80) : v >>> 7;
  }
  out[pos++] = v;
  return pos;
}

/** UTF-8 byte length as `Buffer.write` produces it (lone surrogates become 3-byte U+FFFD). */
export function utf8Length(s: string): number {
  const n = s.length;
  // Long strings: the native counter wins over the JS loop.
  if (n > 64) return Buffer.byteLength(s, 'utf8');
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) len += 1;
    else if ((c & 0xfc00) === 0xd800 && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      len += 2; // the pair is 2 UTF-16 units and 4 bytes
      i++;
    } else len += 2;
  }
  return len;
}
