/**
 * A page reads ahead the token blocks and postings of its term lookups (executor.ts `readAhead`,
 * SegmentReader.willNeedTerms): the lookups must be exactly the whole tokens the evaluation looks up (by the field's
 * tokenizer, through aliases, reserved fields whole), none for numeric or wildcard terms; and asking for them must
 * never change a page or fail on tokens or dictionaries a segment does not have, nor on a closed segment.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { HeadPart } from '../../../src/index/head-part.js';
import { compileIndex } from '../../../src/index/index-config.js';
import { parseQuery, search } from '../../../src/query/executor.js';
import { Planner } from '../../../src/query/planner.js';
import { setNativeRows } from '../../../src/storage/segment/native-rows.js';
import { SegmentReader } from '../../../src/storage/segment/segment-reader.js';
import { writeSegment } from '../../../src/storage/segment/segment-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-read-ahead-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const index = compileIndex(
  {
    config: {
      line: { token: [' ', '/', '.'], caseSensitive: false },
      keys: {
        path: { type: 'text', token: ['/'], alias: 'p' },
        status: { type: 'long' },
        agent: { type: 'text', token: [' ', ';'], caseSensitive: true },
      },
    },
    version: 1,
    lastModifyTime: 0,
  },
  30,
);

test('termLookups lists the whole tokens a query looks up, by dictionary', () => {
  const planner = new Planner(index);
  const lookups = (q: string) => planner.termLookups(parseQuery(q));
  assert.deepEqual(lookups('10.1.2.3'), [{ dict: '', tokens: ['10', '1', '2', '3'] }]);
  assert.deepEqual(lookups('Error'), [{ dict: '', tokens: ['error'] }], 'full text is not case sensitive here');
  const pathDict = lookups('path:/api/v2')[0]!.dict;
  assert.deepEqual(lookups('path:/api/v2'), [{ dict: pathDict, tokens: ['api', 'v2'] }]);
  assert.deepEqual(lookups('p:/api'), [{ dict: pathDict, tokens: ['api'] }], 'through the alias');
  const agentDict = lookups('agent:X')[0]!.dict;
  assert.deepEqual(lookups('agent:"Mozilla Gecko"'), [{ dict: agentDict, tokens: ['Mozilla', 'Gecko'] }]);
  assert.deepEqual(lookups('__topic__:web'), [{ dict: lookups('__topic__:web')[0]!.dict, tokens: ['web'] }]);
  assert.deepEqual(lookups('status:500'), [], 'numbers are not token lookups');
  assert.deepEqual(lookups('status >= 500'), []);
  assert.deepEqual(lookups('err*'), [], 'a prefix expands; nothing to read ahead');
  assert.deepEqual(lookups('*'), []);
  assert.deepEqual(lookups('a and (b or not c) and status:1'), [
    { dict: '', tokens: ['a'] },
    { dict: '', tokens: ['b'] },
    { dict: '', tokens: ['c'] },
  ]);
});

test('reading ahead changes no page and ignores what a segment lacks', () => {
  const head = new HeadPart('h', index);
  const rows = [];
  for (let i = 0; i < 3000; i++)
    rows.push({
      time: 1_767_225_600 + i,
      contents: [
        { key: 'msg', value: `request ${i % 7 === 0 ? 'Error' : 'ok'} from 10.0.${i % 5}.${i % 11}` },
        { key: 'path', value: `/api/v${i % 3}/item/${i}` },
        { key: 'status', value: String(i % 13 === 0 ? 500 : 200) },
      ],
    });
  head.addGroup('0-0', 0, rows, '', '', []);
  const path = join(dir, 'a.seg');
  writeSegment(path, head.toSource('0000000001', 1));
  const seg = SegmentReader.open(path);
  const twin = SegmentReader.open(path);
  try {
    seg.willNeedTerms('', ['no-such-token', 'error'], false);
    seg.willNeedTerms('', ['no-such-token', 'error'], true);
    seg.willNeedTerms('f:no-such-field', ['x'], true);
    for (const q of ['error', '10.0.3.7', 'path:/api/v1 and not error', 'status:500 and ok', '"request ok"']) {
      for (const reverse of [true, false]) {
        const o = { from: 0, to: 2 ** 32 - 1, offset: 0, line: 50, reverse };
        setNativeRows(true); // read ahead (when the addon is built)
        const ahead = search(index, [seg], parseQuery(q), o);
        setNativeRows(false); // no read-ahead
        assert.deepEqual(ahead, search(index, [twin], parseQuery(q), o), q);
        setNativeRows(true);
      }
    }
    seg.close();
    assert.doesNotThrow(() => seg.willNeedTerms('', ['error'], true), 'a closed segment is skipped');
  } finally {
    seg.close();
    twin.close();
  }
});
