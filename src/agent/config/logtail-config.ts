/**
 * The SLS Logtail collection config (sls-api.md §5.10), validated once at the edge and frozen. Errors name the field
 * and say how to fix it; unknown fields are ignored, as the SLS console keeps many we do not use.
 */
import { checkUserRegex } from '../parse/safe-regex.js';
import { ConfigFieldError } from './config-error.js';

export { ConfigFieldError };

export type LogType = 'common_reg_log' | 'json_log' | 'delimiter_log' | 'nginx' | 'apache' | 'line';
export type TopicMode = { kind: 'none' } | { kind: 'path'; regex: RegExp } | { kind: 'fixed'; value: string };

export interface CollectionConfig {
  readonly configName: string;
  readonly logstore: string;
  readonly logPath: string;
  readonly filePattern: string;
  readonly maxDepth: number;
  readonly excludeFiles: readonly string[];
  readonly excludeDirs: readonly string[];
  readonly logType: LogType;
  /** Multiline: a log begins on a line matching this (anchored at the line start). */
  readonly logBeginRegex?: string;
  readonly regex?: string;
  readonly keys: readonly string[];
  readonly separator: string;
  readonly quote: string;
  readonly timeKey?: string;
  readonly timeFormat?: string;
  /** Zone for times without one, as minutes east of UTC. */
  readonly timeZoneOffsetMin: number;
  readonly topic: TopicMode;
  readonly filterKey: readonly string[];
  readonly filterRegex: readonly string[];
  readonly discardUnmatch: boolean;
  readonly tailExisted: boolean;
  readonly fileEncoding: 'utf8' | 'gbk';
}

const LOG_TYPES: readonly LogType[] = ['common_reg_log', 'json_log', 'delimiter_log', 'nginx', 'apache', 'line'];
const LOGSTORE_NAME = /^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$/;

type Json = Record<string, unknown>;

function obj(v: unknown, field: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigFieldError(field, 'must be an object');
  return v as Json;
}

function str(o: Json, key: string, field: string, fallback?: string): string {
  const v = o[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new ConfigFieldError(field, 'is required (a string)');
  }
  if (typeof v !== 'string') throw new ConfigFieldError(field, `must be a string, got ${JSON.stringify(v)}`);
  return v;
}

