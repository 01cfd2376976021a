/**
 * `chn`: every Han character is a token of its own, and a query term of several Han characters is matched as a phrase
 * (the characters consecutively, in order). Checked on the head, a sealed segment and the byte-level build, against
 * the same corpus without `chn` (where a run of Han characters is one token).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type CompiledIndex, compileIndex } from '../../../src/index/index-config.js';
import { LogstoreIndex } from '../../../src/index/logstore-index.js';
import { SegmentBuild } from '../../../src/index/segment-build.js';
import { Tokenizer } from '../../../src/index/tokenizer.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import { parseQuery, search } from '../../../src/query/executor.js';
import type { SearchPart } from '../../../src/storage/segment/part.js';
import { SegmentReader } from '../../../src/storage/segment/segment-reader.js';
import { MANUAL_SEALS } from '../../helpers/indexer-kit.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-chn-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MSGS = ['北京欢迎你 hello', '京北 world', 'ABC中国DEF', '𠀀𠀁 ext-b', 'plain ascii 中'];

function group(): Buffer {
  return encodeLogGroup({
    logs: MSGS.map((m, i) => ({ time: 1000 + i, contents: [{ key: 'msg', value: m }] })),
    tags: [],
  });
}

function hits(config: CompiledIndex, parts: SearchPart[], q: string): number[] {
  const r = search(config, parts, parseQuery(q), { from: 0, to: 2 ** 32, offset: 0, line: 10, reverse: false });
  return r.rows.map((row) => MSGS.indexOf(row.fields.find(([k]) => k === 'msg')![1])).sort();
}

function threeWays(config: Record<string, unknown>, name: string, each: (c: CompiledIndex, p: SearchPart[]) => void) {
  const compiled = compileIndex({ config, version: 1, lastModifyTime: 0 }, 30);
  const idx = LogstoreIndex.open(join(dir, name), compiled, MANUAL_SEALS);
  idx.add('0-0', 0, group());
  each(compiled, idx.parts());
  idx.seal();
  each(compiled, idx.parts());
  idx.close();
  const build = new SegmentBuild(compiled);
  build.addGroup('0-0', 0, group());
  const file = join(dir, `${name}-bytes.seg`);
  build.write(file, '0000000001', 1);
  const seg = SegmentReader.open(file);
  each(compiled, [seg]);
  seg.close();
}

test('the chn tokenizer: Han characters are single tokens, other runs as usual', () => {
  const t = new Tokenizer([' ', '-'], false, true);
  assert.deepEqual(t.tokens('ABC中国DEF 北京-x'), ['abc', '中', '国', 'def', '北', '京', 'x']);
  assert.deepEqual(t.tokens('𠀀a𠀁'), ['𠀀', 'a', '𠀁']);
  assert.deepEqual(new Tokenizer([' '], false).tokens('ABC中国DEF'), ['abc中国def']);
  assert.equal(t.isSingleToken('中'), true);
  assert.equal(t.isSingleToken('a'), false);
});

test('chn: a term of several Han characters matches them consecutively (full text and a field)', () => {
  const config = {
    line: { token: [' ', '-'], chn: true },
    keys: { msg: { type: 'text', token: [' ', '-'], chn: true } },
  };
  threeWays(config, 'chn', (c, p) => {
    assert.deepEqual(hits(c, p, '北京'), [0], '北京 in order only (not 京北)');
    assert.deepEqual(hits(c, p, '京'), [0, 1]);
    assert.deepEqual(hits(c, p, 'msg:欢迎你'), [0]);
    // The tokens 北 京 欢 迎 in a row: a space between Han characters does not separate words in the text either.
    assert.deepEqual(hits(c, p, '"北京 欢迎"'), [0]);
    assert.deepEqual(hits(c, p, '"北京 你"'), []);
    assert.deepEqual(hits(c, p, 'abc'), [2]);
    assert.deepEqual(hits(c, p, '中国'), [2]);
    assert.deepEqual(hits(c, p, 'msg:def'), [2]);
    assert.deepEqual(hits(c, p, '中'), [2, 4]);
    assert.deepEqual(hits(c, p, '𠀀𠀁'), [3]);
    assert.deepEqual(hits(c, p, '𠀁𠀀'), []);
    assert.deepEqual(hits(c, p, 'ab*中'), [2]);
    assert.deepEqual(hits(c, p, '北京 and not world'), [0]);
  });
});

test('without chn a run of Han characters stays one token', () => {
  const config = { line: { token: [' ', '-'] }, keys: { msg: { type: 'text', token: [' ', '-'] } } };
  threeWays(config, 'plain', (c, p) => {
    assert.deepEqual(hits(c, p, '北京'), []);
    assert.deepEqual(hits(c, p, '北京欢迎你'), [0]);
    assert.deepEqual(hits(c, p, 'abc中国def'), [2]);
    assert.deepEqual(hits(c, p, '中'), [4]);
  });
});
