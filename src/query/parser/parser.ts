import type { CompareOp, QueryNode, TermNode, TermPiece } from './ast.js';
import { type Lexeme, lex } from './lexer.js';
import { queryError } from './query-error.js';

/**
 * Recursive descent over the SLS search syntax (sls-api.md §7.2):
 *
 *   or      := and ('or' and)*
 *   and     := unary ( ['and'] unary | 'not' unary )*      whitespace = and; `a not b` = a and not b
 *   unary   := 'not' unary | primary
 *   primary := '(' or ')' | field ':' value | field op number | field 'in' range | value
 *   value   := word | "phrase"
 *   range   := ('[' | '(') number number (']' | ')')
 *
 * Precedence not > and > or. Keywords are case-insensitive and only when written plainly (`\and` is a term).
 */
export function parseSearch(query: string): QueryNode {
  const p = new Parser(query, lex(query));
  if (p.peek().kind === 'end') return { kind: 'all' };
  const node = p.parseOr();
  const rest = p.peek();
  if (rest.kind !== 'end') {
    throw queryError(query, rest.pos, rest.kind === 'rparen' ? 'unbalanced ")"' : `unexpected ${describe(rest)}`);
  }
  return node;
}

/** Splits `search | sql` at the first `|` outside quotes and escapes. */
export function splitStatement(query: string): { search: string; sql?: string; pipePos?: number } {
  let quoted = false;
  for (let i = 0; i < query.length; i++) {
    const c = query[i];
    if (c === '\\') {
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (c === '|' && !quoted) {
      return { search: query.slice(0, i), sql: query.slice(i + 1), pipePos: i };
    }
  }
  return { search: query };
}

class Parser {
  private i = 0;

  constructor(
    private readonly query: string,
    private readonly lexemes: readonly Lexeme[],
  ) {}

  peek(offset = 0): Lexeme {
    return this.lexemes[Math.min(this.i + offset, this.lexemes.length - 1)]!;
  }

  private next(): Lexeme {
    const l = this.peek();
    if (this.i < this.lexemes.length - 1) this.i++;
    return l;
  }

  parseOr(): QueryNode {
    const children = [this.parseAnd()];
    while (isKeyword(this.peek(), 'or')) {
      this.next();
      children.push(this.parseAnd());
    }
    return children.length === 1 ? children[0]! : { kind: 'or', children };
  }

  private parseAnd(): QueryNode {
    const children = [this.parseUnary()];
    for (;;) {
      const l = this.peek();
      if (l.kind === 'end' || l.kind === 'rparen' || isKeyword(l, 'or')) break;
      if (isKeyword(l, 'and')) {
        this.next();
        children.push(this.parseUnary());
      } else if (isKeyword(l, 'not')) {
        this.next();
        children.push({ kind: 'not', child: this.parseUnary() });
      } else {
        children.push(this.parseUnary());
      }
    }
    return children.length === 1 ? children[0]! : { kind: 'and', children };
  }

  private parseUnary(): QueryNode {
    if (isKeyword(this.peek(), 'not')) {
      this.next();
      return { kind: 'not', child: this.parseUnary() };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): QueryNode {
    const l = this.peek();
    switch (l.kind) {
      case 'lparen': {
        this.next();
        if (this.peek().kind === 'rparen') throw this.error(this.peek(), 'expected a condition inside "( )"');
        const inner = this.parseOr();
        const close = this.next();
        if (close.kind !== 'rparen') throw this.error(close, `expected ")" to close the "(" at position ${l.pos}`);
        return inner;
      }
      case 'phrase':
        this.next();
        return term(undefined, [l.text], true, l.pos);
      case 'word':
        return this.parseWordStart();
      case 'end':
        throw this.error(l, 'expected a condition');
      default:
        throw this.error(l, `expected a term, a phrase, "(" or "not"; found ${describe(l)}`);
    }
  }

  private parseWordStart(): QueryNode {
    const w = this.next();
    const after = this.peek();
    if (isKeyword(w, 'and') || isKeyword(w, 'or')) throw this.error(w, `expected a condition before "${w.text}"`);
    if (after.kind === 'colon') {
      let field = w.text;
      this.next();
      // `__tag__:__path__: value` — the tag field name itself holds a colon.
      if (w.text === '__tag__' && this.peek().kind === 'word' && this.peek(1).kind === 'colon') {
        field = `__tag__:${this.next().text}`;
        this.next();
      }
      return this.parseFieldValue(field, w);
    }
    if (after.kind === 'op') {
      this.next();
      return this.parseCompare(w.text, after.text as CompareOp, w);
    }
    if (isKeyword(after, 'in') && w.plain && (this.peek(1).kind === 'lbracket' || this.peek(1).kind === 'lparen')) {
      this.next();
      return this.parseRange(w.text, w);
    }
    return this.wordTerm(undefined, w);
  }

  private parseFieldValue(field: string, fieldLex: Lexeme): QueryNode {
    checkField(this.query, field, fieldLex);
    const v = this.peek();
    if (v.kind === 'phrase') {
      this.next();
      return term(field, [v.text], true, fieldLex.pos);
    }
    if (v.kind === 'word') {
      this.next();
      return this.wordTerm(field, v, fieldLex.pos);
    }
    throw this.error(v, `expected a value after "${field}:"; found ${describe(v)}`);
  }

  private parseCompare(field: string, op: CompareOp, fieldLex: Lexeme): QueryNode {
    checkField(this.query, field, fieldLex);
    const v = this.next();
    if (op === '=' && (v.kind === 'phrase' || (v.kind === 'word' && !isNumber(v.text)))) {
      // `key = text` is the same as `key: text`.
      if (v.kind === 'phrase') return term(field, [v.text], true, fieldLex.pos);
      return this.wordTerm(field, v, fieldLex.pos);
    }
    if (v.kind !== 'word' || !isNumber(v.text)) {
      throw this.error(v, `expected a number after "${field} ${op}"; found ${describe(v)}`);
    }
    return { kind: 'compare', field, op, value: Number(v.text), raw: v.text, pos: fieldLex.pos };
  }

  private parseRange(field: string, fieldLex: Lexeme): QueryNode {
    checkField(this.query, field, fieldLex);
    const open = this.next();
    const lo = this.next();
    if (lo.kind !== 'word' || !isNumber(lo.text))
      throw this.error(lo, `expected the lower bound (a number); found ${describe(lo)}`);
    const hi = this.next();
    if (hi.kind !== 'word' || !isNumber(hi.text))
      throw this.error(hi, `expected the upper bound (a number); found ${describe(hi)}`);
    const close = this.next();
    if (close.kind !== 'rbracket' && close.kind !== 'rparen') {
      throw this.error(close, `expected "]" or ")" to close the range; found ${describe(close)}`);
    }
    return {
      kind: 'range',
      field,
      lo: Number(lo.text),
      hi: Number(hi.text),
      loInclusive: open.kind === 'lbracket',
      hiInclusive: close.kind === 'rbracket',
      pos: fieldLex.pos,
    };
  }

  private wordTerm(field: string | undefined, w: Lexeme, pos = w.pos): QueryNode {
    const pieces = w.pieces;
    if (pieces.length === 1 && typeof pieces[0] !== 'string' && pieces[0]!.wild === '*') {
      return field === undefined ? { kind: 'all' } : term(field, pieces, false, pos);
    }
    if (pieces.length === 0) throw this.error(w, 'expected a term');
    if (typeof pieces[0] !== 'string') {
      throw this.error(
        w,
        `a term cannot start with the wildcard "${pieces[0]!.wild}" (escape it as \\${pieces[0]!.wild})`,
      );
    }
    return term(field, pieces, false, pos);
  }

  private error(at: Lexeme, message: string) {
    return queryError(this.query, at.pos, message);
  }
}

function term(field: string | undefined, pieces: readonly TermPiece[], phrase: boolean, pos: number): TermNode {
  return field === undefined ? { kind: 'term', pieces, phrase, pos } : { kind: 'term', field, pieces, phrase, pos };
}

function checkField(query: string, field: string, l: Lexeme): void {
  if (l.pieces.some((p) => typeof p !== 'string'))
    throw queryError(query, l.pos, `a field name cannot hold wildcards: ${field}`);
}

function isKeyword(l: Lexeme, kw: string): boolean {
  return l.kind === 'word' && l.plain && l.text.length === kw.length && l.text.toLowerCase() === kw;
}

function isNumber(text: string): boolean {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text);
}

function describe(l: Lexeme): string {
  switch (l.kind) {
    case 'end':
      return 'the end of the query';
    case 'word':
      return `"${l.text}"`;
    case 'phrase':
      return `the phrase "${l.text}"`;
    default:
      return `"${l.text}"`;
  }
}
