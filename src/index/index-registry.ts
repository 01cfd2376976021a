import { randomBytes } from 'node:crypto';
import type { MetaStore } from '../meta/meta-store.js';
import { SlsError } from '../protocol/errors.js';
import { type IndexDocument, validateIndexConfig } from './index-config.js';

export const INDEX_KIND = 'index';

/** The index document kept in the MetaStore under `<project>/<logstore>/` (deleted with its logstore). */
export interface StoredIndex extends IndexDocument {
  /** Names the folder of this index's segments: a re-created index never opens an old one's files. */
  readonly uid: string;
  /** Per shard log, the first record to index: logs written before the index existed need a reindex, as in SLS. */
  readonly startSeqs: Readonly<Record<string, number>>;
  /** Set by a rebuild: the receive time (unix seconds) it re-indexes from. */
  readonly rebuildFrom?: number;
  /** Set by a rebuild with an end: the receive time (unix seconds, exclusive) it re-indexes to. */
  readonly rebuildTo?: number;
  /** Per shard log, the records the last rebuild re-indexes: [from, to), `to` null for "to the end". */
  readonly rebuildSeqs?: Readonly<Record<string, readonly [number, number | null]>>;
  /**
   * Per shard log, records at or after the start that are NOT indexed: a range rebuild of logs written before the
   * index existed indexes that range only, not what lies between it and the index's start.
   */
  readonly skipSeqs?: Readonly<Record<string, readonly (readonly [number, number])[]>>;
  /** Set by a rebuild: the folder (uid) whose segments holding no record of the range are carried over. */
  readonly carryFrom?: string;
}

/** A rebuild's range per shard log: [from, to), `to` null when the rebuild runs to the end. */
export type RebuildSeqs = Record<string, [number, number | null]>;

/** The end cursor of every shard of a logstore (where a new index starts). */
export type ShardEnds = () => Promise<Record<string, number>>;

/**
 * CreateIndex / UpdateIndex / GetIndex / DeleteIndex over the MetaStore. The posted body is kept verbatim, so
 * GetIndex echoes `keys` exactly as posted (N1's integration test deep-compares them).
 */
export class IndexRegistry {
  constructor(
    private readonly meta: MetaStore,
    private readonly clock: () => number = Date.now,
  ) {}

  get(project: string, logstore: string): StoredIndex {
    const doc = this.meta.getResource<StoredIndex>(INDEX_KIND, key(project, logstore));
    if (!doc) throw new SlsError('IndexConfigNotExist', `logstore ${logstore} has no index config`);
    return doc;
  }

  async create(project: string, logstore: string, body: Record<string, unknown>, shardEnds: ShardEnds): Promise<void> {
    validateIndexConfig(body);
    const startSeqs = await shardEnds();
    await this.meta.updateResource<StoredIndex>(INDEX_KIND, key(project, logstore), (cur) => {
      if (cur) throw new SlsError('IndexAlreadyExist', `logstore ${logstore} already has an index config`);
      return {
        config: body,
        lastModifyTime: this.nowSec(),
        version: 1,
        uid: this.newUid(),
        startSeqs,
      };
    });
  }

  async update(project: string, logstore: string, body: Record<string, unknown>): Promise<void> {
    validateIndexConfig(body);
    await this.meta.updateResource<StoredIndex>(INDEX_KIND, key(project, logstore), (cur) => {
      if (!cur) throw new SlsError('IndexConfigNotExist', `logstore ${logstore} has no index config`);
      return { ...cur, config: body, lastModifyTime: this.nowSec(), version: cur.version + 1 };
    });
  }

  /**
   * Reindex of the records received in [from, to) (`seqs`, per shard log) with the current config, under a new
   * folder: the indexer carries over the old folder's segments that hold no record of the range and re-indexes the
   * rest of what the old index held, so logs outside the range stay searchable exactly as before (once each), and
   * logs outside the range the old index never held (written before it existed) stay unindexed.
   */
  async rebuild(
    project: string,
    logstore: string,
    from: number,
    to: number | undefined,
    seqs: RebuildSeqs,
  ): Promise<StoredIndex> {
    const next = await this.meta.updateResource<StoredIndex>(INDEX_KIND, key(project, logstore), (cur) => {
      if (!cur) throw new SlsError('IndexConfigNotExist', `logstore ${logstore} has no index config`);
      const startSeqs: Record<string, number> = {};
      const skipSeqs: Record<string, [number, number][]> = {};
      for (const [shard, [f, t]] of Object.entries(seqs)) {
        const oldStart = cur.startSeqs[shard] ?? 0;
        startSeqs[shard] = Math.min(oldStart, f);
        // Not indexed before: the old skips, and the records between the range's end and the old start.
        const skipped: [number, number][] = (cur.skipSeqs?.[shard] ?? []).map(([a, b]) => [a, b]);
        if (f < oldStart && t !== null && t < oldStart) skipped.push([t, oldStart]);
        const kept = subtract(skipped, f, t ?? Number.POSITIVE_INFINITY);
        if (kept.length > 0) skipSeqs[shard] = kept;
      }
      const { rebuildTo: _to, ...rest } = cur;
      return {
        ...rest,
        uid: this.newUid(),
        startSeqs,
        skipSeqs,
        rebuildSeqs: seqs,
        rebuildFrom: from,
        ...(to === undefined ? {} : { rebuildTo: to }),
        carryFrom: cur.uid,
        lastModifyTime: this.nowSec(),
      };
    });
    return next!;
  }

  async delete(project: string, logstore: string): Promise<void> {
    await this.meta.updateResource<StoredIndex>(INDEX_KIND, key(project, logstore), (cur) => {
      if (!cur) throw new SlsError('IndexConfigNotExist', `logstore ${logstore} has no index config`);
      return undefined;
    });
  }

  private newUid(): string {
    return `${this.clock().toString(36)}-${randomBytes(4).toString('hex')}`;
  }

  private nowSec(): number {
    return Math.floor(this.clock() / 1000);
  }
}

/** `ranges` without [from, to). */
export function subtract(ranges: readonly (readonly [number, number])[], from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  for (const [a, b] of ranges) {
    if (b <= from || a >= to) out.push([a, b]);
    else {
      if (a < from) out.push([a, from]);
      if (b > to) out.push([to, b]);
    }
  }
  return out;
}

function key(project: string, logstore: string): string {
  return `${project}/${logstore}/`;
}
