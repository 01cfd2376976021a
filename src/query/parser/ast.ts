/**
 * The search-statement AST (the part before `|`). The planner and executor depend on it, never the reverse. Nodes
 * are plain readonly objects; `pos` is the 0-based offset of the node in the query text, for error messages.
 */

/** A piece of a term: literal text, or an unescaped wildcard (`*` any run, `?` one character). */
export type TermPiece = string | { readonly wild: '*' | '?' };

export interface AllNode {
  readonly kind: 'all';
}

/** A full-text term (`field` undefined) or a field term `key:value`. */
export interface TermNode {
  readonly kind: 'term';
  readonly field?: string;
  readonly pieces: readonly TermPiece[];
  /** Quoted: tokens must appear consecutively; wildcards inside quotes are literal. */
  readonly phrase: boolean;
  readonly pos: number;
}

export type CompareOp = '>' | '>=' | '<' | '<=' | '=';

export interface CompareNode {
  readonly kind: 'compare';
  readonly field: string;
  readonly op: CompareOp;
  readonly value: number;
  /** The number as written, for `=` on a text field (degrades to a term). */
  readonly raw: string;
  readonly pos: number;
}

export interface RangeNode {
  readonly kind: 'range';
  readonly field: string;
  readonly lo: number;
  readonly hi: number;
  readonly loInclusive: boolean;
  readonly hiInclusive: boolean;
  readonly pos: number;
}

export interface AndNode {
  readonly kind: 'and';
  readonly children: readonly QueryNode[];
}

export interface OrNode {
  readonly kind: 'or';
  readonly children: readonly QueryNode[];
}

export interface NotNode {
  readonly kind: 'not';
  readonly child: QueryNode;
}

export type QueryNode = AllNode | TermNode | CompareNode | RangeNode | AndNode | OrNode | NotNode;

/** The literal text of a term without wildcards (wildcards dropped). */
export function literalOf(pieces: readonly TermPiece[]): string {
  let s = '';
  for (const p of pieces) if (typeof p === 'string') s += p;
  return s;
}

export function hasWildcard(pieces: readonly TermPiece[]): boolean {
  return pieces.some((p) => typeof p !== 'string');
}
