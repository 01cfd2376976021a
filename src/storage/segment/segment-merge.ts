import type { SegmentReader } from './segment-reader.js';
import { compareTokens, type SegmentSource } from './segment-writer.js';

/**
 * A merge of time-ordered segments as a segment source: rows are merged by time (ties keep input order, then row
 * order), columns are produced one at a time, and dictionaries are k-way merged token by token from the inputs'
 * sorted token streams, so memory holds one column and one token's postings rather than whole segments.
 */
export function mergeSource(inputs: readonly SegmentReader[], id: string, configVersion: number): SegmentSource {
  const k = inputs.length;
  let n = 0;
  for (const s of inputs) n += s.n;
  const times = new Uint32Array(n);
  const newIds = inputs.map((s) => new Uint32Array(s.n));
  const pos = new Array<number>(k).fill(0);
  for (let out = 0; out < n; out++) {
    let best = -1;
    let bestTime = 0;
    for (let i = 0; i < k; i++) {
      if (pos[i]! >= inputs[i]!.n) continue;
      const t = inputs[i]!.time(pos[i]!);
      if (best < 0 || t < bestTime) {
        best = i;
        bestTime = t;
      }
    }
    times[out] = bestTime;
    newIds[best]![pos[best]!] = out;
    pos[best]!++;
  }

  const columnNames: string[] = [];
  const seen = new Set<string>();
  for (const s of inputs) {
    for (const c of s.footer.columns) {
      if (!seen.has(c.name)) {
        seen.add(c.name);
        columnNames.push(c.name);
      }
    }
  }
  const columns = columnNames.map((name) => ({
    name,
    values: () => {
      const out: (string | undefined)[] = new Array(n);
      inputs.forEach((s, i) => {
        const map = newIds[i]!;
        const vals = s.columnValues(name);
        for (let r = 0; r < s.n; r++) if (vals[r] !== undefined) out[map[r]!] = vals[r];
      });
      return out;
    },
  }));

  const remap = (lists: (readonly [number, Uint32Array])[]): Uint32Array => {
    let total = 0;
    for (const [, ids] of lists) total += ids.length;
    const out = new Uint32Array(total);
    let o = 0;
    for (const [i, ids] of lists) {
      const map = newIds[i]!;
      for (let j = 0; j < ids.length; j++) out[o++] = map[ids[j]!]!;
    }
    return lists.length > 1 ? out.sort() : out;
  };

  const dictNames = new Set<string>();
  const numberNames = new Set<string>();
  for (const s of inputs) {
    for (const d of s.dictNames()) dictNames.add(d);
    for (const d of s.numberNames()) numberNames.add(d);
  }
  const dicts = new Map<string, () => Iterable<readonly [string, Uint32Array]>>();
  for (const name of dictNames) {
    dicts.set(name, () =>
      kWayMerge(
        inputs.map((s) => s.dictEntries(name)),
        compareTokens,
        remap,
      ),
    );
  }
  const numbers = new Map<string, () => Iterable<readonly [number, Uint32Array]>>();
  for (const name of numberNames) {
    numbers.set(name, () =>
      kWayMerge(
        inputs.map((s) => s.numberEntries(name)),
        (a, b) => a - b,
        remap,
      ),
    );
  }

  // Inputs may hold non-adjacent ranges (parallel builds): keep them as a list, merging only what touches.
  const shards: Record<string, [number, number][]> = {};
  for (const s of inputs) {
    for (const [key, ranges] of Object.entries(s.footer.shards)) {
      const list = shards[key] ?? [];
      for (const r of normalize(ranges)) list.push([r[0], r[1]]);
      shards[key] = list;
    }
  }
  for (const key of Object.keys(shards)) {
    const sorted = shards[key]!.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const r of sorted) {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else merged.push(r);
    }
    shards[key] = merged;
  }
  return {
    id,
    n,
    times,
    columns,
    dicts,
    numbers,
    shards,
    replaces: inputs.map((s) => s.id),
    configVersion,
  };
}

function* kWayMerge<K>(
  streams: Iterator<[K, Uint32Array]>[],
  cmp: (a: K, b: K) => number,
  combine: (lists: (readonly [number, Uint32Array])[]) => Uint32Array,
): Generator<readonly [K, Uint32Array]> {
  const heads = streams.map((it) => it.next());
  for (;;) {
    let min: K | undefined;
    let any = false;
    for (const h of heads) {
      if (h.done) continue;
      if (!any || cmp(h.value[0], min as K) < 0) min = h.value[0];
      any = true;
    }
    if (!any) return;
    const lists: (readonly [number, Uint32Array])[] = [];
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i]!;
      if (!h.done && cmp(h.value[0], min as K) === 0) {
        lists.push([i, h.value[1]]);
        heads[i] = streams[i]!.next();
      }
    }
    yield [min as K, combine(lists)] as const;
  }
}

/** A footer's shard entry as a list of ranges (early segments wrote a single range). */
function normalize(entry: unknown): [number, number][] {
  if (Array.isArray(entry) && entry.length === 2 && typeof entry[0] === 'number')
    return [[entry[0], entry[1] as number]];
  return entry as [number, number][];
}
