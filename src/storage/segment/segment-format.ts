/**
 * Segment file layout (one immutable file per segment, `<id>.seg`):
 *
 *   "SLUSEG05"
 *   times      zstd(delta varints of the sorted log times)
 *   dict       optional (footer.groupDict): zstd(a raw-content zstd dictionary) that every group frame below was
 *              compressed against: the decoded frames of the segment's first groups, once they reach GROUP_DICT_BYTES
 *   groups     row groups of footer.groupRows rows. A column's section holds its cell of each row of the group (a cell
 *              is varint(len+1) + UTF-8, or 0 = absent); a column with no value in the group has an empty section.
 *              Group = header: varint(section length) per column, a bit mask of the columns whose section is wide
 *              (> 16 bytes per row), varint(compressed length) of each of the two frames; then zstd(the narrow
 *              sections in column order), then zstd(the wide sections in column order); an empty frame has no bytes
 *   dicts      per text dictionary, per DICT_BLOCK tokens: their postings, then a token block of entries, one per
 *              token. An entry is (token, varint posting offset from the block's postings start, varint posting
 *              length), or in a `packed` dictionary (format 5, written by merges) as DictFooter.packed says
 *   numbers    per long/double field: postings per distinct value, then Float64 values and Float64 offsets
 *   footer     JSON (SegmentFooter), u32 LE footer length, the magic again
 *
 * Only the footer (with its sparse token index: the first token of each block) and the time column are held in
 * memory; token blocks, postings and column blocks are read on demand.
 */
export const MAGIC = Buffer.from('SLUSEG05', 'latin1');
/** Format 4 (until session 14): format 5 without packed dictionaries or the group table. */
export const MAGIC_V4 = Buffer.from('SLUSEG04', 'latin1');
/**
 * Format 3 (before 2026-11-23): format 4 without the dictionary. Small frames compress worse than large ones, so groups
 * were 128 rows, and a page of a rare term decoded ~240 KB of frames for 85 rows; with the segment's dictionary
 * 32-row groups take no more disk and decode ~2.5x faster (docs/benchmarks.md, session 6).
 */
export const MAGIC_V3 = Buffer.from('SLUSEG03', 'latin1');
/**
 * Format 2 (written by 318e711 only): one zstd frame per group of every section, then a u32 LE length per column.
 * Format 3 splits it into a frame of the narrow sections and one of the wide ones: with one frame a scan of one
 * column (value counts, SQL cells of selected rows) decoded every column of every group.
 */
export const MAGIC_V2 = Buffer.from('SLUSEG02', 'latin1');
/**
 * Format 1 ("SLUSEG01", written before 2026-11-22 evening): instead of row groups, per column blocks of BLOCK_ROWS
 * rows, each its own zstd frame (`ColumnFooter.blocks`). Still read; merges and reindexing rewrite it in the current
 * format. A page of sparse rows (a rare IP over a day) touched one 1,024-row block of every column per row: ~1,300 frames
 * for 85 rows. Row groups decode one 128-row frame per row (measured 18.6–24.8 → 2.8–3.7 ms for 85 rows) for ~28 %
 * more column bytes (small frames compress less).
 */
export const MAGIC_V1 = Buffer.from('SLUSEG01', 'latin1');
/** Unit of the column-block API (`columnBlockBytes`): a format 1 block, or BLOCK_ROWS / groupRows row groups. */
export const BLOCK_ROWS = 1024;
/**
 * Rows per group of segments at rest (merges, head seals, reindexing), written at zstd level 3 against the segment's
 * dictionary: a page row decodes one 32-row group. Young segments (builds, merged within seconds) keep
 * YOUNG_GROUP_ROWS without a dictionary: at their fast level, per-frame costs dominate small frames.
 * - From session 9 to 18, groups held 16 rows, and the merges that made segments at rest compressed them at level 6:
 *   as many bytes as 32 rows at level 3, for a rare IP's page ~10 % cheaper (session 9).
 * - Session 19 measured a merge of 24 young segments (983,040 rows of the bench day; scratch script): 16 rows at
 *   level 6 took 5.3-5.4 µs of CPU per row for 71.3 bytes per row, 32 rows at level 3 took 3.6-3.9 µs for 71.6
 *   bytes. 79 random rows of the output cost 0.44-0.47 ms against 0.60 ms to read. Merges are what the server does
 *   most after a load (~45 CPU s for 5M logs, against ~16 s to make them searchable), so they won.
 * - 64 rows at level 3: 3.4-3.7 µs, 68.1 bytes, 0.83 ms for the 79 rows.
 */
