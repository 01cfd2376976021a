/**
 * Differential test of the native (N-API) segment build: for the same LogGroups and index config, `SegmentBuild`
 * with the addon must write the very bytes the JS build writes. A seeded generator makes the index configs (line
 * on/off, delimiter sets with odd ASCII members, case folding both ways, include/exclude keys, text/long/double
 * fields with their own tokens, unindexed keys) and the LogGroups (duplicated, empty and missing keys, missing
 * values, control characters and NUL, values over Tokenizer.MAX_TOKEN and over MAX_INDEXED_BYTES, every number shape
 * parseNumber sees, repeated values for the value caches, times in narrow and in wide ranges, groups without logs,
 * topic/source/tags present or not, huge raw tag values, fields a protobuf reader must skip or see overridden). Each
 * family below runs a few seeds; a failure names its seed and the first difference (footer, column cell, dictionary
 * token or number), and `check(seed)` replays one case.
 *
 * The native build falls back to JS for a whole build when a staged group has a non-ASCII byte in a key, value,
 * topic, source or tag, or a content key that is a JSON-indexed key: the generator keeps the random cases ASCII and
 * free of JSON keys so they run native, and the fallback family checks the fallback itself.
 *
 * CI builds the addon: when it did not load (and SLUICE_BUILD_NATIVE is not 'off') every test here fails.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, mock, test } from 'node:test';
import { prng } from '../../../bench/nginx-generator.js';
import { type CompiledIndex, compileIndex, validateIndexConfig } from '../../../src/index/index-config.js';
import { nativeBuildAvailable } from '../../../src/index/native-build.js';
import { SegmentBuild } from '../../../src/index/segment-build.js';
import { MAX_INDEXED_BYTES, Tokenizer } from '../../../src/index/tokenizer.js';
import { encodeLogGroup } from '../../../src/protocol/log-group.js';
import { SegmentReader } from '../../../src/storage/segment/segment-reader.js';
import { type SegmentWriterOptions, YOUNG_SEGMENT } from '../../../src/storage/segment/segment-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-native-build-'));
// The footer records its creation time: one fixed clock makes two writes byte-comparable.
mock.method(Date, 'now', () => 1_767_225_600_000);
after(() => {
  mock.restoreAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Which engine a default-options build must report (throws when the addon should be there and is not). */
function nativeEngine(): 'native' | 'js' {
  if (process.env['SLUICE_BUILD_NATIVE'] === 'off') return 'js';
  assert.ok(
    nativeBuildAvailable(),
    'the native segment build (native/build, package sluice-build) did not load: CI builds it, so this is a ' +
      'failure (npm install builds the addon; set SLUICE_BUILD_NATIVE=off only to test the JS path alone)',
  );
  return 'native';
}

// --- Seeded generator -------------------------------------------------------------------------------------------

type Rnd = () => number;

const int = (r: Rnd, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rnd, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: Rnd, p: number): boolean => r() < p;

/** Delimiters a config may name (one character each): the usual ones, control characters, letters, digits, Latin-1. */
const DELIMS = [
  ...' ,;=:/?&()[]{}"\'<>@.-_|\\#*+!~`$%^',
  '\t',
  '\n',
  '\r',
  '\u0000',
  '\u0001',
  '\u001f',
  '\u007f',
  'a',
  'Z',
  'e',
  '0',
  '5',
  '\u00b7',
  '\u0100',
];

/** Every number shape parseNumber (and the byte path's numberOf) has to agree on. */
const NUMBER_SHAPES = [
  '42',
  ' 42 ',
  '\t-7\r\n',
  '\u000b42\u000c',
  '+7',
  '-0',
  '0',
  '+0',
  '-0.0',
  '0e5',
  '007',
  '007.50',
  '1e3',
  '1E-3',
  '-.5e+2',
  '.5',
  '5.',
  '.',
  '1.2.3',
  '1e999',
  '-1e999',
  '1e',
  'e5',
  '12345678901234567890',
  '123456789012345',
  '1234567890123456',
  '999999999999999.9',
  '9007199254740993',
  '-9223372036854775809',
  '0.1000000000000000055',
  '2.5e-308',
  '5e-324',
  '1.7976931348623157e308',
  '0x10',
  '1_000',
  '4 2',
  'NaN',
  'Infinity',
  '-',
  '+',
  '',
  '   ',
  '-00',
  '0000000000000000001',
  '12345678901234.5',
  '123456789012345.6',
  '1.0000000000000002',
  '0.30000000000000004',
  '1'.repeat(400),
  `0.${'3'.repeat(40)}`,
];

/** Control characters and NUL that values may hold. */
const CONTROLS = '\u0000\u0001\u0008\u000b\u000c\u001b\u001f\u007f\t\n\r';

type Kind = 'words' | 'enum' | 'number' | 'unique' | 'longToken' | 'manyTokens' | 'soup';

interface KeySpec {
  readonly name: string;
  readonly kind: Kind;
  /** Values of an 'enum' key. */
  readonly pool: readonly string[];
}

interface Schema {
  readonly config: Record<string, unknown>;
  readonly keys: readonly KeySpec[];
  /** Characters values are made of (the config's delimiters among them, so tokens split). */
  readonly alphabet: string;
  readonly separators: string;
}

/** Key names logs use (the empty key, case variants, odd characters, reserved column names, a long name). */
const KEY_POOL = [
  '',
  'a',
  'A',
  'msg',
  'Msg',
  'status',
  'latency',
  'path',
  'ua',
  'host',
  'x y',
  'k=v',
  'ctl\u0001key',
  'nul\u0000key',
  '__topic__',
  '__tag__:zone',
  `long_${'n'.repeat(150)}`,
];

