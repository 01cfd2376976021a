/**
 * A serialized LogGroup transposed to columns, the form sealed shard-log files keep at rest (compaction.ts) before
 * zstd: each key's values back to back, apart from the other keys'. The values of one key look alike (IPs with IPs,
 * URIs with URIs) and the key names and protobuf tags of every log go, so zstd finds far more to take: on the nginx
 * logs of bench:search, zstd 3 of this form weighs about 0.08 x the LogGroup bytes, against 0.124 x for zstd 3 of the
 * LogGroup itself (docs/benchmarks.md, session 14).
 *
 * The form rebuilds the LogGroup byte for byte: PullLogs hands out what the client sent. It holds only groups in the
 * shape every SDK writes (each Log is its Time, then its Contents each as key then value, then an optional TimeNs; the
 * group's other fields before and after the run of Logs are kept as they are), and `encodeColumnarLogGroup` proves
 * the rebuild before it answers: a group it cannot rebuild exactly (another field order, a non-minimal varint, an
 * unknown field inside a Log) gets `undefined`, and compaction stores it whole.
 *
 * Layout (varints are protobuf varints):
 *
 *   u8 version (1)
 *   varint logs
 *   varint prefix length, prefix bytes    the group's fields before its first Log, as sent
 *   varint suffix length, suffix bytes    everything after its run of Logs, as sent
 *   varint keys, then per key: varint length, bytes
 *   varint schemas, then per schema: u8 has-TimeNs, varint contents, a varint key index per content
 *   per log: varint schema index
 *   per log: varint zigzag(Time - previous log's Time)
 *   per log with TimeNs: u32 little-endian
 *   per key in key order, per value of that key in log order: varint value length
 *   the values, in the same order
 */

import { varintSize, writeVarint } from '../../protocol/wire.js';

const VERSION = 1;
const TAG_LOG = 0x0a;
const TAG_TIME = 0x08;
const TAG_CONTENT = 0x12;
const TAG_KEY = 0x0a;
const TAG_VALUE = 0x12;
const TAG_TIME_NS = 0x25;
const MAX_UINT32 = 0xffffffff;

/** Per-group working arrays, reused by every group a thread transposes (they only grow). */
export interface ColumnarScratch {
  logSchema: Uint32Array;
  logTime: Uint32Array;
  logNs: Uint32Array;
  /** Per content: where its key and value sit in the group, and its key's index. */
  keyStart: Uint32Array;
  keyLength: Uint32Array;
  valueStart: Uint32Array;
  valueLength: Uint32Array;
  valueKey: Uint32Array;
  order: Uint32Array;
  out: Buffer;
  rebuilt: Buffer;
}

export function newColumnarScratch(): ColumnarScratch {
  return {
    logSchema: new Uint32Array(0),
    logTime: new Uint32Array(0),
    logNs: new Uint32Array(0),
    keyStart: new Uint32Array(0),
    keyLength: new Uint32Array(0),
    valueStart: new Uint32Array(0),
    valueLength: new Uint32Array(0),
    valueKey: new Uint32Array(0),
    order: new Uint32Array(0),
    out: Buffer.allocUnsafe(0),
    rebuilt: Buffer.allocUnsafe(0),
  };
}

/** Read position of the varint readers below (one synchronous decode at a time per thread). */
let pos = 0;

/** A varint below 2^53 at `pos` ending by `end`, or -1 when there is none. */
function varint(buf: Uint8Array, end: number): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= end) return -1;
    const b = buf[pos++]!;
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v;
    mul *= 0x80;
  }
  return -1;
}

/** Copies `length` bytes; short values (nearly all of them) by hand, which beats a view and a native call. */
function copyBytes(from: Uint8Array, start: number, length: number, to: Uint8Array, at: number): void {
  if (length < 48) {
    for (let i = 0; i < length; i++) to[at + i] = from[start + i]!;
  } else to.set(from.subarray(start, start + length), at);
}

function sameBytes(buf: Uint8Array, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}

