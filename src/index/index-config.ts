import { SlsError } from '../protocol/errors.js';
import { Tokenizer } from './tokenizer.js';

/**
 * A logstore's index configuration (sls-api.md §5.3): the full-text `line` index and the per-key field indexes. The
 * document is stored as posted (GetIndex must echo `keys` verbatim, N1's integration test deep-compares them); the
 * compiled form below is what the indexer and the query planner use.
 */
export interface IndexLineConfig {
  readonly token?: readonly string[];
  readonly caseSensitive?: boolean;
  readonly chn?: boolean;
  readonly include_keys?: readonly string[];
  readonly exclude_keys?: readonly string[];
}

export type IndexKeyType = 'text' | 'long' | 'double' | 'json';

export interface IndexKeyConfig {
  readonly type: IndexKeyType;
  readonly token?: readonly string[];
  readonly caseSensitive?: boolean;
  readonly chn?: boolean;
  readonly doc_value?: boolean;
  readonly alias?: string;
  readonly index_all?: boolean;
  readonly max_depth?: number;
  readonly json_keys?: Readonly<Record<string, IndexKeyConfig>>;
}

/** The stored document: what the client posted plus `lastModifyTime`. */
export interface IndexDocument {
  readonly config: Readonly<Record<string, unknown>>;
  readonly lastModifyTime: number;
  /** Bumped on every change, so segments know which config built them. */
  readonly version: number;
}

export const DEFAULT_TOKENS: readonly string[] = Object.freeze([
  ',',
  ' ',
  "'",
  '"',
  ';',
  '=',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  '?',
  '@',
  '&',
  '<',
  '>',
  '/',
  ':',
  '\n',
  '\t',
  '\r',
]);

const MAX_KEYS = 500;
const TYPES: ReadonlySet<string> = new Set(['text', 'long', 'double', 'json']);

/** Reserved fields are always indexed as whole values, case-sensitively (so `__source__: 10.0.0.1` is exact). */
export const TOPIC_FIELD = '__topic__';
export const SOURCE_FIELD = '__source__';
export const TAG_PREFIX = '__tag__:';

export interface CompiledField {
  readonly name: string;
  /** Dictionary name of a text field (`f:<name>`), built once so the hot path never concatenates it. */
  readonly dict: string;
  readonly type: 'text' | 'long' | 'double' | 'raw';
  /** For text fields. */
  readonly tokenizer?: Tokenizer;
}

export interface CompiledJsonField {
  readonly name: string;
  readonly tokenizer: Tokenizer;
  readonly indexAll: boolean;
  readonly maxDepth: number;
  /** `user.id` → its own typed index (queried as `req.user.id`). */
  readonly keys: ReadonlyMap<string, CompiledField>;
}

/** The config in the form the indexer and planner need. */
export interface CompiledIndex {
  readonly version: number;
  readonly line:
    | { readonly tokenizer: Tokenizer; readonly include?: ReadonlySet<string>; readonly exclude: ReadonlySet<string> }
    | undefined;
  readonly fields: ReadonlyMap<string, CompiledField>;
  readonly json: ReadonlyMap<string, CompiledJsonField>;
  /** alias → key name. */
  readonly aliases: ReadonlyMap<string, string>;
  /** Days. */
  readonly ttl: number;
}

/** Validates a CreateIndex/UpdateIndex body; throws `ParameterInvalid` naming the bad field. */
export function validateIndexConfig(body: Record<string, unknown>): void {
  const line = body['line'];
  const keys = body['keys'];
  if (line === undefined && keys === undefined) {
    throw invalid('index config needs "line" (full-text index) or "keys" (field indexes), or both');
  }
  if (line !== undefined && line !== null) {
    const l = object(line, 'line');
    tokens(l['token'], 'line.token');
    bool(l['caseSensitive'], 'line.caseSensitive');
    bool(l['chn'], 'line.chn');
    stringList(l['include_keys'], 'line.include_keys');
    stringList(l['exclude_keys'], 'line.exclude_keys');
    if (Array.isArray(l['include_keys']) && l['include_keys'].length > 0 && Array.isArray(l['exclude_keys'])) {
      if (l['exclude_keys'].length > 0) throw invalid('line: include_keys and exclude_keys cannot both be set');
    }
  }
  if (keys !== undefined && keys !== null) {
    const k = object(keys, 'keys');
    const names = Object.keys(k);
    if (names.length > MAX_KEYS) throw invalid(`keys: at most ${MAX_KEYS} field indexes, got ${names.length}`);
    const aliases = new Set<string>();
    for (const name of names) {
      if (name === '' || name.length > 128)
        throw invalid(`keys: key name ${JSON.stringify(name)} must be 1 to 128 characters`);
      keyConfig(k[name], `keys.${name}`, true);
      const alias = (k[name] as Record<string, unknown>)['alias'];
      if (typeof alias === 'string' && alias !== '') {
        if (aliases.has(alias) || (alias !== name && names.includes(alias))) {
          throw invalid(`keys.${name}.alias ${JSON.stringify(alias)} is already used by another key`);
        }
        aliases.add(alias);
      }
    }
  }
  if (body['ttl'] !== undefined && (typeof body['ttl'] !== 'number' || !Number.isInteger(body['ttl']))) {
    throw invalid('ttl must be an integer number of days');
  }
  if (body['max_text_len'] !== undefined) {
    const m = body['max_text_len'];
    if (typeof m !== 'number' || !Number.isInteger(m) || m < 64 || m > 16_384) {
      throw invalid('max_text_len must be an integer from 64 to 16384');
    }
  }
}

