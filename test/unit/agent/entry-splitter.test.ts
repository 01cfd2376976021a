import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitEntries } from '../../../src/agent/tail/entry-splitter.js';

function split(text: string, flush: boolean, begin?: RegExp, max = 1 << 20): { entries: string[]; consumed: number } {
  const buf = Buffer.from(text);
  const entries: string[] = [];
  const r = splitEntries(buf, buf.length, flush, { beginRegex: begin, maxEntryBytes: max }, (s, e) =>
    entries.push(buf.toString('utf8', s, e)),
  );
  return { entries, consumed: r.consumed };
}

test('single line: complete lines only, CRLF trimmed, the tail waits unless flushed', () => {
  assert.deepEqual(split('a\r\nb\nc', false), { entries: ['a', 'b'], consumed: 5 });
  assert.deepEqual(split('a\nb\nc', true), { entries: ['a', 'b', 'c'], consumed: 5 });
  assert.deepEqual(split('', false), { entries: [], consumed: 0 });
  assert.deepEqual(split('\n\n', false), { entries: ['', ''], consumed: 2 });
});

test('multiline: entries start at the begin regex; the open entry waits for the next start or a flush', () => {
  const begin = /^(?:\d{4}-\d\d-\d\d)/;
  const text = '2026-01-01 one\n  at x\n  at y\n2026-01-01 two\n  more\n';
  assert.deepEqual(split(text, false, begin), {
    entries: ['2026-01-01 one\n  at x\n  at y'],
    consumed: '2026-01-01 one\n  at x\n  at y\n'.length,
  });
  assert.deepEqual(split(text, true, begin).entries, ['2026-01-01 one\n  at x\n  at y', '2026-01-01 two\n  more']);
  // Lines before the first start form an entry of their own.
  assert.deepEqual(split('junk\n2026-01-01 a\n2026-01-01 b\n', false, begin).entries, ['junk', '2026-01-01 a']);
  // A flushed unterminated start line is its own entry.
  assert.deepEqual(split('2026-01-01 a\n2026-01-01 b', true, begin).entries, ['2026-01-01 a', '2026-01-01 b']);
});

test('entries over the limit are cut, never stall reading', () => {
  const long = 'x'.repeat(100);
  const r = split(`${long}`, false, undefined, 40);
  assert.deepEqual(r, { entries: ['x'.repeat(40)], consumed: 40 });
  const begin = /^S/;
  const m = split(`S${'y'.repeat(100)}`, false, begin, 40);
  assert.deepEqual(m, { entries: [`S${'y'.repeat(39)}`], consumed: 40 });
  const lines = split(`S1\n${'c\n'.repeat(30)}`, false, begin, 20);
  assert.ok(lines.consumed > 0 && lines.entries.length >= 1);
  assert.ok(lines.entries.every((e) => e.length <= 20));
});
