/**
 * Writes a LogGroup's protobuf bytes (sls-api.md §4) straight into one buffer, log by log, without building `Log`
 * objects: in line mode a log's value is copied from the read buffer, so a line is never turned into a JS string.
 * Field numbers: LogGroup.Logs=1, Topic=3, Source=4, LogTags=6; Log.Time=1, Contents=2, TimeNs=4 (fixed32).
 */

import { sluiceNative } from '../native-addon.js';

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** A varint below 2^14 (one or two bytes). */
function writeVarint14(buf: Buffer, pos: number, v: number): number {
  if (v < 0x80) {
    buf[pos] = v;
    return pos + 1;
  }
  buf[pos] = (v & 0x7f) | 0x80;
  buf[pos + 1] = v >>> 7;
  return pos + 2;
}

/**
 * UTF-8 length of a field, or -(length) - 1 when it is ASCII-only: short ASCII strings (nearly every parsed field)
 * are then copied by a JS loop, which measured ~4× cheaper than `Buffer#write`'s call into C++ per field.
 */
function fieldLength(s: string): number {
  const n = s.length;
  if (n > 64) return Buffer.byteLength(s);
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s);
  return -n - 1;
}

function writeField(b: Buffer, p: number, s: string, code: number): number {
  if (code >= 0) return p + b.write(s, p);
  const n = -code - 1;
  for (let i = 0; i < n; i++) b[p + i] = s.charCodeAt(i);
  return p + n;
}

export class LogGroupWriter {
  private buf: Buffer;
  /** Writes stay below this (the rest of `buf` may be the caller's read buffer, see `inArena`). */
  private limit: number;
  /** `buf` is an arena shared with the read buffer: lines are moved with `copyWithin` (see addRaw). */
  private shared: boolean;
  private pos = 0;
  private logs = 0;
  /** Scratch for addFields: per field pair its sizes and length codes (reused, no allocation per log). */
  private readonly codes: number[] = [];
  /** `Log.Time` tag and varint of the last time addRaw saw. */
  private timeBytes: Buffer = Buffer.alloc(0);
  private rawTime = -1;
  /**
   * The last `src` addRaw saw and its offset inside the shared arena (NaN: not in it). Reading `src.buffer` costs
   * about half of addRaw per line; a read pass hands in one source buffer for thousands of lines.
   */
  private lastSrc: Buffer | null = null;
  private lastAt = Number.NaN;
  /** addLines' in/out state for the addon (see native/lz4/src/binding.c `frameLines`). */
  private readonly lineState = new Int32Array(5);

  constructor(initialBytes = 256 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
    this.limit = initialBytes;
    this.shared = false;
  }

  /**
   * A writer whose output is `arena[0, limit)` while the caller reads its input into `arena[limit, …)`: line copies
   * are then `copyWithin` inside one ArrayBuffer. (`Buffer#copy` of a slice creates a Uint8Array per call — ~5 MB/s
   * of young garbage at 10 MB/s of lines, a minor GC every ~400 ms — and costs twice as much per line.) If a group
   * outgrows `limit` the writer moves to a buffer of its own and copies as usual.
   */
  static inArena(arena: Buffer, limit: number): LogGroupWriter {
    const w = new LogGroupWriter(0);
    w.buf = arena;
    w.limit = limit;
    w.shared = true;
    return w;
  }

  get byteLength(): number {
    return this.pos;
  }

