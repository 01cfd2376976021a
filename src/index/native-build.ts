/**
 * Sluice's optional segment-build addon (`native/build`, installed as the `sluice-build` optional dependency and
 * compiled by node-gyp at install): the row build of SegmentBuild in C++. SegmentBuild uses it when it loaded (and
 * `SLUICE_BUILD_NATIVE` is not `off`) for builds whose strings are all ASCII and that hold no JSON-indexed key;
 * otherwise, or when it did not build, the JS path writes the same file.
 */
import { createRequire } from 'node:module';
import type { CompiledIndex } from './index-config.js';

/**
 * What `finish` returns (views of the build's memory: valid until its next reset or finish). Text dictionaries come
 * as DictAppender blocks (see DictAppender.addBlocks), numeric ones as values with their tokens' encoded postings.
 */
export interface NativeBuildResult {
  /** Token bytes (numeric tokens have none). */
  readonly arena: Uint8Array;
  readonly tokStart: Int32Array;
  readonly tokLen: Int32Array;
  /** Every text dictionary's blocks, back to back. */
  readonly dictBytes: Uint8Array;
  /** Text dictionaries (any order): blocks from dictBytes[at], per block [postings length, entries length, first token]. */
  readonly text: readonly {
    readonly name: string;
    readonly tokens: number;
    readonly at: number;
    readonly blocks: Int32Array;
  }[];
  /** A numeric token t's posting (writePosting's encoding) is enc[encStart[t], encStart[t] + encSize[t]). */
  readonly enc: Uint8Array;
  readonly encStart: Int32Array;
  readonly encSize: Int32Array;
  /** Numeric dictionaries (any order), each with its values ascending and their tokens. */
  readonly num: readonly { readonly name: string; readonly values: Float64Array; readonly toks: Int32Array }[];
}

/** One build in progress (see native/build/src/build.cc). */
export interface NativeBuild {
  /** Logs staged; -1 when the group needs the JS path (nothing staged); throws on malformed bytes. */
  addGroup(bytes: Uint8Array): number;
  /** Copies the staged logs' times (arrival order) into `out`; returns their count. */
  times(out: Uint32Array): number;
  /** Column names in creation order. */
  columns(): string[];
  /** Builds rows [from, to) of `order` and copies the row group into `out`: bytes, or -needed (then takeGroup). */
  buildGroup(order: Uint32Array, from: number, to: number, out: Uint8Array, lens: Int32Array): number;
  takeGroup(out: Uint8Array, lens: Int32Array): number;
  finish(scratch?: Uint8Array): NativeBuildResult;
  reset(): void;
}

interface Addon {
  Build: new (config: NativeBuildConfig) => NativeBuild;
}

interface NativeDelims {
  /** At least the 128 ASCII entries of the tokenizer's table (1 = delimiter). */
  readonly delim: Uint8Array;
  readonly lower: boolean;
}

interface NativeBuildConfig {
  readonly line: (NativeDelims & { readonly include: string[] | null; readonly exclude: string[] }) | null;
  readonly fields: (Partial<NativeDelims> & { readonly name: string; readonly type: number; readonly dict: string })[];
  readonly json: string[];
}

let loaded: Addon | null | undefined;

function addon(): Addon | undefined {
  if (loaded === undefined) {
    loaded = null;
    if (process.env['SLUICE_BUILD_NATIVE'] !== 'off') {
      try {
        const b = createRequire(import.meta.url)('sluice-build') as Partial<Addon>;
        if (typeof b.Build === 'function') loaded = b as Addon;
      } catch {
        // Not built (optional dependency): SegmentBuild uses its JS path.
      }
    }
  }
  return loaded ?? undefined;
}

/** Whether the addon loaded (and is not turned off). */
export function nativeBuildAvailable(): boolean {
  return addon() !== undefined;
}

/** A native build for `index`, or undefined when the addon is not there. */
export function createNativeBuild(index: CompiledIndex): NativeBuild | undefined {
  const a = addon();
  if (!a) return undefined;
  const line = index.line;
  const config: NativeBuildConfig = {
    line: line
      ? {
          delim: line.tokenizer.delim,
          lower: !line.tokenizer.caseSensitive,
          include: line.include ? [...line.include] : null,
          exclude: [...line.exclude],
        }
      : null,
    fields: [...index.fields.values()].map((f) =>
      f.type === 'text'
        ? { name: f.name, type: 1, dict: f.dict, delim: f.tokenizer!.delim, lower: !f.tokenizer!.caseSensitive }
        : { name: f.name, type: f.type === 'long' ? 2 : 3, dict: f.dict },
    ),
    json: [...index.json.keys()],
  };
  return new a.Build(config);
}
