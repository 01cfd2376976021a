import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nginxGroup } from '../../../bench/protocol-fixtures.js';
import { encodeLogGroup, type LogGroup } from '../../../src/protocol/log-group.js';
import {
  DEFAULT_LOG_GROUP_LIMITS,
  type LogGroupLimits,
  validateLogGroup,
} from '../../../src/protocol/log-group-validate.js';
import { throwsSls } from './sls-error-assert.js';

const one = (key: string, value = 'v', time = 100): LogGroup => ({
  logs: [{ time, contents: [{ key, value }] }],
  tags: [],
});
const limits = (over: Partial<LogGroupLimits>): LogGroupLimits => ({ ...DEFAULT_LOG_GROUP_LIMITS, ...over });

test('stats: log count, min/max time and raw size', () => {
  const g = nginxGroup(100);
  g.logs[40]!.time = 5;
  g.logs[70]!.time = 4_000_000_000;
  const bytes = encodeLogGroup(g);
  assert.deepEqual(validateLogGroup(bytes, DEFAULT_LOG_GROUP_LIMITS), {
    logCount: 100,
    minTime: 5,
    maxTime: 4_000_000_000,
    rawBytes: bytes.length,
  });
  assert.deepEqual(validateLogGroup(encodeLogGroup({ logs: [], tags: [] })), {
    logCount: 0,
    minTime: 0,
    maxTime: 0,
    rawBytes: 0,
  });
  const single = validateLogGroup(encodeLogGroup(one('k', 'v', 77)));
  assert.equal(single.minTime, 77);
  assert.equal(single.maxTime, 77);
});

test('malformed protobuf is PostBodyInvalid', () => {
  const good = encodeLogGroup(nginxGroup(2));
  throwsSls(() => validateLogGroup(good.subarray(0, good.length - 3)), 'PostBodyInvalid');
  throwsSls(() => validateLogGroup(Buffer.from([0x0a, 0x7f, 0x08, 0x01])), 'PostBodyInvalid', /past the end/);
  throwsSls(() => validateLogGroup(Buffer.from([0x0f])), 'PostBodyInvalid', /wire type 7/);
  throwsSls(() => validateLogGroup(Buffer.from([0x0a, 0x02, 0x08, 0x80])), 'PostBodyInvalid', /truncated varint/);
  let seed = 7;
  for (let i = 0; i < 3000; i++) {
    const buf = Buffer.alloc(1 + (i % 48));
    for (let j = 0; j < buf.length; j++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      buf[j] = seed >>> 24;
    }
    try {
      validateLogGroup(buf);
    } catch (err) {
      assert.ok(
        ['PostBodyInvalid', 'InvalidTimestamp', 'InvalidKey', 'InvalidLogSize', 'ParameterInvalid'].includes(
          (err as { code?: string }).code ?? '',
        ),
        String(err),
      );
    }
  }
});

test('too many logs is InvalidLogSize (the code every SDK uses for it)', () => {
  const g = nginxGroup(11);
  throwsSls(
    () => validateLogGroup(encodeLogGroup(g), limits({ maxLogsPerGroup: 10 })),
    'InvalidLogSize',
    /more than 10 logs/,
  );
  assert.equal(validateLogGroup(encodeLogGroup(g), limits({ maxLogsPerGroup: 11 })).logCount, 11);
});

test('value over maxValueBytes is InvalidLogSize, for contents and tags', () => {
  throwsSls(
    () => validateLogGroup(encodeLogGroup(one('k', 'x'.repeat(11))), limits({ maxValueBytes: 10 })),
    'InvalidLogSize',
  );
  validateLogGroup(encodeLogGroup(one('k', 'x'.repeat(10))), limits({ maxValueBytes: 10 }));
  const tagged: LogGroup = { logs: [], tags: [{ key: 't', value: 'y'.repeat(11) }] };
  throwsSls(() => validateLogGroup(encodeLogGroup(tagged), limits({ maxValueBytes: 10 })), 'InvalidLogSize');
});

test('topic/source over 128 bytes is ParameterInvalid', () => {
  const base = one('k');
  validateLogGroup(encodeLogGroup({ ...base, topic: 't'.repeat(128), source: 's'.repeat(128) }));
  throwsSls(() => validateLogGroup(encodeLogGroup({ ...base, topic: 't'.repeat(129) })), 'ParameterInvalid', /topic/);
  throwsSls(() => validateLogGroup(encodeLogGroup({ ...base, source: 'é'.repeat(65) })), 'ParameterInvalid', /source/);
});

test('Time: missing, TimeNs over 999999999, over-long varint → InvalidTimestamp', () => {
  // Log{Contents{k=v}} without Time.
  const noTime = Buffer.from([0x0a, 0x08, 0x12, 0x06, 0x0a, 0x01, 0x6b, 0x12, 0x01, 0x76]);
  throwsSls(() => validateLogGroup(noTime), 'InvalidTimestamp', /missing/);
  const ns = encodeLogGroup({ logs: [{ time: 1, timeNs: 1_000_000_000, contents: [] }], tags: [] });
  throwsSls(() => validateLogGroup(ns), 'InvalidTimestamp', /TimeNs/);
  validateLogGroup(encodeLogGroup({ logs: [{ time: 1, timeNs: 999_999_999, contents: [] }], tags: [] }));
  // Time = 2^32 (a 5-byte varint that is not a uint32).
  const big = Buffer.from([0x0a, 0x06, 0x08, 0x80, 0x80, 0x80, 0x80, 0x10]);
  throwsSls(() => validateLogGroup(big), 'InvalidTimestamp', /uint32/);
});

