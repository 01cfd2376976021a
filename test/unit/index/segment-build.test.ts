/**
 * The byte-level builder (SegmentBuild, what the builder workers run) must write exactly the segment the in-memory
 * head writes for the same LogGroups: same rows in the same time order, same columns and cells, same dictionaries,
 * tokens and postings, same numeric tables. The corpus mixes generated nginx logs with the edge cases of the byte
 * path: case folding, non-ASCII values (Unicode lowercasing, UTF-16 token order around surrogates), invalid UTF-8,
 * tokens over the length cut, duplicated and empty keys, missing values, JSON fields, odd number formats, tags.
 * Likewise the byte-level merge (mergeSegments) must write exactly what the string merge (mergeSource) writes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { NginxLogGenerator } from '../../../bench/nginx-generator.js';
import { HeadPart } from '../../../src/index/head-part.js';
import { compileIndex, DEFAULT_TOKENS } from '../../../src/index/index-config.js';
import { SegmentBuild } from '../../../src/index/segment-build.js';
import { decodeLogGroup, encodeLogGroup, type LogGroup } from '../../../src/protocol/log-group.js';
import { type DocSet, toIds } from '../../../src/storage/segment/doc-set.js';
import { mergeSegments, mergeSource } from '../../../src/storage/segment/segment-merge.js';
import { SegmentReader } from '../../../src/storage/segment/segment-reader.js';
import { writeSegment } from '../../../src/storage/segment/segment-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-segbuild-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const NGINX = {
  line: { token: [...DEFAULT_TOKENS], caseSensitive: false },
  keys: {
    remote_addr: { type: 'text', token: [' '] },
    method: { type: 'text', token: [' '] },
    request_uri: { type: 'text', token: ['/', '?', '&', '='] },
    status: { type: 'long' },
    body_bytes_sent: { type: 'long' },
    request_time: { type: 'double' },
    http_user_agent: { type: 'text', token: [' ', '(', ')', ';', '/'] },
  },
};

const MIXED = {
  line: { token: [' ', ',', ':', '/', '·', '。'], caseSensitive: false, exclude_keys: ['secret'] },
  keys: {
    status: { type: 'long' },
    latency: { type: 'double' },
    msg: { type: 'text', token: [' ', ':'], caseSensitive: true },
    path: { type: 'text', token: ['/', '?'] },
    req: { type: 'json', token: [' '], index_all: true, json_keys: { 'user.id': { type: 'long' } } },
  },
};

const INCLUDE = {
  line: { token: [' ', '='], caseSensitive: true, include_keys: ['msg', 'path'] },
  keys: { msg: { type: 'text', token: [' '] } },
};

function edgeGroups(): Buffer[] {
  const long = `A${'b'.repeat(300)} tail`;
  const g1: LogGroup = {
    topic: 'Edge',
    source: '10.0.0.9',
    tags: [
      { key: '__hostname__', value: 'Host-A' },
      { key: 'zone', value: 'ü-1' },
    ],
    logs: [
      {
        time: 500,
        contents: [
          { key: 'msg', value: 'Hello World hello WORLD' },
          { key: 'status', value: '200' },
          { key: 'latency', value: '0.25' },
          { key: 'path', value: '/API/v1?q=X' },
          { key: 'secret', value: 'NotInLine' },
        ],
      },
      {
        time: 400,
        contents: [
          { key: 'msg', value: 'Straße İstanbul ÉCOLE café·naïve。句子' },
          { key: 'status', value: ' 404 ' },
          { key: 'latency', value: '1e3' },
          { key: 'msg', value: 'second VALUE of a duplicated key' },
          { key: 'empty', value: '' },
        ],
      },
      {
        time: 400,
        contents: [
          { key: 'msg', value: 'emoji 😀x \uff21wide \ue000private 𝔘nicode' },
          { key: 'status', value: '-3' },
          { key: 'latency', value: '.5' },
          { key: 'path', value: long },
        ],
      },
      {
        time: 450,
        contents: [
          { key: 'status', value: '12345678901234567' },
          { key: 'latency', value: '1.' },
          { key: 'req', value: '{"user":{"id":42,"name":"Ann Lee"},"tags":["a","b"],"n":1.5}' },
          { key: 'msg', value: 'XXbadXX utf8' },
        ],
      },
      {
        time: 450,
        contents: [
          { key: 'status', value: '0x10' },
          { key: 'latency', value: '0.1000000000000000055' },
          { key: 'req', value: 'not json' },
          { key: '', value: 'empty key' },
          { key: 'Ünï', value: 'key with non-ascii name' },
        ],
      },
    ],
  };
  const g2: LogGroup = {
    topic: '',
    tags: [],
    logs: [
      {
        time: 300,
        contents: [
          { key: 'status', value: '0123' },
          { key: 'latency', value: '007.50' },
        ],
      },
      { time: 600, contents: [] },
      { time: 300, contents: [{ key: 'msg', value: `${'Z'.repeat(255)}Q ${'y'.repeat(256)} ${'x'.repeat(257)}` }] },
    ],
  };
  const b1 = encodeLogGroup(g1);
  // Invalid UTF-8 where the value said XXbadXX: two stray continuation bytes and a truncated sequence.
  const at = b1.indexOf('XXbadXX');
  b1[at] = 0x80;
  b1[at + 1] = 0xbf;
  b1[at + 5] = 0xe2;
  b1[at + 6] = 0x82;
  return [b1, encodeLogGroup(g2)];
}

function nginxGroups(count: number): Buffer[] {
  const gen = new NginxLogGenerator(7);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) out.push(encodeLogGroup(gen.group(700 + i * 13, `10.1.0.${i}`)));
  return out;
}

/** The file minus the footer's creation time. */
function normalized(path: string): { body: Buffer; footer: unknown } {
  const r = SegmentReader.open(path);
  const { createdMs: _, ...footer } = r.footer;
  r.close();
  const buf = readFileSync(path);
  const flen = buf.readUInt32LE(buf.length - 12);
  return { body: buf.subarray(0, buf.length - 12 - flen), footer };
}