function grownU32(arr: Uint32Array, n: number): Uint32Array {
  return arr.length >= n ? arr : new Uint32Array(Math.ceil(n * 1.25));
}

function grownBuffer(buf: Buffer, n: number): Buffer {
  return buf.length >= n ? buf : Buffer.allocUnsafe(Math.ceil(n * 1.25));
}

/** Skips one top-level field at `pos`; false when it is malformed. */
function skipTopField(buf: Uint8Array, end: number): boolean {
  const tag = varint(buf, end);
  if (tag < 8) return false;
  switch (tag & 7) {
    case 0:
      return varint(buf, end) >= 0;
    case 1:
      pos += 8;
      return pos <= end;
    case 2: {
      const len = varint(buf, end);
      if (len < 0) return false;
      pos += len;
      return pos <= end;
    }
    case 5:
      pos += 4;
      return pos <= end;
    default:
      return false;
  }
}

/**
 * The columnar form of `group` (a view of `scratch.out`, valid until the next call with the same scratch), or
 * undefined when the group is not in a shape the form rebuilds byte for byte (checked by rebuilding it).
 */
export function encodeColumnarLogGroup(
  group: Uint8Array,
  scratch: ColumnarScratch = newColumnarScratch(),
): Uint8Array | undefined {
  const n = group.length;
  // Arrays for logs of 64 bytes and contents of 16 on average first (a 1.7 MB nginx group: 2.4 MB of arrays, where
  // the bounds below take 11 MB, kept by the compaction worker); a group of smaller ones is transposed again with
  // room for the most it can hold: a Log takes at least 4 bytes (tag, length, Time tag, Time) and a content 6.
  const first = transpose(group, scratch, (n >> 6) + 1, (n >> 4) + 1);
  if (first !== ROOM) return first;
  const second = transpose(group, scratch, (n >> 2) + 1, Math.floor(n / 6) + 1);
  return second === ROOM ? undefined : second; // never ROOM: the arrays hold the most a group of n bytes can
}

/** `transpose` ran out of room in its arrays. */
const ROOM = Symbol('room');

