/**
 * The page-row reader of Sluice's optional addon (`native/build`, the `sluice-build` optional dependency, see
 * native/build/src/rows.cc): a page's row groups, from every segment of the page, read, decoded and walked on the
 * thread pool by at most a job per core. SegmentReader.pageRows uses it when it loaded (and `SLUICE_ROWS_NATIVE` is
 * not `off`); otherwise its JS path (RowGroup, group-reads.ts) reads the same rows.
 */
import { createRequire } from 'node:module';

/** A segment's raw-content zstd dictionary, digested once (format 4 segments). */
export type GroupDict = object;

/**
 * The cells of a job's rows: `meta` is [rows, cells, rowStart (rows + 1), column (cells), at (cells + 1)]; row k's
 * cells are [rowStart[k], rowStart[k + 1]), cell i of column `column[i]`. `rows[k]` is row k's cells as one string
 * when they are all ASCII (cell i is its slice from at[i] - at[rowStart[k]] to at[i + 1] - at[rowStart[k]]: a row
 * kept in the row cache keeps only its own text alive), else one string per cell.
 */
export interface NativeRowCells {
  readonly meta: Uint32Array;
  readonly rows: (string | string[])[];
}

export interface NativeRows {
  GroupDict: new (raw: Uint8Array) => GroupDict;
  /**
   * The cells of rows of groups (formats 3 and 4) of one or more segments: segment i is `fds[i]`, with `columns[i]`
   * columns and dictionary `dicts[i]`; `plan` holds [segment, offset, length, rows asked] per group, `ats` each asked
   * row's index within its group (ascending within a group), in plan order. One job on the thread pool reads them all.
   * Rejects on a short read or a malformed group.
   */
  readRows(
    fds: Int32Array,
    columns: Uint32Array,
    dicts: readonly (GroupDict | null)[],
    plan: Float64Array,
    ats: Uint8Array,
  ): Promise<NativeRowCells>;
  /** posix_fadvise(WILLNEED) of each [offset, length] pair of `ranges` in `fd`: the kernel reads them ahead. */
  willNeed(fd: number, ranges: Float64Array): void;
}

/**
 * Sets fields[seg[k]][dest[k]] to row k of `got` as [name, value] pairs (names[seg[k]] naming its columns), cells in
 * column order (the JS path's order).
 */
export function placeNativeRows(
  got: NativeRowCells,
  names: readonly (readonly string[])[],
  seg: readonly number[],
  dest: readonly number[],
  fields: readonly [string, string][][][],
): void {
  const m = got.meta;
  const rows = m[0]!;
  const cells = m[1]!;
  const rowStart = 2;
  const column = rowStart + rows + 1;
  const at = column + cells;
  for (let k = 0; k < rows; k++) {
    const row: [string, string][] = [];
    const first = m[rowStart + k]!;
    const end = m[rowStart + k + 1]!;
    const text = got.rows[k]!;
    const s = seg[k]!;
    const columnNames = names[s]!;
    if (typeof text === 'string') {
      const base = m[at + first]!;
      for (let i = first; i < end; i++)
        row.push([columnNames[m[column + i]!]!, text.slice(m[at + i]! - base, m[at + i + 1]! - base)]);
    } else for (let i = first; i < end; i++) row.push([columnNames[m[column + i]!]!, text[i - first]!]);
    fields[s]![dest[k]!] = row;
  }
}

let loaded: NativeRows | null | undefined;
let enabled = process.env['SLUICE_ROWS_NATIVE'] !== 'off';

/** The addon's row reader, or undefined when it did not build or is turned off. */
export function nativeRows(): NativeRows | undefined {
  if (!enabled) return undefined;
  if (loaded === undefined) {
    loaded = null;
    try {
      const b = createRequire(import.meta.url)('sluice-build') as Partial<NativeRows>;
      if (typeof b.readRows === 'function' && typeof b.GroupDict === 'function' && typeof b.willNeed === 'function')
        loaded = b as NativeRows;
    } catch {
      // Not built (optional dependency): rowsAsync reads groups in JS.
    }
  }
  return loaded ?? undefined;
}

/** Turns the addon's row reader on or off (tests run both paths); returns whether it was on. */
export function setNativeRows(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}
