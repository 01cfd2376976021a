import type { CompiledIndex } from './index-config.js';
import { indexedPart, type Tokenizer } from './tokenizer.js';

/** Where a row's index entries go (the head part). */
export interface IndexSink {
  /** Every token of `text` per `tokenizer`. */
  text(dict: string, text: string, tokenizer: Tokenizer): void;
  /** One whole-value token. */
  raw(dict: string, token: string): void;
  number(field: string, value: number): void;
}

const MAX_JSON_DEPTH = 20;

/**
 * Feeds one log's index entries to `sink` following the compiled config: full-text tokens of every included value,
 * field tokens or numbers per indexed key, JSON leaves under `key.path`, and the reserved fields as whole values.
 */
export function indexLog(
  index: CompiledIndex,
  contents: readonly { readonly key: string; readonly value: string }[],
  topic: string,
  source: string,
  tags: readonly { readonly key: string; readonly value: string }[],
  sink: IndexSink,
): void {
  const line = index.line;
  for (let i = 0; i < contents.length; i++) {
    const { key, value } = contents[i]!;
    if (line && (line.include ? line.include.has(key) : !line.exclude.has(key))) {
      sink.text('', indexedPart(value), line.tokenizer);
    }
    const field = index.fields.get(key);
    if (field) {
      if (field.type === 'text') {
        sink.text(field.dict, indexedPart(value), field.tokenizer!);
      } else {
        const n = parseNumber(value, field.type);
        if (n !== undefined) sink.number(key, n);
      }
      continue;
    }
    const json = index.json.get(key);
    if (json) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        continue;
      }
      const maxDepth = json.maxDepth < 0 ? MAX_JSON_DEPTH : Math.min(json.maxDepth, MAX_JSON_DEPTH);
      eachLeaf(parsed, '', 0, maxDepth, (path, leaf) => {
        const typed = json.keys.get(path);
        const name = `${key}.${path}`;
        if (typed) {
          if (typed.type === 'text') sink.text(typed.dict, indexedPart(leaf), typed.tokenizer!);
          else {
            const n = parseNumber(leaf, typed.type);
            if (n !== undefined) sink.number(name, n);
          }
        } else if (json.indexAll) {
          sink.text(`f:${name}`, indexedPart(leaf), json.tokenizer);
        }
      });
    }
  }
  if (topic !== '') sink.raw('f:__topic__', topic);
  if (source !== '') sink.raw('f:__source__', source);
  for (const t of tags) sink.raw(tagDict(t.key), t.value);
}

function eachLeaf(
  v: unknown,
  path: string,
  depth: number,
  max: number,
  emit: (path: string, leaf: string) => void,
): void {
  if (v === null || v === undefined) return;
  if (typeof v === 'object') {
    if (depth >= max) {
      if (path !== '') emit(path, JSON.stringify(v));
      return;
    }
    if (Array.isArray(v)) {
      if (path !== '') emit(path, JSON.stringify(v));
      return;
    }
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      eachLeaf(child, path === '' ? k : `${path}.${k}`, depth + 1, max, emit);
    }
    return;
  }
  if (path !== '') emit(path, String(v));
}

/** A long field takes integers only; a double field any finite decimal. Other text is not in the numeric index. */
export function parseNumber(text: string, type: 'long' | 'double' | 'text' | 'raw'): number | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  if (type === 'long') {
    if (!/^[+-]?\d+$/.test(t)) return undefined;
    return Number(t);
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

const tagDicts = new Map<string, string>();

/** `f:__tag__:<key>`, interned: every log of a group carries the same few tags. */
function tagDict(key: string): string {
  let d = tagDicts.get(key);
  if (d === undefined) {
    d = `f:__tag__:${key}`;
    if (tagDicts.size < 10_000) tagDicts.set(key, d);
  }
  return d;
}