function both(config: Record<string, unknown>, groups: Buffer[], name: string): void {
  const compiled = compileIndex({ config, version: 3, lastModifyTime: 0 }, 30);
  const head = new HeadPart('x', compiled);
  const build = new SegmentBuild(compiled);
  // Reused after reset(), as the builder workers do: a previous build must leave nothing behind.
  for (const g of [...edgeGroups(), ...nginxGroups(3)].reverse()) build.addGroup('9-9', 1, g);
  build.write(join(dir, `${name}-before-reset.seg`), '0000000000', 3);
  build.reset();
  groups.forEach((g, i) => {
    const d = decodeLogGroup(g);
    head.addGroup('0-0', 10 + i, d.logs, d.topic ?? '', d.source ?? '', d.tags);
    build.addGroup('0-0', 10 + i, g);
  });
  const a = join(dir, `${name}-head.seg`);
  const b = join(dir, `${name}-bytes.seg`);
  writeSegment(a, head.toSource('0000000001', 3));
  build.write(b, '0000000001', 3);
  const x = normalized(a);
  const y = normalized(b);
  assert.deepEqual(y.footer, x.footer, `${name}: footers differ`);
  assert.ok(y.body.equals(x.body), `${name}: segment bytes differ`);
}

test('byte build = head + writeSegment: generated nginx logs', () => {
  both(NGINX, nginxGroups(6), 'nginx');
});

test('byte build = head + writeSegment: edge cases under three configs', () => {
  const groups = [...edgeGroups(), ...nginxGroups(2)];
  both(MIXED, groups, 'mixed');
  both(INCLUDE, groups, 'include');
  both(NGINX, groups, 'nginx-edge');
  // chn: the head tokenizes with the Tokenizer instead of its fast scan; the byte build must still agree.
  const chn = {
    ...MIXED,
    line: { ...MIXED.line, chn: true },
    keys: { ...MIXED.keys, msg: { ...MIXED.keys.msg, chn: true } },
  };
  both(chn, [...groups, ...chnGroups()], 'chn');
});

function chnGroups(): Buffer[] {
  const contents = [
    { key: 'msg', value: '北京欢迎你 Hello:World 中文ABC' },
    { key: 'path', value: '/路径/文件?a=𠀀b' },
    { key: 'note', value: '日本語とかな 한국어' },
  ];
  return [encodeLogGroup({ logs: [{ time: 1_700_000_000, contents }], tags: [] })];
}