function keyConfig(value: unknown, path: string, allowJson: boolean): void {
  const k = object(value, path);
  const type = k['type'];
  if (typeof type !== 'string' || !TYPES.has(type)) {
    throw invalid(`${path}.type must be one of text, long, double, json; got ${JSON.stringify(type)}`);
  }
  if (type === 'json' && !allowJson) throw invalid(`${path}.type json cannot nest inside json_keys`);
  if (type === 'text' || type === 'json') tokens(k['token'], `${path}.token`);
  bool(k['caseSensitive'], `${path}.caseSensitive`);
  bool(k['chn'], `${path}.chn`);
  bool(k['doc_value'], `${path}.doc_value`);
  bool(k['index_all'], `${path}.index_all`);
  if (k['alias'] !== undefined && typeof k['alias'] !== 'string') throw invalid(`${path}.alias must be a string`);
  if (k['max_depth'] !== undefined && (typeof k['max_depth'] !== 'number' || !Number.isInteger(k['max_depth']))) {
    throw invalid(`${path}.max_depth must be an integer (-1 = unlimited)`);
  }
  if (k['json_keys'] !== undefined) {
    if (type !== 'json') throw invalid(`${path}.json_keys is only allowed on type json`);
    const jk = object(k['json_keys'], `${path}.json_keys`);
    for (const sub of Object.keys(jk)) keyConfig(jk[sub], `${path}.json_keys.${sub}`, false);
  }
}

function tokens(value: unknown, path: string): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) throw invalid(`${path} must be an array of one-character strings`);
  for (const t of value) {
    if (typeof t !== 'string' || t.length !== 1) {
      throw invalid(`${path} must hold one-character strings (delimiters), got ${JSON.stringify(t)}`);
    }
  }
}

function bool(value: unknown, path: string): void {
  if (value !== undefined && typeof value !== 'boolean') throw invalid(`${path} must be true or false`);
}

function stringList(value: unknown, path: string): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw invalid(`${path} must be an array of strings`);
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${path} must be an object`);
  return value as Record<string, unknown>;
}

function invalid(message: string): SlsError {
  return new SlsError('ParameterInvalid', `invalid index config: ${message}`);
}

/** Turns a validated document into the indexer/planner form. */
export function compileIndex(doc: IndexDocument, defaultTtl: number): CompiledIndex {
  const body = doc.config;
  const line = body['line'] as IndexLineConfig | undefined | null;
  const keys = (body['keys'] ?? {}) as Record<string, IndexKeyConfig>;
  const fields = new Map<string, CompiledField>();
  const json = new Map<string, CompiledJsonField>();
  const aliases = new Map<string, string>();
  for (const [name, k] of Object.entries(keys)) {
    if (k.alias) aliases.set(k.alias, name);
    if (k.type === 'json') {
      const sub = new Map<string, CompiledField>();
      for (const [path, jk] of Object.entries(k.json_keys ?? {})) sub.set(path, compileField(`${name}.${path}`, jk));
      json.set(name, {
        name,
        tokenizer: tokenizerOf(k),
        indexAll: k.index_all ?? true,
        maxDepth: k.max_depth ?? -1,
        keys: sub,
      });
    } else {
      fields.set(name, compileField(name, k));
    }
  }
  const ttl = typeof body['ttl'] === 'number' ? body['ttl'] : defaultTtl;
  return {
    version: doc.version,
    line: line
      ? {
          tokenizer: tokenizerOf(line),
          ...(line.include_keys && line.include_keys.length > 0 ? { include: new Set(line.include_keys) } : {}),
          exclude: new Set(line.exclude_keys ?? []),
        }
      : undefined,
    fields,
    json,
    aliases,
    ttl,
  };
}

function compileField(name: string, k: IndexKeyConfig): CompiledField {
  if (k.type === 'long' || k.type === 'double') return { name, dict: `n:${name}`, type: k.type };
  return { name, dict: `f:${name}`, type: 'text', tokenizer: tokenizerOf(k) };
}

function tokenizerOf(c: {
  readonly token?: readonly string[];
  readonly caseSensitive?: boolean;
  readonly chn?: boolean;
}): Tokenizer {
  return new Tokenizer(c.token ?? DEFAULT_TOKENS, c.caseSensitive ?? false, c.chn === true);
}