  get logCount(): number {
    return this.logs;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.limit) return;
    const next = Buffer.allocUnsafe(Math.max(this.limit * 2, this.pos + extra));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.limit = next.length;
    this.shared = false;
  }

  /**
   * One log whose only content is `content` = `src[start, end)` (line mode). The hot path of line mode, one call per
   * line: the constant bytes are stored one by one and the time's varint is cached (C++ calls per line — a
   * `Buffer#copy` of the key, `Math.floor` varints — measured ~2× the cost of the line copy itself).
   */
  addRaw(time: number, src: Buffer, start: number, end: number): void {
    const vlen = end - start;
    if (time !== this.rawTime) this.cacheTime(time);
    // pair = 0x0a 07 "content" 0x12 varint(vlen) bytes
    const pairSize = 10 + (vlen < 0x80 ? 1 : vlen < 0x4000 ? 2 : varintSize(vlen)) + vlen;
    const logSize =
      this.timeBytes.length + 1 + (pairSize < 0x80 ? 1 : pairSize < 0x4000 ? 2 : varintSize(pairSize)) + pairSize;
    if (this.pos + logSize + 6 > this.limit) this.ensure(logSize + 6);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 0x0a; // LogGroup.Logs
    p = logSize < 0x4000 ? writeVarint14(b, p, logSize) : writeVarint(b, p, logSize);
    const tb = this.timeBytes;
    for (let i = 0; i < tb.length; i++) b[p + i] = tb[i]!; // Log.Time (tag included)
    p += tb.length;
    b[p++] = 0x12; // Log.Contents
    p = pairSize < 0x4000 ? writeVarint14(b, p, pairSize) : writeVarint(b, p, pairSize);
    b[p] = 0x0a;
    b[p + 1] = 7;
    b[p + 2] = 0x63; // c
    b[p + 3] = 0x6f; // o
    b[p + 4] = 0x6e; // n
    b[p + 5] = 0x74; // t
    b[p + 6] = 0x65; // e
    b[p + 7] = 0x6e; // n
    b[p + 8] = 0x74; // t
    b[p + 9] = 0x12;
    p += 10;
    p = vlen < 0x4000 ? writeVarint14(b, p, vlen) : writeVarint(b, p, vlen);
    if (src !== this.lastSrc) {
      this.lastSrc = src;
      this.lastAt = this.shared && src.buffer === b.buffer ? src.byteOffset - b.byteOffset : Number.NaN;
    }
    if (this.shared && !Number.isNaN(this.lastAt)) {
      const at = this.lastAt;
      b.copyWithin(p, at + start, at + end);
      p += vlen;
    } else p += src.copy(b, p, start, end);
    this.pos = p;
    this.logs++;
  }

  /**
   * Line mode for a whole read at once, through the addon: splits `src[0, len)` into lines exactly as splitEntries
   * does without a begin regex (same `\r` trim, same `maxEntryBytes` cut, the unterminated tail only with `flush` or
   * at `maxEntryBytes`) and appends each line as addRaw would, stopping before a line once the group holds
   * `maxLogs` logs. Byte-identical output (test/unit/agent/log-group-writer.test.ts); a memchr and a memcpy per line
   * in C instead of the split loop, the callback and addRaw's dozen stores in JS (~0.9 ms per MB, a fifth of the
   * agent's CPU at 10 MB/s). `undefined` when the addon is absent: the caller splits in JS.
   * Differs in one count only: `cut` counts cut lines that were taken (splitEntries also counts those past the stop).
   */
  addLines(
    time: number,
    src: Buffer,
    len: number,
    flush: boolean,
    maxEntryBytes: number,
    maxLogs: number,
  ): { consumed: number; logs: number; cut: number } | undefined {
    const native = sluiceNative();
    if (native === undefined) return undefined;
    if (time !== this.rawTime) this.cacheTime(time);
    const st = this.lineState;
    st.fill(0);
    const before = this.logs;
    for (;;) {
      st[1] = this.pos;
      const status = native.frameLines(
        src,
        len,
        flush,
        maxEntryBytes,
        Math.max(0, maxLogs - this.logs),
        this.buf,
        this.limit,
        this.timeBytes,
        st,
      );
      this.pos = st[1]!;
      this.logs = before + st[2]!;
      if (status !== 1) break;
      this.ensure(st[4]!); // a buffer of the writer's own from here on; `src` stays where it is
    }
    return { consumed: st[0]!, logs: this.logs - before, cut: st[3]! };
  }

  private cacheTime(time: number): void {
    const t = Buffer.allocUnsafe(1 + varintSize(time));
    t[0] = 0x08; // Log.Time
    writeVarint(t, 1, time);
    this.timeBytes = t;
    this.rawTime = time;
  }

  /** One log with `fields` = `[key, value, …]`; `ns` is emitted only when given. */
  addFields(time: number, ns: number | undefined, fields: readonly string[]): void {
    let contents = 0;
    const codes = this.codes;
    codes.length = 0;
    for (let i = 0; i < fields.length; i += 2) {
      const kc = fieldLength(fields[i]!);
      const vc = fieldLength(fields[i + 1]!);
      const kl = kc < 0 ? -kc - 1 : kc;
      const vl = vc < 0 ? -vc - 1 : vc;
      const s = 1 + varintSize(kl) + kl + 1 + varintSize(vl) + vl;
      codes.push(s, kl, vl, kc, vc);
      contents += 1 + varintSize(s) + s;
    }
    const logSize = 1 + varintSize(time) + contents + (ns !== undefined ? 5 : 0);
    this.ensure(1 + varintSize(logSize) + logSize);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 0x0a;
    p = writeVarint(b, p, logSize);
    b[p++] = 0x08;
    p = writeVarint(b, p, time);
    for (let i = 0, j = 0; i < fields.length; i += 2, j += 5) {
      b[p++] = 0x12;
      p = writeVarint(b, p, codes[j]!);
      b[p++] = 0x0a;
      p = writeVarint(b, p, codes[j + 1]!);
      p = writeField(b, p, fields[i]!, codes[j + 3]!);
      b[p++] = 0x12;
      p = writeVarint(b, p, codes[j + 2]!);
      p = writeField(b, p, fields[i + 1]!, codes[j + 4]!);
    }
    if (ns !== undefined) {
      b[p++] = 0x25; // Log.TimeNs, fixed32
      b.writeUInt32LE(ns, p);
      p += 4;
    }
    this.pos = p;
    this.logs++;
  }

  /**
   * Appends topic, source and tags and returns the finished LogGroup bytes as a view of the writer's buffer: valid
   * until the next `add*` (callers compress it at once, so the raw group is never copied). The writer is reset.
   */
  finish(topic: string | undefined, source: string, tags: readonly (readonly [string, string])[]): Buffer {
    const strField = (tag: number, s: string): void => {
      const l = Buffer.byteLength(s);
      this.ensure(1 + varintSize(l) + l);
      this.buf[this.pos++] = tag;
      this.pos = writeVarint(this.buf, this.pos, l);
      this.pos += this.buf.write(s, this.pos);
    };
    if (topic !== undefined && topic !== '') strField(0x1a, topic);
    strField(0x22, source);
    for (const [k, v] of tags) {
      const kl = Buffer.byteLength(k);
      const vl = Buffer.byteLength(v);
      const s = 1 + varintSize(kl) + kl + 1 + varintSize(vl) + vl;
      this.ensure(1 + varintSize(s) + s);
      const b = this.buf;
      b[this.pos++] = 0x32;
      this.pos = writeVarint(b, this.pos, s);
      b[this.pos++] = 0x0a;
      this.pos = writeVarint(b, this.pos, kl);
      this.pos += b.write(k, this.pos);
      b[this.pos++] = 0x12;
      this.pos = writeVarint(b, this.pos, vl);
      this.pos += b.write(v, this.pos);
    }
    const out = this.buf.subarray(0, this.pos);
    this.pos = 0;
    this.logs = 0;
    return out;
  }

  /** Drops what was written since the last `finish`. */
  reset(): void {
    this.pos = 0;
    this.logs = 0;
  }
}
