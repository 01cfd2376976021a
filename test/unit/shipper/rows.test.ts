import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogGroup } from '../../../src/protocol/log-group.js';
import { hourPartition, toColumns } from '../../../src/shipper/rows.js';

function pulled(group: LogGroup, _seq = 0): { group: LogGroup } {
  return { group };
}

test('columns: topic, source, tags, keys in order; nulls where a log lacks a key; last value of a repeated key', () => {
  const batch = toColumns([
    pulled({
      topic: 'web',
      source: '10.0.0.1',
      tags: [{ key: 'host', value: 'h1' }],
      logs: [
        { time: 100, contents: [{ key: 'b', value: '1' }] },
        {
          time: 101,
          contents: [
            { key: 'a', value: 'x' },
            { key: 'a', value: 'y' },
          ],
        },
      ],
    }),
    pulled(
      {
        tags: [],
        logs: [
          {
            time: 102,
            contents: [
              { key: '__time__', value: 'shadow' },
              { key: 'c', value: '' },
            ],
          },
        ],
      },
      1,
    ),
  ]);
  assert.equal(batch.count, 3);
  assert.deepEqual(batch.times, [100, 101, 102]);
  assert.deepEqual(Object.fromEntries(batch.columns), {
    __topic__: ['web', 'web', ''],
    __source__: ['10.0.0.1', '10.0.0.1', ''],
    '__tag__:host': ['h1', 'h1', null],
    a: [null, 'y', null],
    b: ['1', null, null],
    c: [null, null, ''],
  });
  assert.deepEqual([...batch.columns.keys()], ['__topic__', '__source__', '__tag__:host', 'a', 'b', 'c']);
});

test('hour partitions are UTC', () => {
  assert.deepEqual(hourPartition(1_735_689_600 + 3 * 3600 + 59), { dt: '2025-01-01', hh: '03' });
  assert.deepEqual(hourPartition(1_735_689_599), { dt: '2024-12-31', hh: '23' });
});
