/**
 * Differential test of the C LogGroup validator (native/lz4/src/validate.c, through native-validate.ts) against the
 * JS reference `validateLogGroupJs`: for every input and limits, the C one must accept exactly what the JS one
 * accepts (with the same log count and times) and reject everything else. `validateLogGroup` returns the C verdict
 * on acceptance, so a C validator that accepted one input the JS rejects would let a bad body in: each case names its
 * input in hex.
 *
 * Inputs: valid LogGroups (nginx-like, hand-built edge shapes: non-canonical and 10-byte varints, times at 2^32,
 * TimeNs at 1e9, keys of every length up to 20 with a bad byte at each position and ending at the buffer's last
 * byte, reserved names and their neighbours, limits hit exactly), then thousands of mutations of them (bytes set to
 * protobuf-significant values, inserted, deleted, truncated), each under several limit sets.
 *
 * CI builds the addon: when it did not load (and SLUICE_VALIDATE_NATIVE is not 'off') every test here fails.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nginxGroup, rng } from '../../../bench/protocol-fixtures.js';
import { isSlsError } from '../../../src/protocol/errors.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import {
  DEFAULT_LOG_GROUP_LIMITS,
  type LogGroupLimits,
  validateLogGroup,
  validateLogGroupJs,
} from '../../../src/protocol/log-group-validate.js';
import { type NativeValidate, nativeValidate } from '../../../src/protocol/native-validate.js';

function native(): NativeValidate | undefined {
  if (process.env['SLUICE_VALIDATE_NATIVE'] === 'off') return undefined;
  const v = nativeValidate();
  assert.ok(
    v,
    'the C validator (native/lz4, package sluice-lz4) did not load: CI builds it, so this is a failure (npm install ' +
      'builds the addon; set SLUICE_VALIDATE_NATIVE=off only to test the JS path alone)',
  );
  return v;
}

const LIMITS: readonly LogGroupLimits[] = [
  DEFAULT_LOG_GROUP_LIMITS,
  { ...DEFAULT_LOG_GROUP_LIMITS, keyPolicy: 'strict' },
  {
    maxLogsPerGroup: 3,
    maxKeyBytes: 9,
    maxValueBytes: 130,
    maxTopicBytes: 4,
    maxSourceBytes: 0,
    keyPolicy: 'lenient',
  },
  { ...DEFAULT_LOG_GROUP_LIMITS, maxKeyBytes: 8.5, maxValueBytes: 127.5, maxLogsPerGroup: 2.5 },
  { ...DEFAULT_LOG_GROUP_LIMITS, maxKeyBytes: Number.NaN, maxValueBytes: Number.NaN, maxLogsPerGroup: 0 },
  { ...DEFAULT_LOG_GROUP_LIMITS, maxValueBytes: -1, maxTopicBytes: Number.POSITIVE_INFINITY },
];

function limitArray(l: LogGroupLimits): Float64Array {
  return Float64Array.of(
    l.maxLogsPerGroup,
    l.maxKeyBytes,
    l.maxValueBytes,
    l.maxTopicBytes,
    l.maxSourceBytes,
    l.keyPolicy === 'strict' ? 1 : 0,
  );
}
const LIMIT_ARRAYS = LIMITS.map(limitArray);

let checked = 0;
let accepted = 0;

/** The C verdict on `buf` under every limit set must be the JS one (and `validateLogGroup` must agree with both). */
function agree(v: NativeValidate, buf: Uint8Array, what: string): void {
  for (const [i, limits] of LIMITS.entries()) {
    const out = new Float64Array(3);
    const ok = v(buf, LIMIT_ARRAYS[i]!, out);
    let js: ReturnType<typeof validateLogGroupJs> | undefined;
    try {
      js = validateLogGroupJs(buf, limits);
    } catch (err) {
      assert.ok(isSlsError(err), `${what}: the JS validator threw a non-SlsError ${String(err)}`);
    }
    const hex = Buffer.from(buf.buffer, buf.byteOffset, Math.min(buf.length, 200)).toString('hex');
    if (js === undefined) assert.equal(ok, false, `${what}, limits #${i}: C accepts what JS rejects: ${hex}`);
    else {
      assert.equal(ok, true, `${what}, limits #${i}: C rejects what JS accepts: ${hex}`);
      assert.deepEqual([out[0], out[1], out[2]], [js.logCount, js.minTime, js.maxTime], `${what}: stats (${hex})`);
      assert.deepEqual(validateLogGroup(buf, limits), js);
      accepted++;
    }
    checked++;
  }
}