function delimiterSet(r: Rnd): string[] | undefined {
  const mode = r();
  if (mode < 0.2) return undefined; // DEFAULT_TOKENS
  if (mode < 0.27) return []; // no delimiter: a whole value is one token (cut at MAX_TOKEN)
  const out = new Set<string>([' ']);
  if (chance(r, 0.2)) out.delete(' ');
  for (let i = int(r, 1, 12); i > 0; i--) out.add(pick(r, DELIMS));
  return [...out];
}

function textKey(r: Rnd): Record<string, unknown> {
  const k: Record<string, unknown> = { type: 'text' };
  const token = delimiterSet(r);
  if (token !== undefined) k['token'] = token;
  if (chance(r, 0.7)) k['caseSensitive'] = chance(r, 0.5);
  if (chance(r, 0.1)) k['chn'] = true;
  if (chance(r, 0.1)) k['doc_value'] = true;
  return k;
}

function genSchema(r: Rnd): Schema {
  const names = new Set<string>();
  for (let i = int(r, 2, 10); i > 0; i--) names.add(pick(r, KEY_POOL));
  for (let i = int(r, 0, 5); i > 0; i--) names.add(`k${int(r, 0, 99)}`);
  const keyNames = [...names];
  const config: Record<string, unknown> = {};
  const delims: string[] = [];
  if (chance(r, 0.75)) {
    const line: Record<string, unknown> = {};
    const token = delimiterSet(r);
    if (token !== undefined) line['token'] = token;
    delims.push(...(token ?? [' ', ',', '=', '/', ':']));
    if (chance(r, 0.7)) line['caseSensitive'] = chance(r, 0.5);
    if (chance(r, 0.1)) line['chn'] = true;
    const m = r();
    if (m < 0.2) line['include_keys'] = keyNames.filter(() => chance(r, 0.5));
    else if (m < 0.4) line['exclude_keys'] = [...keyNames.filter(() => chance(r, 0.4)), 'absent'];
    config['line'] = line;
  }
  const keys: Record<string, unknown> = {};
  for (const name of keyNames) {
    if (name === '' || name.length > 128 || chance(r, 0.35)) continue; // not a field (or cannot be one)
    const t = r();
    if (t < 0.5) {
      const k = textKey(r);
      keys[name] = k;
      delims.push(...((k['token'] as string[] | undefined) ?? []));
    } else keys[name] = { type: t < 0.75 ? 'long' : 'double' };
    if (chance(r, 0.1)) (keys[name] as Record<string, unknown>)['alias'] = `alias_${name.length}_${int(r, 0, 1e6)}`;
  }
  // A JSON field no log uses (only a log's JSON-indexed key sends a build to the JS path).
  if (chance(r, 0.3)) keys['jsonfield'] = { type: 'json', token: [' '], json_keys: { 'a.b': { type: 'long' } } };
  if (config['line'] === undefined || chance(r, 0.8)) config['keys'] = keys;
  validateIndexConfig(config);

  const kinds: Kind[] = ['words', 'enum', 'number', 'unique', 'longToken', 'manyTokens', 'soup'];
  const specs = keyNames.map((name): KeySpec => {
    const fieldType = (keys[name] as { type?: string } | undefined)?.type;
    const kind: Kind = (fieldType === 'long' || fieldType === 'double') && chance(r, 0.7) ? 'number' : pick(r, kinds);
    return { name, kind, pool: [] };
  });
  const separators = [...new Set([...delims.filter((d) => d.charCodeAt(0) < 0x80), ' '])].join('');
  let alphabet = 'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  alphabet += separators.repeat(3);
  if (chance(r, 0.6)) alphabet += CONTROLS;
  const schema = { config, keys: specs, alphabet, separators };
  // Enum pools after the alphabet is known: few values (cache hits) or more than the cache's 1,024 slots.
  return {
    ...schema,
    keys: specs.map((k) =>
      k.kind === 'enum'
        ? { ...k, pool: Array.from({ length: pick(r, [1, 3, 40, 1500]) }, () => value(r, schema, pick(r, kinds))) }
        : k,
    ),
  };
}

function chars(r: Rnd, alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

function words(r: Rnd, s: Pick<Schema, 'alphabet' | 'separators'>, count: number, maxWord: number): string {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(chars(r, s.alphabet, int(r, 0, maxWord)));
    parts.push(s.separators[Math.floor(r() * s.separators.length)]!.repeat(int(r, 1, 2)));
  }
  return parts.join('');
}

function value(r: Rnd, s: Pick<Schema, 'alphabet' | 'separators'>, kind: Kind): string {
  switch (kind) {
    case 'words':
      return words(r, s, int(r, 0, 8), 12);
    case 'number':
      return chance(r, 0.5)
        ? pick(r, NUMBER_SHAPES)
        : chance(r, 0.5)
          ? String(int(r, -1e6, 1e9))
          : String((r() - 0.5) * 10 ** int(r, -5, 20));
    case 'unique':
      return `${int(r, 0, 1e9)}-${chars(r, s.alphabet, int(r, 4, 20))}`;
    case 'longToken': {
      // Around Tokenizer.MAX_TOKEN: one run of non-delimiters of 250..600 bytes (cut at 256), or exactly at the cut.
      const len = chance(r, 0.3) ? pick(r, [Tokenizer.MAX_TOKEN, Tokenizer.MAX_TOKEN + 1]) : int(r, 250, 600);
      return `${chars(r, 'xyzXYZ', len)}${chance(r, 0.5) ? ` tail${int(r, 0, 9)}` : ''}`;
    }
    case 'manyTokens':
      // More tokens than the value cache keeps ids for (48), short enough to be cached by bytes (128).
      return words(r, s, int(r, 40, 70), 2);
    case 'enum':
    case 'soup':
      return chars(r, s.alphabet, int(r, 0, 200));
  }
}

