/**
 * The columnar form of a LogGroup: every group in the shape SDKs write rebuilds byte for byte; groups in any other
 * shape are refused (compaction then stores them whole); a damaged form is an error, never other data.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import zstdBinding from 'zstd-napi/binding.js';
import { NginxLogGenerator } from '../../../bench/nginx-generator.js';
import { decodeLogGroup, encodeLogGroup, type Log, type LogGroup } from '../../../src/protocol/log-group.js';
import { writeVarint } from '../../../src/protocol/wire.js';
import {
  decodeColumnarLogGroup,
  encodeColumnarLogGroup,
  newColumnarScratch,
} from '../../../src/storage/shard-log/columnar-log-group.js';

function roundTrip(bytes: Buffer): Buffer {
  const columnar = encodeColumnarLogGroup(bytes);
  assert.ok(columnar, 'the group has a columnar form');
  const rebuilt = decodeColumnarLogGroup(Buffer.from(columnar), bytes.length);
  assert.ok(rebuilt.equals(bytes), 'rebuilt byte for byte');
  return Buffer.from(columnar);
}

const log = (time: number, pairs: [string, string][], timeNs?: number): Log => ({
  time,
  contents: pairs.map(([key, value]) => ({ key, value })),
  ...(timeNs === undefined ? {} : { timeNs }),
});

/** Protobuf field `tag` (length-delimited) holding `body`. */
function field(tag: number, body: Buffer): Buffer {
  const head = Buffer.alloc(11);
  head[0] = tag;
  const at = writeVarint(head, 1, body.length);
  return Buffer.concat([head.subarray(0, at), body]);
}

