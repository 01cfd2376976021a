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

let p = 0;

function bad(what: string): SlsError {
  return new SlsError('PostBodyInvalid', `malformed protobuf: ${what}`);
}

/** Varint that must end before `end`; over 2^53 yields Infinity (only lengths and Time are used as numbers). */
function varint(buf: Uint8Array, end: number): number {
  let b = buf[p++]!;
  if (b < 0x80 && p <= end) return b;
  let v = b & 0x7f;
  let mul = 0x80;
  for (let i = 1; i < 10; i++) {
    if (p >= end) throw bad('truncated varint');
    b = buf[p++]!;
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v > Number.MAX_SAFE_INTEGER ? Number.POSITIVE_INFINITY : v;
    mul *= 0x80;
  }
  throw bad('varint longer than 10 bytes');
}

function lenEnd(buf: Uint8Array, end: number): number {
  const len = varint(buf, end);
  if (len > end - p) throw bad('length-delimited field runs past the end of its message');
  return p + len;
}

function tag(buf: Uint8Array, end: number): number {
  const t = varint(buf, end);
  if (t < 8 || t > 0xffffffff) throw bad(`invalid field tag ${t}`);
  return t;
}

function skip(buf: Uint8Array, wireType: number, end: number): void {
  if (wireType === 0) varint(buf, end);
  else if (wireType === 2) p = lenEnd(buf, end);
  else if (wireType === 5) {
    if (end - p < 4) throw bad('truncated fixed32');
    p += 4;
  } else if (wireType === 1) {
    if (end - p < 8) throw bad('truncated fixed64');
    p += 8;
  } else throw bad(`unsupported wire type ${wireType}`);
}

function startsWith(buf: Uint8Array, start: number, len: number, word: Buffer): boolean {
  if (len < word.length) return false;
  for (let i = 0; i < word.length; i++) if (buf[start + i] !== word[i]) return false;
  return true;
}

function keyText(buf: Uint8Array, start: number, len: number): string {
  return JSON.stringify(Buffer.from(buf.buffer, buf.byteOffset + start, Math.min(len, 64)).toString('utf8'));
}

function checkKey(buf: Uint8Array, start: number, len: number, limits: LogGroupLimits, logIndex: number): void {
  if (len === 0) throw new SlsError('InvalidKey', `log #${logIndex}: empty key`);
  if (len > limits.maxKeyBytes) {
    throw new SlsError(
      'InvalidKey',
      `log #${logIndex}: key ${keyText(buf, start, len)}… is ${len} bytes, over the limit of ${limits.maxKeyBytes}`,
    );
  }
  const strict = limits.keyPolicy === 'strict';
  const need = strict ? STRICT_REST : LENIENT;
  if (strict && (KEY_CLASS[buf[start]!]! & STRICT_FIRST) === 0) {
    throw new SlsError('InvalidKey', `log #${logIndex}: key ${keyText(buf, start, len)} must start with a letter or _`);
  }
  for (let i = start, e = start + len; i < e; i++) {
    if ((KEY_CLASS[buf[i]!]! & need) === 0) {
      throw new SlsError(
        'InvalidKey',
        `log #${logIndex}: key ${keyText(buf, start, len)} contains ${strict ? 'a character outside [A-Za-z0-9_]' : 'a control character'}`,
      );
    }
  }
  // 0x5f = '_': reserved names all start with "__", so most keys skip the comparisons.
  if (len >= 7 && buf[start] === 0x5f && buf[start + 1] === 0x5f) {
    let reserved = startsWith(buf, start, len, TAG_PREFIX);
    for (const r of RESERVED_KEYS) if (r.length === len && startsWith(buf, start, len, r)) reserved = true;
    if (reserved) {
      throw new SlsError('InvalidKey', `log #${logIndex}: key ${keyText(buf, start, len)} is a reserved field name`);
    }
  }
}

