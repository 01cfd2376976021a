import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCursor, encodeCursor } from '../../../src/protocol/cursor.js';
import { throwsSls } from './sls-error-assert.js';

test('cursor: standard padded base64 of the decimal string', () => {
  assert.equal(encodeCursor(0), 'MA==');
  assert.equal(encodeCursor(1), 'MQ==');
  assert.equal(encodeCursor(1234567890123), Buffer.from('1234567890123').toString('base64'));
  assert.equal(encodeCursor(144732940110213), 'MTQ0NzMyOTQwMTEwMjEz');
});

test('cursor: round trip, incl. the largest safe integer; unpadded input is accepted', () => {
  for (const n of [0, 1, 9, 10, 99, 100, 65535, 1_700_000_000_000_000, Number.MAX_SAFE_INTEGER]) {
    assert.equal(decodeCursor(encodeCursor(n)), n);
  }
  assert.equal(decodeCursor('MTIz'), 123);
  assert.equal(decodeCursor('MTI'), 12);
});

test('cursor: malformed cursors are ParameterInvalid', () => {
  for (const bad of [
    '',
    'not base64!',
    '====',
    'LTE=' /* "-1" */,
    'MS41' /* "1.5" */,
    'YWJj' /* "abc" */,
    'IDE=' /* " 1" */,
    'M',
    'MQ==MQ==',
  ]) {
    throwsSls(() => decodeCursor(bad), 'ParameterInvalid');
  }
  throwsSls(() => decodeCursor('A'.repeat(100)), 'ParameterInvalid');
});

test('cursor: int64 cursors beyond 2^53 (as the real service issues) are InvalidCursor', () => {
  throwsSls(() => decodeCursor('MTQ0NzMyOTQwMTEwMjEzMDkwNA=='), 'InvalidCursor');
});

test('cursor: encoding rejects what it could never decode', () => {
  assert.throws(() => encodeCursor(-1), RangeError);
  assert.throws(() => encodeCursor(1.5), RangeError);
  assert.throws(() => encodeCursor(2 ** 53), RangeError);
});