export const GROUP_ROWS = 32;
export const YOUNG_GROUP_ROWS = 128;
/** Most rows a group may hold (builders size per-group arrays by it); groupRows must divide BLOCK_ROWS. */
export const MAX_GROUP_ROWS = 128;
/**
 * Bytes of decoded frames that make a segment's dictionary (see `dict` above). 256 KB rather than 32 (until session
 * 14): a 1M-row merge of the nginx day writes 6 % fewer bytes of row groups (51.3 -> 48.2 MB; 64 KB: 49.7, 512 KB:
 * 47.9) for the same merge CPU, and a row decodes as fast (docs/benchmarks.md, session 14). Each segment at rest
 * keeps its dictionary digested in memory for reads.
 */
export const GROUP_DICT_BYTES = 256 * 1024;
/** Rows per group of format 2/3 files whose footer has no `groupRows` (written before it was recorded). */
export const FIRST_GROUP_ROWS = 128;
export const DICT_BLOCK = 64;
/** The row groups' ranges (footer.groups or footer.groupTable), as two typed arrays instead of an object each. */
export class GroupTable {
  private constructor(
    /** Per group its offset, or -1 when it has no bytes. */
    private readonly offs: Float64Array,
    private readonly lens: Uint32Array,
  ) {}

  get length(): number {
    return this.offs.length;
  }

  /** Group `g`'s range, or null when it has none (no column has a value in its rows). */
  at(g: number): ByteRange | null {
    const off = this.offs[g];
    return off === undefined || off < 0 ? null : { off, len: this.lens[g]! };
  }

  static fromRanges(ranges: readonly (ByteRange | null)[]): GroupTable {
    const offs = new Float64Array(ranges.length).fill(-1);
    const lens = new Uint32Array(ranges.length);
    ranges.forEach((r, g) => {
      if (!r) return;
      offs[g] = r.off;
      lens[g] = r.len;
    });
    return new GroupTable(offs, lens);
  }

  /** The encoded table (see SegmentFooter.groupTable, before zstd) of `count` groups. */
  static decode(table: Uint8Array, count: number): GroupTable {
    const offs = new Float64Array(count);
    const lens = new Uint32Array(count);
    let pos = 0;
    const varint = (): number => {
      let v = 0;
      let mul = 1;
      for (;;) {
        if (pos >= table.length) throw new Error('group table is truncated');
        const b = table[pos++]!;
        v += (b & 0x7f) * mul;
        if (b < 0x80) return v;
        mul *= 128;
      }
    };
    let at = varint();
    for (let g = 0; g < count; g++) {
      const len = varint();
      offs[g] = len === 0 ? -1 : at;
      lens[g] = len;
      at += len;
    }
    if (pos !== table.length) throw new Error('group table has bytes past its groups');
    return new GroupTable(offs, lens);
  }
}

/** The full-text (line) index's dictionary; a text field's is `f:<field>` (part.ts). */
export const FULL_TEXT_DICT = '';

/**
 * The order merges write dictionaries in: the full-text one last, so it can share the postings of the fields'
 * (`DictFooter.packed`).
 */
export function dictWriteOrder(names: readonly string[]): string[] {
  return [...names.filter((n) => n !== FULL_TEXT_DICT), ...names.filter((n) => n === FULL_TEXT_DICT)];
}

