import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nginxGroup } from '../../../bench/protocol-fixtures.js';
import {
  decodeLogGroup,
  decodeLogGroupList,
  decodeSlsLogPackageList,
  encodeLogGroup,
  encodeLogGroupList,
  type LogGroup,
  splitLogGroupList,
} from '../../../src/protocol/log-group.js';
import { throwsSls } from './sls-error-assert.js';
import { PbLogGroup, PbLogGroupList, PbSlsLogPackageList } from './sls-proto.js';

/** Our model → the protobufjs object shape of the same schema. */
function toPb(g: LogGroup): Record<string, unknown> {
  const o: Record<string, unknown> = {
    Logs: g.logs.map((l) => ({
      Time: l.time,
      Contents: l.contents.map((c) => ({ Key: c.key, Value: c.value })),
      ...(l.timeNs !== undefined ? { TimeNs: l.timeNs } : {}),
    })),
    LogTags: g.tags.map((t) => ({ Key: t.key, Value: t.value })),
  };
  if (g.reserved !== undefined) o['Reserved'] = g.reserved;
  if (g.topic !== undefined) o['Topic'] = g.topic;
  if (g.source !== undefined) o['Source'] = g.source;
  if (g.machineUuid !== undefined) o['MachineUUID'] = g.machineUuid;
  return o;
}

function pbEncode(o: Record<string, unknown>): Uint8Array {
  return PbLogGroup.encode(PbLogGroup.fromObject(o)).finish();
}

const FULL: LogGroup = {
  logs: [
    {
      time: 1_736_841_600,
      timeNs: 123_456_789,
      contents: [
        { key: 'msg', value: 'hello' },
        { key: 'empty', value: '' },
        { key: 'unicode', value: 'héllo wörld — 日本語 🚀' },
        { key: 'long', value: 'x'.repeat(300) },
      ],
    },
    { time: 0, contents: [] },
    { time: 0xffffffff, timeNs: 999_999_999, contents: [{ key: '键', value: 'ü'.repeat(100) }] },
  ],
  reserved: 'cat',
  topic: 'topic-1',
  source: '10.0.0.1',
  machineUuid: 'uuid-1',
  tags: [
    { key: '__path__', value: '/var/log/a.log' },
    { key: 't', value: '' },
  ],
};

test('encodeLogGroup is byte-identical to protobufjs for the same schema', () => {
  for (const g of [FULL, nginxGroup(50), { logs: [], tags: [] }, { logs: [{ time: 1, contents: [] }], tags: [] }]) {
    assert.deepEqual(encodeLogGroup(g), Buffer.from(pbEncode(toPb(g))));
  }
});

test('round trip keeps every field, Unicode, empty values, tags and TimeNs', () => {
  assert.deepEqual(decodeLogGroup(encodeLogGroup(FULL)), FULL);
  const big = nginxGroup(200, 7);
  assert.deepEqual(decodeLogGroup(encodeLogGroup(big)), big);
  assert.deepEqual(decodeLogGroup(pbEncode(toPb(big))), big);
});

test('absent optionals are neither emitted nor invented (aliyun-sdk crashes on unknown fields)', () => {
  const g: LogGroup = { logs: [{ time: 5, contents: [{ key: 'a', value: 'b' }] }], tags: [] };
  const bytes = encodeLogGroup(g);
  const pb = PbLogGroup.decode(bytes) as unknown as Record<string, unknown> & { Logs: Record<string, unknown>[] };
  for (const f of ['Reserved', 'Topic', 'Source', 'MachineUUID']) assert.ok(!Object.hasOwn(pb, f), f);
  assert.ok(!Object.hasOwn(pb.Logs[0]!, 'TimeNs'));
  const back = decodeLogGroup(bytes);
  assert.deepEqual(back, g);
  assert.ok(!('timeNs' in back.logs[0]!) && !('topic' in back) && !('source' in back));
  // Present-but-empty is kept distinct from absent.
  const empty: LogGroup = { logs: [{ time: 5, timeNs: 0, contents: [] }], topic: '', tags: [] };
  assert.deepEqual(decodeLogGroup(encodeLogGroup(empty)), empty);
  assert.equal(
    encodeLogGroup(empty).length,
    encodeLogGroup({ logs: [{ time: 5, contents: [] }], tags: [] }).length + 5 + 2,
  );
});