/** A value over MAX_INDEXED_BYTES: only its prefix is indexed, and tokens straddle the cut. */
function hugeValue(r: Rnd, s: Schema): string {
  const target = MAX_INDEXED_BYTES + pick(r, [-1, 0, 1, 7, 300, 20_000]);
  const parts: string[] = [];
  let len = 0;
  while (len < target) {
    const w = words(r, s, 50, 20);
    parts.push(w);
    len += w.length;
  }
  return parts.join('').slice(0, target);
}

// --- LogGroup wire bytes ------------------------------------------------------------------------------------------

/** A content whose key or value may be missing from the wire (encodeLogGroup always writes both). */
interface Content {
  readonly key?: string | Uint8Array;
  readonly value?: string | Uint8Array;
  /** Starts with ODD_CONTENT (only when both key and value follow, which override its key and value). */
  readonly odd?: boolean;
}

interface Log {
  /** Written as a varint as is: values over 2^32 are kept modulo 2^32 by the reader. */
  readonly time: number;
  readonly contents: readonly Content[];
  readonly timeNs?: number;
  /** An unknown varint field (Log.values is field 3; 7 is unused): skipped by readers. */
  readonly unknown?: boolean;
  /** Starts with ODD_LOG. */
  readonly odd?: boolean;
}

interface Group {
  readonly logs: readonly Log[];
  readonly topic?: string;
  readonly source?: string;
  readonly machineUuid?: string;
  readonly tags: readonly Content[];
  /** Starts with ODD_GROUP. */
  readonly odd?: boolean;
}

/**
 * Fields a reader must skip or see overridden, put first in a message: a known field number with the wrong wire type
 * (skipped as unknown), a first value of a field that a later one replaces (the last one wins), unknown fields of
 * every wire type.
 */
const UNKNOWN_FIELDS = [0x49, 1, 2, 3, 4, 5, 6, 7, 8, 0x55, 1, 2, 3, 4, 0x78, 0x96, 0x01];
const ODD_CONTENT = Buffer.from([0x08, 0x05, 0x0a, 0x03, 0x7a, 0x7a, 0x7a, 0x12, 0x01, 0x71, 0x18, 0x01]);
const ODD_LOG = Buffer.from([0x0a, 0x01, 0x05, 0x08, 0x7b, 0x1a, 0x02, 0x61, 0x62, ...UNKNOWN_FIELDS]);
// Reserved (field 2), topic as a varint, then a topic string: the group's topic when it writes none of its own.
const ODD_GROUP = Buffer.from([
  0x12,
  0x03,
  0x63,
  0x61,
  0x74,
  0x18,
  0x07,
  0x1a,
  0x04,
  0x73,
  0x68,
  0x64,
  0x77,
  ...UNKNOWN_FIELDS,
]);

/** Protobuf bytes written front to back (sizes of nested messages are computed first, as protobuf needs them). */
class Wire {
  buf = Buffer.allocUnsafe(1 << 16);
  len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  varint(v: number): void {
    this.room(10);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }

  raw(b: Buffer): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** A length-delimited field: tag, length, then the bytes of `s` (none: the caller writes them). */
  field(field: number, size: number, s?: string | Uint8Array): void {
    this.varint((field << 3) | 2);
    this.varint(size);
    if (s === undefined) return;
    this.room(size);
    if (typeof s === 'string') this.buf.write(s, this.len, 'utf8');
    else this.buf.set(s, this.len);
    this.len += size;
  }
}

const varintSize = (v: number): number => (v < 0x80 ? 1 : 1 + varintSize(Math.floor(v / 0x80)));
const byteLen = (s: string | Uint8Array): number => (typeof s === 'string' ? Buffer.byteLength(s, 'utf8') : s.length);
const fieldSize = (len: number): number => 1 + varintSize(len) + len;

function contentSize(c: Content): number {
  return (
    (c.odd ? ODD_CONTENT.length : 0) +
    (c.key === undefined ? 0 : fieldSize(byteLen(c.key))) +
    (c.value === undefined ? 0 : fieldSize(byteLen(c.value)))
  );
}

function writeContent(w: Wire, field: number, c: Content): void {
  w.field(field, contentSize(c));
  if (c.odd) w.raw(ODD_CONTENT);
  if (c.key !== undefined) w.field(1, byteLen(c.key), c.key);
  if (c.value !== undefined) w.field(2, byteLen(c.value), c.value);
}

function encodeGroup(g: Group): Buffer {
  const w = new Wire();
  if (g.odd) w.raw(ODD_GROUP);
  for (const log of g.logs) {
    let size = 1 + varintSize(log.time) + (log.timeNs === undefined ? 0 : 5) + (log.unknown ? 4 : 0);
    if (log.odd) size += ODD_LOG.length;
    for (const c of log.contents) size += fieldSize(contentSize(c));
    w.field(1, size);
    if (log.odd) w.raw(ODD_LOG);
    w.varint(1 << 3);
    w.varint(log.time);
    for (const c of log.contents) writeContent(w, 2, c);
    if (log.timeNs !== undefined) {
      w.varint((4 << 3) | 5);
      w.buf.writeUInt32LE(log.timeNs, w.len); // room: varint() keeps 10 bytes free
      w.len += 4;
    }
    if (log.unknown) {
      w.varint(7 << 3);
      w.varint(123456); // 3 bytes
    }
  }
  for (const [field, s] of [
    [3, g.topic],
    [4, g.source],
    [5, g.machineUuid],
  ] as const) {
    if (s !== undefined) w.field(field, byteLen(s), s);
  }
  for (const t of g.tags) writeContent(w, 6, t);
  return Buffer.from(w.buf.subarray(0, w.len));
}

