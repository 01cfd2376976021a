/**
 * SLS-style tokenizer: a token is a maximal run of characters that are not delimiters; the delimiters come from the
 * index config. Case-insensitive configs lowercase tokens. With `chn` (Chinese), every Han ideograph is a token of
 * its own as well as a break between tokens (no dictionary segmentation): a query term of several Han characters
 * thus splits into several tokens, which the planner matches as a phrase (the characters consecutively).
 *
 * The hot path scans UTF-16 code units against a 64 Ki lookup table and slices the string once per token, which
 * measured far faster than splitting on a RegExp (no intermediate arrays, no regex state machine per char).
 */
export class Tokenizer {
  readonly caseSensitive: boolean;
  /** Han ideographs are single-character tokens. */
  readonly chn: boolean;
  /** `delim[code] === 1` for delimiter code units (read by the head's token table on its hot path). */
  readonly delim: Uint8Array;
  /** Tokens longer than this are cut: a huge base64 blob would only bloat the dictionary. */
  static readonly MAX_TOKEN = 256;

  constructor(delimiters: readonly string[], caseSensitive: boolean, chn = false) {
    this.caseSensitive = caseSensitive;
    this.chn = chn;
    this.delim = new Uint8Array(65536);
    for (const d of delimiters) if (d.length === 1) this.delim[d.charCodeAt(0)] = 1;
  }

  /** Calls `emit` for every token of `text`, in order (duplicates included). */
  each(text: string, emit: (token: string) => void): void {
    if (this.chn) {
      this.eachChn(text, emit);
      return;
    }
    const delim = this.delim;
    const n = text.length;
    let start = -1;
    for (let i = 0; i < n; i++) {
      if (delim[text.charCodeAt(i)] === 1) {
        if (start >= 0) {
          emit(this.norm(text, start, i));
          start = -1;
        }
      } else if (start < 0) {
        start = i;
      }
    }
    if (start >= 0) emit(this.norm(text, start, n));
  }

  private eachChn(text: string, emit: (token: string) => void): void {
    const delim = this.delim;
    const n = text.length;
    let start = -1;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      const han = hanUnits(text, i, c);
      if (han > 0 || delim[c] === 1) {
        if (start >= 0) {
          emit(this.norm(text, start, i));
          start = -1;
        }
        if (han > 0 && delim[c] !== 1) {
          emit(text.slice(i, i + han));
          i += han - 1;
        }
      } else if (start < 0) {
        start = i;
      }
    }
    if (start >= 0) emit(this.norm(text, start, n));
  }

  tokens(text: string): string[] {
    const out: string[] = [];
    this.each(text, (t) => out.push(t));
    return out;
  }

  isDelimiter(ch: string): boolean {
    return this.delim[ch.charCodeAt(0)] === 1;
  }

  /** With `chn`, whether `ch` (one code point) is a Han ideograph: a token by itself. */
  isSingleToken(ch: string): boolean {
    return this.chn && !this.isDelimiter(ch) && hanUnits(ch, 0, ch.charCodeAt(0)) > 0;
  }

  normalize(text: string): string {
    return this.caseSensitive ? text : text.toLowerCase();
  }

  private norm(text: string, from: number, to: number): string {
    const t = text.slice(from, to - from > Tokenizer.MAX_TOKEN ? from + Tokenizer.MAX_TOKEN : to);
    return this.caseSensitive ? t : t.toLowerCase();
  }
}

/**
 * Code units of the Han ideograph at `text[i]` (`c` its code unit): 1 in the BMP blocks (CJK Unified Ideographs and
 * Extension A, Compatibility Ideographs), 2 for a surrogate pair in planes 2-3 (Extensions B and later), else 0.
 */
function hanUnits(text: string, i: number, c: number): number {
  if ((c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0xf900 && c <= 0xfaff)) return 1;
  if (c >= 0xd840 && c <= 0xd8bf && i + 1 < text.length) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 0;
}

/**
 * SLS indexes the first 512 KiB (524,288 bytes of UTF-8) of each value for search; the rest of a longer value is not
 * searchable, while the stored log keeps it whole. (`max_text_len`, 64..16,384, is SLS's limit for analysis, SQL.)
 */
export const MAX_INDEXED_BYTES = 512 * 1024;

/** The part of `text` that is indexed: its longest prefix of at most MAX_INDEXED_BYTES UTF-8 bytes. */
export function indexedPart(text: string): string {
  const n = text.length;
  if (n * 3 <= MAX_INDEXED_BYTES) return text;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    let size = c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    if (pair) size = 4;
    if (bytes + size > MAX_INDEXED_BYTES) return text.slice(0, i);
    bytes += size;
    if (pair) i++;
  }
  return text;
}