function bool(o: Json, key: string, field: string, fallback: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new ConfigFieldError(field, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function strList(o: Json, key: string, field: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new ConfigFieldError(field, 'must be an array of strings');
  return v as string[];
}

/** `+0800`, `+08:00`, `GMT+08:00`, `UTC`, or empty (= UTC). */
export function parseZone(text: string, field: string): number {
  const t = text.trim().replace(/^(GMT|UTC)/i, '');
  if (t === '') return 0;
  const m = /^([+-])(\d{1,2}):?(\d{2})?$/.exec(t);
  if (!m) throw new ConfigFieldError(field, `${JSON.stringify(text)} is not a zone; write +08:00 or GMT+08:00`);
  const min = Number(m[2]) * 60 + Number(m[3] ?? 0);
  if (min > 14 * 60) throw new ConfigFieldError(field, `${JSON.stringify(text)} is beyond ±14:00`);
  return m[1] === '-' ? -min : min;
}

function topicMode(format: string): TopicMode {
  if (format === '' || format === 'none' || format === 'default') return { kind: 'none' };
  if (format.startsWith('customized://')) return { kind: 'fixed', value: format.slice('customized://'.length) };
  if (format === 'global_topic' || format === 'group_topic') return { kind: 'none' };
  checkUserRegex(format, 'inputDetail.topicFormat');
  const re = new RegExp(format);
  return { kind: 'path', regex: re };
}

/** Validates one Logtail config (already JSON-parsed) and returns it frozen. */
export function parseCollectionConfig(input: unknown): CollectionConfig {
  const root = obj(input, 'config');
  const configName = str(root, 'configName', 'configName', 'unnamed');
  const inputType = str(root, 'inputType', 'inputType', 'file');
  if (inputType !== 'file') throw new ConfigFieldError('inputType', `only "file" is collected, got "${inputType}"`);
  const d = obj(root['inputDetail'], 'inputDetail');
  const out = obj(root['outputDetail'], 'outputDetail');
  const logstore = str(out, 'logstoreName', 'outputDetail.logstoreName');
  if (!LOGSTORE_NAME.test(logstore))
    throw new ConfigFieldError('outputDetail.logstoreName', `"${logstore}" is not a valid logstore name`);

  const logPath = str(d, 'logPath', 'inputDetail.logPath');
  if (!logPath.startsWith('/')) throw new ConfigFieldError('inputDetail.logPath', 'must be an absolute directory');
  const filePattern = str(d, 'filePattern', 'inputDetail.filePattern');
  if (filePattern === '' || filePattern.includes('/'))
    throw new ConfigFieldError('inputDetail.filePattern', 'must be a file-name glob such as "*.log" (no "/")');
  const maxDepthRaw = d['maxDepth'] ?? 0;
  if (typeof maxDepthRaw !== 'number' || !Number.isInteger(maxDepthRaw) || maxDepthRaw < 0 || maxDepthRaw > 1000)
    throw new ConfigFieldError('inputDetail.maxDepth', 'must be an integer from 0 to 1000');

  let logType = str(d, 'logType', 'inputDetail.logType', 'common_reg_log') as LogType;
  const preset = d['preset'] ?? d['logFormat'];
  if (preset === 'nginx' || preset === 'apache') logType = preset;
  if (!LOG_TYPES.includes(logType))
    throw new ConfigFieldError('inputDetail.logType', `"${logType}" is not one of ${LOG_TYPES.join(', ')}`);

  const keys = strList(d, 'key', 'inputDetail.key');
  let regex: string | undefined = d['regex'] === undefined ? undefined : str(d, 'regex', 'inputDetail.regex');
  if (logType === 'common_reg_log') {
    if (regex === undefined || regex === '' || regex === '(.*)') {
      // No regex: SLS "simple mode" — one log per line (or multiline entry) in the `content` key.
      logType = 'line';
      regex = undefined;
    } else {
      const groups = checkUserRegex(regex, 'inputDetail.regex');
      if (keys.length !== groups)
        throw new ConfigFieldError('inputDetail.key', `has ${keys.length} names but the regex has ${groups} groups`);
    }
  }
  const separator = str(d, 'separator', 'inputDetail.separator', ',');
  const quote = str(d, 'quote', 'inputDetail.quote', '"');
  if (logType === 'delimiter_log') {
    if (separator.length !== 1 && separator !== '\\t')
      throw new ConfigFieldError('inputDetail.separator', 'must be one character (or "\\t")');
    if (quote.length !== 1) throw new ConfigFieldError('inputDetail.quote', 'must be one character');
    if (keys.length === 0) throw new ConfigFieldError('inputDetail.key', 'delimiter_log needs the column names');
  }
  const logBeginRegex =
    d['logBeginRegex'] === undefined ? undefined : str(d, 'logBeginRegex', 'inputDetail.logBeginRegex');
  if (logBeginRegex !== undefined && logBeginRegex !== '.*') checkUserRegex(logBeginRegex, 'inputDetail.logBeginRegex');

  const filterKey = strList(d, 'filterKey', 'inputDetail.filterKey');
  const filterRegex = strList(d, 'filterRegex', 'inputDetail.filterRegex');
  if (filterKey.length !== filterRegex.length)
    throw new ConfigFieldError('inputDetail.filterRegex', 'needs one regex per filterKey');
  for (const [i, r] of filterRegex.entries()) checkUserRegex(r, `inputDetail.filterRegex[${i}]`);

  const timeKey = str(d, 'timeKey', 'inputDetail.timeKey', '');
  const timeFormat = str(d, 'timeFormat', 'inputDetail.timeFormat', '');
  if (timeKey !== '' && timeFormat === '')
    throw new ConfigFieldError('inputDetail.timeFormat', `is required when timeKey ("${timeKey}") is set`);
  const zone = str(d, 'timeZone', 'inputDetail.timeZone', '');
  const encoding = str(d, 'fileEncoding', 'inputDetail.fileEncoding', 'utf8').toLowerCase();
  if (encoding !== 'utf8' && encoding !== 'gbk')
    throw new ConfigFieldError('inputDetail.fileEncoding', 'must be "utf8" or "gbk"');

  const config: CollectionConfig = {
    configName,
    logstore,
    logPath: logPath.replace(/\/+$/, '') || '/',
    filePattern,
    maxDepth: maxDepthRaw,
    excludeFiles: strList(d, 'excludeFiles', 'inputDetail.excludeFiles'),
    excludeDirs: strList(d, 'excludeDirs', 'inputDetail.excludeDirs'),
    logType,
    ...(logBeginRegex !== undefined && logBeginRegex !== '.*' && logBeginRegex !== '' ? { logBeginRegex } : {}),
    ...(regex !== undefined ? { regex } : {}),
    keys,
    separator: separator === '\\t' ? '\t' : separator,
    quote,
    ...(timeKey !== '' ? { timeKey, timeFormat } : {}),
    timeZoneOffsetMin: parseZone(zone, 'inputDetail.timeZone'),
    topic: topicMode(str(d, 'topicFormat', 'inputDetail.topicFormat', 'none')),
    filterKey,
    filterRegex,
    discardUnmatch: bool(d, 'discardUnmatch', 'inputDetail.discardUnmatch', false),
    tailExisted: bool(d, 'tailExisted', 'inputDetail.tailExisted', false),
    fileEncoding: encoding,
  };
  return Object.freeze(config);
}
