/**
 * The console's live parse preview: a sample pasted into the collection config form goes through the agent's own
 * code — config validation (parseCollectionConfig), entry splitting (splitEntries, multiline included), field
 * parsing, filters and time parsing (LogBuilder into a LogGroupWriter) — and the LogGroup it writes is decoded back.
 * What the preview shows is therefore exactly what the agent would send, not a browser re-implementation.
 */
import { LogGroupWriter } from '../../agent/batch/log-group-writer.js';
import { ConfigFieldError, parseCollectionConfig } from '../../agent/config/logtail-config.js';
import { AgentMetrics } from '../../agent/metrics.js';
import { LogBuilder } from '../../agent/parse/log-builder.js';
import { checkUserRegex, compileUserRegex } from '../../agent/parse/safe-regex.js';
import { splitEntries } from '../../agent/tail/entry-splitter.js';
import { decodeLogGroup } from '../../protocol/log-group.js';

export interface PreviewLog {
  /** The entry as split from the sample (multiline entries keep their newlines). */
  readonly raw: string;
  /** `parsed`; `unmatched` (kept as `__raw_log__`, or dropped with discardUnmatch); `filtered` (a filter dropped it). */
  readonly status: 'parsed' | 'unmatched' | 'filtered';
  /** Field pairs in the agent's order; absent when filtered. */
  readonly fields?: readonly (readonly [string, string])[];
  /** Log time (unix s) when taken from the time key; absent when the read time would be used. */
  readonly time?: number;
  /** Set when the time key was configured but its value did not parse. */
  readonly timeError?: string;
}

export interface Suggestion {
  readonly regex: string;
  readonly keys: readonly string[];
  /** When one group holds a time in a format the agent reads, that key and its format. */
  readonly timeKey?: string;
  readonly timeFormat?: string;
}

export interface PreviewResult {
  readonly logs: readonly PreviewLog[];
  /** For regex mode: a regex built from the first entry of the sample, and names for its groups. */
  readonly suggestion?: Suggestion;
}

const MAX_SAMPLE_BYTES = 64 * 1024;
const MAX_ENTRY_BYTES = 512 * 1024;
/** Read time used for the preview; a parsed time differs from it. */
const READ_TIME = 1;

/** Throws ConfigFieldError (the field and how to fix it) for a config the agent would refuse. */
export function previewParse(configJson: unknown, sample: string): PreviewResult {
  const config = parseCollectionConfig(withPreviewDefaults(configJson));
  const bytes = Buffer.from(sample.length > MAX_SAMPLE_BYTES ? sample.slice(0, MAX_SAMPLE_BYTES) : sample, 'utf8');
  const metrics = new AgentMetrics();
  // Unmatched entries are shown, not dropped, so the user sees which ones the format misses.
  const builder = new LogBuilder({ ...config, discardUnmatch: false }, metrics);
  const beginRegex = config.logBeginRegex ? compileUserRegex(`^(?:${config.logBeginRegex})`, false) : undefined;
  const writer = new LogGroupWriter(Math.max(4096, bytes.length * 2 + 1024));
  const entries: { raw: string; kept: boolean; unmatched: boolean; timeError: boolean }[] = [];
  splitEntries(bytes, bytes.length, true, { beginRegex, maxEntryBytes: MAX_ENTRY_BYTES }, (s, e) => {
    if (e === s && beginRegex === undefined) return; // blank lines are not logs worth showing
    const unmatchedBefore = metrics.unmatchedLogs;
    const timeErrorsBefore = metrics.timeParseErrors;
    const kept = builder.add(writer, bytes, s, e, READ_TIME);
    entries.push({
      raw: bytes.toString('utf8', s, e),
      kept,
      unmatched: metrics.unmatchedLogs > unmatchedBefore,
      timeError: metrics.timeParseErrors > timeErrorsBefore,
    });
  });
  const group = decodeLogGroup(writer.finish(undefined, '', []));
  let next = 0;
  const logs: PreviewLog[] = entries.map((entry) => {
    if (!entry.kept) return { raw: entry.raw, status: 'filtered' };
    const log = group.logs[next++]!;
    const fields = log.contents.map((c) => [c.key, c.value] as const);
    return {
      raw: entry.raw,
      status: entry.unmatched ? 'unmatched' : 'parsed',
      fields,
      ...(log.time !== READ_TIME ? { time: log.time } : {}),
      ...(entry.timeError ? { timeError: `the time key's value does not match the time format` } : {}),
    };
  });
  const first = entries[0]?.raw;
  const suggestion = config.logType === 'common_reg_log' || config.logType === 'line' ? suggestRegex(first) : undefined;
  return { logs, ...(suggestion ? { suggestion } : {}) };
}

/** Path and logstore are not needed to parse: fill them when the form has not yet. */
function withPreviewDefaults(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const root = input as Record<string, unknown>;
  const d = (
    typeof root['inputDetail'] === 'object' && root['inputDetail'] !== null ? root['inputDetail'] : {}
  ) as Record<string, unknown>;
  const o = (
    typeof root['outputDetail'] === 'object' && root['outputDetail'] !== null ? root['outputDetail'] : {}
  ) as Record<string, unknown>;
  const blank = (v: unknown): boolean => v === undefined || v === null || v === '';
  return {
    ...root,
    inputType: root['inputType'] ?? 'file',
    inputDetail: {
      ...d,
      logPath: blank(d['logPath']) ? '/preview' : d['logPath'],
      filePattern: blank(d['filePattern']) ? '*.log' : d['filePattern'],
    },
    outputDetail: { ...o, logstoreName: blank(o['logstoreName']) ? 'preview' : o['logstoreName'] },
  };
}

