/**
 * Ingest-time validation of a serialized LogGroup: one pass over the wire bytes that builds no strings and no
 * objects, so it can run on every PutLogs before anything is stored (values are skipped by length, only keys are
 * looked at byte by byte).
 *
 * Error codes (sls-api.md §5.4, §8):
 * - malformed protobuf → `PostBodyInvalid`;
 * - more than `maxLogsPerGroup` logs, or a value over `maxValueBytes` → `InvalidLogSize` — the code every SDK
 *   (JV, PY, N2, PHP) raises for "logItems' length exceeds maximum limitation", so clients already handle it;
 * - bad key → `InvalidKey`; topic/source over 128 bytes → `ParameterInvalid`;
 * - a Log without Time, a Time that is not a uint32, or TimeNs > 999999999 → `InvalidTimestamp`.
 *
 * Key policy. The data-model doc says keys are `[A-Za-z_][A-Za-z0-9_]*`, 1–128 bytes, and not a reserved name. Real
 * writers are looser: Logtail's JSON and nginx parsers emit `a.b.c` and `http-user-agent`, users put Chinese keys,
 * and the console shows them fine. So the default (`keyPolicy: 'lenient'`) rejects only what would break us: empty
 * or over-long keys, ASCII control characters, and the reserved names that would collide with the fields we derive
 * (`__time__`, `__topic__`, `__source__`, `__time_ns_part__`, and anything starting with `__tag__`). `'strict'`
 * adds the documented character rule. Tag keys are not checked (`__path__`, `__hostname__` are normal there).
 */
import { SlsError } from './errors.js';
import { nativeValidate } from './native-validate.js';

export interface LogGroupLimits {
  /** Largest number of logs in one LogGroup. */
  readonly maxLogsPerGroup: number;
  /** Largest key, in UTF-8 bytes. */
  readonly maxKeyBytes: number;
  /** Largest single content or tag value, in bytes. */
  readonly maxValueBytes: number;
  /** Largest Topic / Source, in bytes. */
  readonly maxTopicBytes: number;
  readonly maxSourceBytes: number;
  readonly keyPolicy: 'lenient' | 'strict';
}

/** PY, the most generous SDK, refuses more than 512000 logs per request; the old 4096 limit of N2/JV is too tight. */
export const DEFAULT_MAX_LOGS_PER_GROUP = 512_000;
export const DEFAULT_MAX_KEY_BYTES = 128;
/** sls-api.md §8: "each log's values ≤ 1 MB recommended". */
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_TOPIC_BYTES = 128;
export const DEFAULT_MAX_SOURCE_BYTES = 128;
export const MAX_TIME_NS = 999_999_999;

export const DEFAULT_LOG_GROUP_LIMITS: LogGroupLimits = Object.freeze({
  maxLogsPerGroup: DEFAULT_MAX_LOGS_PER_GROUP,
  maxKeyBytes: DEFAULT_MAX_KEY_BYTES,
  maxValueBytes: DEFAULT_MAX_VALUE_BYTES,
  maxTopicBytes: DEFAULT_MAX_TOPIC_BYTES,
  maxSourceBytes: DEFAULT_MAX_SOURCE_BYTES,
  keyPolicy: 'lenient',
});

export interface LogGroupStats {
  readonly logCount: number;
  /** Smallest / largest Log.time (unix seconds); 0 when there are no logs. */
  readonly minTime: number;
  readonly maxTime: number;
  /** Serialized size of the LogGroup. */
  readonly rawBytes: number;
}

// Byte classes for keys: bit 1 = allowed anywhere (lenient), 2 = strict first char, 4 = strict later char.
const LENIENT = 1;
const STRICT_FIRST = 2;
const STRICT_REST = 4;
const KEY_CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  let k = c >= 0x20 && c !== 0x7f ? LENIENT : 0;
  const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
  if (alpha) k |= STRICT_FIRST | STRICT_REST;
  if (c >= 0x30 && c <= 0x39) k |= STRICT_REST;
  KEY_CLASS[c] = k;
}

const RESERVED_KEYS = ['__time__', '__topic__', '__source__', '__time_ns_part__'].map((s) => Buffer.from(s, 'latin1'));
const TAG_PREFIX = Buffer.from('__tag__', 'latin1');

function bad(what: string): SlsError {
  return new SlsError('PostBodyInvalid', `malformed protobuf: ${what}`);
}

