/**
 * A lexer for the analytic statement (the part after `|`). It only needs to be exact about what is not code —
 * string literals, quoted identifiers and comments — so the rewriter can find keywords, identifiers, function calls
 * and parentheses without ever touching user text inside quotes. Everything else is passed through verbatim.
 */
export type SqlTokenKind = 'word' | 'quoted' | 'string' | 'number' | 'op' | 'space';

export interface SqlToken {
  readonly kind: SqlTokenKind;
  /** The text as written (a `quoted` token keeps its double quotes, a `string` its single quotes). */
  text: string;
  /** 0-based offset in the statement, for error messages. */
  readonly pos: number;
}

export class SqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
    this.name = 'SqlSyntaxError';
  }
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

export function lexSql(sql: string): SqlToken[] {
  const out: SqlToken[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const start = i;
    if (/\s/.test(c)) {
      while (i < sql.length && /\s/.test(sql[i]!)) i++;
      out.push({ kind: 'space', text: sql.slice(start, i), pos: start });
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      out.push({ kind: 'space', text: ' ', pos: start });
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) throw new SqlSyntaxError('unterminated /* comment', start);
      i = end + 2;
      out.push({ kind: 'space', text: ' ', pos: start });
    } else if (c === "'" || c === '"') {
      i++;
      for (;;) {
        if (i >= sql.length) {
          throw new SqlSyntaxError(c === "'" ? 'unterminated string literal' : 'unterminated quoted identifier', start);
        }
        if (sql[i] === c) {
          if (sql[i + 1] === c) i += 2;
          else {
            i++;
            break;
          }
        } else i++;
      }
      out.push({ kind: c === "'" ? 'string' : 'quoted', text: sql.slice(start, i), pos: start });
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      while (i < sql.length && /[0-9.]/.test(sql[i]!)) i++;
      if ((sql[i] === 'e' || sql[i] === 'E') && /[-+0-9]/.test(sql[i + 1] ?? '')) {
        i += 2;
        while (i < sql.length && /[0-9]/.test(sql[i]!)) i++;
      }
      out.push({ kind: 'number', text: sql.slice(start, i), pos: start });
    } else if (WORD_START.test(c)) {
      while (i < sql.length && WORD_PART.test(sql[i]!)) i++;
      out.push({ kind: 'word', text: sql.slice(start, i), pos: start });
    } else {
      // Two-character operators stay one token so `<>`, `>=`, `||`, `::` are never split by a rewrite.
      const two = sql.slice(i, i + 2);
      i += ['<>', '>=', '<=', '!=', '||', '::', '->', '=>'].includes(two) ? 2 : 1;
      out.push({ kind: 'op', text: sql.slice(start, i), pos: start });
    }
  }
  return out;
}

/** The unquoted name of an identifier token (`"__tag__:k"` → `__tag__:k`, `Status` → `status`). */
export function identName(t: SqlToken): string | undefined {
  if (t.kind === 'word') return t.text.toLowerCase();
  if (t.kind === 'quoted') return t.text.slice(1, -1).replaceAll('""', '"');
  return undefined;
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** The value of a string literal token. */
export function stringValue(t: SqlToken): string {
  return t.text.slice(1, -1).replaceAll("''", "'");
}
