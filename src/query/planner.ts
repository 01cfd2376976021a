import { type CompiledIndex, SOURCE_FIELD, TAG_PREFIX, TOPIC_FIELD } from '../index/index-config.js';
import type { Tokenizer } from '../index/tokenizer.js';
import { SlsError } from '../protocol/errors.js';
import {
  allOf,
  and,
  andMany,
  andNot,
  type DocSet,
  EMPTY,
  eachAscending,
  fromIds,
  isEmpty,
  orMany,
} from '../storage/segment/doc-set.js';
import type { SearchPart, StoredRow } from '../storage/segment/part.js';
import { SegmentReader } from '../storage/segment/segment-reader.js';
import {
  type CompareNode,
  literalOf,
  type QueryNode,
  type RangeNode,
  type TermNode,
  type TermPiece,
} from './parser/ast.js';
import { PartWindow } from './part-window.js';

/** How a query field maps onto the index. */
type FieldPlan =
  | { readonly kind: 'text'; readonly dict: string; readonly tokenizer: Tokenizer; readonly field?: string }
  | { readonly kind: 'number'; readonly field: string }
  | { readonly kind: 'raw'; readonly dict: string };

/**
 * Turns AST nodes into posting-list operations on one part. Terms follow the index config: a text term is split by
 * the field's delimiters (several tokens = a phrase: all tokens, then a check that they are consecutive in the value);
 * long/double fields compare numbers; reserved fields match whole values.
 */
export class Planner {
  constructor(private readonly index: CompiledIndex) {}

  /** Checks every field of the query against the config before any part is touched. */
  validate(node: QueryNode): void {
    switch (node.kind) {
      case 'all':
        return;
      case 'term': {
        const plan = this.plan(node.field);
        if (plan.kind === 'number' && node.pieces.some((p) => typeof p !== 'string')) {
          throw new SlsError('InvalidQueryString', `wildcards are not supported on the numeric field ${node.field}`);
        }
        return;
      }
      case 'compare':
      case 'range': {
        const plan = this.plan(node.field);
        if (plan.kind !== 'number' && !(node.kind === 'compare' && node.op === '=')) {
          throw new SlsError(
            'InvalidQueryString',
            `${node.field} is not a long or double field: range and comparison queries need a numeric field index`,
          );
        }
        return;
      }
      case 'and':
      case 'or':
        for (const c of node.children) this.validate(c);
        return;
      case 'not':
        this.validate(node.child);
    }
  }

  evaluate(node: QueryNode, part: SearchPart): DocSet {
    switch (node.kind) {
      case 'all':
        return allOf(part.n);
      case 'term':
        return this.term(node, part);
      case 'compare':
        return this.compare(node, part);
      case 'range':
        return this.range(node, part);
      case 'or':
        return orMany(
          node.children.map((c) => this.evaluate(c, part)),
          part.n,
        );
      case 'not':
        return andNot(allOf(part.n), this.evaluate(node.child, part), part.n);
      case 'and': {
        const positive = node.children.filter((c) => c.kind !== 'not');
        const negative = node.children.filter((c) => c.kind === 'not');
        let acc: DocSet | undefined;
        for (const c of positive) {
          const s = this.evaluate(c, part);
          acc = acc === undefined ? s : and(acc, s);
          if (isEmpty(acc)) return EMPTY;
        }
        acc ??= allOf(part.n);
        for (const c of negative) {
          acc = andNot(acc, this.evaluate((c as { child: QueryNode }).child, part), part.n);
          if (isEmpty(acc)) return EMPTY;
        }
        return acc;
      }
    }
  }

