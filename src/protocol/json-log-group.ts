/**
 * The JSON form of a LogGroup (sls-api.md §4; JV JSON mode, the web-tracking STS plugin, PutWebtracking):
 *
 *   {"__topic__":"t","__source__":"1.2.3.4","__logs__":[{"__time__":1700000000,"k":"v"}],"__tags__":{"tag1":"v"}}
 *
 * with an optional `__time_ns_part__` per log. Values that are not strings are converted the way the web-tracking
 * SDK does before sending: numbers and booleans with `String()`, objects, arrays and null with `JSON.stringify`
 * (what the real service does with them was not verified). Shape errors are `PostBodyInvalid` naming the field.
 */
import { SlsError } from './errors.js';
import type { Log, LogContent, LogGroup, LogTag } from './log-group.js';

export interface JsonLogGroupOptions {
  /**
   * Time (unix seconds) for logs without `__time__`; web tracking stamps logs with the receive time. Without it a
   * missing `__time__` is an error.
   */
  readonly defaultTime?: number;
}

const MAX_TIME_NS = 999_999_999;

function invalid(message: string): SlsError {
  return new SlsError('PostBodyInvalid', message);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringify(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v) ?? '';
}

/** An integer in [min, max], given as a JSON number or a decimal string. */
function intField(v: unknown, field: string, min: number, max: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw invalid(`${field} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return n;
}

function optionalString(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw invalid(`${field} must be a string, got ${JSON.stringify(v)}`);
}

function decodeLog(v: unknown, i: number, opts: JsonLogGroupOptions): Log {
  if (!isPlainObject(v)) throw invalid(`__logs__[${i}] must be an object`);
  let time: number | undefined;
  let timeNs: number | undefined;
  const contents: LogContent[] = [];
  for (const [key, value] of Object.entries(v)) {
    if (key === '__time__') time = intField(value, `__logs__[${i}].__time__`, 0, 0xffffffff);
    else if (key === '__time_ns_part__') timeNs = intField(value, `__logs__[${i}].__time_ns_part__`, 0, MAX_TIME_NS);
    else contents.push({ key, value: stringify(value) });
  }
  if (time === undefined) {
    if (opts.defaultTime === undefined) throw invalid(`__logs__[${i}].__time__ is missing`);
    time = opts.defaultTime;
  }
  return timeNs === undefined ? { time, contents } : { time, timeNs, contents };
}

/** Parses a JSON LogGroup body (UTF-8). */
export function decodeJsonLogGroup(body: Uint8Array | string, opts: JsonLogGroupOptions = {}): LogGroup {
  let doc: unknown;
  try {
    doc = JSON.parse(
      typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'),
    );
  } catch (err) {
    throw new SlsError('PostBodyInvalid', `body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isPlainObject(doc)) throw invalid('body must be a JSON object with __logs__');
  const rawLogs = doc['__logs__'];
  if (!Array.isArray(rawLogs)) throw invalid('__logs__ must be an array of objects');
  const logs = rawLogs.map((l, i) => decodeLog(l, i, opts));
  const tags: LogTag[] = [];
  const rawTags = doc['__tags__'];
  if (rawTags !== undefined && rawTags !== null) {
    if (!isPlainObject(rawTags)) throw invalid('__tags__ must be an object of strings');
    for (const [key, value] of Object.entries(rawTags)) tags.push({ key, value: stringify(value) });
  }
  const g: LogGroup = { logs, tags };
  const topic = optionalString(doc['__topic__'], '__topic__');
  if (topic !== undefined) g.topic = topic;
  const source = optionalString(doc['__source__'], '__source__');
  if (source !== undefined) g.source = source;
  return g;
}
