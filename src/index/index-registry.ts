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
}

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
   * Reindex: the index is rebuilt under a new folder from the shard-log records received at or after `from`
   * (`startSeqs`), with the current config; the indexer drops the old folder and replays. Logs written before the
   * index existed, or indexed under an older config, become searchable as the rebuild progresses.
   */
  async rebuild(
    project: string,
    logstore: string,
    from: number,
    startSeqs: Record<string, number>,
  ): Promise<StoredIndex> {
    const next = await this.meta.updateResource<StoredIndex>(INDEX_KIND, key(project, logstore), (cur) => {
      if (!cur) throw new SlsError('IndexConfigNotExist', `logstore ${logstore} has no index config`);
      return { ...cur, uid: this.newUid(), startSeqs, rebuildFrom: from, lastModifyTime: this.nowSec() };
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

function key(project: string, logstore: string): string {
  return `${project}/${logstore}/`;
}