/**
 * Slow path for varints of 3+ bytes (and any truncated one): parses the varint starting at `start`, leaves the
 * position after it in `st.pos`. Returns Infinity above 2^53 (callers range-check what they use).
 * The fast paths below handle the 1- and 2-byte varints that are nearly all tags and lengths.
 */
const st = { pos: 0 };
function varintAt(buf: Uint8Array, start: number, limit: number): number {
  let pos = start;
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= limit) throw bad('truncated varint');
    const b = buf[pos++]!;
    v += (b & 0x7f) * mul;
    if (b < 0x80) {
      st.pos = pos;
      return v > Number.MAX_SAFE_INTEGER ? Number.POSITIVE_INFINITY : v;
    }
    mul *= 0x80;
  }
  throw bad('varint longer than 10 bytes');
}

/** Skips a field of `wireType` whose tag ended at `pos`; returns the position after it. */
function skipAt(buf: Uint8Array, wireType: number, pos: number, limit: number): number {
  switch (wireType) {
    case 0:
      varintAt(buf, pos, limit);
      return st.pos;
    case 1:
      if (limit - pos < 8) throw bad('truncated fixed64');
      return pos + 8;
    case 2: {
      const len = varintAt(buf, pos, limit);
      if (len > limit - st.pos) throw bad('length-delimited field runs past the end of its message');
      return st.pos + len;
    }
    case 5:
      if (limit - pos < 4) throw bad('truncated fixed32');
      return pos + 4;
    default:
      throw bad(`unsupported wire type ${wireType}`);
  }
}

function checkTag(tag: number): void {
  if (tag < 8 || tag > 0xffffffff) throw bad(`invalid field tag ${tag}`);
}

function startsWith(buf: Uint8Array, start: number, len: number, word: Buffer): boolean {
  if (len < word.length) return false;
  for (let i = 0; i < word.length; i++) if (buf[start + i] !== word[i]) return false;
  return true;
}

function keyText(buf: Uint8Array, start: number, len: number): string {
  return JSON.stringify(Buffer.from(buf.buffer, buf.byteOffset + start, Math.min(len, 64)).toString('utf8'));
}

/** Cold path: explains why a key failed the fast byte-class scan (or that it is reserved). */
function keyError(buf: Uint8Array, start: number, len: number, limits: LogGroupLimits, logIndex: number): SlsError {
  if (len === 0) return new SlsError('InvalidKey', `log #${logIndex}: empty key`);
  const text = keyText(buf, start, len);
  if (len > limits.maxKeyBytes) {
    return new SlsError(
      'InvalidKey',
      `log #${logIndex}: key ${text} is ${len} bytes, over the limit of ${limits.maxKeyBytes}`,
    );
  }
  if (limits.keyPolicy === 'strict') {
    if ((KEY_CLASS[buf[start]!]! & STRICT_FIRST) === 0) {
      return new SlsError('InvalidKey', `log #${logIndex}: key ${text} must start with a letter or _`);
    }
    for (let i = start; i < start + len; i++) {
      if ((KEY_CLASS[buf[i]!]! & STRICT_REST) === 0) {
        return new SlsError('InvalidKey', `log #${logIndex}: key ${text} contains a character outside [A-Za-z0-9_]`);
      }
    }
  } else {
    for (let i = start; i < start + len; i++) {
      if ((KEY_CLASS[buf[i]!]! & LENIENT) === 0) {
        return new SlsError('InvalidKey', `log #${logIndex}: key ${text} contains a control character`);
      }
    }
  }
  return new SlsError('InvalidKey', `log #${logIndex}: key ${text} is a reserved field name`);
}

function isReserved(buf: Uint8Array, start: number, len: number): boolean {
  if (startsWith(buf, start, len, TAG_PREFIX)) return true;
  for (const r of RESERVED_KEYS) if (r.length === len && startsWith(buf, start, len, r)) return true;
  return false;
}

const nativeLimits = new Float64Array(6);
const nativeOut = new Float64Array(3);

/**
 * Validates a serialized LogGroup against `limits` without decoding it; throws an `SlsError` on the first problem.
 *
 * With the addon (native-validate.ts), the C validator decides first: it accepts exactly what the JS scan below
 * accepts, at several times its speed (this runs on the event loop for every PutLogs body). What it rejects goes
 * through the JS scan, which throws the error that says why (and is the answer should the two ever disagree).
 */