  private plan(field: string | undefined): FieldPlan {
    if (field === undefined) {
      const line = this.index.line;
      if (!line) {
        throw new SlsError(
          'ParameterInvalid',
          'this logstore has no full-text index (line): search a field with key:value, or enable the full-text index',
        );
      }
      return { kind: 'text', dict: '', tokenizer: line.tokenizer };
    }
    const name = this.index.aliases.get(field) ?? field;
    if (name === TOPIC_FIELD || name === SOURCE_FIELD || name.startsWith(TAG_PREFIX)) {
      return { kind: 'raw', dict: `f:${name}` };
    }
    const f = this.index.fields.get(name);
    if (f) {
      if (f.type === 'long' || f.type === 'double') return { kind: 'number', field: name };
      return { kind: 'text', dict: `f:${name}`, tokenizer: f.tokenizer!, field: name };
    }
    for (const [key, json] of this.index.json) {
      if (!name.startsWith(`${key}.`)) continue;
      const path = name.slice(key.length + 1);
      const typed = json.keys.get(path);
      if (typed) {
        if (typed.type === 'long' || typed.type === 'double') return { kind: 'number', field: name };
        return { kind: 'text', dict: `f:${name}`, tokenizer: typed.tokenizer! };
      }
      if (json.indexAll) return { kind: 'text', dict: `f:${name}`, tokenizer: json.tokenizer };
    }
    throw new SlsError(
      'ParameterInvalid',
      `key (${field}) is not config as key value config, if symbol : is in your log, please wrap : with quotation mark "`,
    );
  }

  /**
   * Like `evaluate`, but phrases in the top-level AND are not verified here: their token AND is returned with a
   * row check, so a page can verify only as many candidates as it needs (a frequent phrase would otherwise read
   * every candidate row before the first result).
   */
  evaluateDeferred(
    node: QueryNode,
    part: SearchPart,
  ): { set: DocSet; check?: (row: StoredRow) => boolean; fields?: ReadonlySet<string> } {
    const children = node.kind === 'and' ? node.children : [node];
    const checks: ((row: StoredRow) => boolean)[] = [];
    // The fields the checks read (undefined once a full-text phrase needs them all).
    let fields: Set<string> | undefined = new Set();
    const rest: QueryNode[] = [];
    let acc: DocSet | undefined;
    for (const c of children) {
      const phrase = c.kind === 'term' ? this.phraseOf(c) : undefined;
      if (!phrase) {
        rest.push(c);
        continue;
      }
      const s = allTerms(part, phrase.plan.dict, phrase.tokens);
      acc = acc === undefined ? s : and(acc, s);
      checks.push((row) => this.rowHasPhrase(row, phrase.plan, phrase.tokens));
      if (phrase.plan.field === undefined) fields = undefined;
      else fields?.add(phrase.plan.field);
    }
    if (checks.length === 0) return { set: this.evaluate(node, part) };
    if (rest.length > 0) {
      const r = this.evaluate(rest.length === 1 ? rest[0]! : { kind: 'and', children: rest }, part);
      acc = and(acc!, r);
    }
    return { set: acc!, check: (row) => checks.every((c) => c(row)), ...(fields ? { fields } : {}) };
  }

  /**
   * The whole tokens evaluating `node` looks up, by dictionary: terms without wildcards of text and reserved fields
   * (a read-ahead of their token blocks and postings, executor.ts). Numeric and wildcard terms are not listed.
   */
  termLookups(node: QueryNode, out: { dict: string; tokens: string[] }[] = []): { dict: string; tokens: string[] }[] {
    switch (node.kind) {
      case 'term': {
        if (node.pieces.some((p) => typeof p !== 'string') && !node.phrase) break;
        const plan = this.plan(node.field);
        if (plan.kind === 'raw') out.push({ dict: plan.dict, tokens: [literalOf(node.pieces)] });
        else if (plan.kind === 'text') {
          const tokens = plan.tokenizer.tokens(literalOf(node.pieces));
          if (tokens.length > 0) out.push({ dict: plan.dict, tokens });
        }
        break;
      }
      case 'and':
      case 'or':
        for (const c of node.children) this.termLookups(c, out);
        break;
      case 'not':
        this.termLookups(node.child, out);
        break;
      default:
        break;
    }
    return out;
  }