describe('columnar LogGroup', () => {
  test('groups in every shape the SDKs write rebuild byte for byte', () => {
    const groups: LogGroup[] = [
      { logs: [], tags: [] },
      { logs: [], topic: 'only-a-topic', tags: [{ key: 'k', value: 'v' }] },
      { logs: [log(0, [])], tags: [] },
      {
        logs: [
          log(1_767_225_600, [
            ['a', '1'],
            ['b', ''],
          ]),
          // Time going back, TimeNs on some logs, a key twice, an empty key, a long value, a changed key order.
          log(
            1_767_225_000,
            [
              ['b', 'x'.repeat(300)],
              ['a', '2'],
              ['a', '3'],
            ],
            999_999_999,
          ),
          log(0xffffffff, [['', 'empty key']], 0),
          log(5, [
            ['a', 'café ☕'],
            ['b', '4'],
          ]),
          log(6, [
            ['a', '5'],
            ['b', '6'],
          ]),
        ],
        topic: 'nginx',
        source: '10.0.0.1',
        machineUuid: 'uuid-1',
        reserved: 'category',
        tags: [
          { key: '__hostname__', value: 'web-01' },
          { key: '__path__', value: '/var/log/a.log' },
        ],
      },
    ];
    for (const g of groups) roundTrip(encodeLogGroup(g));
  });

  test('binary values, fields around and between the Logs, and a long run of logs rebuild byte for byte', () => {
    const binary = encodeLogGroup({ logs: [log(7, [['blob', 'x']])], tags: [] });
    // The value's byte 'x' replaced by bytes that are not UTF-8.
    const withBinary = Buffer.from(binary);
    withBinary[withBinary.length - 1] = 0xff;
    roundTrip(withBinary);
    // A topic first, then Logs, a source between them, more Logs: the form keeps what surrounds the first run as is.
    const a = encodeLogGroup({ logs: [log(1, [['k', 'v1']])], tags: [] });
    const b = encodeLogGroup({ logs: [log(2, [['k', 'v2']])], tags: [] });
    const topic = field(0x1a, Buffer.from('t'));
    const source = field(0x22, Buffer.from('s'));
    roundTrip(Buffer.concat([topic, a, source, b]));
    const gen = new NginxLogGenerator(7);
    const big = encodeLogGroup(gen.group(4096));
    const columnar = roundTrip(big);
    assert.deepEqual(decodeLogGroup(decodeColumnarLogGroup(columnar, big.length)), decodeLogGroup(big));
  });

  test('groups of many tiny logs or contents (past the first arrays) still rebuild', () => {
    const tinyLogs = encodeLogGroup({ logs: Array.from({ length: 3000 }, (_, i) => log(i, [])), tags: [] });
    const tinyContents = encodeLogGroup({
      logs: [
        log(
          1,
          Array.from({ length: 3000 }, (_, i): [string, string] => [i % 2 ? 'k' : '', '']),
        ),
      ],
      tags: [],
    });
    const scratch = newColumnarScratch();
    for (const bytes of [tinyLogs, tinyContents]) {
      const columnar = encodeColumnarLogGroup(bytes, scratch);
      assert.ok(columnar);
      assert.ok(decodeColumnarLogGroup(Buffer.from(columnar), bytes.length).equals(bytes));
    }
  });

  test('a scratch reused across groups of different sizes and keys gives each its own form', () => {
    const scratch = newColumnarScratch();
    const gen = new NginxLogGenerator(3);
    const groups = [gen.group(500), { logs: [log(1, [['other', 'keys']])], tags: [] }, gen.group(2000), gen.group(3)];
    for (const g of groups) {
      const bytes = encodeLogGroup(g);
      const columnar = encodeColumnarLogGroup(bytes, scratch);
      assert.ok(columnar);
      assert.ok(decodeColumnarLogGroup(Buffer.from(columnar), bytes.length).equals(bytes));
    }
  });

  test('groups the form cannot rebuild exactly are refused', () => {
    const time = Buffer.from([0x08, 0x01]);
    const pair = (k: string, v: string): Buffer =>
      Buffer.concat([field(0x0a, Buffer.from(k)), field(0x12, Buffer.from(v))]);
    const refused: [string, Buffer][] = [
      // Value before key.
      [
        'value first',
        field(
          0x0a,
          Buffer.concat([
            time,
            field(0x12, Buffer.concat([field(0x12, Buffer.from('v')), field(0x0a, Buffer.from('k'))])),
          ]),
        ),
      ],
      // ilogtail's Log.values (field 3) inside a Log.
      ['unknown field in a Log', field(0x0a, Buffer.concat([time, field(0x1a, Buffer.from('xx'))]))],
      // Time after the contents.
      ['Time last', field(0x0a, Buffer.concat([field(0x12, pair('k', 'v')), time]))],
      // A content's length written in two bytes where one would do.
      [
        'non-minimal length',
        Buffer.concat([Buffer.from([0x0a, 0x0b]), time, Buffer.from([0x12, 0x86, 0x00]), pair('k', 'v')]),
      ],
      ['a Log without Time', field(0x0a, field(0x12, pair('k', 'v')))],
      ['a content without a value', field(0x0a, Buffer.concat([time, field(0x12, field(0x0a, Buffer.from('k')))]))],
      ['a Log that runs past the group', Buffer.from([0x0a, 0x09, 0x08, 0x01])],
      ['a malformed field before the Logs', Buffer.from([0x1a, 0x05, 0x41])],
    ];
    for (const [what, bytes] of refused) assert.equal(encodeColumnarLogGroup(bytes), undefined, what);
  });

  test('a damaged form is an error, never other bytes', () => {
    const g = encodeLogGroup(new NginxLogGenerator(5).group(50));
    const columnar = Buffer.from(encodeColumnarLogGroup(g)!);
    assert.throws(() => decodeColumnarLogGroup(columnar, g.length - 1), /columnar LogGroup/);
    assert.throws(() => decodeColumnarLogGroup(columnar, g.length + 1), /columnar LogGroup/);
    assert.throws(
      () => decodeColumnarLogGroup(columnar.subarray(0, columnar.length - 1), g.length),
      /columnar LogGroup/,
    );
    const version = Buffer.from(columnar);
    version[0] = 9;
    assert.throws(() => decodeColumnarLogGroup(version, g.length), /unknown version 9/);
    const longer = Buffer.concat([columnar, Buffer.from([0])]);
    assert.throws(() => decodeColumnarLogGroup(longer, g.length), /columnar LogGroup/);
  });

  test('on nginx logs the columns take zstd well below the group itself', () => {
    const bytes = encodeLogGroup(new NginxLogGenerator(11).group(4096));
    const columnar = encodeColumnarLogGroup(bytes)!;
    const cctx = new zstdBinding.CCtx();
    const out = Buffer.allocUnsafe(zstdBinding.compressBound(bytes.length));
    const plain = cctx.compress(out, bytes, 3);
    const columns = cctx.compress(out, columnar, 3);
    assert.ok(columns < plain * 0.8, `columns ${columns} bytes, the group ${plain}`);
  });
});
