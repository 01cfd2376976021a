import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogGroupWriter } from '../../../src/agent/batch/log-group-writer.js';
import { splitEntries } from '../../../src/agent/tail/entry-splitter.js';
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

/** What the collector did before addLines: splitEntries (no begin regex) feeding addRaw, cut at `maxLogs`. */
function framedInJs(
  w: LogGroupWriter,
  time: number,
  src: Buffer,
  len: number,
  flush: boolean,
  maxEntryBytes: number,
  maxLogs: number,
): { consumed: number; logs: number } {
  let cutAt = -1;
  let logs = 0;
  const split = splitEntries(src, len, flush, { beginRegex: undefined, maxEntryBytes }, (s, e) => {
    if (cutAt >= 0) return;
    if (w.logCount >= maxLogs) {
      cutAt = s;
      return;
    }
    w.addRaw(time, src, s, e);
    logs++;
  });
  return { consumed: cutAt >= 0 ? cutAt : split.consumed, logs };
}

test('addLines (the addon) frames lines byte for byte as splitEntries + addRaw: CR, long lines, tails, log cap, growth, arena', (t) => {
  if (new LogGroupWriter().addLines(1, Buffer.from('a\n'), 2, false, 10, 10) === undefined) {
    t.skip('the sluice-lz4 addon did not build here');
    return;
  }
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 16) % n; // the high bits: an LCG's low bits repeat with short periods
  };
  const pieces = ['', 'a', 'short line', 'x'.repeat(127), 'y'.repeat(128), 'z'.repeat(300), 'ü€😀', 'w'.repeat(20_000)];
  for (let round = 0; round < 400; round++) {
    const parts: string[] = [];
    const count = 1 + rnd(60);
    for (let i = 0; i < count; i++) parts.push(pieces[rnd(pieces.length)]! + (rnd(5) === 0 ? '\r' : ''));
    let text = parts.join(rnd(7) === 0 ? '\r\n' : '\n');
    if (rnd(2) === 0) text += '\n';
    const body = Buffer.from(text);
    const flush = rnd(2) === 0;
    const maxEntryBytes = [50, 200, 1000, 512 * 1024][rnd(4)]!;
    const maxLogs = [1, 3, 10, 1000][rnd(4)]!;
    const time = 1_700_000_000 + rnd(3);
    const shared = rnd(2) === 0;
    // The collector's layout: the group in arena[0, limit), the read at arena[limit, …).
    const limit = [64, 4096, 256 * 1024][rnd(3)]!;
    const arena = Buffer.alloc(limit + body.length + 16);
    const src = arena.subarray(limit);
    body.copy(src);
    const js = new LogGroupWriter(64);
    const c = shared ? LogGroupWriter.inArena(arena, limit) : new LogGroupWriter(64);
    const preset = rnd(3);
    for (let i = 0; i < preset; i++) {
      js.addRaw(time, Buffer.from('before'), 0, 6);
      c.addRaw(time, Buffer.from('before'), 0, 6);
    }
    const expected = framedInJs(js, time, src, body.length, flush, maxEntryBytes, maxLogs);
    const got = c.addLines(time, src, body.length, flush, maxEntryBytes, maxLogs)!;
    const what = `round ${round}: flush ${flush}, max ${maxEntryBytes} B / ${maxLogs} logs, shared ${shared}`;
    assert.deepEqual({ consumed: got.consumed, logs: got.logs }, expected, what);
    assert.equal(c.logCount, js.logCount, what);
    const tags: [string, string][] = [['__path__', '/a.log']];
    assert.ok(c.finish('', 'h', tags).equals(js.finish('', 'h', tags)), what);
  }
});
