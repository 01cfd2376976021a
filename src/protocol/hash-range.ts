/**
 * Shard hash ranges (sls-api.md §6). Keys are 128-bit values written as 32 lowercase hex characters; equal-length
 * lowercase hex compares lexicographically in numeric order, so routing compares strings and BigInt is only used
 * to compute new boundaries (create, split), never per request.
 */
import { createHash } from 'node:crypto';
import { SlsError } from './errors.js';

export const HASH_KEY_MIN = '00000000000000000000000000000000';
/** The end of the key space. Used as an exclusive end, yet key `ff…f` itself belongs to the last shard. */
export const HASH_KEY_MAX = 'ffffffffffffffffffffffffffffffff';

const SPACE = 1n << 128n;
const HEX32 = /^[0-9a-fA-F]{32}$/;

export interface HashRange {
  /** Inclusive. */
  readonly begin: string;
  /** Exclusive, except that the last range also holds `HASH_KEY_MAX`. */
  readonly end: string;
}

function toKey(n: bigint): string {
  return n.toString(16).padStart(32, '0');
}

/** `n` ranges tiling the key space: `begin_i = floor(2^128 * i / n)`, the last end `ff…f`. */
export function initialRanges(n: number): HashRange[] {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`shard count must be a positive integer, got ${n}`);
  const out: HashRange[] = [];
  const count = BigInt(n);
  for (let i = 0; i < n; i++) {
    const begin = toKey((SPACE * BigInt(i)) / count);
    const end = i === n - 1 ? HASH_KEY_MAX : toKey((SPACE * BigInt(i + 1)) / count);
    out.push({ begin, end });
  }
  return out;
}

/** MD5 of the UTF-8 string as a hash key (how producers turn a routing key into a hash key). */
export function md5Key(s: string): string {
  return createHash('md5').update(s, 'utf8').digest('hex');
}

/** Validates a client-supplied hash key (32 hex characters) and lower-cases it; otherwise `400 ParameterInvalid`. */
export function parseHashKey(s: string): string {
  if (!HEX32.test(s)) throw new SlsError('ParameterInvalid', `invalid hash key "${s}": expected 32 hex characters`);
  return s.toLowerCase();
}

/** Whether a (lowercase) key lies in `[begin, end)`; the key `ff…f` belongs to the range ending at `ff…f`. */
export function keyInRange(key: string, begin: string, end: string): boolean {
  return key >= begin && (key < end || (end === HASH_KEY_MAX && key === HASH_KEY_MAX));
}

/** A split key must lie strictly inside the range so both halves are non-empty. */
export function splitKeyValid(begin: string, end: string, key: string): boolean {
  return HEX32.test(key) && key === key.toLowerCase() && key > begin && key < end;
}

/** The middle of `[begin, end)`: `floor((begin + end) / 2)`. */
export function midKey(begin: string, end: string): string {
  return toKey((BigInt(`0x${begin}`) + BigInt(`0x${end}`)) / 2n);
}