// --- Cases --------------------------------------------------------------------------------------------------------

type Op =
  | { readonly kind: 'add'; readonly shard: string; readonly seq: number; readonly bytes: Buffer }
  | { readonly kind: 'skip'; readonly shard: string; readonly seq: number };

type Scratch = 'none' | 'large' | 'small' | 'unaligned';

interface Case {
  readonly seed: number;
  readonly config: Record<string, unknown>;
  readonly ops: Op[];
  readonly scratch: Scratch;
  /** zstd level 1, the default, or a young segment's (YOUNG_SEGMENT: 128-row groups, no dictionary, no fsync). */
  readonly level: 1 | 'young' | undefined;
}

function times(r: Rnd, n: number): () => number {
  const mode = pick(r, ['narrow', 'ties', 'wide', 'mixed', 'overlong']);
  const base = int(r, 0, 0xffff0000);
  return () => {
    switch (mode) {
      case 'narrow':
        return base + int(r, 0, Math.max(1, n >> 2));
      case 'ties':
        return base + int(r, 0, 3);
      case 'wide':
        // Range over 4*n + 65,536: timeOrder sorts instead of counting.
        return int(r, 0, 0xffffffff);
      case 'mixed':
        return chance(r, 0.95) ? base + int(r, 0, 100) : int(r, 0, 0xffffffff);
      default:
        // Varints over 32 bits: readers keep the low 32 bits.
        return chance(r, 0.1) ? 0x100000000 * int(r, 1, 1000) + int(r, 0, 1000) : 1_700_000_000 + int(r, 0, 50);
    }
  };
}

