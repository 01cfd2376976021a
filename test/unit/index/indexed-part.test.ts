/**
 * Only the first 512 KiB (UTF-8) of a value are indexed for search, as in SLS: a token past the limit is not found,
 * one within it is, and the stored row keeps the whole value. Checked on the three indexing paths: the head (strings),
 * the byte-level build of ASCII values, and its string fallback for non-ASCII values.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { compileIndex } from '../../../src/index/index-config.js';
import { LogstoreIndex } from '../../../src/index/logstore-index.js';
import { SegmentBuild } from '../../../src/index/segment-build.js';
import { indexedPart, MAX_INDEXED_BYTES } from '../../../src/index/tokenizer.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import { parseQuery, search } from '../../../src/query/executor.js';
import type { SearchPart } from '../../../src/storage/segment/part.js';
import { SegmentReader } from '../../../src/storage/segment/segment-reader.js';
import { MANUAL_SEALS } from '../../helpers/indexer-kit.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-indexed-part-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG = { line: { token: [' '] }, keys: { msg: { type: 'text', token: [' '] } } };
const compiled = compileIndex({ config: CONFIG, version: 1, lastModifyTime: 0 }, 30);

/** `early`, filler, `within` ending 10 bytes before the limit, then `late` past it; `fill` sets the filler's bytes. */
function value(fill: string): string {
  const head = 'early ';
  const tail = ' within';
  const fillBytes = MAX_INDEXED_BYTES - 10 - head.length - tail.length;
  const unit = Buffer.byteLength(fill);
  const filler = fill.repeat(Math.floor(fillBytes / unit)) + 'x'.repeat(fillBytes % unit);
  return `${head}${filler}${tail}${' pad'.repeat(10)} late`;
}

function group(v: string): Buffer {
  return encodeLogGroup({ logs: [{ time: 1000, contents: [{ key: 'msg', value: v }] }], tags: [] });
}

function hits(parts: SearchPart[], q: string): string[] {
  const r = search(compiled, parts, parseQuery(q), { from: 0, to: 2 ** 32, offset: 0, line: 10, reverse: false });
  return r.rows.map((row) => row.fields.find(([k]) => k === 'msg')![1]);
}

function check(parts: SearchPart[], v: string, path: string): void {
  assert.equal(Buffer.byteLength(indexedPart(v)) <= MAX_INDEXED_BYTES, true);
  for (const q of ['early', 'within', 'msg:early', 'msg:within']) {
    const rows = hits(parts, q);
    assert.equal(rows.length, 1, `${path}: ${q} is within the limit`);
    assert.equal(rows[0], v, `${path}: the stored value is whole`);
  }
  for (const q of ['late', 'msg:late']) assert.deepEqual(hits(parts, q), [], `${path}: ${q} is past the limit`);
}

test('indexedPart keeps the longest prefix of at most 512 KiB of UTF-8, never splitting a character', () => {
  assert.equal(indexedPart('short'), 'short');
  assert.equal(indexedPart('a'.repeat(MAX_INDEXED_BYTES + 5)).length, MAX_INDEXED_BYTES);
  const euro = indexedPart('€'.repeat(MAX_INDEXED_BYTES));
  assert.equal(euro.length, Math.floor(MAX_INDEXED_BYTES / 3));
  const emoji = indexedPart(`a${'😀'.repeat(MAX_INDEXED_BYTES / 4)}`);
  assert.equal(Buffer.byteLength(emoji), MAX_INDEXED_BYTES - 3);
  assert.equal(emoji.endsWith('😀'), true);
});

for (const [name, fill] of [
  ['ASCII', 'ab '],
  ['non-ASCII', 'é '],
] as const) {
  test(`a token past 512 KiB is not indexed, one within is, the row is whole (${name}, head and byte build)`, () => {
    const v = value(fill);
    assert.ok(Buffer.byteLength(v.slice(0, v.indexOf(' within') + 7)) <= MAX_INDEXED_BYTES);
    assert.ok(Buffer.byteLength(v.slice(0, v.indexOf(' late'))) > MAX_INDEXED_BYTES);
    const idx = LogstoreIndex.open(join(dir, `head-${name}`), compiled, MANUAL_SEALS);
    idx.add('0-0', 0, group(v));
    check(idx.parts(), v, 'head');
    idx.seal();
    check(idx.parts(), v, 'sealed head');
    idx.close();
    const build = new SegmentBuild(compiled);
    build.addGroup('0-0', 0, group(v));
    const file = join(dir, `bytes-${name}.seg`);
    build.write(file, '0000000001', 1);
    const seg = SegmentReader.open(file);
    check([seg], v, 'byte build');
    seg.close();
  });
}
