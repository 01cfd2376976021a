/**
 * Which shard-log records the segments of an index hold, per shard: sorted, disjoint, merged ranges [from, to).
 * Segments are built in parallel and may land out of order; after a crash the index resumes at the first record not
 * covered and skips the ranges already covered after it, so nothing is lost or indexed twice.
 */
export class Coverage {
  private readonly ranges = new Map<string, [number, number][]>();

  add(key: string, from: number, to: number): void {
    if (to <= from) return;
    const list = this.ranges.get(key) ?? [];
    list.push([from, to]);
    list.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const r of list) {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    }
    this.ranges.set(key, merged);
  }

  /** First record at or after `seq` that no segment holds. */
  nextUncovered(key: string, seq: number): number {
    for (const [from, to] of this.ranges.get(key) ?? []) {
      if (seq < from) return seq;
      if (seq < to) seq = to;
    }
    return seq;
  }

  covers(key: string, seq: number): boolean {
    for (const [from, to] of this.ranges.get(key) ?? []) {
      if (seq < from) return false;
      if (seq < to) return true;
    }
    return false;
  }

  /** Records covered in [from, to). */
  countIn(key: string, from: number, to: number): number {
    let n = 0;
    for (const [a, b] of this.ranges.get(key) ?? []) n += Math.max(0, Math.min(b, to) - Math.max(a, from));
    return n;
  }
}

/** Normalizes a segment footer's shard entry: a list of ranges (or one range, as early segments wrote it). */
export function rangesOf(entry: unknown): [number, number][] {
  if (Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'number')
    return [[entry[0], entry[1] as number]];
  return (entry as [number, number][]) ?? [];
}