// --- Hand-built protobuf -----------------------------------------------------------------------------------------

function varint(n: bigint | number): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const bytes = (s: string | number[] | Uint8Array): number[] =>
  typeof s === 'string' ? [...Buffer.from(s, 'latin1')] : [...s];
const ld = (tag: number, body: string | number[] | Uint8Array): number[] => [
  ...varint(tag),
  ...varint(bytes(body).length),
  ...bytes(body),
];
const content = (key: string | number[], value: string | number[]): number[] =>
  ld(0x12, [...ld(0x0a, key), ...ld(0x12, value)]);
const log = (time: number | bigint, ...fields: number[][]): number[] =>
  ld(0x0a, [0x08, ...varint(time), ...fields.flat()]);
const buf = (...parts: number[][]): Uint8Array => Uint8Array.from(parts.flat());

function edgeCases(): [string, Uint8Array][] {
  const cases: [string, Uint8Array][] = [];
  const add = (what: string, b: Uint8Array) => cases.push([what, b]);
  add('empty', new Uint8Array(0));
  add('nginx', encodeLogGroup(nginxGroup(20)));
  add('one log', buf(log(7, content('k', 'v'))));
  add('no contents', buf(log(0)));
  add('time 2^32 - 1', buf(log(0xffffffff, content('k', 'v'))));
  add('time 2^32', buf(log(0x100000000, content('k', 'v'))));
  add('time 2^53 + 1', buf(log(2n ** 53n + 1n, content('k', 'v'))));
  add('time 2^64', buf(log(2n ** 64n, content('k', 'v'))));
  add('time, 10-byte varint of 1', buf(ld(0x0a, [0x08, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])));
  add('time, 11-byte varint', buf(ld(0x0a, [0x08, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])));
  add('time twice, the last bad', buf(ld(0x0a, [0x08, 1, 0x08, ...varint(2n ** 33n)])));
  add('time twice, the last good', buf(ld(0x0a, [0x08, ...varint(2n ** 33n), 0x08, 5])));
  add('no time', buf(ld(0x0a, content('k', 'v'))));
  add('TimeNs 999999999', buf(ld(0x0a, [0x08, 1, 0x25, 0xff, 0xc9, 0x9a, 0x3b])));
  add('TimeNs 1e9', buf(ld(0x0a, [0x08, 1, 0x25, 0x00, 0xca, 0x9a, 0x3b])));
  add('TimeNs truncated', buf(ld(0x0a, [0x08, 1, 0x25, 0x00, 0xca, 0x9a])));
  add('non-canonical Logs tag', buf([0x8a, 0x00, ...log(3, content('k', 'v')).slice(1)]));
  add('non-canonical Contents tag', buf(ld(0x0a, [0x08, 1, 0x92, 0x00, ...content('k', 'v').slice(1)])));
  add('non-canonical key length', buf(ld(0x0a, [0x08, 1, ...ld(0x12, [0x0a, 0x81, 0x00, 0x6b, 0x12, 0x01, 0x76])])));
  add('2-byte value length', buf(log(1, content('k', 'x'.repeat(200)))));
  add('3-byte value length', buf(log(1, content('k', 'x'.repeat(20000)))));
  add('value then key', buf(ld(0x0a, [0x08, 1, ...ld(0x12, [...ld(0x12, 'v'), ...ld(0x0a, 'k')])])));
  add('two keys', buf(ld(0x0a, [0x08, 1, ...ld(0x12, [...ld(0x0a, 'k'), ...ld(0x0a, '')])])));
  add('key only', buf(ld(0x0a, [0x08, 1, ...ld(0x12, ld(0x0a, 'k'))])));
  add('empty content', buf(ld(0x0a, [0x08, 1, 0x12, 0x00])));
  add(
    'content with an unknown field',
    buf(ld(0x0a, [0x08, 1, ...ld(0x12, [...ld(0x0a, 'k'), ...ld(0x12, 'v'), 0x18, 5])])),
  );
  add('content with wire type 3', buf(ld(0x0a, [0x08, 1, ...ld(0x12, [...ld(0x0a, 'k'), 0x1b])])));
  add('content with field 0', buf(ld(0x0a, [0x08, 1, ...ld(0x12, [...ld(0x0a, 'k'), 0x02, 0x00])])));
  add('log with fixed64', buf(ld(0x0a, [0x08, 1, 0x29, 1, 2, 3, 4, 5, 6, 7, 8])));
  add('log with short fixed64', buf(ld(0x0a, [0x08, 1, 0x29, 1, 2, 3])));
  add('log with field 0', buf(ld(0x0a, [0x08, 1, 0x00, 0x00])));
  add('topic 4 bytes', buf(ld(0x1a, 'abcd'), log(1)));
  add('topic 5 bytes', buf(ld(0x1a, 'abcde'), log(1)));
  add('source 1 byte', buf(ld(0x22, 's')));
  add('tags', buf(ld(0x32, [...ld(0x0a, '__path__'), ...ld(0x12, 'x'.repeat(131))]), log(1)));
  add('tag with unknown field', buf(ld(0x32, [0x18, 1, ...ld(0x12, 'v')])));
  add('tag with field 0', buf(ld(0x32, [0x00, 1])));
  add('top-level fixed32 and varint', buf([0x3d, 1, 2, 3, 4, 0x38, 0x96, 0x01], log(1)));
  add('top-level wire type 7', buf([0x3f]));
  add('tag over 2^32', buf([...varint(2n ** 32n * 8n + 2n), 0x00]));
  add('tag 2^32 - 8 (field 2^29 - 1)', buf([...varint(0xfffffffa), 0x00]));
  add('four logs', buf(log(4), log(2), log(9), log(2)));
  add('three logs', buf(log(4), log(2), log(9)));
  for (const r of [
    '__time__',
    '__topic__',
    '__source__',
    '__time_ns_part__',
    '__tag__',
    '__tag__:x',
    '__time_',
    '__time__x',
    '__tagx',
    '__Topic__',
    '_time__',
  ]) {
    add(`key ${r}`, buf(log(1, content(r, 'v'))));
  }
  for (const k of ['a', 'x'.repeat(8), 'x'.repeat(9), 'x'.repeat(10), '1st', 'a-b', 'Z_9', '_', 'a b']) {
    add(`key ${k}`, buf(log(1, content(k, 'v'))));
  }
  // Every key length to 20 with each bad (or borderline) byte at each position; the key last in the buffer too,
  // where the C scan cannot load 8 bytes past a short key.
  for (let len = 1; len <= 20; len++) {
    for (let at = 0; at < len; at++) {
      for (const b of [0x00, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xff]) {
        const key = Array.from({ length: len }, (_, i) => (i === at ? b : 0x61 + (i % 26)));
        add(`key len ${len}, 0x${b.toString(16)} at ${at}`, buf(log(1, content(key, 'v'))));
        add(
          `key len ${len}, 0x${b.toString(16)} at ${at}, at the end`,
          buf(ld(0x0a, [0x08, 1, ...ld(0x12, [...ld(0x12, 'v'), ...ld(0x0a, key)])])),
        );
      }
    }
  }
  return cases;
}