function transpose(
  group: Uint8Array,
  scratch: ColumnarScratch,
  maxLogs: number,
  maxContents: number,
): Uint8Array | undefined | typeof ROOM {
  const n = group.length;
  const named = Buffer.isBuffer(group) ? group : Buffer.from(group.buffer, group.byteOffset, group.byteLength);
  const s = scratch;
  s.logSchema = grownU32(s.logSchema, maxLogs);
  s.logTime = grownU32(s.logTime, maxLogs);
  s.logNs = grownU32(s.logNs, maxLogs);
  s.keyStart = grownU32(s.keyStart, maxContents);
  s.keyLength = grownU32(s.keyLength, maxContents);
  s.valueStart = grownU32(s.valueStart, maxContents);
  s.valueLength = grownU32(s.valueLength, maxContents);
  s.valueKey = grownU32(s.valueKey, maxContents);
  const { logSchema, logTime, logNs, keyStart, keyLength, valueStart, valueLength, valueKey } = s;

  // The group's fields before its first Log.
  pos = 0;
  let prefixEnd = n;
  while (pos < n) {
    if (group[pos] === TAG_LOG) {
      prefixEnd = pos;
      break;
    }
    if (!skipTopField(group, n)) return undefined;
  }

  const keyIds = new Map<string, number>();
  const keyNames: [start: number, length: number][] = [];
  const schemaIds = new Map<string, number>();
  const schemas: { ns: boolean; keys: number[] }[] = [];
  let logs = 0;
  let contents = 0;
  let previousFirst = 0;
  let previousCount = -1;
  let previousNs = false;
  let previousSchema = 0;
  let valueBytes = 0;
  while (pos < n && group[pos] === TAG_LOG) {
    if (logs === maxLogs) return ROOM;
    pos++;
    const logLength = varint(group, n);
    if (logLength < 0 || logLength > n - pos) return undefined;
    const logEnd = pos + logLength;
    if (group[pos] !== TAG_TIME) return undefined;
    pos++;
    const time = varint(group, logEnd);
    if (time < 0 || time > MAX_UINT32) return undefined;
    const first = contents;
    while (pos < logEnd && group[pos] === TAG_CONTENT) {
      pos++;
      const contentLength = varint(group, logEnd);
      if (contentLength < 0 || contentLength > logEnd - pos) return undefined;
      const contentEnd = pos + contentLength;
      if (group[pos] !== TAG_KEY) return undefined;
      pos++;
      const kl = varint(group, contentEnd);
      if (kl < 0 || kl > contentEnd - pos) return undefined;
      if (contents === maxContents) return ROOM;
      keyStart[contents] = pos;
      keyLength[contents] = kl;
      pos += kl;
      if (pos >= contentEnd || group[pos] !== TAG_VALUE) return undefined;
      pos++;
      const vl = varint(group, contentEnd);
      if (vl < 0 || vl !== contentEnd - pos) return undefined;
      valueStart[contents] = pos;
      valueLength[contents] = vl;
      valueBytes += vl;
      pos = contentEnd;
      contents++;
    }
    let ns = false;
    if (pos < logEnd) {
      if (group[pos] !== TAG_TIME_NS || logEnd - pos !== 5) return undefined;
      logNs[logs] =
        (group[pos + 1]! | (group[pos + 2]! << 8) | (group[pos + 3]! << 16) | (group[pos + 4]! << 24)) >>> 0;
      ns = true;
      pos = logEnd;
    }
    const count = contents - first;
    // Logs mostly repeat the keys of the log before them: compare bytes before looking anything up.
    let same = count === previousCount && ns === previousNs;
    for (let i = 0; same && i < count; i++) {
      const a = first + i;
      const b = previousFirst + i;
      same = keyLength[a] === keyLength[b] && sameBytes(group, keyStart[a]!, keyStart[b]!, keyLength[a]!);
    }
    if (same) {
      for (let i = 0; i < count; i++) valueKey[first + i] = valueKey[previousFirst + i]!;
    } else {
      const ids: number[] = [];
      for (let i = first; i < contents; i++) {
        const name = named.toString('latin1', keyStart[i]!, keyStart[i]! + keyLength[i]!);
        let id = keyIds.get(name);
        if (id === undefined) {
          id = keyNames.length;
          keyIds.set(name, id);
          keyNames.push([keyStart[i]!, keyLength[i]!]);
        }
        valueKey[i] = id;
        ids.push(id);
      }
      const signature = `${ns ? 1 : 0}:${ids.join(',')}`;
      let schema = schemaIds.get(signature);
      if (schema === undefined) {
        schema = schemas.length;
        schemaIds.set(signature, schema);
        schemas.push({ ns, keys: ids });
      }
      previousSchema = schema;
    }
    logSchema[logs] = previousSchema;
    logTime[logs] = time;
    previousFirst = first;
    previousCount = count;
    previousNs = ns;
    logs++;
  }
  const suffixStart = pos;

  // Values grouped by key, in log order within a key (a counting sort of the content indexes).
  s.order = grownU32(s.order, contents);
  const order = s.order;
  const keyFill = new Uint32Array(keyNames.length + 1);
  for (let i = 0; i < contents; i++) keyFill[valueKey[i]! + 1]!++;
  for (let k = 1; k <= keyNames.length; k++) keyFill[k]! += keyFill[k - 1]!;
  for (let i = 0; i < contents; i++) order[keyFill[valueKey[i]!]!++] = i;

  let bound = 64 + prefixEnd + (n - suffixStart) + logs * 19 + contents * 5 + valueBytes;
  for (const [, length] of keyNames) bound += 5 + length;
  for (const schema of schemas) bound += 6 + schema.keys.length * 5;
  s.out = grownBuffer(s.out, bound);
  const out = s.out;
  let at = 0;
  out[at++] = VERSION;
  at = writeVarint(out, at, logs);
  at = writeVarint(out, at, prefixEnd);
  copyBytes(group, 0, prefixEnd, out, at);
  at += prefixEnd;
  at = writeVarint(out, at, n - suffixStart);
  copyBytes(group, suffixStart, n - suffixStart, out, at);
  at += n - suffixStart;
  at = writeVarint(out, at, keyNames.length);
  for (const [start, length] of keyNames) {
    at = writeVarint(out, at, length);
    copyBytes(group, start, length, out, at);
    at += length;
  }
  at = writeVarint(out, at, schemas.length);
  for (const schema of schemas) {
    out[at++] = schema.ns ? 1 : 0;
    at = writeVarint(out, at, schema.keys.length);
    for (const k of schema.keys) at = writeVarint(out, at, k);
  }
  for (let i = 0; i < logs; i++) at = writeVarint(out, at, logSchema[i]!);
  let previousTime = 0;
  for (let i = 0; i < logs; i++) {
    const delta = logTime[i]! - previousTime;
    previousTime = logTime[i]!;
    at = writeVarint(out, at, delta >= 0 ? delta * 2 : -delta * 2 - 1);
  }
  for (let i = 0; i < logs; i++) {
    if (!schemas[logSchema[i]!]!.ns) continue;
    out.writeUInt32LE(logNs[i]!, at);
    at += 4;
  }
  for (let j = 0; j < contents; j++) at = writeVarint(out, at, valueLength[order[j]!]!);
  for (let j = 0; j < contents; j++) {
    const i = order[j]!;
    copyBytes(group, valueStart[i]!, valueLength[i]!, out, at);
    at += valueLength[i]!;
  }
  const columnar = out.subarray(0, at);

  // The proof: anything this form would not give back exactly is stored as it came.
  s.rebuilt = grownBuffer(s.rebuilt, n);
  try {
    const rebuilt = decodeColumnarLogGroup(columnar, n, s.rebuilt);
    if (!Buffer.from(rebuilt.buffer, rebuilt.byteOffset, rebuilt.byteLength).equals(group)) return undefined;
  } catch {
    return undefined;
  }
  return columnar;
}

