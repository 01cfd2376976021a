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