test('postings written into a caller scratch buffer (the worker arena) give the same file', () => {
  const compiled = compileIndex({ config: NGINX, version: 3, lastModifyTime: 0 }, 30);
  const groups = nginxGroups(4);
  const files: string[] = [];
  const big = Buffer.alloc(64 << 20, 0xa5);
  for (const scratch of [undefined, big, Buffer.alloc(16)]) {
    const build = new SegmentBuild(compiled);
    for (const [i, g] of groups.entries()) build.addGroup('0-0', i, g);
    const f = join(dir, `scratch-${files.length}.seg`);
    build.write(f, '0000000001', 3, scratch);
    files.push(f);
  }
  const [a, b, c] = files.map(normalized);
  assert.deepEqual(b!.footer, a!.footer);
  assert.ok(b!.body.equals(a!.body), 'scratch postings: segment bytes differ');
  assert.ok(c!.body.equals(a!.body), 'a scratch too small is not used');
  assert.notEqual(big.readUInt32LE(0), 0xa5a5a5a5, 'the large scratch held the postings');
});

test('a malformed LogGroup is rejected before anything is added', () => {
  const compiled = compileIndex({ config: MIXED, version: 1, lastModifyTime: 0 }, 30);
  const build = new SegmentBuild(compiled);
  const good = edgeGroups()[0]!;
  const bad = Buffer.from(good.subarray(0, good.length - 3));
  // Truncated: the last tag's length runs past the end.
  assert.throws(() => build.addGroup('0-0', 1, bad));
  assert.equal(build.n, 0);
  build.addGroup('0-0', 2, good);
  assert.equal(build.n, 5);
});

test('byte merge = mergeSource + writeSegment, over segments with overlapping times and different keys', () => {
  const compiled = compileIndex({ config: MIXED, version: 2, lastModifyTime: 0 }, 30);
  const gen = new NginxLogGenerator(11);
  const edge = edgeGroups();
  // Segment 0: edge cases; 1: nginx; 2: both (ties in time across inputs); 3: a single row; 4: nginx with a
  // different topic (dense postings as bitsets).
  const parts: Buffer[][] = [
    [edge[0]!],
    [encodeLogGroup(gen.group(900))],
    [edge[1]!, encodeLogGroup(gen.group(300, '10.9.9.9'))],
    [
      encodeLogGroup({
        logs: [{ time: 450, contents: [{ key: 'msg', value: 'Lonely ROW \uff22wide 😁y \ue001x' }] }],
        tags: [],
      }),
    ],
    [encodeLogGroup({ ...gen.group(2500), topic: 'other' })],
  ];
  const readers = parts.map((groups, i) => {
    const b = new SegmentBuild(compiled);
    for (const [j, g] of groups.entries()) b.addGroup(`${i}-0`, j, g);
    const id = String(i + 1).padStart(10, '0');
    const path = join(dir, `m-${id}.seg`);
    b.write(path, id, 2);
    return SegmentReader.open(path);
  });
  try {
    for (const pick of [readers, readers.slice(1, 3), [readers[4]!, readers[0]!]]) {
      for (const packDicts of [true, false]) {
        const a = join(dir, `merge-strings.seg`);
        const b = join(dir, `merge-bytes.seg`);
        writeSegment(a, mergeSource(pick, '0000000099', 2), { packDicts });
        mergeSegments(pick, b, '0000000099', 2, { packDicts });
        const x = normalized(a);
        const y = normalized(b);
        assert.deepEqual(y.footer, x.footer, 'footers differ');
        assert.ok(y.body.equals(x.body), 'merged segment bytes differ');
      }
    }
  } finally {
    for (const r of readers) r.close();
  }
});

