/**
 * Shard cursors: standard padded base64 of the decimal string of the LogGroup sequence number (sls-api.md §6).
 * Clients decode them (GO `GetPrevCursorTime`, PY `get_previous_cursor_time` subtract 1 and re-encode), so the
 * format is part of the wire contract, not an opaque token.
 */
import { SlsError } from './errors.js';

/** Base64 alphabet, padding optional (some clients strip it); URL-safe forms are not accepted. */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const DECIMAL = /^[0-9]{1,19}$/;

export function encodeCursor(seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 0)
    throw new RangeError(`cursor sequence must be a safe integer >= 0, got ${seq}`);
  return Buffer.from(String(seq), 'latin1').toString('base64');
}

/** Decodes a cursor to its sequence number; malformed is `400 ParameterInvalid`, over 2^53 `400 InvalidCursor`. */
export function decodeCursor(cursor: string): number {
  if (cursor.length === 0 || cursor.length > 32 || !BASE64.test(cursor) || cursor.length % 4 === 1) {
    throw new SlsError('ParameterInvalid', `invalid cursor "${cursor}": not base64`);
  }
  const text = Buffer.from(cursor, 'base64').toString('latin1');
  if (!DECIMAL.test(text)) {
    throw new SlsError('ParameterInvalid', `invalid cursor "${cursor}": not the base64 of a non-negative integer`);
  }
  const seq = Number(text);
  // Well-formed but beyond 2^53 (e.g. a cursor from the real service, which uses int64): no shard of ours has it,
  // and InvalidCursor is the code consumers (PY) recover from by re-reading their position.
  if (!Number.isSafeInteger(seq)) throw new SlsError('InvalidCursor', `cursor "${cursor}" is out of range`);
  return seq;
}
