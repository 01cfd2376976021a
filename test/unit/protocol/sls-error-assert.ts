import assert from 'node:assert/strict';
import { isSlsError, type SlsErrorCode } from '../../../src/protocol/errors.js';

/** Asserts that `fn` throws an SlsError with `code` (and, optionally, a message matching `message`). */
export function throwsSls(fn: () => unknown, code: SlsErrorCode, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isSlsError(err), `expected SlsError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}