test('the C validator agrees with the JS one on edge cases', () => {
  const v = native();
  if (!v) return;
  for (const [what, b] of edgeCases()) agree(v, b, what);
});

test('the C validator agrees with the JS one on 40,000 mutated LogGroups', () => {
  const v = native();
  if (!v) return;
  const r = rng(20261123);
  const int = (n: number) => Math.floor(r() * n);
  const seeds = edgeCases()
    .filter((_, i) => i % 7 === 0)
    .map(([, b]) => b)
    .concat([
      encodeLogGroup(nginxGroup(3)),
      buf(log(5, content('key_a', 'value'), content('b', 'x'.repeat(150))), log(1)),
    ]);
  const special = [
    0x00, 0x01, 0x02, 0x05, 0x08, 0x0a, 0x12, 0x1a, 0x1f, 0x20, 0x22, 0x25, 0x32, 0x5f, 0x7f, 0x80, 0xff,
  ];
  const before = accepted;
  for (let n = 0; n < 40_000; n++) {
    const base = seeds[n % seeds.length]!;
    let b = [...base];
    for (let m = 1 + int(3); m > 0 && b.length > 0; m--) {
      const at = int(b.length);
      const x = r() < 0.7 ? special[int(special.length)]! : int(256);
      switch (int(5)) {
        case 0:
        case 1:
          b[at] = x;
          break;
        case 2:
          b.splice(at, 0, x);
          break;
        case 3:
          b.splice(at, 1);
          break;
        default:
          b = b.slice(0, at);
      }
    }
    agree(v, Uint8Array.from(b), `mutation ${n} of seed ${n % seeds.length}`);
  }
  // The mutations must not all be rejections, or the comparison would say little about acceptance.
  assert.ok(accepted - before > 10_000, `only ${accepted - before} of the mutated cases were accepted`);
  assert.ok(checked > 240_000);
});