test('keys: empty, too long, control characters and reserved names are InvalidKey (lenient policy)', () => {
  throwsSls(() => validateLogGroup(encodeLogGroup(one(''))), 'InvalidKey', /empty key/);
  throwsSls(() => validateLogGroup(encodeLogGroup(one('k'.repeat(129)))), 'InvalidKey', /129 bytes/);
  validateLogGroup(encodeLogGroup(one('k'.repeat(128))));
  throwsSls(() => validateLogGroup(encodeLogGroup(one('a\nb'))), 'InvalidKey', /control/);
  throwsSls(() => validateLogGroup(encodeLogGroup(one('a\u007fb'))), 'InvalidKey', /control/);
  for (const reserved of ['__time__', '__topic__', '__source__', '__time_ns_part__', '__tag__:__path__', '__tag__']) {
    throwsSls(() => validateLogGroup(encodeLogGroup(one(reserved))), 'InvalidKey', /reserved/);
  }
  // What real writers send is accepted.
  for (const ok of ['key-with-dash', 'a.b.c', '1st', '日本語', '__raw__', '__time', '_', 'user agent', '__tagx']) {
    validateLogGroup(encodeLogGroup(one(ok)));
  }
  // A content without a key.
  const noKey = Buffer.from([0x0a, 0x07, 0x08, 0x01, 0x12, 0x03, 0x12, 0x01, 0x76]);
  throwsSls(() => validateLogGroup(noKey), 'InvalidKey', /no key/);
});

test('keys: strict policy is the documented [A-Za-z_][A-Za-z0-9_]*', () => {
  const strict = limits({ keyPolicy: 'strict' });
  for (const ok of ['a', '_a1', 'Status_Code', 'x'.repeat(128)]) validateLogGroup(encodeLogGroup(one(ok)), strict);
  throwsSls(() => validateLogGroup(encodeLogGroup(one('1st')), strict), 'InvalidKey', /start with/);
  for (const bad of ['key-with-dash', 'a.b', 'k日本', 'a b']) {
    throwsSls(() => validateLogGroup(encodeLogGroup(one(bad)), strict), 'InvalidKey', /outside/);
  }
  throwsSls(() => validateLogGroup(encodeLogGroup(one('__topic__')), strict), 'InvalidKey', /reserved/);
});

test('tag keys are not subject to the content key rules', () => {
  const g: LogGroup = {
    logs: [],
    tags: [
      { key: '__path__', value: '/x' },
      { key: '', value: '' },
    ],
  };
  validateLogGroup(encodeLogGroup(g));
});

test('unknown fields and ilogtail Log.values are skipped', () => {
  const base = encodeLogGroup(one('k'));
  const extra = Buffer.from([0x38, 0x96, 0x01, 0x41, 1, 2, 3, 4, 5, 6, 7, 8, 0x4d, 1, 2, 3, 4]);
  assert.equal(validateLogGroup(Buffer.concat([extra, base])).logCount, 1);
  // Log{Time=1, values(3)="zz"}
  const withValues = Buffer.from([0x0a, 0x06, 0x08, 0x01, 0x1a, 0x02, 0x7a, 0x7a]);
  assert.equal(validateLogGroup(withValues).logCount, 1);
});

test('lenient key scan (4 bytes at a time) agrees with a byte-by-byte reference on random keys', () => {
  let seed = 99;
  const next = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed >>> 24;
  };
  const special = [0x00, 0x01, 0x1f, 0x20, 0x21, 0x7e, 0x7f, 0x80, 0x9f, 0xa0, 0xff, 0x5f, 0x61];
  for (let n = 0; n < 4000; n++) {
    const len = 1 + (n % 16);
    const key = Buffer.alloc(len);
    for (let i = 0; i < len; i++) key[i] = next() < 200 ? 0x61 + (next() % 26) : special[next() % special.length]!;
    if (key[0] === 0x5f && key[1] === 0x5f) key[0] = 0x61;
    const expectOk = key.every((b) => b >= 0x20 && b !== 0x7f);
    // Log{Time=1, Contents{Key=key, Value="v"}}, built by hand so the key bytes are exact.
    const content = Buffer.concat([Buffer.from([0x0a, len]), key, Buffer.from([0x12, 0x01, 0x76])]);
    const log = Buffer.concat([Buffer.from([0x08, 0x01, 0x12, content.length]), content]);
    const group = Buffer.concat([Buffer.from([0x0a, log.length]), log]);
    if (expectOk) validateLogGroup(group);
    else throwsSls(() => validateLogGroup(group), 'InvalidKey', /control/);
  }
});
