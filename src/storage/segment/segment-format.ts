/**
 * Segment file layout (one immutable file per segment, `<id>.seg`):
 *
 *   "SLUSEG01"
 *   times      zstd(delta varints of the sorted log times)
 *   columns    per field, blocks of BLOCK_ROWS rows: zstd(per row: varint(len+1) + UTF-8, or 0 = absent)
 *   dicts      per text dictionary, per DICT_BLOCK tokens: their postings, then a token block
 *              (token, varint posting offset from the block's postings start, varint posting length)
 *   numbers    per long/double field: postings per distinct value, then Float64 values and Float64 offsets
 *   footer     JSON (SegmentFooter), u32 LE footer length, "SLUSEG01"
 *
 * Only the footer (with its sparse token index: the first token of each block) and the time column are held in
 * memory; token blocks, postings and column blocks are read on demand.
 */
export const MAGIC = Buffer.from('SLUSEG01', 'latin1');
export const BLOCK_ROWS = 1024;
export const DICT_BLOCK = 64;

export interface ByteRange {
  readonly off: number;
  readonly len: number;
}

export interface ColumnFooter {
  readonly name: string;
  /** Block i holds rows [i*BLOCK_ROWS, (i+1)*BLOCK_ROWS); absent when the column is empty in that block. */
  readonly blocks: readonly (ByteRange | null)[];
}

export interface DictFooter {
  readonly name: string;
  readonly tokens: number;
  /** First token of each block. */
  readonly first: readonly string[];
  /** Token block ranges; the block's postings end where its token block starts. */
  readonly blocks: readonly (ByteRange & { readonly postings: number })[];
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
  readonly columns: readonly ColumnFooter[];
  readonly dicts: readonly DictFooter[];
  readonly numbers: readonly NumberFooter[];
}