/** Walks one LogContent (or LogTag when `logIndex < 0`): Key = 1, Value = 2. */
function checkPair(buf: Uint8Array, end: number, limits: LogGroupLimits, logIndex: number): void {
  let sawKey = false;
  while (p < end) {
    const t = tag(buf, end);
    if (t === 0x0a) {
      const e = lenEnd(buf, end);
      if (logIndex >= 0) checkKey(buf, p, e - p, limits, logIndex);
      sawKey = true;
      p = e;
    } else if (t === 0x12) {
      const e = lenEnd(buf, end);
      if (e - p > limits.maxValueBytes) {
        throw new SlsError(
          'InvalidLogSize',
          `${logIndex >= 0 ? `log #${logIndex}` : 'LogTag'}: a value of ${e - p} bytes is over the limit of ${limits.maxValueBytes}`,
        );
      }
      p = e;
    } else skip(buf, t & 7, end);
  }
  if (!sawKey && logIndex >= 0) throw new SlsError('InvalidKey', `log #${logIndex}: a content has no key`);
}

let minTime = 0;
let maxTime = 0;

function checkLog(buf: Uint8Array, end: number, limits: LogGroupLimits, logIndex: number): void {
  // -1 = not seen; a repeated Time keeps the last one, as protobuf decoders do.
  let time = -1;
  while (p < end) {
    const t = tag(buf, end);
    if (t === 0x12) {
      // Contents = 2
      const e = lenEnd(buf, end);
      checkPair(buf, e, limits, logIndex);
      p = e;
    } else if (t === 0x08) {
      // Time = 1, uint32
      time = varint(buf, end);
      if (time > 0xffffffff) throw new SlsError('InvalidTimestamp', `log #${logIndex}: time ${time} is not a uint32`);
    } else if (t === 0x25) {
      // TimeNs = 4, fixed32
      if (end - p < 4) throw bad('truncated fixed32');
      const ns = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
      if (ns > MAX_TIME_NS) throw new SlsError('InvalidTimestamp', `log #${logIndex}: TimeNs ${ns} is over 999999999`);
      p += 4;
    } else skip(buf, t & 7, end);
  }
  if (time < 0) throw new SlsError('InvalidTimestamp', `log #${logIndex}: missing the required Time field`);
  if (logIndex === 0) {
    minTime = time;
    maxTime = time;
  } else if (time < minTime) minTime = time;
  else if (time > maxTime) maxTime = time;
}

/** Validates a serialized LogGroup against `limits` without decoding it; throws an `SlsError` on the first problem. */
export function validateLogGroup(buf: Uint8Array, limits: LogGroupLimits = DEFAULT_LOG_GROUP_LIMITS): LogGroupStats {
  const end = buf.length;
  let logCount = 0;
  minTime = 0;
  maxTime = 0;
  p = 0;
  while (p < end) {
    const t = tag(buf, end);
    if (t === 0x0a) {
      // Logs = 1
      const e = lenEnd(buf, end);
      if (logCount >= limits.maxLogsPerGroup) {
        throw new SlsError('InvalidLogSize', `the LogGroup has more than ${limits.maxLogsPerGroup} logs`);
      }
      checkLog(buf, e, limits, logCount);
      logCount++;
      p = e;
    } else if (t === 0x1a || t === 0x22) {
      // Topic = 3, Source = 4
      const e = lenEnd(buf, end);
      const max = t === 0x1a ? limits.maxTopicBytes : limits.maxSourceBytes;
      if (e - p > max) {
        const name = t === 0x1a ? 'topic' : 'source';
        throw new SlsError('ParameterInvalid', `${name} is ${e - p} bytes, over the limit of ${max}`);
      }
      p = e;
    } else if (t === 0x32) {
      // LogTags = 6
      const e = lenEnd(buf, end);
      checkPair(buf, e, limits, -1);
      p = e;
    } else skip(buf, t & 7, end);
  }
  return { logCount, minTime, maxTime, rawBytes: end };
}