/**
 * A regex for one sample line, built from its shape: `"…"` and `[…]` become one group each, every other run of
 * non-blank characters one `(\S+)`, blanks stay literal. Group names are guessed from the values (ip, time, request,
 * status, size) and numbered otherwise. Undefined when the sample is empty or the result would not match it.
 */
export function suggestRegex(sample: string | undefined): Suggestion | undefined {
  const line = sample?.split('\n')[0]?.replace(/\r$/, '');
  if (line === undefined || line.trim() === '') return undefined;
  let regex = '';
  const values: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      let j = i;
      while (j < line.length && (line[j] === ' ' || line[j] === '\t')) j++;
      regex += j - i === 1 && c === ' ' ? ' ' : '\\s+';
      i = j;
    } else if (c === '"' && line.indexOf('"', i + 1) > 0) {
      const end = closingQuote(line, i + 1);
      const inner = line.slice(i + 1, end);
      const request = /^([A-Z]+) (\S+) (HTTP\/[\d.]+)$/.exec(inner);
      if (request) {
        // An HTTP request line: method, URI and protocol as three fields.
        regex += '"(\\S+) (\\S+) ([^"]*)"';
        values.push(REQUEST_METHOD, request[2]!, REQUEST_PROTOCOL);
      } else {
        regex += '"((?:[^"\\\\]|\\\\.)*)"';
        values.push(QUOTED + inner);
      }
      i = end + 1;
    } else if (c === '[' && line.indexOf(']', i + 1) > 0) {
      const end = line.indexOf(']', i + 1);
      regex += '\\[([^\\]]*)\\]';
      values.push(line.slice(i + 1, end));
      i = end + 1;
    } else {
      let j = i;
      while (j < line.length && !/[\s"[]/.test(line[j]!)) j++;
      if (j === i) j = i + 1;
      regex += '(\\S+)';
      values.push(line.slice(i, j));
      i = j;
    }
  }
  const keys = nameGroups(values);
  try {
    checkUserRegex(regex, 'regex');
    const m = compileUserRegex(regex, true).exec(line);
    if (m === null || m.length - 1 !== keys.length) return undefined;
  } catch {
    return undefined;
  }
  for (const [i, v] of values.entries()) {
    const text = v.startsWith(QUOTED) ? v.slice(QUOTED.length) : v;
    const format = TIME_FORMATS.find(([re]) => re.test(text))?.[1];
    if (format !== undefined) return { regex, keys, timeKey: keys[i]!, timeFormat: format };
  }
  return { regex, keys };
}

/** Time shapes common in log lines and their strftime formats (as the agent's timeFormat reads them). */
const TIME_FORMATS: readonly (readonly [RegExp, string])[] = [
  [/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}$/, '%d/%b/%Y:%H:%M:%S %z'],
  [/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:?\d{2})$/, '%Y-%m-%dT%H:%M:%S%z'],
  [/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/, '%Y-%m-%d %H:%M:%S'],
];

function closingQuote(line: string, from: number): number {
  for (let i = from; i < line.length; i++) {
    if (line[i] === '\\') i++;
    else if (line[i] === '"') return i;
  }
  return line.length;
}

const REQUEST_METHOD = '\u0000method';
const REQUEST_PROTOCOL = '\u0000protocol';
/** Marks a value that was quoted in the sample (names depend on it). */
const QUOTED = '\u0000"';

function nameGroups(values: readonly string[]): string[] {
  const used = new Map<string, number>();
  return values.map((v, i) => {
    let name: string;
    if (v === REQUEST_METHOD) name = 'method';
    else if (v === REQUEST_PROTOCOL) name = 'protocol';
    else if (values[i - 1] === REQUEST_METHOD) name = 'request_uri';
    else if (v.startsWith(QUOTED)) {
      const q = v.slice(QUOTED.length);
      if (/^(GET|POST|PUT|DELETE|HEAD|PATCH|OPTIONS) \S+/.test(q)) name = 'request';
      else if (/^(-|https?:\/\/\S*)$/.test(q)) name = 'referer';
      else if (/^[\w.-]+\/[\d.]+/.test(q)) name = 'user_agent';
      else name = `key_${i + 1}`;
    } else if (
      /^\d{1,3}(\.\d{1,3}){3}$/.test(v) ||
      (/^[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}$/i.test(v) && /[a-f]|::/i.test(v))
    ) {
      name = 'ip';
    } else if (/^\d{1,4}[-/]\w{2,3}[-/]\d{2,4}[ :T]\d{2}:\d{2}/.test(v) || /^\d{2}\/\w{3}\/\d{4}:/.test(v))
      name = 'time';
    else if (/^\d{4}-\d{2}-\d{2}$/.test(v)) name = 'date';
    else if (/^\d{2}:\d{2}:\d{2}([.,]\d+)?$/.test(v)) name = 'time';
    else if (/^(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL)$/i.test(v)) name = 'level';
    else if (/^[1-5]\d\d$/.test(v) && !used.has('status')) name = 'status';
    else if (/^\d+$/.test(v)) name = 'size';
    else name = `key_${i + 1}`;
    const n = (used.get(name) ?? 0) + 1;
    used.set(name, n);
    return n === 1 ? name : `${name}_${n}`;
  });
}

export { ConfigFieldError };
