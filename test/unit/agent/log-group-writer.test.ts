import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogGroupWriter } from '../../../src/agent/batch/log-group-writer.js';
import { decodeLogGroup } from '../../../src/protocol/log-group.js';

test('the byte-level LogGroup writer decodes with the protocol codec (raw lines, fields, UTF-8, ns, tags)', () => {
  const w = new LogGroupWriter(16); // tiny, so it has to grow
  const src = Buffer.from('first line\nsecond ünïcode line\n');
  w.addRaw(1_700_000_000, src, 0, 10);
  w.addRaw(1_700_000_001, src, 11, src.length - 1);
  const long = 'x'.repeat(300);
  w.addFields(1_700_000_002, 123, ['status', '200', 'msg', 'héllo 世界', 'long', long, 'empty', '']);
  assert.equal(w.logCount, 3);
  const g = decodeLogGroup(
    Buffer.from(
      w.finish('topic', '10.0.0.1', [
        ['__path__', '/var/log/ä.log'],
        ['__hostname__', 'h'],
      ]),
    ),
  );
  assert.deepEqual(
    g.logs.map((l) => ({ time: l.time, ns: l.timeNs, c: l.contents.map((c) => [c.key, c.value]) })),
    [
      { time: 1_700_000_000, ns: undefined, c: [['content', 'first line']] },
      { time: 1_700_000_001, ns: undefined, c: [['content', 'second ünïcode line']] },
      {
        time: 1_700_000_002,
        ns: 123,
        c: [
          ['status', '200'],
          ['msg', 'héllo 世界'],
          ['long', long],
          ['empty', ''],
        ],
      },
    ],
  );
  assert.equal(g.topic, 'topic');
  assert.equal(g.source, '10.0.0.1');
  assert.deepEqual(
    g.tags.map((t) => [t.key, t.value]),
    [
      ['__path__', '/var/log/ä.log'],
      ['__hostname__', 'h'],
    ],
  );
  assert.equal(w.logCount, 0, 'finish resets');
});

test('raw lines of every varint width (0, 127/128, 16383/16384, 2 MiB+) decode with their times', () => {
  const w = new LogGroupWriter(8);
  const lengths = [0, 1, 116, 117, 127, 128, 16_370, 16_383, 16_384, 2_097_200];
  const src = Buffer.alloc(2_100_000, 0x61);
  for (const [i, n] of lengths.entries()) w.addRaw(i % 3 === 0 ? 1_700_000_000 : 2 ** 32 - 1 - i, src, 5, 5 + n);
  const g = decodeLogGroup(Buffer.from(w.finish(undefined, 's', [])));
  assert.deepEqual(
    g.logs.map((l) => [l.time, l.contents.length, l.contents[0]!.key, l.contents[0]!.value.length]),
    lengths.map((n, i) => [i % 3 === 0 ? 1_700_000_000 : 2 ** 32 - 1 - i, 1, 'content', n]),
  );
});

test('a writer in an arena shared with the read buffer writes the same bytes, and moves out when a group outgrows it', () => {
  const lines = Array.from({ length: 300 }, (_, i) => `line ${i} ${'q'.repeat(i)}`).join('\n');
  for (const limit of [64 * 1024, 2 * 1024]) {
    const arena = Buffer.alloc(limit + 128 * 1024);
    const input = arena.subarray(limit);
    const n = input.write(lines);
    const shared = LogGroupWriter.inArena(arena, limit);
    const plain = new LogGroupWriter(16);
    let start = 0;
    while (start < n) {
      const nl = input.indexOf(0x0a, start);
      const end = nl < 0 || nl >= n ? n : nl;
      shared.addRaw(1_700_000_000, input, start, end);
      plain.addRaw(1_700_000_000, input, start, end);
      start = end + 1;
    }
    const a = Buffer.from(shared.finish('t', 's', [['__path__', '/p']]));
    const b = Buffer.from(plain.finish('t', 's', [['__path__', '/p']]));
    assert.ok(a.equals(b), `limit ${limit}`);
    assert.equal(input.toString('utf8', 0, n), lines, 'the read buffer is never written');
    assert.equal(decodeLogGroup(a).logs.length, 300);
  }
});
