/**
 * Field parsers: one log text in, a flat `[key, value, key, value, …]` list out (flat arrays allocate less than
 * objects on the hot path), or `undefined` when the text does not match the format.
 */
import type { CollectionConfig } from '../config/logtail-config.js';
import { compileUserRegex } from './safe-regex.js';

export type Fields = string[];
export type FieldParser = (text: string) => Fields | undefined;

/** nginx `combined` plus the two optional timing fields most setups append. */
const NGINX =
  /^(\S+) - (\S+) \[([^\]]+)\] "(\S+) (\S+) ([^"]*)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"(?: (\S+))?(?: (\S+))?/;
const NGINX_KEYS = [
  'remote_addr',
  'remote_user',
  'time_local',
  'method',
  'request_uri',
  'protocol',
  'status',
  'body_bytes_sent',
  'http_referer',
  'http_user_agent',
  'request_time',
  'upstream_response_time',
];
/** Apache `combined` (`%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`); the last two are optional (common). */
const APACHE =
  /^(\S+) (\S+) (\S+) \[([^\]]+)\] "(\S+) (\S+) ([^"]*)" (\d{3}) (\d+|-)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?/;
const APACHE_KEYS = [
  'remote_addr',
  'ident',
  'remote_user',
  'time_local',
  'method',
  'request_uri',
  'protocol',
  'status',
  'response_size',
  'referer',
  'user_agent',
];

/** The time format of the presets' `time_local`. */
export const PRESET_TIME_KEY = 'time_local';
export const PRESET_TIME_FORMAT = '%d/%b/%Y:%H:%M:%S %z';

function regexParser(re: RegExp, keys: readonly string[]): FieldParser {
  return (text) => {
    const m = re.exec(text);
    if (m === null) return undefined;
    const out: Fields = [];
    for (let i = 0; i < keys.length; i++) {
      const v = m[i + 1];
      if (v !== undefined) out.push(keys[i]!, v);
    }
    return out;
  };
}

function jsonParser(): FieldParser {
  return (text) => {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    const out: Fields = [];
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k === '') continue;
      out.push(k, typeof x === 'string' ? x : JSON.stringify(x));
    }
    return out;
  };
}

/** Splits one delimited record; a quoted column may hold the separator and doubled quotes (RFC 4180 style). */
export function splitDelimited(text: string, sep: string, quote: string): string[] | undefined {
  const cols: string[] = [];
  let i = 0;
  const n = text.length;
  for (;;) {
    if (text[i] === quote) {
      let v = '';
      i++;
      for (;;) {
        const q = text.indexOf(quote, i);
        if (q < 0) return undefined; // unterminated quote
        v += text.slice(i, q);
        if (text[q + 1] === quote) {
          v += quote;
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      cols.push(v);
      if (i === n) return cols;
      if (text[i] !== sep) return undefined;
      i++;
    } else {
      const s = text.indexOf(sep, i);
      if (s < 0) {
        cols.push(text.slice(i));
        return cols;
      }
      cols.push(text.slice(i, s));
      i = s + 1;
    }
  }
}

function delimiterParser(keys: readonly string[], sep: string, quote: string): FieldParser {
  return (text) => {
    const cols = splitDelimited(text, sep, quote);
    if (cols === undefined || cols.length !== keys.length) return undefined;
    const out: Fields = [];
    for (let i = 0; i < keys.length; i++) out.push(keys[i]!, cols[i]!);
    return out;
  };
}

/** The parser for a config; `undefined` for line mode (the text goes to `content` as is). */
export function fieldParserFor(c: CollectionConfig): FieldParser | undefined {
  switch (c.logType) {
    case 'line':
      return undefined;
    case 'nginx':
      return regexParser(NGINX, NGINX_KEYS);
    case 'apache':
      return regexParser(APACHE, APACHE_KEYS);
    case 'json_log':
      return jsonParser();
    case 'delimiter_log':
      return delimiterParser(c.keys, c.separator, c.quote);
    case 'common_reg_log':
      return regexParser(compileUserRegex(c.regex!, true), c.keys);
  }
}