  /** Whether evaluateDeferred would defer a phrase check of `node` (a phrase among its top-level AND). */
  defersPhrase(node: QueryNode): boolean {
    const children = node.kind === 'and' ? node.children : [node];
    return children.some((c) => c.kind === 'term' && this.phraseOf(c) !== undefined);
  }

  /** The tokens of a term that needs a phrase check (a non-wildcard text term of several tokens). */
  private phraseOf(node: TermNode): { plan: FieldPlan & { kind: 'text' }; tokens: string[] } | undefined {
    const plan = this.plan(node.field);
    if (plan.kind !== 'text') return undefined;
    if (!node.phrase && node.pieces.some((p) => typeof p !== 'string')) return undefined;
    const tokens = plan.tokenizer.tokens(literalOf(node.pieces));
    return tokens.length > 1 ? { plan, tokens } : undefined;
  }

  private term(node: TermNode, part: SearchPart): DocSet {
    const plan = this.plan(node.field);
    const wild = !node.phrase && node.pieces.some((p) => typeof p !== 'string');
    if (plan.kind === 'number') {
      const text = literalOf(node.pieces);
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) return EMPTY;
      return part.numeric(plan.field, n, true, n, true);
    }
    if (plan.kind === 'raw') {
      if (!wild) return part.term(plan.dict, literalOf(node.pieces));
      if (node.pieces.length === 1) return allOf(part.n); // `__topic__: *`
      const { prefix, test } = wildcardMatcher(node.pieces, false);
      return part.prefix(plan.dict, prefix, test);
    }
    if (wild) return this.wildcardText(plan, node.pieces, part);
    const tokens = plan.tokenizer.tokens(literalOf(node.pieces));
    if (tokens.length === 0) return EMPTY;
    const acc = allTerms(part, plan.dict, tokens);
    if (tokens.length === 1 || isEmpty(acc)) return acc;
    return this.verifyPhrase(acc, part, plan, tokens);
  }

  private wildcardText(plan: FieldPlan & { kind: 'text' }, pieces: readonly TermPiece[], part: SearchPart): DocSet {
    if (pieces.length === 1 && typeof pieces[0] !== 'string')
      return plan.dict === '' ? allOf(part.n) : part.prefix(plan.dict, '');
    // Split the pattern at delimiters: whole tokens must match exactly, partial ones by pattern.
    const groups: TermPiece[][] = [[]];
    for (const p of pieces) {
      if (typeof p !== 'string') {
        groups[groups.length - 1]!.push(p);
        continue;
      }
      let cur = '';
      for (const ch of p) {
        if (plan.tokenizer.isDelimiter(ch)) {
          if (cur !== '') groups[groups.length - 1]!.push(cur);
          cur = '';
          groups.push([]);
        } else if (plan.tokenizer.isSingleToken(ch)) {
          // `chn`: a Han character is a whole token of its own, between two groups.
          if (cur !== '') groups[groups.length - 1]!.push(cur);
          cur = '';
          groups.push([ch], []);
        } else cur += ch;
      }
      if (cur !== '') groups[groups.length - 1]!.push(cur);
    }
    let acc: DocSet | undefined;
    for (const g of groups) {
      if (g.length === 0) continue;
      const norm = g.map((p) => (typeof p === 'string' ? plan.tokenizer.normalize(p) : p));
      let s: DocSet;
      if (norm.every((p) => typeof p === 'string')) s = part.term(plan.dict, norm.join(''));
      else {
        const { prefix, test } = wildcardMatcher(norm, false);
        s = part.prefix(plan.dict, prefix, test);
      }
      acc = acc === undefined ? s : and(acc, s);
      if (isEmpty(acc)) return EMPTY;
    }
    return acc ?? EMPTY;
  }

  private compare(node: CompareNode, part: SearchPart): DocSet {
    const plan = this.plan(node.field);
    if (plan.kind !== 'number') {
      return this.term({ kind: 'term', field: node.field, pieces: [node.raw], phrase: false, pos: node.pos }, part);
    }
    const v = node.value;
    const inf = Number.POSITIVE_INFINITY;
    switch (node.op) {
      case '=':
        return part.numeric(plan.field, v, true, v, true);
      case '>':
        return part.numeric(plan.field, v, false, inf, true);
      case '>=':
        return part.numeric(plan.field, v, true, inf, true);
      case '<':
        return part.numeric(plan.field, -inf, true, v, false);
      case '<=':
        return part.numeric(plan.field, -inf, true, v, true);
    }
  }

  private range(node: RangeNode, part: SearchPart): DocSet {
    const plan = this.plan(node.field);
    if (plan.kind !== 'number') return EMPTY;
    return part.numeric(plan.field, node.lo, node.loInclusive, node.hi, node.hiInclusive);
  }

  /** Keeps the rows where `tokens` appear consecutively in one value (of the field, or any full-text value). */
  private verifyPhrase(
    candidates: DocSet,
    part: SearchPart,
    plan: FieldPlan & { kind: 'text' },
    tokens: string[],
  ): DocSet {
    const ids: number[] = [];
    eachAscending(candidates, (id) => {
      ids.push(id);
      return true;
    });
    const keep: number[] = [];
    const only = plan.field === undefined ? undefined : new Set([plan.field]);
    const CHUNK = 4096;
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const rows = part.rows(chunk, only);
      for (let r = 0; r < rows.length; r++) if (this.rowHasPhrase(rows[r]!, plan, tokens)) keep.push(chunk[r]!);
    }
    return fromIds(Uint32Array.from(keep), part.n);
  }

  private rowHasPhrase(row: StoredRow, plan: FieldPlan & { kind: 'text' }, tokens: readonly string[]): boolean {
    const line = this.index.line;
    // Indexed, not destructured: unoptimized, the array iterator cost ~4x the loop (see get-logs.ts rowJson).
    for (let i = 0; i < row.fields.length; i++) {
      const pair = row.fields[i]!;
      const key = pair[0];
      const value = pair[1];
      if (plan.field !== undefined) {
        if (key !== plan.field) continue;
      } else if (key.startsWith('__') && (key === TOPIC_FIELD || key === SOURCE_FIELD || key.startsWith(TAG_PREFIX))) {
        continue;
      } else if (line && (line.include ? !line.include.has(key) : line.exclude.has(key))) {
        continue;
      }
      if (containsSequence(plan.tokenizer.tokens(value), tokens)) return true;
    }
    return false;
  }
}