test('decode skips unknown fields, incl. ilogtail Log.values (field 3), and unknown wire types of known fields', () => {
  const withValues = PbLogGroup.encode(
    PbLogGroup.fromObject({ Logs: [{ Time: 9, Values: ['x', 'y'], Contents: [{ Key: 'k', Value: 'v' }] }] }),
  ).finish();
  assert.deepEqual(decodeLogGroup(withValues), { logs: [{ time: 9, contents: [{ key: 'k', value: 'v' }] }], tags: [] });
  const base = encodeLogGroup({ logs: [{ time: 9, contents: [{ key: 'k', value: 'v' }] }], tags: [] });
  // Field 7 varint, field 8 fixed64, field 9 fixed32, field 10 bytes, and Topic (3) sent as a varint.
  const extra = Buffer.from([
    0x38, 0x96, 0x01, 0x41, 1, 2, 3, 4, 5, 6, 7, 8, 0x4d, 1, 2, 3, 4, 0x52, 2, 0x61, 0x62, 0x18, 0x05,
  ]);
  assert.deepEqual(decodeLogGroup(Buffer.concat([extra, base, extra])), {
    logs: [{ time: 9, contents: [{ key: 'k', value: 'v' }] }],
    tags: [],
  });
});

test('invalid UTF-8 in values decodes to replacement characters instead of failing', () => {
  // Log{Time=1, Contents{Key="k", Value=ff fe 61}}
  const content = Buffer.from([0x0a, 0x01, 0x6b, 0x12, 0x03, 0xff, 0xfe, 0x61]);
  const log = Buffer.concat([Buffer.from([0x08, 0x01, 0x12, content.length]), content]);
  const g = decodeLogGroup(Buffer.concat([Buffer.from([0x0a, log.length]), log]));
  assert.equal(g.logs[0]!.contents[0]!.value, '\ufffd\ufffda');
  // A long binary value takes the native path.
  const long = Buffer.alloc(100, 0xc3);
  const c2 = Buffer.concat([Buffer.from([0x0a, 0x01, 0x6b, 0x12, long.length]), long]);
  const l2 = Buffer.concat([Buffer.from([0x08, 0x01, 0x12, c2.length]), c2]);
  const g2 = decodeLogGroup(Buffer.concat([Buffer.from([0x0a, l2.length]), l2]));
  assert.equal(g2.logs[0]!.contents[0]!.value, '\ufffd'.repeat(100));
});

test('the per-slot key memo never returns a stale key', () => {
  const g: LogGroup = {
    logs: [
      {
        time: 1,
        contents: [
          { key: 'abc', value: '1' },
          { key: 'de', value: '2' },
        ],
      },
      {
        time: 2,
        contents: [
          { key: 'abd', value: '1' },
          { key: 'de', value: '2' },
          { key: 'x', value: '3' },
        ],
      },
      {
        time: 3,
        contents: [
          { key: 'de', value: '2' },
          { key: 'abd', value: '1' },
        ],
      },
      {
        time: 4,
        contents: [
          { key: 'abd', value: '1' },
          { key: 'de', value: '2' },
          { key: 'y', value: '3' },
        ],
      },
    ],
    tags: [{ key: 'abc', value: 'tag' }],
  };
  assert.deepEqual(decodeLogGroup(encodeLogGroup(g)), g);
});

