/**
 * Query-string handling shared by the signature code and the HTTP layer. SLS clients disagree on how they encode
 * (PY `requests` writes spaces as `+`, N1 `querystring.stringify` as `%20` and leaves `( ) * ! '` bare), so the
 * server decodes as `application/x-www-form-urlencoded` and signs the decoded values (sls-api.md §2.1).
 */
import { unescape as qsUnescape } from 'node:querystring';

export interface QueryParam {
  readonly key: string;
  readonly value: string;
}

/** Decodes one form-urlencoded component; malformed `%XX` sequences are kept literally instead of throwing. */
export function decodeFormComponent(s: string): string {
  const plus = s.includes('+') ? s.replaceAll('+', ' ') : s;
  // querystring.unescape falls back to a lenient byte-wise decoder when decodeURIComponent throws.
  return plus.includes('%') ? qsUnescape(plus) : plus;
}

/**
 * Splits the raw query (the text after `?`, without it) into decoded params in arrival order. Empty segments (a bare
 * `?`, `a=1&&b=2`, a trailing `&`) are dropped; a segment without `=` has the empty value.
 */
export function parseQuery(rawQuery: string): QueryParam[] {
  const out: QueryParam[] = [];
  if (rawQuery.length === 0) return out;
  for (const part of rawQuery.split('&')) {
    if (part.length === 0) continue;
    const eq = part.indexOf('=');
    if (eq < 0) out.push({ key: decodeFormComponent(part), value: '' });
    else out.push({ key: decodeFormComponent(part.slice(0, eq)), value: decodeFormComponent(part.slice(eq + 1)) });
  }
  return out;
}

/** Params as a plain object; the first occurrence of a repeated key wins. */
export function queryToRecord(params: readonly QueryParam[]): Record<string, string> {
  const rec: Record<string, string> = Object.create(null);
  for (const p of params) if (!(p.key in rec)) rec[p.key] = p.value;
  return rec;
}

/** Sorts by key, then value, by UTF-16 code unit (equal to byte order for the ASCII names SLS uses). */
export function sortParams(params: readonly QueryParam[]): QueryParam[] {
  return [...params].sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0,
  );
}

/**
 * RFC 3986 percent-encoding: only `A-Za-z0-9-_.~` stay bare (space → `%20`, `*` → `%2A`). With `encodeTilde` the
 * `~` becomes `%7E` too, which is what the Python SDK's v4 signer does (GO keeps it bare).
 */
export function rfc3986Encode(s: string, encodeTilde = false): string {
  const enc = encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return encodeTilde ? enc.replaceAll('~', '%7E') : enc;
}

/** Builds a query string (no leading `?`) the way a careful client should: RFC 3986 keys and values, `k=` for empty. */
export function encodeQuery(query: Readonly<Record<string, string>>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) parts.push(`${rfc3986Encode(k)}=${rfc3986Encode(v)}`);
  return parts.join('&');
}
