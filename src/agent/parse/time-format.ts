/**
 * strptime-style time extraction (the Logtail `timeFormat`): `%Y %y %m %d %e %H %M %S %f %b %B %a %A %p %I %z %Z %s
 * %T %F %D %R %j`-free subset that real configs use. A format compiles once into a RegExp and a field map; times without
 * a zone are read in the config's zone.
 */
import { ConfigFieldError } from '../config/config-error.js';

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

type Field = 'Y' | 'y' | 'm' | 'd' | 'H' | 'I' | 'M' | 'S' | 'f' | 'b' | 'p' | 'z' | 's' | 'skip';

const SPECS: Record<string, [string, Field]> = {
  Y: ['(\\d{4})', 'Y'],
  y: ['(\\d{2})', 'y'],
  m: ['(\\d{1,2})', 'm'],
  d: ['(\\d{1,2})', 'd'],
  e: ['\\s?(\\d{1,2})', 'd'],
  H: ['(\\d{1,2})', 'H'],
  k: ['\\s?(\\d{1,2})', 'H'],
  I: ['(\\d{1,2})', 'I'],
  M: ['(\\d{2})', 'M'],
  S: ['(\\d{2})', 'S'],
  f: ['(\\d{1,9})', 'f'],
  b: ['([A-Za-z]{3})', 'b'],
  h: ['([A-Za-z]{3})', 'b'],
  B: ['([A-Za-z]{3})[A-Za-z]*', 'b'],
  a: ['([A-Za-z]+)', 'skip'],
  A: ['([A-Za-z]+)', 'skip'],
  p: ['([AaPp][Mm])', 'p'],
  z: ['(Z|[+-]\\d{2}:?\\d{2})', 'z'],
  Z: ['([A-Za-z]+)', 'skip'],
  s: ['(\\d{1,10})', 's'],
};
const EXPANSIONS: Record<string, string> = { T: '%H:%M:%S', F: '%Y-%m-%d', D: '%m/%d/%y', R: '%H:%M' };

export interface ParsedTime {
  readonly sec: number;
  readonly ns: number;
}

export type TimeParser = (text: string) => ParsedTime | undefined;

/** Compiles a strptime format; `zoneMin` is the zone (minutes east of UTC) for times that carry none. */
export function compileTimeFormat(format: string, zoneMin: number, field = 'inputDetail.timeFormat'): TimeParser {
  let expanded = format;
  for (const [k, v] of Object.entries(EXPANSIONS)) expanded = expanded.replaceAll(`%${k}`, v);
  let pattern = '^\\s*';
  const fields: Field[] = [];
  for (let i = 0; i < expanded.length; i++) {
    const c = expanded[i]!;
    if (c !== '%') {
      pattern += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      continue;
    }
    const spec = expanded[++i];
    if (spec === '%') {
      pattern += '%';
      continue;
    }
    const s = spec === undefined ? undefined : SPECS[spec];
    if (s === undefined) throw new ConfigFieldError(field, `"%${spec ?? ''}" is not a supported time directive`);
    pattern += s[0];
    fields.push(s[1]);
  }
  const re = new RegExp(pattern);
  // Consecutive logs mostly share their timestamp text (a busy server writes many lines per second).
  let lastText: string | undefined;
  let lastResult: ParsedTime | undefined;
  const parse = (text: string): ParsedTime | undefined => {
    const m = re.exec(text);
    if (!m) return undefined;
    let Y = 1970;
    let mo = 1;
    let d = 1;
    let H = 0;
    let Mi = 0;
    let S = 0;
    let ns = 0;
    let pm: boolean | undefined;
    let zone = zoneMin;
    for (let g = 0; g < fields.length; g++) {
      const v = m[g + 1]!;
      switch (fields[g]) {
        case 'Y':
          Y = Number(v);
          break;
        case 'y':
          Y = 2000 + Number(v);
          break;
        case 'm':
          mo = Number(v);
          break;
        case 'd':
          d = Number(v);
          break;
        case 'H':
        case 'I':
          H = Number(v);
          break;
        case 'M':
          Mi = Number(v);
          break;
        case 'S':
          S = Number(v);
          break;
        case 'f':
          ns = Number(v.padEnd(9, '0'));
          break;
        case 'b': {
          const idx = MONTHS.indexOf(v.toLowerCase());
          if (idx < 0) return undefined;
          mo = idx + 1;
          break;
        }
        case 'p':
          pm = v.toLowerCase() === 'pm';
          break;
        case 'z':
          if (v === 'Z') zone = 0;
          else {
            const sign = v[0] === '-' ? -1 : 1;
            const digits = v.slice(1).replace(':', '');
            zone = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
          }
          break;
        case 's':
          return { sec: Number(v), ns: 0 };
        default:
          break;
      }
    }
    if (pm !== undefined) H = (H % 12) + (pm ? 12 : 0);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || H > 23 || Mi > 59 || S > 60) return undefined;
    const ms = Date.UTC(Y, mo - 1, d, H, Mi, S);
    const sec = Math.floor(ms / 1000) - zone * 60;
    if (sec < 0 || sec > 0xffffffff) return undefined;
    return { sec, ns };
  };
  return (text) => {
    if (text !== lastText) {
      lastText = text;
      lastResult = parse(text);
    }
    return lastResult;
  };
}