test('malformed protobuf is PostBodyInvalid, never a crash', () => {
  const good = encodeLogGroup(nginxGroup(3));
  for (let cut = 1; cut < good.length; cut += 7) {
    // Most truncations are malformed; the few that land on a field boundary are valid shorter groups.
    try {
      decodeLogGroup(good.subarray(0, cut));
    } catch (err) {
      assert.equal((err as { code?: string }).code, 'PostBodyInvalid');
    }
  }
  throwsSls(() => decodeLogGroup(Buffer.from([0x0a, 0x05, 0x08])), 'PostBodyInvalid', /past the end/);
  throwsSls(() => decodeLogGroup(Buffer.from([0x0b])), 'PostBodyInvalid', /wire type 3/);
  throwsSls(() => decodeLogGroup(Buffer.from([0x00, 0x00])), 'PostBodyInvalid', /field tag/);
  throwsSls(() => decodeLogGroup(Buffer.from([0x38, 0xff, 0xff])), 'PostBodyInvalid', /truncated varint/);
  throwsSls(() => decodeLogGroup(Buffer.from([0x38, ...new Array(11).fill(0xff)])), 'PostBodyInvalid', /10 bytes/);
  throwsSls(() => decodeLogGroup(Buffer.from([0x0a, 0x02, 0x25, 0x01])), 'PostBodyInvalid', /fixed32/);
  // Random garbage: only SlsErrors.
  let seed = 42;
  for (let i = 0; i < 2000; i++) {
    const buf = Buffer.alloc(1 + (i % 64));
    for (let j = 0; j < buf.length; j++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      buf[j] = seed >>> 24;
    }
    try {
      decodeLogGroup(buf);
    } catch (err) {
      assert.equal((err as { code?: string }).code, 'PostBodyInvalid', String(err));
    }
  }
});

test('LogGroupList framing wraps raw groups without re-encoding; protobufjs agrees', () => {
  const groups = [FULL, nginxGroup(20, 3), { logs: [], tags: [] }];
  const raws = groups.map((g) => encodeLogGroup(g));
  const list = encodeLogGroupList(raws);
  const pbList = PbLogGroupList.encode(PbLogGroupList.fromObject({ LogGroups: groups.map(toPb) })).finish();
  assert.deepEqual(list, Buffer.from(pbList));
  assert.deepEqual(decodeLogGroupList(list), groups);
  const split = splitLogGroupList(list);
  assert.equal(split.length, 3);
  for (let i = 0; i < 3; i++) assert.deepEqual(Buffer.from(split[i]!), raws[i]);
  assert.equal(encodeLogGroupList([]).length, 0);
  // A big group needs a multi-byte length prefix.
  const big = encodeLogGroup(nginxGroup(2000));
  assert.ok(big.length > 1 << 14);
  assert.deepEqual(Buffer.from(splitLogGroupList(encodeLogGroupList([big]))[0]!), big);
});

test('SlsLogPackageList (batch_group) decodes data, uncompress_size and compress_type', () => {
  const a = encodeLogGroup(FULL);
  const bytes = PbSlsLogPackageList.encode(
    PbSlsLogPackageList.fromObject({
      packages: [
        { data: a, uncompress_size: a.length, compress_type: 0 },
        { data: Buffer.from([1, 2, 3]) },
        { data: Buffer.from([4]), compress_type: 2, uncompress_size: 10 },
        { data: Buffer.from([5]), compress_type: 1 },
        { data: Buffer.from([6]), compress_type: 3 },
      ],
    }),
  ).finish();
  const pkgs = decodeSlsLogPackageList(bytes);
  assert.deepEqual(
    pkgs.map((p) => ({ ...p, data: Buffer.from(p.data) })),
    [
      { data: a, uncompressSize: a.length, compressType: 'none' },
      { data: Buffer.from([1, 2, 3]) },
      { data: Buffer.from([4]), compressType: 'lz4', uncompressSize: 10 },
      { data: Buffer.from([5]), compressType: 'deflate' },
      { data: Buffer.from([6]), compressType: 'zstd' },
    ],
  );
  throwsSls(() => decodeSlsLogPackageList(Buffer.from([0x0a, 0x02, 0x18, 0x07])), 'InvalidCompressType');
  throwsSls(() => decodeSlsLogPackageList(Buffer.from([0x0a, 0x02, 0x18, 0x01])), 'PostBodyInvalid', /without data/);
});

test('encodeLogGroup rejects times that are not uint32', () => {
  assert.throws(() => encodeLogGroup({ logs: [{ time: -1, contents: [] }], tags: [] }), RangeError);
  assert.throws(() => encodeLogGroup({ logs: [{ time: 2 ** 32, contents: [] }], tags: [] }), RangeError);
  assert.throws(() => encodeLogGroup({ logs: [{ time: 1, timeNs: 1.5, contents: [] }], tags: [] }), RangeError);
});