/** Rows holding every token (through the segment's cache when the part is a segment or a window of one). */
function allTerms(part: SearchPart, dict: string, tokens: readonly string[]): DocSet {
  if (part instanceof SegmentReader || part instanceof PartWindow) return part.allTerms(dict, tokens);
  return andMany(
    tokens.map((t) => part.term(dict, t)),
    part.n,
  );
}

function containsSequence(hay: readonly string[], needle: readonly string[]): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** The literal prefix before the first wildcard, and a test for the whole pattern. */
function wildcardMatcher(
  pieces: readonly TermPiece[],
  _caseless: boolean,
): { prefix: string; test: ((t: string) => boolean) | undefined } {
  let prefix = '';
  for (const p of pieces) {
    if (typeof p !== 'string') break;
    prefix += p;
  }
  const onlyTrailingStar =
    pieces.length >= 1 &&
    pieces.slice(0, -1).every((p) => typeof p === 'string') &&
    typeof pieces[pieces.length - 1] !== 'string' &&
    (pieces[pieces.length - 1] as { wild: string }).wild === '*';
  // A plain prefix needs no test (and its union can be cached per segment).
  if (onlyTrailingStar) return { prefix, test: undefined };
  const source = pieces
    .map((p) =>
      typeof p === 'string' ? p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : p.wild === '*' ? '[\\s\\S]*' : '[\\s\\S]',
    )
    .join('');
  const re = new RegExp(`^${source}$`, 'u');
  return { prefix, test: (t) => re.test(t) };
}
