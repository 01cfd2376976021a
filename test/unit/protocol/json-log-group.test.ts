import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeJsonLogGroup } from '../../../src/protocol/json-log-group.js';
import { throwsSls } from './sls-error-assert.js';

test('the documented JSON form decodes to a LogGroup', () => {
  const body = JSON.stringify({
    __topic__: 't',
    __source__: '1.2.3.4',
    __logs__: [
      { __time__: 1700000000, k: 'v', n: 12, b: true, o: { a: [1, 2] }, z: null },
      { __time__: '1700000001', __time_ns_part__: 5, k: '' },
    ],
    __tags__: { tag1: 'v', num: 1 },
  });
  assert.deepEqual(decodeJsonLogGroup(Buffer.from(body)), {
    topic: 't',
    source: '1.2.3.4',
    logs: [
      {
        time: 1700000000,
        contents: [
          { key: 'k', value: 'v' },
          { key: 'n', value: '12' },
          { key: 'b', value: 'true' },
          { key: 'o', value: '{"a":[1,2]}' },
          { key: 'z', value: 'null' },
        ],
      },
      { time: 1700000001, timeNs: 5, contents: [{ key: 'k', value: '' }] },
    ],
    tags: [
      { key: 'tag1', value: 'v' },
      { key: 'num', value: '1' },
    ],
  });
});

test('optional parts may be absent; absent stays absent', () => {
  const g = decodeJsonLogGroup('{"__logs__":[]}');
  assert.deepEqual(g, { logs: [], tags: [] });
  assert.ok(!('topic' in g) && !('source' in g));
});

test('web tracking: logs without __time__ take defaultTime when given', () => {
  assert.equal(decodeJsonLogGroup('{"__logs__":[{"a":"b"}]}', { defaultTime: 42 }).logs[0]!.time, 42);
  throwsSls(
    () => decodeJsonLogGroup('{"__logs__":[{"a":"b"}]}'),
    'PostBodyInvalid',
    /__logs__\[0\]\.__time__ is missing/,
  );
});

test('shape errors are PostBodyInvalid naming the field', () => {
  const cases: [string, RegExp][] = [
    ['not json', /not valid JSON/],
    ['[]', /JSON object/],
    ['{}', /__logs__ must be an array/],
    ['{"__logs__":{}}', /__logs__ must be an array/],
    ['{"__logs__":[1]}', /__logs__\[0\] must be an object/],
    ['{"__logs__":[{"__time__":-1}]}', /__logs__\[0\]\.__time__/],
    ['{"__logs__":[{"__time__":1.5}]}', /__logs__\[0\]\.__time__/],
    ['{"__logs__":[{"__time__":4294967296}]}', /__logs__\[0\]\.__time__/],
    ['{"__logs__":[{"__time__":"soon"}]}', /__logs__\[0\]\.__time__/],
    ['{"__logs__":[{"__time__":1},{"__time__":1,"__time_ns_part__":1000000000}]}', /__logs__\[1\]\.__time_ns_part__/],
    ['{"__logs__":[],"__topic__":{}}', /__topic__ must be a string/],
    ['{"__logs__":[],"__source__":[1]}', /__source__ must be a string/],
    ['{"__logs__":[],"__tags__":[]}', /__tags__ must be an object/],
  ];
  for (const [body, message] of cases) throwsSls(() => decodeJsonLogGroup(body), 'PostBodyInvalid', message);
});