/**
 * The LogGroup of `rawSize` bytes that `columnar` holds, into `into` when it is large enough (as a view of it).
 * Throws on a form that does not rebuild exactly `rawSize` bytes (only damage or a bug gives one).
 */
export function decodeColumnarLogGroup(columnar: Uint8Array, rawSize: number, into?: Buffer): Buffer {
  const c = columnar;
  const end = c.length;
  const fail = (what: string): Error => new Error(`columnar LogGroup: ${what}`);
  pos = 0;
  if (c[pos++] !== VERSION) throw fail(`unknown version ${c[0]}`);
  const logs = varint(c, end);
  const prefixLength = varint(c, end);
  if (logs < 0 || prefixLength < 0 || prefixLength > end - pos) throw fail('bad header');
  const prefixStart = pos;
  pos += prefixLength;
  const suffixLength = varint(c, end);
  if (suffixLength < 0 || suffixLength > end - pos) throw fail('bad header');
  const suffixStart = pos;
  pos += suffixLength;
  if (prefixLength + suffixLength + logs * 4 > rawSize) throw fail('more logs than the group has room for');

  const keyCount = varint(c, end);
  if (keyCount < 0 || keyCount > end - pos) throw fail('bad key table');
  // Per key, the bytes every content of it starts with after its length: key tag, key length, key, value tag.
  const keyHead: Buffer[] = [];
  for (let k = 0; k < keyCount; k++) {
    const length = varint(c, end);
    if (length < 0 || length > end - pos) throw fail('bad key table');
    const head = Buffer.allocUnsafe(varintSize(length) + length + 2);
    head[0] = TAG_KEY;
    const at = writeVarint(head, 1, length);
    copyBytes(c, pos, length, head, at);
    head[at + length] = TAG_VALUE;
    keyHead.push(head);
    pos += length;
  }
  const schemaCount = varint(c, end);
  if (schemaCount < 0 || schemaCount > end - pos) throw fail('bad schema table');
  const schemas: { ns: boolean; keys: Uint32Array }[] = [];
  for (let s = 0; s < schemaCount; s++) {
    const ns = c[pos++] === 1;
    const count = varint(c, end);
    if (count < 0 || count > end - pos) throw fail('bad schema table');
    const keys = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      const k = varint(c, end);
      if (k < 0 || k >= keyCount) throw fail('bad schema table');
      keys[i] = k;
    }
    schemas.push({ ns, keys });
  }

  const logSchema = new Uint32Array(logs);
  const perKey = new Uint32Array(keyCount + 1);
  let nsCount = 0;
  for (let i = 0; i < logs; i++) {
    const s = varint(c, end);
    if (s < 0 || s >= schemaCount) throw fail('bad schema index');
    logSchema[i] = s;
    const schema = schemas[s]!;
    if (schema.ns) nsCount++;
    for (const k of schema.keys) perKey[k + 1]!++;
  }
  const logTime = new Float64Array(logs);
  let time = 0;
  for (let i = 0; i < logs; i++) {
    const z = varint(c, end);
    if (z < 0) throw fail('bad times');
    time += z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    if (time < 0 || time > MAX_UINT32) throw fail('bad times');
    logTime[i] = time;
  }
  let nsAt = pos;
  pos += nsCount * 4;
  if (pos > end) throw fail('bad TimeNs');

  // Value lengths, key by key; then where each value starts.
  for (let k = 1; k <= keyCount; k++) perKey[k]! += perKey[k - 1]!;
  const contents = perKey[keyCount]!;
  const valueLength = new Uint32Array(contents);
  const valueStart = new Float64Array(contents);
  for (let j = 0; j < contents; j++) {
    const length = varint(c, end);
    if (length < 0) throw fail('bad value lengths');
    valueLength[j] = length;
  }
  let dataAt = pos;
  for (let j = 0; j < contents; j++) {
    valueStart[j] = dataAt;
    dataAt += valueLength[j]!;
  }
  if (dataAt !== end) throw fail(`values end at ${dataAt}, the form at ${end}`);

  const out = into && into.length >= rawSize ? into.subarray(0, rawSize) : Buffer.allocUnsafe(rawSize);
  const logsEnd = rawSize - suffixLength;
  copyBytes(c, prefixStart, prefixLength, out, 0);
  let at = prefixLength;
  const next = perKey; // per key: its next value (perKey[k] starts at the key's first)
  for (let i = 0; i < logs; i++) {
    const schema = schemas[logSchema[i]!]!;
    const keys = schema.keys;
    let logLength = 1 + varintSize(logTime[i]!) + (schema.ns ? 5 : 0);
    for (let x = 0; x < keys.length; x++) {
      const k = keys[x]!;
      const vl = valueLength[next[k]!++]!;
      const contentLength = keyHead[k]!.length + varintSize(vl) + vl;
      logLength += 1 + varintSize(contentLength) + contentLength;
    }
    for (let x = 0; x < keys.length; x++) next[keys[x]!]!--;
    if (at + 1 + varintSize(logLength) + logLength > logsEnd) throw fail('logs run past the group');
    out[at++] = TAG_LOG;
    at = writeVarint(out, at, logLength);
    out[at++] = TAG_TIME;
    at = writeVarint(out, at, logTime[i]!);
    for (let x = 0; x < keys.length; x++) {
      const k = keys[x]!;
      const j = next[k]!++;
      const vl = valueLength[j]!;
      const head = keyHead[k]!;
      out[at++] = TAG_CONTENT;
      at = writeVarint(out, at, head.length + varintSize(vl) + vl);
      copyBytes(head, 0, head.length, out, at);
      at += head.length;
      at = writeVarint(out, at, vl);
      copyBytes(c, valueStart[j]!, vl, out, at);
      at += vl;
    }
    if (schema.ns) {
      out[at++] = TAG_TIME_NS;
      copyBytes(c, nsAt, 4, out, at);
      nsAt += 4;
      at += 4;
    }
  }
  if (at !== logsEnd) throw fail(`logs end at ${at}, the group's at ${logsEnd}`);
  copyBytes(c, suffixStart, suffixLength, out, at);
  return out;
}
