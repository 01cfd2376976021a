/**
 * Turns entries (byte ranges of a read buffer) into logs in a LogGroupWriter: parse fields, apply filters, take the
 * time from `timeKey` (else the read time), keep or drop what does not match. Line mode without filters or time key
 * is the fast path: the bytes are copied into the LogGroup without ever becoming a JS string.
 */

import { TextDecoder } from 'node:util';
import type { LogGroupWriter } from '../batch/log-group-writer.js';
import type { CollectionConfig } from '../config/logtail-config.js';
import type { AgentMetrics } from '../metrics.js';
import { type FieldParser, fieldParserFor, PRESET_TIME_FORMAT, PRESET_TIME_KEY } from './parsers.js';
import { compileUserRegex } from './safe-regex.js';
import { compileTimeFormat, type TimeParser } from './time-format.js';

export class LogBuilder {
  private readonly parser: FieldParser | undefined;
  private readonly filters: readonly [string, RegExp][];
  private readonly timeKey: string | undefined;
  private readonly timeParser: TimeParser | undefined;
  private readonly decoder: TextDecoder | undefined;
  readonly fastPath: boolean;

  constructor(
    private readonly c: CollectionConfig,
    private readonly metrics: AgentMetrics,
  ) {
    this.parser = fieldParserFor(c);
    this.filters = c.filterKey.map((k, i) => [k, compileUserRegex(c.filterRegex[i]!, false)] as [string, RegExp]);
    const preset = c.logType === 'nginx' || c.logType === 'apache';
    this.timeKey = c.timeKey ?? (preset ? PRESET_TIME_KEY : undefined);
    const format = c.timeFormat ?? (preset ? PRESET_TIME_FORMAT : undefined);
    this.timeParser = format !== undefined ? compileTimeFormat(format, c.timeZoneOffsetMin) : undefined;
    this.decoder = c.fileEncoding === 'gbk' ? new TextDecoder('gbk') : undefined;
    this.fastPath = this.parser === undefined && this.filters.length === 0 && this.decoder === undefined;
  }

  /** Adds the log for `buf[start, end)`; returns false when it was dropped (unmatched or filtered out). */
  add(w: LogGroupWriter, buf: Buffer, start: number, end: number, readTime: number): boolean {
    if (this.fastPath) {
      w.addRaw(readTime, buf, start, end);
      return true;
    }
    const text = this.decoder ? this.decoder.decode(buf.subarray(start, end)) : buf.toString('utf8', start, end);
    let fields: string[] | undefined;
    if (this.parser === undefined) fields = ['content', text];
    else {
      fields = this.parser(text);
      if (fields === undefined) {
        this.metrics.unmatchedLogs++;
        if (this.c.discardUnmatch) return false;
        fields = ['__raw_log__', text];
      }
    }
    for (const [key, re] of this.filters) {
      const v = fieldValue(fields, key);
      if (v === undefined || !re.test(v)) {
        this.metrics.filteredLogs++;
        return false;
      }
    }
    let time = readTime;
    let ns: number | undefined;
    if (this.timeKey !== undefined && this.timeParser !== undefined) {
      const v = fieldValue(fields, this.timeKey);
      const t = v === undefined ? undefined : this.timeParser(v);
      if (t === undefined) this.metrics.timeParseErrors++;
      else {
        time = t.sec;
        if (t.ns > 0) ns = t.ns;
      }
    }
    w.addFields(time, ns, fields);
    return true;
  }
}

function fieldValue(fields: readonly string[], key: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === key) return fields[i + 1];
  return undefined;
}

/** `__topic__` for a file path per `topicFormat`: the first capture group of the path regex, or a fixed value. */
export function topicFor(c: CollectionConfig, path: string): string | undefined {
  if (c.topic.kind === 'fixed') return c.topic.value;
  if (c.topic.kind === 'path') {
    const m = c.topic.regex.exec(path);
    if (m === null) return undefined;
    return m.length > 1
      ? m
          .slice(1)
          .filter((x) => x !== undefined)
          .join('_')
      : m[0];
  }
  return undefined;
}