export interface ByteRange {
  readonly off: number;
  readonly len: number;
}

export interface ColumnFooter {
  readonly name: string;
  /**
   * Format 1 only: block i holds rows [i*BLOCK_ROWS, (i+1)*BLOCK_ROWS); absent when the column is empty in that
   * block.
   */
  readonly blocks?: readonly (ByteRange | null)[];
}

export interface DictFooter {
  readonly name: string;
  readonly tokens: number;
  /** First token of each block. */
  readonly first: readonly string[];
  /** Token block ranges; the block's postings end where its token block starts. */
  readonly blocks: readonly (ByteRange & { readonly postings: number })[];
  /**
   * Format 5 (written by merges, which write the segments that stay): each entry of a token block is
   *
   *   varint bytes the token shares with the one before it in the block (0 for the first), varint length of the
   *   rest, the rest (UTF-8); then varint kind:
   *     0        the token is in one row only: varint row id (no posting is stored)
   *     1        its posting is another dictionary's, byte for byte: varint how many bytes before this block's
   *              postings it starts, varint its length (the full-text dictionary, written after the field
   *              dictionaries, points at theirs instead of storing a copy)
   *     2 + len  its posting is the next `len` bytes of the block's postings (offsets are implied)
   *
   * Against plain entries on the 5M-log day: token blocks 34.4 -> ~25 MB (front coding, no offsets), 1.2M single-row
   * postings (5.9 MB) inline; and sharing took the full-text dictionary's 49 MB of postings that a field dictionary
   * also holds (an IP is only ever a `remote_addr`, a user agent's words only a `http_user_agent`).
   */
  readonly packed?: boolean;
}

export interface NumberFooter {
  readonly name: string;
  readonly count: number;
  /** Float64 values then Float64 posting offsets (count + 1 of them). */
  readonly table: ByteRange;
}

export interface SegmentFooter {
  readonly id: string;
  readonly n: number;
  readonly minTime: number;
  readonly maxTime: number;
  /** Per shard log (`<shardId>-<baseSeq>`), the record ranges [from, to) whose logs this segment holds. */
  readonly shards: Readonly<Record<string, readonly (readonly [number, number])[]>>;
  /** Segments this one replaces (a merge): if any of them is still on disk after a crash, it is deleted at open. */
  readonly replaces: readonly string[];
  /** Index config version the rows were tokenized with. */
  readonly configVersion: number;
  readonly createdMs: number;
  readonly times: ByteRange;
  /**
   * 5 (format 4, dictionaries possibly `packed`, groups in `groupTable`), 4 (format 3, frames possibly against `groupDict`), 3 (a narrow and a
   * wide frame per group) or 2 (one frame) for row groups; absent in format 1.
   */
  readonly format?: number;
  /** Format 4: the zstd-compressed raw dictionary the group frames were compressed against (absent: none). */
  readonly groupDict?: ByteRange;
  /** Rows per row group (absent: FIRST_GROUP_ROWS). */
  readonly groupRows?: number;
  /**
   * Formats 2 to 4: group i holds rows [i*groupRows, (i+1)*groupRows); null when no column has a value there. Format 5
   * keeps them in `groupTable` instead: ~26 bytes a group as JSON (8.4 MB of footers for the 5M-log day, all parsed
   * into objects at every open) against ~2 in the table.
   */
  readonly groups?: readonly (ByteRange | null)[];
  /**
   * Format 5: zstd(varint offset of the first group, then per group varint(its length), 0 for none); groups lie back
   * to back from that offset.
   */
  readonly groupTable?: ByteRange;
  /** Format 5: the number of groups in `groupTable`. */
  readonly groupCount?: number;
  readonly columns: readonly ColumnFooter[];
  readonly dicts: readonly DictFooter[];
  readonly numbers: readonly NumberFooter[];
}