test('merges share full-text postings with the fields: every term, prefix and re-merge reads the same', () => {
  const compiled = compileIndex({ config: NGINX, version: 2, lastModifyTime: 0 }, 30);
  const gen = new NginxLogGenerator(21);
  const built = [0, 1, 2].map((i) => {
    const b = new SegmentBuild(compiled);
    b.addGroup(`${i}-0`, 0, encodeLogGroup(gen.group(1500 + i * 700, `10.1.0.${i}`)));
    if (i === 1) b.addGroup(`${i}-0`, 1, edgeGroups()[0]!);
    const id = String(i + 1).padStart(10, '0');
    const path = join(dir, `s-${id}.seg`);
    b.write(path, id, 2);
    return SegmentReader.open(path);
  });
  const merged = (name: string, inputs: readonly SegmentReader[], packDicts: boolean): SegmentReader => {
    const path = join(dir, name);
    mergeSegments(inputs, path, name.slice(0, 10).padEnd(10, '0'), 2, { packDicts });
    return SegmentReader.open(path);
  };
  const opened: SegmentReader[] = [...built];
  try {
    // Two merges sharing, then a merge of those (shared inputs), against the same merges without sharing.
    const s1 = merged('0000000011.seg', built.slice(0, 2), true);
    const s2 = merged('0000000012.seg', built.slice(2), true);
    const shared = merged('0000000013.seg', [s1, s2], true);
    const u1 = merged('0000000021.seg', built.slice(0, 2), false);
    const u2 = merged('0000000022.seg', built.slice(2), false);
    const plain = merged('0000000023.seg', [u1, u2], false);
    opened.push(s1, s2, shared, u1, u2, plain);
    assert.ok(shared.footer.dicts.every((d) => d.packed === true));
    assert.ok(plain.footer.dicts.every((d) => d.packed === undefined));
    assert.ok(shared.bytes < plain.bytes * 0.95, `shared ${shared.bytes} bytes, unshared ${plain.bytes}`);
    const ids = (set: DocSet): number[] => [...toIds(set)];
    let tokens = 0;
    for (const dict of plain.dictNames()) {
      const want = [...plain.dictEntries(dict)];
      const got = [...shared.dictEntries(dict)];
      assert.deepEqual(
        got.map(([t]) => t),
        want.map(([t]) => t),
        `${dict}: tokens`,
      );
      for (const [i, [token, list]] of want.entries()) {
        assert.deepEqual([...got[i]![1]], [...list], `${dict}: ${token}`);
        assert.deepEqual(ids(shared.term(dict, token)), [...list], `${dict}: term ${token}`);
        tokens++;
      }
      for (const prefix of ['1', 'a', 'm', 'get', '10.', 'x']) {
        assert.deepEqual(ids(shared.prefix(dict, prefix)), ids(plain.prefix(dict, prefix)), `${dict}: ${prefix}*`);
      }
    }
    assert.ok(tokens > 1000, `${tokens} tokens compared`);
  } finally {
    for (const r of opened) r.close();
  }
});

test('young segments (a faster zstd level) hold the same data and merge into the same file; sections past the write buffer', () => {
  const compiled = compileIndex({ config: NGINX, version: 3, lastModifyTime: 0 }, 30);
  // A value over the writer's 1 MiB buffer (incompressible, so its row group's frame is written on its own) and
  // enough nginx rows that sections straddle buffer flushes.
  let x = 12345;
  const huge = Array.from({ length: 1_500_000 }, () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return String.fromCharCode(33 + ((x >>> 16) % 90));
  }).join('');
  const bigGroup = encodeLogGroup({
    logs: [
      {
        time: 1_767_225_700,
        contents: [
          { key: 'blob', value: huge },
          { key: 'status', value: '200' },
        ],
      },
    ],
    tags: [],
  });
  const sets = [[...nginxGroups(8), bigGroup], nginxGroups(5).map((g) => g)];
  const paths: Record<string, string[]> = { 3: [], 1: [] };
  for (const level of [3, 1] as const) {
    sets.forEach((groups, s) => {
      const build = new SegmentBuild(compiled);
      for (const [i, g] of groups.entries()) build.addGroup(`${s}-0`, i, g);
      const id = String(s + 1).padStart(10, '0');
      const path = join(dir, `young-${level}-${id}.seg`);
      build.write(path, id, 3, undefined, level === 3 ? {} : { level });
      paths[level]!.push(path);
    });
  }
  for (let s = 0; s < sets.length; s++) {
    const a = SegmentReader.open(paths[3]![s]!);
    const b = SegmentReader.open(paths[1]![s]!);
    assert.notDeepEqual(readFileSync(b.path), readFileSync(a.path), 'the level applies');
    assert.equal(b.n, a.n);
    for (const name of a.footer.columns.map((c) => c.name))
      assert.deepEqual(b.columnValues(name), a.columnValues(name), `column ${name}`);
    assert.deepEqual([...b.dictEntries('')].length, [...a.dictEntries('')].length);
    a.close();
    b.close();
  }
  const blob = SegmentReader.open(paths[1]![0]!);
  assert.ok(readFileSync(blob.path).length > 2 << 20);
  assert.ok(blob.columnValues('blob').includes(huge), 'the 1.5 MB value reads back');
  blob.close();
  // Merges write at the default level: young inputs give the same output as default-level ones.
  const merged: ReturnType<typeof normalized>[] = [];
  for (const level of [3, 1] as const) {
    const readers = paths[level]!.map((p) => SegmentReader.open(p));
    const out = join(dir, `young-merged-${level}.seg`);
    mergeSegments(readers, out, '0000000009', 3);
    for (const r of readers) r.close();
    merged.push(normalized(out));
  }
  assert.deepEqual(merged[1]!.footer, merged[0]!.footer);
  assert.ok(merged[1]!.body.equals(merged[0]!.body), 'merge of young segments: bytes differ');
});