/** One log's contents: keys in random order, some repeated, some missing key or value, the empty key. */
function contents(r: Rnd, s: Schema, huge: { left: number }): Content[] {
  const out: Content[] = [];
  for (const k of s.keys) {
    if (chance(r, 0.25)) continue;
    let v = k.kind === 'enum' ? pick(r, k.pool) : value(r, s, k.kind);
    if (huge.left > 0 && chance(r, 0.002)) {
      huge.left--;
      v = hugeValue(r, s);
    }
    out.push({ key: k.name, value: v });
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = int(r, 0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  if (out.length > 0 && chance(r, 0.15)) {
    // A repeated key: the first value is the cell, every value is indexed.
    const k = pick(r, s.keys);
    out.splice(int(r, 0, out.length), 0, { key: k.name, value: value(r, s, k.kind) });
  }
  if (chance(r, 0.03)) out.push({ value: value(r, s, 'words') }); // no key: the empty key
  if (chance(r, 0.03)) out.push({ key: pick(r, s.keys).name }); // no value: an empty one
  if (chance(r, 0.01)) out.push({}); // neither
  if (chance(r, 0.002)) {
    // A wide log: more keys than the byte path's per-slot key memo (256), each a new column.
    for (let i = 0; i < 300; i++) out.push({ key: `w${i}`, value: chars(r, s.alphabet, int(r, 0, 8)) });
  }
  return chance(r, 0.02)
    ? out.map((c) => (c.key !== undefined && c.value !== undefined ? { ...c, odd: true } : c))
    : out;
}

function genGroups(r: Rnd, s: Schema, total: number): Group[] {
  const groups: Group[] = [];
  const time = times(r, total);
  const huge = { left: chance(r, 0.3) ? int(r, 1, 2) : 0 };
  const topics = ['', 'web', 'Web', 'nginx access', pick(r, ['t=1;x', 'T\u0001'])];
  let left = total;
  while (left > 0 || groups.length === 0) {
    const most = chance(r, 0.5) ? 20 : chance(r, 0.1) ? 4500 : 1500;
    const n = chance(r, 0.08) ? 0 : Math.min(left, int(r, 1, most));
    left -= n;
    const logs: Log[] = [];
    for (let i = 0; i < n; i++) {
      const log: Log = {
        time: time(),
        contents: contents(r, s, huge),
        ...(chance(r, 0.1) ? { timeNs: int(r, 0, 999_999_999) } : {}),
        ...(chance(r, 0.02) ? { unknown: true } : {}),
        ...(chance(r, 0.02) ? { odd: true } : {}),
      };
      logs.push(log);
    }
    const tags: Content[] = [];
    for (let i = chance(r, 0.5) ? int(r, 1, 4) : 0; i > 0; i--) {
      const key = pick(r, ['__hostname__', '__path__', 'zone', 'Zone', '', '__receive_time__']);
      let v: string = pick(r, ['host-1', 'Host-1', '', '10.0.0.1', `${int(r, 0, 1e9)}`, 'a b=c']);
      // Raw tokens of 65,536 bytes or more are matched on their length in the token table's metadata.
      if (chance(r, 0.01)) v = `${'t'.repeat(65_536 + int(r, -2, 2))}${int(r, 0, 3)}`;
      tags.push({ key, value: v });
    }
    groups.push({
      logs,
      tags,
      ...(chance(r, 0.6) ? { topic: pick(r, topics) } : {}),
      ...(chance(r, 0.5) ? { source: `10.0.${int(r, 0, 3)}.${int(r, 0, 255)}` } : {}),
      ...(chance(r, 0.05) ? { machineUuid: 'uuid-1' } : {}),
      ...(chance(r, 0.1) ? { odd: true } : {}),
    });
  }
  return groups;
}

function toOps(r: Rnd, groups: readonly Group[]): Op[] {
  const seqs = new Map<string, number>();
  const ops: Op[] = [];
  for (const g of groups) {
    const shard = pick(r, ['0-0', '1-1000', '7-42']);
    const seq = seqs.get(shard) ?? int(r, 0, 100);
    seqs.set(shard, seq + 2);
    if (chance(r, 0.05)) ops.push({ kind: 'skip', shard, seq });
    ops.push({ kind: 'add', shard, seq: seq + 1, bytes: encodeGroup(g) });
  }
  return ops;
}

function genCase(seed: number, maxLogs = 2500, minLogs = 0): Case {
  const r = prng(seed);
  const s = genSchema(r);
  const total = minLogs > 0 ? int(r, minLogs, maxLogs) : chance(r, 0.15) ? int(r, 0, 20) : int(r, 21, maxLogs);
  const ops = toOps(r, genGroups(r, s, total));
  return {
    seed,
    config: s.config,
    ops,
    scratch: pick(r, ['none', 'large', 'small', 'unaligned']),
    level: pick(r, [1, undefined, 'young'] as const),
  };
}

// --- Building and comparing ---------------------------------------------------------------------------------------

function compile(config: Record<string, unknown>): CompiledIndex {
  return compileIndex({ config, version: 7, lastModifyTime: 0 }, 30);
}

function scratchOf(kind: Scratch): Buffer | undefined {
  switch (kind) {
    case 'none':
      return undefined;
    case 'large':
      return Buffer.alloc(8 << 20, 0xa5);
    case 'small':
      return Buffer.alloc(16);
    case 'unaligned':
      return Buffer.alloc(8 << 20).subarray(2);
  }
}

/** Feeds `ops` to `build`; a malformed group must throw in both engines alike (the caller compares). */
function feed(build: SegmentBuild, ops: readonly Op[]): void {
  for (const op of ops) {
    if (op.kind === 'skip') build.skip(op.shard, op.seq);
    else build.addGroup(op.shard, op.seq, op.bytes);
  }
}

function writeOptions(level: Case['level']): SegmentWriterOptions {
  if (level === 'young') return YOUNG_SEGMENT;
  return level === undefined ? {} : { level };
}

function writeCase(build: SegmentBuild, c: Case, name: string): string {
  const path = join(dir, `${name}.seg`);
  build.write(path, '0000000042', 7, scratchOf(c.scratch), writeOptions(c.level));
  return path;
}

/** Builds `c` with a fresh forced-JS build: the reference file. */
function jsFile(c: Case, name: string): string {
  const build = new SegmentBuild(compile(c.config), { native: false });
  feed(build, c.ops);
  const path = writeCase(build, c, name);
  assert.equal(build.engine, 'js', `seed ${c.seed}: a { native: false } build reports engine ${build.engine}`);
  return path;
}

/** Asserts files `a` (JS) and `b` (default engine) are byte-identical; on mismatch says where and what differs. */
function assertSame(a: string, b: string, what: string): void {
  const x = readFileSync(a);
  const y = readFileSync(b);
  if (x.equals(y)) return;
  assert.fail(`${what}: the native file differs from the JS file: ${explain(a, b, x, y)}`);
}

/** The first difference between two segment files, by section (footer, columns, dictionaries, numbers). */
function explain(a: string, b: string, x: Buffer, y: Buffer): string {
  let at = 0;
  while (at < x.length && at < y.length && x[at] === y[at]) at++;
  const head = `sizes ${x.length} (js) vs ${y.length} (native), first differing byte at ${at}`;
  let ra: SegmentReader | undefined;
  let rb: SegmentReader | undefined;
  try {
    ra = SegmentReader.open(a);
    rb = SegmentReader.open(b);
    const fa = ra.footer;
    const fb = rb.footer;
    for (const k of ['n', 'minTime', 'maxTime', 'shards', 'configVersion', 'times'] as const) {
      if (JSON.stringify(fa[k]) !== JSON.stringify(fb[k]))
        return `${head}; footer.${k}: ${JSON.stringify(fa[k])} vs ${JSON.stringify(fb[k])}`;
    }
    const cols = (r: SegmentReader) => r.footer.columns.map((c) => c.name);
    if (JSON.stringify(cols(ra)) !== JSON.stringify(cols(rb)))
      return `${head}; columns ${JSON.stringify(cols(ra))} vs ${JSON.stringify(cols(rb))}`;
    for (const name of cols(ra)) {
      const va = ra.columnValues(name);
      const vb = rb.columnValues(name);
      const i = va.findIndex((v, j) => v !== vb[j]);
      if (i >= 0 || va.length !== vb.length)
        return `${head}; column ${JSON.stringify(name)} row ${i}: ${JSON.stringify(va[i])} vs ${JSON.stringify(vb[i])}`;
    }
    if (JSON.stringify(ra.dictNames()) !== JSON.stringify(rb.dictNames()))
      return `${head}; dictionaries ${JSON.stringify(ra.dictNames())} vs ${JSON.stringify(rb.dictNames())}`;
    for (const name of ra.dictNames()) {
      const da = [...ra.dictEntries(name)];
      const db = [...rb.dictEntries(name)];
      for (let i = 0; i < Math.max(da.length, db.length); i++) {
        const [ta, pa] = da[i] ?? ['<none>', new Uint32Array()];
        const [tb, pb] = db[i] ?? ['<none>', new Uint32Array()];
        if (ta !== tb || JSON.stringify([...pa]) !== JSON.stringify([...pb]))
          return `${head}; dictionary ${JSON.stringify(name)} entry ${i}: ${JSON.stringify(ta)} rows ${short(pa)} vs ${JSON.stringify(tb)} rows ${short(pb)}`;
      }
    }
    if (JSON.stringify(ra.numberNames()) !== JSON.stringify(rb.numberNames()))
      return `${head}; numeric fields ${JSON.stringify(ra.numberNames())} vs ${JSON.stringify(rb.numberNames())}`;
    for (const name of ra.numberNames()) {
      const na = [...ra.numberEntries(name)];
      const nb = [...rb.numberEntries(name)];
      for (let i = 0; i < Math.max(na.length, nb.length); i++) {
        const [va, pa] = na[i] ?? [Number.NaN, new Uint32Array()];
        const [vb, pb] = nb[i] ?? [Number.NaN, new Uint32Array()];
        if (!Object.is(va, vb) || JSON.stringify([...pa]) !== JSON.stringify([...pb]))
          return `${head}; numbers ${JSON.stringify(name)} entry ${i}: ${Object.is(va, -0) ? '-0' : va} rows ${short(pa)} vs ${Object.is(vb, -0) ? '-0' : vb} rows ${short(pb)}`;
      }
    }
    return `${head}; same rows, dictionaries and numbers: the layout differs (footer ${JSON.stringify({ ...fa, createdMs: 0 }).length} vs ${JSON.stringify({ ...fb, createdMs: 0 }).length} chars)`;
  } catch (err) {
    return `${head}; (reading the files to say more failed: ${String(err)})`;
  } finally {
    ra?.close();
    rb?.close();
  }
}

function short(rows: Uint32Array): string {
  return rows.length > 12
    ? `[${[...rows.subarray(0, 12)].join(',')},… ${rows.length} rows]`
    : `[${[...rows].join(',')}]`;
}

/** One random case: the default build writes the forced-JS build's bytes, and reports the engine it used. */
function check(seed: number, maxLogs?: number, minLogs?: number): void {
  const c = genCase(seed, maxLogs, minLogs);
  const want = nativeEngine();
  const a = jsFile(c, `s${seed}-js`);
  const build = new SegmentBuild(compile(c.config));
  feed(build, c.ops);
  const b = writeCase(build, c, `s${seed}-default`);
  assert.equal(build.engine, want, `seed ${seed}: the default build ran ${build.engine}, expected ${want}`);
  assertSame(a, b, `seed ${seed} (config ${JSON.stringify(c.config)}, scratch ${c.scratch}, level ${c.level})`);
}

// --- Families -----------------------------------------------------------------------------------------------------

test('the generator writes LogGroups as encodeLogGroup does', () => {
  const r = prng(1);
  const s = genSchema(r);
  for (const g of genGroups(r, s, 300)) {
    // encodeLogGroup writes every key and value, and knows no unknown fields.
    const { odd: _, ...rest } = g;
    const plain = {
      ...rest,
      logs: g.logs.map(({ unknown: _u, odd: _o, ...log }) => ({
        ...log,
        contents: log.contents.map((c) => ({ key: String(c.key ?? ''), value: String(c.value ?? '') })),
      })),
      tags: g.tags.map((t) => ({ key: String(t.key ?? ''), value: String(t.value ?? '') })),
    };
    assert.deepEqual(encodeGroup(plain), encodeLogGroup(plain));
  }
});

test('native build = JS build: 30 random configs and LogGroups', () => {
  for (let seed = 1; seed <= 29; seed++) check(seed);
  // Over 4,096 values of a key: the value cache of a key whose values rarely repeat turns itself off.
  check(30, 6000, 5000);
});

test('native build = JS build: every scratch kind and zstd level on the same case', () => {
  const base = genCase(101, 3000);
  const want = nativeEngine();
  for (const scratch of ['none', 'large', 'small', 'unaligned'] as const) {
    for (const level of [undefined, 1, 'young'] as const) {
      const c: Case = { ...base, scratch, level };
      const name = `scratch-${scratch}-${level}`;
      const a = jsFile(c, `${name}-js`);
      const build = new SegmentBuild(compile(c.config));
      feed(build, c.ops);
      const big = scratchOf(scratch);
      const b = join(dir, `${name}-default.seg`);
      build.write(b, '0000000042', 7, big, writeOptions(level));
      assert.equal(build.engine, want);
      assertSame(a, b, `seed 101, scratch ${scratch}, level ${level}`);
    }
  }
});

// The native build sorts each dictionary by a key of the token's first 8 bytes (big-endian, zero-padded) and
// compares the rest only on equal keys: if that shortcut broke byte order, the tokens below (shared 8-byte prefixes,
// prefixes of each other, trailing NULs that pad as the key's own zeros, 0x7f, the empty value) would come out in
// another order than the JS build's and the files would differ.
test('native build = JS build: dictionary order of tokens that tie on their first 8 bytes', () => {
  const r = prng(7);
  const fixed = ['abcdefgh', 'abcdefghi', 'abcdefgh\u0000', 'abcdefg', 'abcdefg\u0000', 'abcdefg\u0000\u0000', 'ab'];
  fixed.push('ab\u0000', '\u0000', '\u0000\u0000', '\u007f', 'abcdefghabcdefgz', 'abcdefghabcdefga', 'abcdefghabcdefg');
  fixed.push('/api/v1/', '/api/v1/\u0000', 'zzzzzzzzzzzzzzzzzzzz', 'zzzzzzzzzzzzzzzzzzzy', 'a\u007f', 'a\u0000b');
  const token = (): string =>
    chance(r, 0.3)
      ? pick(r, fixed)
      : pick(r, ['/api/v1/', 'abcdefgh', 'abcdefg', 'zzzzzzzz', '']) +
        Array.from({ length: int(r, 0, 12) }, () => pick(r, ['a', 'b', 'z', '\u0000', '\u007f', '0'])).join('');
  const logs: Log[] = Array.from({ length: 1500 }, (_, i) => ({
    time: 1_767_225_600 + i,
    contents: [
      { key: 'path', value: Array.from({ length: int(r, 0, 4) }, token).join(' ') },
      { key: 'k', value: token() },
    ],
  }));
  const config = {
    line: { token: [' '], caseSensitive: true },
    keys: { path: { type: 'text', token: [' '], caseSensitive: true }, k: { type: 'text', token: [','] } },
  };
  validateIndexConfig(config);
  const c: Case = {
    seed: 7,
    config,
    ops: [{ kind: 'add', shard: '0-0', seq: 1, bytes: encodeGroup({ logs, tags: [] }) }],
    scratch: 'large',
    level: 1,
  };
  const want = nativeEngine();
  const a = jsFile(c, 'ties-js');
  const build = new SegmentBuild(compile(config));
  feed(build, c.ops);
  const b = writeCase(build, c, 'ties-default');
  assert.equal(build.engine, want);
  assertSame(a, b, 'tokens tied on their first 8 bytes');
});

/** `c` plus one group (one log) holding `extra`; with `json`, the config indexes key 'req' as JSON. */
function withFallback(c: Case, extra: Group, json: boolean): Case {
  const keys = { ...((c.config['keys'] as Record<string, unknown> | undefined) ?? {}) };
  if (json) keys['req'] = { type: 'json', token: [' ', ','], index_all: true, json_keys: { 'u.id': { type: 'long' } } };
  const config = json ? { ...c.config, keys } : c.config;
  const ops = [...c.ops];
  ops.splice(Math.floor(ops.length / 2), 0, { kind: 'add', shard: '9-9', seq: 5, bytes: encodeGroup(extra) });
  return { ...c, config, ops };
}

test('fallback: a non-ASCII byte or a JSON-indexed key anywhere sends the whole build to JS, same file', () => {
  const one = (contents: Content[], rest: Partial<Group> = {}): Group => ({
    logs: [{ time: 1_767_225_601, contents }],
    tags: [],
    ...rest,
  });
  const variants: [string, Group, boolean][] = [
    ['value', one([{ key: 'msg', value: 'café Straße İstanbul' }]), false],
    ['invalid UTF-8 value', one([{ key: 'msg', value: Uint8Array.from([0x41, 0xff, 0x80, 0x42]) }]), false],
    ['key', one([{ key: 'ключ', value: 'plain' }]), false],
    ['unindexed key value', one([{ key: 'nobody_indexes_this', value: '日本' }]), false],
    ['topic', one([{ key: 'msg', value: 'x' }], { topic: 'тема' }), false],
    ['source', one([{ key: 'msg', value: 'x' }], { source: 'hôte' }), false],
    ['tag key', one([{ key: 'msg', value: 'x' }], { tags: [{ key: 'zöne', value: 'a' }] }), false],
    ['tag value', one([{ key: 'msg', value: 'x' }], { tags: [{ key: 'zone', value: 'ä' }] }), false],
    ['JSON key', one([{ key: 'req', value: '{"u":{"id":42,"name":"Ann Lee"},"n":1.5}' }]), true],
    ['JSON key, not JSON', one([{ key: 'req', value: 'not json' }]), true],
  ];
  const want = nativeEngine();
  for (const [i, [what, extra, json]] of variants.entries()) {
    const seed = 200 + i;
    const base = genCase(seed, 600);
    // Control: without the extra group the case runs native.
    check(seed, 600);
    const c = withFallback(base, extra, json);
    const a = jsFile(c, `fb${i}-js`);
    const build = new SegmentBuild(compile(c.config));
    feed(build, c.ops);
    const b = writeCase(build, c, `fb${i}-default`);
    assert.equal(build.engine, 'js', `${what}: the default build must fall back to JS, ran ${build.engine}`);
    assertSame(a, b, `fallback ${what} (seed ${seed})`);
    // A JSON field in the config that no log uses does not force JS.
    if (json) {
      const unused = withFallback(base, one([{ key: 'msg', value: 'plain' }]), true);
      const u = new SegmentBuild(compile(unused.config));
      feed(u, unused.ops);
      const ub = writeCase(u, unused, `fb${i}-unused-default`);
      assert.equal(u.engine, want, 'a JSON field no log uses keeps the native path');
      assertSame(jsFile(unused, `fb${i}-unused-js`), ub, `unused JSON field (seed ${seed})`);
    }
  }
});

test('one build per config reused across segments with reset(), both engines, fallback in between', () => {
  const want = nativeEngine();
  for (const seed of [301, 302]) {
    const r = prng(seed);
    const s = genSchema(r);
    const compiled = compile(s.config);
    const reusedJs = new SegmentBuild(compiled, { native: false });
    const reused = new SegmentBuild(compiled);
    for (let k = 0; k < 5; k++) {
      let c: Case = {
        seed,
        config: s.config,
        ops: toOps(r, genGroups(r, s, k === 1 ? 0 : int(r, 1, 2000))), // 1: one group without logs
        scratch: pick(r, ['none', 'large', 'small'] as const),
        level: pick(r, [1, undefined, 'young'] as const),
      };
      // Segment 2 falls back to JS: the next one must be native again, with nothing left behind.
      const fallback = k === 2;
      if (fallback)
        c = withFallback(c, { logs: [{ time: 5, contents: [{ key: 'msg', value: 'naïve' }] }], tags: [] }, false);
      const name = `reuse-${seed}-${k}`;
      const fresh = jsFile(c, `${name}-fresh`);
      for (const [build, label] of [
        [reusedJs, 'js'],
        [reused, 'default'],
      ] as const) {
        build.reset();
        feed(build, c.ops);
        const path = writeCase(build, c, `${name}-${label}`);
        assert.equal(build.engine, label === 'js' || fallback ? 'js' : want, `${name}: ${label} engine`);
        assertSame(fresh, path, `${name}: reused ${label} build (segment ${k} of seed ${seed})`);
      }
    }
  }
});

test('native builds of two configs alive at once (a worker builds for several logstores) keep apart', () => {
  const want = nativeEngine();
  const r = prng(501);
  const schemas = [genSchema(r), genSchema(r)];
  const builds = schemas.map((s) => new SegmentBuild(compile(s.config)));
  for (let k = 0; k < 3; k++) {
    const cases: Case[] = schemas.map((s, i) => ({
      seed: 501,
      config: s.config,
      ops: toOps(r, genGroups(r, s, int(r, 1, 1200))),
      scratch: i === 0 ? 'large' : 'none',
      level: undefined,
    }));
    for (const b of builds) b.reset();
    // Groups added to both in turn, then the segments written one after the other.
    const most = Math.max(...cases.map((c) => c.ops.length));
    for (let i = 0; i < most; i++) {
      for (const [j, c] of cases.entries()) feed(builds[j]!, c.ops.slice(i, i + 1));
    }
    for (const [j, c] of cases.entries()) {
      const path = writeCase(builds[j]!, c, `two-${k}-${j}`);
      assert.equal(builds[j]!.engine, want);
      assertSame(jsFile(c, `two-${k}-${j}-js`), path, `two builds at once: segment ${k} of build ${j}`);
    }
  }
});

test('a malformed LogGroup throws in both engines and adds nothing; the segment after it is the JS one', () => {
  const want = nativeEngine();
  const c = genCase(401, 800, 200);
  const good = c.ops.flatMap((op) => (op.kind === 'add' && op.bytes.length > 40 ? [op.bytes] : []))[0]!;
  assert.ok(good, 'seed 401 has a group to truncate');
  const r = prng(402);
  const bads: [string, Buffer][] = [
    ['truncated by 3 bytes', good.subarray(0, good.length - 3)],
    ['truncated by 1 byte', good.subarray(0, good.length - 1)],
    ['length past the end', Buffer.concat([good, Buffer.from([0x0a, 0x7f, 0x08])])],
    ['field number 0', Buffer.concat([good, Buffer.from([0x02, 0x00])])],
    ['wire type 3 (group)', Buffer.concat([good, Buffer.from([0x0b])])],
    ['varint over 10 bytes', Buffer.concat([good, Buffer.from([0x08, ...Array(11).fill(0xff), 0x01])])],
  ];
  // Random cuts: some end on a field boundary and parse as a shorter group; both engines must agree either way.
  for (let i = 0; i < 20; i++) {
    const at = int(r, 1, good.length - 1);
    bads.push([`cut at ${at}`, good.subarray(0, at)]);
  }
  const js = new SegmentBuild(compile(c.config), { native: false });
  const nat = new SegmentBuild(compile(c.config));
  const ops: Op[] = [];
  const half = Math.floor(c.ops.length / 2);
  feed(js, c.ops.slice(0, half));
  feed(nat, c.ops.slice(0, half));
  ops.push(...c.ops.slice(0, half));
  for (const [what, bytes] of bads) {
    const n = js.n;
    let jsErr: unknown;
    let natErr: unknown;
    try {
      js.addGroup('5-5', 1, bytes);
    } catch (err) {
      jsErr = err;
    }
    try {
      nat.addGroup('5-5', 1, bytes);
    } catch (err) {
      natErr = err;
    }
    if (what.startsWith('cut')) {
      assert.equal(natErr !== undefined, jsErr !== undefined, `${what}: JS ${jsErr ? 'throws' : 'accepts'}`);
    } else {
      assert.ok(jsErr !== undefined, `${what}: the JS build throws`);
      assert.ok(natErr !== undefined, `${what}: the default build throws`);
    }
    if (jsErr === undefined) ops.push({ kind: 'add', shard: '5-5', seq: 1, bytes });
    else assert.equal(js.n, n, `${what}: the JS build added nothing`);
    assert.equal(nat.n, js.n, `${what}: both builds hold ${js.n} logs`);
  }
  feed(js, c.ops.slice(half));
  feed(nat, c.ops.slice(half));
  ops.push(...c.ops.slice(half));
  const a = writeCase(js, c, 'malformed-js');
  const b = writeCase(nat, c, 'malformed-default');
  assert.equal(nat.engine, want);
  assertSame(a, b, 'after malformed groups');
  // And both equal a fresh build of the groups that were accepted.
  assertSame(jsFile({ ...c, ops }, 'malformed-fresh'), a, 'the JS build after malformed groups');
});

test('a malformed LogGroup with a non-ASCII value is rejected by both engines alike', (t) => {
  nativeEngine();
  const c = genCase(403, 600, 100);
  const bad = encodeGroup({ logs: [{ time: 9, contents: [{ key: 'msg', value: 'héllo wörld' }] }], tags: [] });
  const js = new SegmentBuild(compile(c.config), { native: false });
  const nat = new SegmentBuild(compile(c.config));
  const half = Math.floor(c.ops.length / 2);
  for (const build of [js, nat]) {
    feed(build, c.ops.slice(0, half));
    const n = build.n;
    assert.throws(() => build.addGroup('5-5', 1, bad.subarray(0, bad.length - 2)));
    assert.equal(build.n, n, 'nothing added');
    feed(build, c.ops.slice(half));
  }
  const a = writeCase(js, c, 'malformed-nonascii-js');
  const b = writeCase(nat, c, 'malformed-nonascii-default');
  // Which engine writes is the build's choice (the rejected group may or may not have moved it to JS); the bytes not.
  t.diagnostic(`engine after a rejected non-ASCII group: ${nat.engine}`);
  assertSame(a, b, 'after a malformed non-ASCII group');
});