export function validateLogGroup(buf: Uint8Array, limits: LogGroupLimits = DEFAULT_LOG_GROUP_LIMITS): LogGroupStats {
  const native = nativeValidate();
  if (native !== undefined) {
    const l = nativeLimits;
    l[0] = limits.maxLogsPerGroup;
    l[1] = limits.maxKeyBytes;
    l[2] = limits.maxValueBytes;
    l[3] = limits.maxTopicBytes;
    l[4] = limits.maxSourceBytes;
    l[5] = limits.keyPolicy === 'strict' ? 1 : 0;
    const out = nativeOut;
    if (native(buf, l, out)) return { logCount: out[0]!, minTime: out[1]!, maxTime: out[2]!, rawBytes: buf.length };
  }
  return validateLogGroupJs(buf, limits);
}

/**
 * `validateLogGroup` in JS alone: the reference the C validator is tested against.
 *
 * Written as one function with local positions and inline 1–2 byte varints: the first version (small helpers sharing
 * a module-level position) measured 4–5x slower, mostly from the shared-state loads and calls per field.
 * Every inline varint read is followed by a `pos > limit` check before its value is used, which also covers reads
 * past the end of the buffer (they yield `undefined`).
 */
export function validateLogGroupJs(buf: Uint8Array, limits: LogGroupLimits = DEFAULT_LOG_GROUP_LIMITS): LogGroupStats {
  const end = buf.length;
  const maxLogs = limits.maxLogsPerGroup;
  const maxKey = limits.maxKeyBytes;
  const maxValue = limits.maxValueBytes;
  const strict = limits.keyPolicy === 'strict';
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let logCount = 0;
  let minTime = 0;
  let maxTime = 0;
  let pos = 0;
  while (pos < end) {
    let tag = buf[pos++]!;
    if (tag >= 0x80) {
      tag = varintAt(buf, pos - 1, end);
      pos = st.pos;
      checkTag(tag);
    }
    if (tag !== 0x0a) {
      checkTag(tag);
      if (tag === 0x1a || tag === 0x22) {
        // Topic = 3, Source = 4
        const len = varintAt(buf, pos, end);
        pos = st.pos;
        if (len > end - pos) throw bad('length-delimited field runs past the end of its message');
        const max = tag === 0x1a ? limits.maxTopicBytes : limits.maxSourceBytes;
        if (len > max) {
          const name = tag === 0x1a ? 'topic' : 'source';
          throw new SlsError('ParameterInvalid', `${name} is ${len} bytes, over the limit of ${max}`);
        }
        pos += len;
      } else if (tag === 0x32) {
        // LogTags = 6: only value sizes are checked.
        const len = varintAt(buf, pos, end);
        pos = st.pos;
        if (len > end - pos) throw bad('length-delimited field runs past the end of its message');
        const tagEnd = pos + len;
        while (pos < tagEnd) {
          const t = varintAt(buf, pos, tagEnd);
          pos = st.pos;
          checkTag(t);
          if (t === 0x12) {
            const vlen = varintAt(buf, pos, tagEnd);
            pos = st.pos;
            if (vlen > tagEnd - pos) throw bad('length-delimited field runs past the end of its message');
            if (vlen > maxValue) {
              throw new SlsError('InvalidLogSize', `LogTag: a value of ${vlen} bytes is over the limit of ${maxValue}`);
            }
            pos += vlen;
          } else pos = skipAt(buf, t & 7, pos, tagEnd);
        }
      } else pos = skipAt(buf, tag & 7, pos, end);
      continue;
    }

    // Logs = 1
    let len = buf[pos++]!;
    if (len >= 0x80) {
      len = varintAt(buf, pos - 1, end);
      pos = st.pos;
    }
    if (pos > end || len > end - pos) throw bad('length-delimited field runs past the end of its message');
    if (logCount >= maxLogs) throw new SlsError('InvalidLogSize', `the LogGroup has more than ${maxLogs} logs`);
    const logEnd = pos + len;
    const logIndex = logCount++;
    // -1 = not seen; a repeated Time keeps the last one, as protobuf decoders do.
    let time = -1;
    while (pos < logEnd) {
      let t = buf[pos++]!;
      if (t >= 0x80) {
        t = varintAt(buf, pos - 1, logEnd);
        pos = st.pos;
      }
      if (t === 0x12) {
        // Contents = 2
        let clen = buf[pos++]!;
        if (clen >= 0x80) {
          clen = varintAt(buf, pos - 1, logEnd);
          pos = st.pos;
        }
        if (pos > logEnd || clen > logEnd - pos) throw bad('length-delimited field runs past the end of its message');
        const contentEnd = pos + clen;
        let sawKey = false;
        while (pos < contentEnd) {
          let ft = buf[pos++]!;
          if (ft >= 0x80) {
            ft = varintAt(buf, pos - 1, contentEnd);
            pos = st.pos;
          }
          let flen = 0;
          if (ft === 0x0a || ft === 0x12) {
            flen = buf[pos++]!;
            if (flen >= 0x80) {
              const b = buf[pos++]!;
              if (b < 0x80) flen = (flen & 0x7f) | (b << 7);
              else {
                flen = varintAt(buf, pos - 2, contentEnd);
                pos = st.pos;
              }
            }
            if (pos > contentEnd || flen > contentEnd - pos) {
              throw bad('length-delimited field runs past the end of its message');
            }
          }
          if (ft === 0x0a) {
            // Key: byte classes, then the reserved names (all start with "__": 0x5f 0x5f).
            let ok = flen > 0 && flen <= maxKey;
            if (strict) {
              if (ok) ok = (KEY_CLASS[buf[pos]!]! & STRICT_FIRST) !== 0;
              for (let i = pos, e = pos + flen; ok && i < e; i++) ok = (KEY_CLASS[buf[i]!]! & STRICT_REST) !== 0;
            } else if (ok) {
              // Lenient rule = no byte < 0x20 and no 0x7f, tested 4 bytes at a time (SWAR): `(w - 0x20202020) & ~w`
              // has a high bit set iff some byte is < 0x20; the same on `w ^ 0x7f7f7f7f` against 0x01 finds 0x7f.
              // Key bytes are most of what this function reads; this made the scan ~2x faster than a table lookup.
              let i = pos;
              const e = pos + flen;
              for (; i + 4 <= e; i += 4) {
                const w = view.getUint32(i, true);
                const x = w ^ 0x7f7f7f7f;
                if ((((w - 0x20202020) & ~w) | ((x - 0x01010101) & ~x)) & 0x80808080) {
                  ok = false;
                  break;
                }
              }
              for (; ok && i < e; i++) ok = (KEY_CLASS[buf[i]!]! & LENIENT) !== 0;
            }
            if (ok && flen >= 7 && buf[pos] === 0x5f && buf[pos + 1] === 0x5f) ok = !isReserved(buf, pos, flen);
            if (!ok) throw keyError(buf, pos, flen, limits, logIndex);
            sawKey = true;
            pos += flen;
          } else if (ft === 0x12) {
            if (flen > maxValue) {
              throw new SlsError(
                'InvalidLogSize',
                `log #${logIndex}: a value of ${flen} bytes is over the limit of ${maxValue}`,
              );
            }
            pos += flen;
          } else {
            checkTag(ft);
            pos = skipAt(buf, ft & 7, pos, contentEnd);
          }
        }
        if (!sawKey) throw new SlsError('InvalidKey', `log #${logIndex}: a content has no key`);
      } else if (t === 0x08) {
        // Time = 1, uint32
        time = varintAt(buf, pos, logEnd);
        pos = st.pos;
        if (time > 0xffffffff) throw new SlsError('InvalidTimestamp', `log #${logIndex}: time ${time} is not a uint32`);
      } else if (t === 0x25) {
        // TimeNs = 4, fixed32
        if (logEnd - pos < 4) throw bad('truncated fixed32');
        const ns = (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16) | (buf[pos + 3]! << 24)) >>> 0;
        if (ns > MAX_TIME_NS)
          throw new SlsError('InvalidTimestamp', `log #${logIndex}: TimeNs ${ns} is over 999999999`);
        pos += 4;
      } else {
        checkTag(t);
        pos = skipAt(buf, t & 7, pos, logEnd);
      }
    }
    if (time < 0) throw new SlsError('InvalidTimestamp', `log #${logIndex}: missing the required Time field`);
    if (logIndex === 0) {
      minTime = time;
      maxTime = time;
    } else if (time < minTime) minTime = time;
    else if (time > maxTime) maxTime = time;
  }
  return { logCount, minTime, maxTime, rawBytes: end };
}
