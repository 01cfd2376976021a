import type { TermPiece } from './ast.js';
import { queryError } from './query-error.js';

export type LexKind = 'word' | 'phrase' | 'lparen' | 'rparen' | 'lbracket' | 'rbracket' | 'colon' | 'op' | 'end';

export interface Lexeme {
  readonly kind: LexKind;
  /** Text with escapes resolved (words and phrases); the operator for `op`. */
  readonly text: string;
  /** Words only: literal pieces and unescaped wildcards. */
  readonly pieces: readonly TermPiece[];
  /** Words only: written without any escape or wildcard, so it may be a keyword (and/or/not/in). */
  readonly plain: boolean;
  readonly pos: number;
}

/** Characters that end a word unless escaped with `\`. */
const SPECIAL = new Set([' ', '\t', '\n', '\r', '(', ')', '[', ']', ':', '"', '=', '<', '>']);

/** Splits the search statement into lexemes. Throws `InvalidQueryString` with the position on bad input. */
export function lex(query: string): Lexeme[] {
  const out: Lexeme[] = [];
  let i = 0;
  const n = query.length;
  const simple = (kind: LexKind, text: string, pos: number): Lexeme => ({ kind, text, pieces: [], plain: true, pos });
  while (i < n) {
    const c = query[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const pos = i;
    switch (c) {
      case '(':
        out.push(simple('lparen', c, pos));
        i++;
        continue;
      case ')':
        out.push(simple('rparen', c, pos));
        i++;
        continue;
      case '[':
        out.push(simple('lbracket', c, pos));
        i++;
        continue;
      case ']':
        out.push(simple('rbracket', c, pos));
        i++;
        continue;
      case ':':
        out.push(simple('colon', c, pos));
        i++;
        continue;
      case '=':
        out.push(simple('op', '=', pos));
        i++;
        continue;
      case '<':
      case '>': {
        const op = query[i + 1] === '=' ? `${c}=` : c;
        out.push(simple('op', op, pos));
        i += op.length;
        continue;
      }
      case '"': {
        let text = '';
        i++;
        for (;;) {
          if (i >= n) throw queryError(query, pos, 'unterminated phrase: expected a closing "');
          const d = query[i]!;
          if (d === '\\') {
            if (i + 1 >= n) throw queryError(query, i, 'expected a character after the escape \\');
            text += query[i + 1];
            i += 2;
          } else if (d === '"') {
            i++;
            break;
          } else {
            text += d;
            i++;
          }
        }
        out.push({ kind: 'phrase', text, pieces: [text], plain: false, pos });
        continue;
      }
    }
    // A word: up to the next unescaped special character.
    const pieces: TermPiece[] = [];
    let lit = '';
    let text = '';
    let plain = true;
    while (i < n) {
      const d = query[i]!;
      if (d === '\\') {
        if (i + 1 >= n) throw queryError(query, i, 'expected a character after the escape \\');
        lit += query[i + 1];
        text += query[i + 1];
        plain = false;
        i += 2;
        continue;
      }
      if (SPECIAL.has(d)) break;
      if (d === '*' || d === '?') {
        if (lit !== '') pieces.push(lit);
        lit = '';
        pieces.push({ wild: d });
        text += d;
        plain = false;
        i++;
        continue;
      }
      lit += d;
      text += d;
      i++;
    }
    if (lit !== '') pieces.push(lit);
    out.push({ kind: 'word', text, pieces, plain, pos });
  }
  out.push(simple('end', '', n));
  return out;
}
