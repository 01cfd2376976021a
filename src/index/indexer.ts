import { existsSync, linkSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { MetaStore, ShardMeta } from '../meta/meta-store.js';
import { SlsError } from '../protocol/errors.js';
import { MergeRunner } from '../storage/segment/merge-runner.js';
import type { SearchPart } from '../storage/segment/part.js';
import type { StoredRecord } from '../storage/shard-log/shard-log.js';
import { type CompiledIndex, compileIndex } from './index-config.js';
import { INDEX_KIND, type StoredIndex } from './index-registry.js';
import { DEFAULT_INDEX_OPTIONS, LogstoreIndex, type LogstoreIndexOptions } from './logstore-index.js';
import { SegmentBuilder } from './segment-builder.js';

/** What the indexer needs from the backend: the shards of a logstore and reads of their logs. */
export interface ShardSource {
  shards(project: string, logstore: string): readonly ShardMeta[];
  range(project: string, logstore: string, shardId: number): Promise<{ begin: number; end: number }>;
  read(project: string, logstore: string, shardId: number, fromSeq: number, maxCount: number): Promise<StoredRecord[]>;
  /** The serialized LogGroup of a record. */
  payload(record: StoredRecord): Uint8Array;
}

export interface IndexerOptions extends LogstoreIndexOptions {
  /** Build segments on a worker thread (records are searchable once their small segment is built). */
  readonly worker: boolean;
  /** Worker mode: hand records to the worker when this many raw bytes are queued… */
  readonly flushBytes: number;
  /** …or when the oldest queued record has waited this long (bounds the time to searchable). */
  readonly flushMs: number;
  /** How often shard logs are polled for new records. */
  readonly pollMs: number;
  /** Records read per shard per batch; the event loop is yielded between batches. */
  readonly batchRecords: number;
}

export const DEFAULT_INDEXER_OPTIONS: IndexerOptions = Object.freeze({
  ...DEFAULT_INDEX_OPTIONS,
  pollMs: 100,
  batchRecords: 16,
  worker: true,
  flushBytes: 16 * 1024 * 1024,
  flushMs: 250,
});

const DAY_SEC = 86_400;
/** Longest stretch of indexing before the event loop is yielded (a 4,096-log record takes ~80 ms). */
const SLICE_MS = 20;
const RETENTION_EVERY_MS = 60_000;
const MERGE_BACKOFF_MS = 60_000;
/**
 * While builds are queued or running, merges wait until segments exceed this many times the bound (256 segments
 * under the default bound of 4). A bulk load of 5M logs (2.1 GB) makes 70–90 young segments of one flush each; with
 * a cap of 32 segments, merges started mid-load and took ~6 % of the two cores from the builds. The cap still bounds
 * the segments (file handles and per-segment query work) under an overload that never lets the builds drain.
 */
export const MERGE_DEFER_FACTOR = 64;

/** Whether a merge waits for the builds: they are what makes acknowledged logs searchable. */
export function mergeWaitsForBuilds(pendingBuilds: number, segments: number, maxSegments: number): boolean {
  return pendingBuilds > 0 && segments <= MERGE_DEFER_FACTOR * maxSegments;
}

/**
 * Tails every shard log of every logstore that has an index config and keeps its LogstoreIndex current: new records
 * go to the head within one poll interval; full or old heads are sealed; segments beyond the bound are merged; whole
 * expired segments are dropped. One loop, one logstore at a time, yielding between batches so queries and
 * ingestion stay responsive.
 */
export class Indexer {
  private readonly stores = new Map<string, { readonly doc: StoredIndex; readonly index: LogstoreIndex }>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastRetention = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly builder = new SegmentBuilder();
  // Before each merge, builders left idle by a bulk load give their memory back, so it does not add up with the
  // merge worker's (the peak RSS of a 5M-log load was both builders in their idle time plus the first merge).
  private readonly runner = new MergeRunner(() => this.builder.releaseIdle());
  private readonly merges = new Map<string, Promise<unknown>>();
  private readonly mergeBackoff = new Map<string, number>();
  /** Logstores (indexKey) whose segments a query found damaged: checked at the next pass. */
  private readonly suspect = new Set<string>();

  constructor(
    private readonly meta: MetaStore,
    private readonly source: ShardSource,
    private readonly root: string,
    private readonly options: IndexerOptions = DEFAULT_INDEXER_OPTIONS,
    private readonly log: (line: string) => void = () => {},
  ) {}

  start(): void {
    const live = new Set<string>();
    for (const { key, value } of this.meta.listResources<StoredIndex>(INDEX_KIND, '')) live.add(`${key}${value.uid}`);
    removeOrphanIndexes(this.root, live);
    const loop = (): void => {
      if (this.stopped) return;
      this.running = this.tick()
        .catch((err: unknown) =>
          this.log(`indexer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
        )
        .finally(() => {
          this.running = undefined;
          for (const w of this.waiters.splice(0)) w();
          if (!this.stopped) this.timer = setTimeout(loop, this.options.pollMs);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await Promise.allSettled(this.merges.values());
    await this.runner.close();
    await this.builder.close();
    for (const { index } of this.stores.values()) index.close();
    this.stores.clear();
  }

  /** Resolves after the next full pass (tests and the bench use it to wait for "searchable"). */
  nextPass(): Promise<void> {
    return new Promise((done) => this.waiters.push(done));
  }

  /**
   * Logstores whose index enables analytics on some key (`doc_value`, SLS's "enable analytics"): the SQL engine
   * prepares their segments for DuckDB in the background, so their first statement after a bulk load does not wait.
   */
  analyticLogstores(): { project: string; logstore: string }[] {
    const out: { project: string; logstore: string }[] = [];
    for (const { key, value } of this.meta.listResources<StoredIndex>(INDEX_KIND, '')) {
      const keys = value.config['keys'];
      if (typeof keys !== 'object' || keys === null) continue;
      const analytic = Object.values(keys as Record<string, { doc_value?: unknown }>).some(
        (k) => typeof k === 'object' && k !== null && k.doc_value === true,
      );
      const [project, logstore] = key.split('/');
      if (analytic && project && logstore) out.push({ project, logstore });
    }
    return out;
  }

  /**
   * A read of `logstore`'s segments met damaged bytes (DamagedBytesError): the next pass reads its segments whole on
   * the merge worker and moves the damaged ones aside (LogstoreIndex.checkSegments).
   */
  suspectDamage(project: string, logstore: string): void {
    this.suspect.add(indexKey(project, logstore));
  }

  /** The compiled config and parts to search, or 404 IndexConfigNotExist. */
  searchable(project: string, logstore: string): { config: CompiledIndex; parts: SearchPart[] } {
    const doc = this.meta.getResource<StoredIndex>(INDEX_KIND, indexKey(project, logstore));
    if (!doc) throw new SlsError('IndexConfigNotExist', `logstore without index config: ${logstore}`);
    const entry = this.ensure(indexKey(project, logstore), doc);
    return { config: entry.index.config, parts: entry.index.parts() };
  }

  /**
   * How far indexing has come since the index (or its last rebuild) started: records indexed of the records the
   * shard logs hold from the start positions.
   */
  async progress(project: string, logstore: string): Promise<{ indexedRecords: number; totalRecords: number }> {
    const doc = this.meta.getResource<StoredIndex>(INDEX_KIND, indexKey(project, logstore));
    if (!doc) throw new SlsError('IndexConfigNotExist', `logstore without index config: ${logstore}`);
    const entry = this.ensure(indexKey(project, logstore), doc);
    let indexed = 0;
    let total = 0;
    for (const shard of this.source.shards(project, logstore)) {
      const shardKey = `${shard.id}-${shard.baseSeq}`;
      const range = await this.source.range(project, logstore, shard.id);
      // After a rebuild, its range only; otherwise everything from the index's start.
      const rebuild = doc.rebuildSeqs?.[shardKey];
      const start = Math.max(range.begin, rebuild ? rebuild[0] : (doc.startSeqs[shardKey] ?? range.begin));
      const end = Math.max(start, Math.min(range.end, rebuild?.[1] ?? range.end));
      total += end - start;
      indexed += entry.index.indexedIn(shardKey, start, end);
    }
    return { indexedRecords: indexed, totalRecords: total };
  }

  /** Stats for the bench and the logs. */
  stats(project: string, logstore: string): { segments: number; rows: number; bytes: number } | undefined {
    const e = this.stores.get(indexKey(project, logstore));
    if (!e) return undefined;
    return { segments: e.index.segmentCount(), rows: e.index.rowCount(), bytes: e.index.diskBytes() };
  }

  private async tick(): Promise<void> {
    const docs = this.meta.listResources<StoredIndex>(INDEX_KIND, '');
    const live = new Set<string>();
    for (const { key, value } of docs) {
      live.add(key);
      const entry = this.ensure(key, value);
      const [project, logstore] = splitKey(key);
      await this.catchUp(project, logstore, entry.doc, entry.index);
      if (this.stopped) return;
      if (entry.index.remoteMode) {
        if (entry.index.shouldFlush(Date.now(), this.options.flushBytes, this.options.flushMs))
          void entry.index.flush();
      } else if (entry.index.shouldSeal(Date.now())) entry.index.seal();
      // Builds come first: while some are queued or running, a merge (which competes with them for the same cores)
      // waits unless segments pile up past MERGE_DEFER_FACTOR times the bound, so a bulk load becomes searchable
      // sooner and is compacted right after.
      const deferMerge = mergeWaitsForBuilds(
        this.builder.pending,
        entry.index.segmentCount(),
        this.options.maxSegments,
      );
      if (this.suspect.has(key) && !this.merges.has(key)) {
        this.suspect.delete(key);
        const check = entry.index
          .checkSegments(this.runner)
          .catch((err: unknown) => this.log(`indexer: check of ${key}'s segments failed: ${String(err)}`))
          .finally(() => this.merges.delete(key));
        this.merges.set(key, check);
      }
      if (!this.merges.has(key) && !deferMerge && Date.now() >= (this.mergeBackoff.get(key) ?? 0)) {
        // Merges run beside the indexing loop (on the worker), one per logstore at a time; a failed merge waits
        // MERGE_BACKOFF_MS before the next attempt instead of retrying on every pass.
        const merge = entry.index
          .mergeOnce(this.runner)
          .catch((err: unknown) => {
            this.log(`indexer: merge of ${key} failed: ${String(err)}`);
            this.mergeBackoff.set(key, Date.now() + MERGE_BACKOFF_MS);
          })
          .finally(() => this.merges.delete(key));
        this.merges.set(key, merge);
      }
    }
    for (const [key, entry] of this.stores) {
      if (!live.has(key)) {
        entry.index.destroy();
        this.stores.delete(key);
      }
    }
    const now = Date.now();
    if (now - this.lastRetention >= RETENTION_EVERY_MS) {
      this.lastRetention = now;
      for (const { index } of this.stores.values()) {
        index.dropBefore(Math.floor(now / 1000) - index.config.ttl * DAY_SEC);
      }
    }
  }

  /** Opens (or reopens after a config change / re-creation) the index of a logstore. */
  private ensure(key: string, doc: StoredIndex): { doc: StoredIndex; index: LogstoreIndex } {
    const cur = this.stores.get(key);
    if (cur && cur.doc.uid === doc.uid) {
      if (cur.doc.version !== doc.version) {
        cur.index.reconfigure(compileIndex(doc, this.ttlOf(key)), doc);
        const next = { doc, index: cur.index };
        this.stores.set(key, next);
        return next;
      }
      return cur;
    }
    const dir = join(this.root, ...splitKey(key), doc.uid);
    if (cur) {
      // A range rebuild keeps the old folder's segments that hold no record of its range (hard links: a merge
      // finishing in the old folder cannot take them away); everything else the old index held is re-indexed.
      if (doc.carryFrom === cur.doc.uid && doc.rebuildSeqs && !existsSync(dir)) {
        mkdirSync(dir, { recursive: true });
        for (const file of cur.index.segmentFilesOutside(doc.rebuildSeqs)) {
          try {
            linkSync(file, join(dir, basename(file)));
          } catch (err) {
            // Gone since (merged away): its rows are re-indexed from the shard log instead.
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          }
        }
      }
      cur.index.destroy();
      this.stores.delete(key);
    }
    const index = LogstoreIndex.open(dir, compileIndex(doc, this.ttlOf(key)), this.options, this.log);
    for (const [shardKey, ranges] of Object.entries(doc.skipSeqs ?? {}))
      for (const [from, to] of ranges) index.exclude(shardKey, from, to);
    if (this.options.worker) {
      const [project, logstore] = splitKey(key);
      index.attachBuilder(this.builder, doc, this.ttlOf(key), this.log, (shardKey, seq) =>
        this.readOne(project, logstore, shardKey, seq),
      );
    }
    const entry = { doc, index };
    this.stores.set(key, entry);
    return entry;
  }

  /** Record `seq` of the shard log `shardKey` names (`${id}-${baseSeq}`), read again; undefined if that log is gone. */
  private async readOne(
    project: string,
    logstore: string,
    shardKey: string,
    seq: number,
  ): Promise<StoredRecord | undefined> {
    const shard = this.source.shards(project, logstore).find((s) => `${s.id}-${s.baseSeq}` === shardKey);
    if (!shard) return undefined;
    return (await this.source.read(project, logstore, shard.id, seq, 1))[0];
  }

  private ttlOf(key: string): number {
    const [project, logstore] = splitKey(key);
    return this.meta.getLogstore(project, logstore)?.ttl ?? 30;
  }

  private async catchUp(project: string, logstore: string, doc: StoredIndex, index: LogstoreIndex): Promise<void> {
    for (const shard of this.source.shards(project, logstore)) {
      const shardKey = `${shard.id}-${shard.baseSeq}`;
      const range = await this.source.range(project, logstore, shard.id);
      const start = Math.max(range.begin, doc.startSeqs[shardKey] ?? range.begin);
      let from = index.resumeAt(shardKey, start);
      while (from < range.end && !this.stopped) {
        const records = await this.source.read(project, logstore, shard.id, from, this.options.batchRecords);
        if (records.length === 0) break;
        if (index.remoteMode) {
          for (const r of records) {
            if (index.covers(shardKey, r.seq)) index.passCovered(shardKey, r.seq);
            else index.addStored(shardKey, r);
            // Flush by size per record, so one build never holds more than about flushBytes of logs.
            if (index.shouldFlush(Date.now(), this.options.flushBytes, this.options.flushMs)) {
              index
                .flush()
                .catch((err: unknown) => this.log(`indexer: build of ${project}/${logstore}: ${String(err)}`));
              // Backpressure: at most two builds per worker queued or running. Wait for any build to finish, not
              // for this one: it is last in the queue, and waiting for it left a worker idle once the others were
              // done.
              await this.builder.whenPendingAtMost(2 * this.builder.workers);
            }
          }
          from = records[records.length - 1]!.seq + 1;
          await yieldLoop();
          continue;
        }
        let sliceStart = performance.now();
        for (const r of records) {
          // Time-slice: give queued requests (acks, queries) the loop every SLICE_MS of indexing.
          if (performance.now() - sliceStart > SLICE_MS) {
            await yieldLoop();
            sliceStart = performance.now();
          }
          if (index.covers(shardKey, r.seq)) continue;
          let bytes: Uint8Array;
          try {
            bytes = this.source.payload(r);
          } catch (err) {
            this.log(`indexer: ${project}/${logstore} shard ${shard.id} record ${r.seq} skipped: ${String(err)}`);
            index.skip(shardKey, r.seq);
            continue;
          }
          index.add(shardKey, r.seq, bytes);
        }
        from = records[records.length - 1]!.seq + 1;
        if (index.shouldSeal(Date.now())) index.seal();
        await yieldLoop();
      }
    }
  }
}

export function indexKey(project: string, logstore: string): string {
  return `${project}/${logstore}/`;
}

function splitKey(key: string): [string, string] {
  const parts = key.split('/');
  return [parts[0]!, parts[1]!];
}

function yieldLoop(): Promise<void> {
  return new Promise((done) => setImmediate(done));
}

/** Deletes index folders (`<root>/<project>/<logstore>/<uid>`) that no live index document names. */
export function removeOrphanIndexes(root: string, live: ReadonlySet<string>): void {
  for (const project of dirs(root)) {
    for (const logstore of dirs(join(root, project))) {
      for (const uid of dirs(join(root, project, logstore))) {
        if (!live.has(`${project}/${logstore}/${uid}`))
          rmSync(join(root, project, logstore, uid), { recursive: true, force: true });
      }
    }
  }
}

function dirs(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
}
