/** Small text helpers for the search box: where the SQL part starts, terms to highlight, filters to append. */

/** Index of the `|` that starts the analytic part (outside quotes and escapes), or -1. */
export function pipeIndex(q: string): number {
  let quoted = false;
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === '|' && !quoted) return i;
  }
  return -1;
}

export function searchPart(q: string): string {
  const p = pipeIndex(q);
  return (p < 0 ? q : q.slice(0, p)).trim();
}

/** The words of a search statement worth highlighting in results (no operators, no field names, no wildcards). */
export function highlightTerms(q: string): string[] {
  const terms = new Set<string>();
  const re = /"((?:[^"\\]|\\.)*)"|([^\s()[\]:=<>"]+)/g;
  for (const m of searchPart(q).matchAll(re)) {
    const raw = (m[1] ?? m[2] ?? '').replace(/\\(.)/g, '$1');
    const next = searchPart(q)[m.index + m[0].length];
    if (m[2] !== undefined && (next === ':' || next === '=')) continue; // a field name
    if (/^(and|or|not|in)$/i.test(raw) || raw === '*') continue;
    const t = raw.replace(/[*?]+$/g, '').replace(/^[*?]+/g, '');
    if (t.length > 0 && !/^[><=]+$/.test(t)) terms.add(t);
  }
  return [...terms];
}

/** Appends `key: "value"` (AND) to a query, keeping any `| SQL` part after it. */
export function withFilter(q: string, key: string, value: string): string {
  const p = pipeIndex(q);
  const search = (p < 0 ? q : q.slice(0, p)).trim();
  const rest = p < 0 ? '' : ` ${q.slice(p)}`;
  const quoted = `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const term = `${key.startsWith('__tag__:') ? key.replace(':', '\\:') : key}: ${quoted}`;
  return `${search === '' || search === '*' ? term : `${search} and ${term}`}${rest}`;
}

/** The 0-based position named in an InvalidQueryString message ("at position 12"), if any. */
export function errorPosition(message: string, query: string): number | undefined {
  // The first place the message names is where the parser stopped ("at the end of the query: expected ")" to close
  // the "(" at position 15" is an error at the end).
  const m = /at position (\d+)/.exec(message);
  const end = message.indexOf('at the end of the query');
  if (end >= 0 && (m === null || end < m.index)) return query.length;
  return m ? Number(m[1]) : undefined;
}
