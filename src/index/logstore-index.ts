import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeLogGroup } from '../protocol/log-group.js';
import type { MergeRunner } from '../storage/segment/merge-runner.js';
import type { SearchPart } from '../storage/segment/part.js';
import type { SegmentFooter } from '../storage/segment/segment-format.js';
import { mergeSegments } from '../storage/segment/segment-merge.js';
import { damagedSegments, isSystemError, SegmentReader } from '../storage/segment/segment-reader.js';
import { writeSegment } from '../storage/segment/segment-writer.js';
import type { StoredRecord } from '../storage/shard-log/shard-log.js';
import { Coverage, rangesOf } from './coverage.js';
import { HeadPart } from './head-part.js';
import type { CompiledIndex, IndexDocument } from './index-config.js';
import type { SegmentBuilder } from './segment-builder.js';

export interface LogstoreIndexOptions {
  /** Seal the head into a segment at this many rows… */
  readonly sealRows: number;
  /** …or when its oldest row has waited this long. */
  readonly sealAgeMs: number;
  /** Merge when more than this many segments exist. */
  readonly maxSegments: number;
  /** A merge never produces a segment larger than this. */
  readonly maxSegmentRows: number;
  /**
   * A merge's output holds at least this many times the rows of its largest input (0: no such rule). Without it,
   * once the bound is passed every new segment was merged into the one growing toward maxSegmentRows, so each row
   * was rewritten once per later segment: ~23 times for 10k-row segments under a 524k cap. With 2, a row is
   * rewritten about log2(maxSegmentRows / young rows) times at most, as in a binary counter.
   */
  readonly mergeRatio: number;
}

/**
 * Every segment a query visits costs it a token block, a posting, its windows and a pool job, and a day loaded in bulk
 * gives segments that all overlap in time. 5M logs settled at 15 segments under the former bounds (8 segments of at
 * most 524,288 rows): a rare IP's page over them took 4.5 ms of CPU in one process, against 3.9 ms over the same logs
 * merged into 7 and 3.3 ms into 3 (docs/benchmarks.md, session 9). They now settle at 5–6. A cap of 2M rows (3
 * segments) was measured too: a 2M-row merge holds ~110–125 MB, on top of the server's ~350–400 MB after a bulk
 * load, and bench:search's peak RSS reached 485–506 MiB of its 512 MiB budget (460–489 MiB with 1M).
 */
export const DEFAULT_INDEX_OPTIONS: LogstoreIndexOptions = Object.freeze({
  sealRows: 131_072,
  sealAgeMs: 10_000,
  maxSegments: 4,
  maxSegmentRows: 1_048_576,
  mergeRatio: 2,
});

/** How a logstore index hands its records to the builder workers (`attachBuilder`). */
interface RemoteBuild {
  readonly builder: SegmentBuilder;
  readonly doc: IndexDocument;
  readonly ttlDays: number;
  readonly log: (l: string) => void;
  /**
   * Reads record `seq` of `shardKey` again. A build's payloads move to the worker (transferred, not copied), so a
   * failed build's retry reads them back from the shard log; undefined (or a throw) leaves that record unindexed.
   */
  readonly reread: (shardKey: string, seq: number) => Promise<StoredRecord | undefined>;
}

/**
 * Most segments one merge reads: enough that the young segments of a bulk load (40,960 rows each for bench:search's
 * nginx logs: one 16 MB flush) reach maxSegmentRows in one merge, so each row is rewritten once on its way to the
 * segment it stays in. With 8, a 5M-log day went through two levels: 8 young into 327,680 rows at zstd 3 (7.0 µs of
 * merge CPU per row), then 3 of those into 983,040 at zstd 6 (9.0 µs per row). 24 young segments merged
 * straight into 983,040 rows at zstd 6 took 7.8 µs per row, with the same bytes (74.8 against 75.1 per row)
 * and the same peak memory (a merge holds one block of each input at a time; docs/benchmarks.md, session 16).
 */
export const MAX_MERGE_INPUTS = 32;

const SEG_EXT = '.seg';
/** Raw bytes of records per build when a damaged segment's records are indexed again (a flush's worth). */
const REFILL_BYTES = 16 * 1024 * 1024;
const DROPPED_FILE = 'dropped.json';

/**
 * The index of one logstore: sealed segments (files in `dir`) plus the in-memory head. Progress per shard log is
 * implied by the data itself: each segment records the shard-log record ranges it holds, so after a restart
 * indexing resumes at the first record no segment holds and skips ranges already held (only unsealed or unbuilt
 * records are replayed). A merge writes its output (naming
 * the segments it replaces) before deleting its inputs; an open that finds both deletes the inputs, so a crash
 * mid-merge neither loses nor double counts rows.
 */
export class LogstoreIndex {
  private segments: SegmentReader[] = [];
  private head: HeadPart;
  private nextSeq: number;
  private readonly coverage = new Coverage();
  /** Ranges held by segments TTL dropped (persisted in DROPPED_FILE). */
  private readonly dropped: Record<string, [number, number][]> = {};
  private merging = false;
  private destroyed = false;
  /** Closed or destroyed: a refill in progress stops. */
  private stopped = false;
  /** Remote-build mode: records go to the builder worker instead of the local head. */
  private remote: RemoteBuild | undefined;
  private pending: (StoredRecord & { shardKey: string })[] = [];
  /** The slabs holding the pending records' payloads (SegmentBuilder.slab); the last one is being filled. */
  private pendingSlabs: ArrayBuffer[] = [];
  private slabUsed = 0;
  private pendingBytes = 0;
  private pendingSince = 0;
  /** Per shard, one past the last record handed to the builder (pending or being built). */
  private readonly handedOff = new Map<string, number>();
  private building: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    private compiled: CompiledIndex,
    private readonly options: LogstoreIndexOptions,
    segments: SegmentReader[],
    nextSeq: number,
    private readonly log: (line: string) => void,
  ) {
    this.segments = segments;
    this.nextSeq = nextSeq;
    for (const s of segments) this.cover(s);
    try {
      const dropped = JSON.parse(readFileSync(join(dir, DROPPED_FILE), 'utf8')) as Record<string, [number, number][]>;
      for (const [key, ranges] of Object.entries(dropped)) {
        this.dropped[key] = ranges;
        for (const [from, to] of ranges) this.coverage.add(key, from, to);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.head = this.newHead();
  }

  static open(
    dir: string,
    compiled: CompiledIndex,
    options: LogstoreIndexOptions,
    log: (line: string) => void = () => {},
  ): LogstoreIndex {
    mkdirSync(dir, { recursive: true });
    const files = readdirSync(dir);
    for (const f of files) if (f.endsWith('.tmp')) unlinkSync(join(dir, f));
    const readers: SegmentReader[] = [];
    let maxSeq = 0;
    for (const f of files.filter((x) => x.endsWith(SEG_EXT)).sort()) {
      maxSeq = Math.max(maxSeq, Number.parseInt(f, 10) || 0);
      const path = join(dir, f);
      try {
        readers.push(SegmentReader.open(path));
      } catch (err) {
        if (isSystemError(err)) throw err;
        // Not held by any segment now, so catch-up indexes its records again from the shard log.
        quarantine(path, String(err instanceof Error ? err.message : err), log, 'now');
      }
    }
    // A merge output lists its inputs: any input still present was left by a crash between write and delete.
    const replaced = new Set<string>();
    for (const r of readers) for (const id of r.footer.replaces) replaced.add(id);
    const live: SegmentReader[] = [];
    for (const r of readers) {
      if (replaced.has(r.id)) {
        r.close();
        unlinkSync(r.path);
      } else live.push(r);
    }
    return new LogstoreIndex(dir, compiled, options, live, maxSeq + 1, log);
  }

  get config(): CompiledIndex {
    return this.compiled;
  }

  /** New rows are indexed with `compiled` from now on (the current head is sealed first, under its own config). */
  reconfigure(compiled: CompiledIndex, doc?: IndexDocument): void {
    if (this.head.n > 0) this.seal();
    if (this.remote) {
      void this.flush();
      if (doc) this.remote = { ...this.remote, doc };
    }
    this.compiled = compiled;
    this.head = this.newHead();
  }

  /**
   * Next shard-log record to read for `shardKey`, indexing from `start`: past what is queued or in the head, else
   * the first record no segment holds.
   */
  resumeAt(shardKey: string, start: number): number {
    const next = this.handedOff.get(shardKey) ?? this.head.shards.get(shardKey)?.[1];
    return this.coverage.nextUncovered(shardKey, Math.max(start, next ?? start));
  }

  /** Whether a segment already holds record `seq` (a range built before a crash that lost an earlier one). */
  covers(shardKey: string, seq: number): boolean {
    return this.coverage.covers(shardKey, seq);
  }

  /** Records in [from, to) that are searchable in segments or the head. */
  indexedIn(shardKey: string, from: number, to: number): number {
    let n = this.coverage.countIn(shardKey, from, to);
    const h = this.head.shards.get(shardKey);
    if (h) {
      // The head's range may span records skipped because a segment already held them.
      const a = Math.max(h[0], from);
      const b = Math.min(h[1], to);
      if (b > a) n += b - a - this.coverage.countIn(shardKey, a, b);
    }
    return n;
  }

  /** Records [from, to) of `shardKey` are not to be indexed (counted as covered, so catch-up passes them). */
  exclude(shardKey: string, from: number, to: number): void {
    this.coverage.add(shardKey, from, to);
  }

  /**
   * Files of the segments holding no record inside `ranges` ([from, to) per shard log, `to` null for no end): a
   * range rebuild carries them over into its new folder unchanged.
   */
  segmentFilesOutside(ranges: Readonly<Record<string, readonly [number, number | null]>>): string[] {
    const out: string[] = [];
    for (const s of this.segments) {
      const inside = Object.entries(s.footer.shards).some(([key, entry]) => {
        const r = ranges[key];
        if (!r) return false;
        const to = r[1] ?? Number.POSITIVE_INFINITY;
        return rangesOf(entry).some(([a, b]) => a < to && b > r[0]);
      });
      if (!inside) out.push(s.path);
    }
    return out;
  }

  private cover(s: SegmentReader): void {
    for (const [key, ranges] of Object.entries(s.footer.shards)) {
      for (const [from, to] of rangesOf(ranges)) this.coverage.add(key, from, to);
    }
  }

  /**
   * Switches to remote building: records are queued with `addStored` and built into segments on the worker by
   * `flush`; nothing is indexed on this thread.
   */
  attachBuilder(
    builder: SegmentBuilder,
    doc: IndexDocument,
    ttlDays: number,
    log: (l: string) => void,
    reread: RemoteBuild['reread'],
  ): void {
    this.remote = { builder, doc, ttlDays, log, reread };
  }

  get remoteMode(): boolean {
    return this.remote !== undefined;
  }

  /** Marks a record as passed without queuing it (a segment already holds it). */
  passCovered(shardKey: string, seq: number): void {
    if (this.remote) this.handedOff.set(shardKey, seq + 1);
  }

  addStored(shardKey: string, record: StoredRecord): void {
    this.pending.push({ ...record, payload: this.ownCopy(record.payload), shardKey });
    if (this.pending.length === 1) this.pendingSince = Date.now();
    this.pendingBytes += record.rawSize;
    this.handedOff.set(shardKey, record.seq + 1);
  }

  shouldFlush(nowMs: number, maxBytes: number, maxAgeMs: number): boolean {
    return this.pending.length > 0 && (this.pendingBytes >= maxBytes || nowMs - this.pendingSince >= maxAgeMs);
  }

  /** Builds the queued records into a segment on the worker; resolves once it is searchable. */
  flush(): Promise<void> {
    if (!this.remote || this.pending.length === 0) return this.building;
    const records = this.pending;
    const slabs = this.pendingSlabs;
    this.pending = [];
    this.pendingSlabs = [];
    this.pendingBytes = 0;
    this.building = this.buildRecords(records, 0, slabs);
    return this.building;
  }

  /**
   * A copy of `src` that nobody else holds: the source's payload is a view of its read buffer, which it may reuse.
   * In remote mode the copy lies in a slab of the pending build (moved to its worker with it, then used again), as a
   * copy into a buffer of its own per payload cost page faults on fresh memory; otherwise (a retry's records, read
   * again) each copy is all of its own ArrayBuffer, which the builder moves to the worker too (`transferable`).
   */
  private ownCopy(src: Buffer): Buffer {
    const remote = this.remote;
    if (!remote) return ownCopy(src);
    let slab = this.pendingSlabs.at(-1);
    if (!slab || this.slabUsed + src.byteLength > slab.byteLength) {
      slab = remote.builder.slab(src.byteLength);
      this.pendingSlabs.push(slab);
      this.slabUsed = 0;
    }
    const own = Buffer.from(slab, this.slabUsed, src.byteLength);
    own.set(src);
    this.slabUsed += src.byteLength;
    return own;
  }

  /**
   * Builds `records` into one segment. A failed build (a worker out of memory on an unusually large batch, an I/O
   * error) is retried as two halves, down to single records, so no record is silently left out; a single record
   * that still fails is logged and left unindexed (a rebuild retries it).
   */
  private async buildRecords(
    records: (StoredRecord & { shardKey: string })[],
    depth: number,
    slabs?: readonly ArrayBuffer[],
  ): Promise<void> {
    const remote = this.remote!;
    const id = this.newSegmentId();
    const path = join(this.dir, `${id}${SEG_EXT}`);
    try {
      // The payloads move to the worker: from here on `records` hold empty (detached) buffers.
      const reply = await remote.builder.build({
        doc: remote.doc,
        ttlDays: remote.ttlDays,
        id,
        path,
        records,
        ...(slabs ? { slabs } : {}),
      });
      for (const s of reply.skipped) remote.log(`indexer: record skipped: ${s}`);
    } catch (err) {
      if (this.destroyed) return;
      records = await this.readAgain(records, remote);
      if (this.destroyed || records.length === 0) return;
      if (records.length > 1 && depth < 16) {
        remote.log(`indexer: build of ${records.length} records failed (${String(err)}); retrying in halves`);
        const half = records.length >> 1;
        await Promise.all([
          this.buildRecords(records.slice(0, half), depth + 1),
          this.buildRecords(records.slice(half), depth + 1),
        ]);
      } else {
        remote.log(`indexer: record ${records[0]?.shardKey}@${records[0]?.seq} could not be indexed: ${String(err)}`);
      }
      return;
    }
    // Closed meanwhile: the file stays, and the next open loads it.
    if (this.stopped) return;
    const reader = SegmentReader.open(path);
    this.segments.push(reader);
    this.cover(reader);
  }

  /** A failed build's records with their payloads read back from the shard log (see RemoteBuild.reread). */
  private async readAgain(
    records: (StoredRecord & { shardKey: string })[],
    remote: RemoteBuild,
  ): Promise<(StoredRecord & { shardKey: string })[]> {
    const out: (StoredRecord & { shardKey: string })[] = [];
    for (const r of records) {
      let again: StoredRecord | undefined;
      try {
        again = await remote.reread(r.shardKey, r.seq);
      } catch (err) {
        remote.log(`indexer: record ${r.shardKey}@${r.seq} could not be read again: ${String(err)}`);
        continue;
      }
      if (again?.seq !== r.seq) {
        remote.log(`indexer: record ${r.shardKey}@${r.seq} could not be read again: gone from its shard log`);
        continue;
      }
      out.push({ ...again, payload: ownCopy(again.payload), shardKey: r.shardKey });
    }
    return out;
  }

  pendingBuilds(): number {
    return this.remote?.builder.pending ?? 0;
  }

  /** Indexes one stored LogGroup. */
  add(shardKey: string, seq: number, logGroupBytes: Uint8Array): void {
    const g = decodeLogGroup(logGroupBytes);
    this.head.addGroup(shardKey, seq, g.logs, g.topic ?? '', g.source ?? '', g.tags);
  }

  /** Marks records [seq, seq+1) as passed without indexing (a record that cannot be decoded). */
  skip(shardKey: string, seq: number): void {
    this.head.addGroup(shardKey, seq, [], '', '', []);
  }

  parts(): SearchPart[] {
    return [...this.segments, this.head];
  }

  segmentCount(): number {
    return this.segments.length;
  }

  rowCount(): number {
    let n = this.head.n;
    for (const s of this.segments) n += s.n;
    return n;
  }

  diskBytes(): number {
    let b = 0;
    for (const s of this.segments) b += s.bytes;
    return b;
  }

  shouldSeal(nowMs: number): boolean {
    if (this.head.n >= this.options.sealRows) return true;
    return this.head.shards.size > 0 && nowMs - this.head.createdMs >= this.options.sealAgeMs;
  }

  /** Writes the head as a segment (synchronously: the head stays searchable until the segment replaces it). */
  seal(): void {
    const head = this.head;
    if (head.shards.size === 0) return;
    const id = this.newSegmentId();
    const path = join(this.dir, `${id}${SEG_EXT}`);
    writeSegment(path, head.toSource(id, this.compiled.version));
    const reader = SegmentReader.open(path);
    this.segments.push(reader);
    this.cover(reader);
    this.head = this.newHead();
  }

  /**
   * Merges the smallest segments when there are too many; resolves with whether it merged. With a `runner` the
   * merge runs on a worker thread and the segments stay searchable meanwhile; inputs are swapped for the output
   * only once it is durable.
   */
  async mergeOnce(runner?: MergeRunner): Promise<boolean> {
    if (this.merging || this.segments.length <= this.options.maxSegments) return false;
    const pick = pickMerge(this.segments, this.options);
    if (!pick) return false;
    // Merge in creation order so ties in time keep their original order.
    pick.sort((a, b) => (a.id < b.id ? -1 : 1));
    const id = this.newSegmentId();
    const path = join(this.dir, `${id}${SEG_EXT}`);
    this.merging = true;
    let damaged: readonly string[] = [];
    try {
      const rows = pick.reduce((a, s) => a + s.n, 0);
      if (runner) {
        ({ damaged } = await runner.merge(
          { inputs: pick.map((s) => s.path), output: path, id, configVersion: this.compiled.version },
          rows,
        ));
      } else {
        try {
          mergeSegments(pick, path, id, this.compiled.version);
        } catch (err) {
          damaged = damagedSegments(pick.map((s) => s.path));
          if (damaged.length === 0) throw err;
        }
      }
    } finally {
      this.merging = false;
    }
    if (this.destroyed) return false;
    if (damaged.length > 0) {
      // The other segments merge on the next pass.
      this.dropDamaged(damaged, 'a merge could not read it');
      return false;
    }
    const merged = SegmentReader.open(path);
    const gone = new Set(pick.map((s) => s.id));
    this.segments = [...this.segments.filter((s) => !gone.has(s.id)), merged];
    for (const s of pick) {
      s.close();
      unlinkSync(s.path);
    }
    return true;
  }

  /**
   * Reads every segment whole (on the merge worker, with a runner) and moves the damaged ones aside; resolves with how
   * many. A query that met damaged bytes asks for it (Indexer.suspectDamage): a segment at rest may never be merged
   * again, and every query over it would fail.
   */
  async checkSegments(runner?: MergeRunner): Promise<number> {
    if (this.merging) return 0;
    this.merging = true;
    let damaged: readonly string[];
    try {
      const paths = this.segments.map((s) => s.path);
      damaged = runner ? await runner.verify(paths) : damagedSegments(paths);
    } finally {
      this.merging = false;
    }
    if (this.destroyed) return 0;
    this.dropDamaged(damaged, 'a query met damaged bytes in it');
    return damaged.length;
  }

  /**
   * Closes the segments at `paths` and moves their files aside. What they held stays counted as indexed (catch-up
   * would otherwise index records still in flight twice); in remote mode it is built again at once (refill), else the
   * next start finds it missing and indexes it again.
   */
  private dropDamaged(paths: readonly string[], why: string): void {
    const gone = new Set(paths);
    const moved: SegmentReader[] = [];
    for (const s of this.segments.filter((x) => gone.has(x.path))) {
      s.close();
      if (quarantine(s.path, why, this.log, this.remote ? 'now' : 'at the next start')) moved.push(s);
    }
    this.segments = this.segments.filter((s) => !gone.has(s.path));
    if (this.remote && moved.length > 0) {
      const remote = this.remote;
      this.refill(moved.map((s) => s.footer.shards)).catch((err: unknown) =>
        remote.log(`indexer: indexing again what a damaged segment held failed: ${String(err)}`),
      );
    }
  }

  /**
   * Builds again, from the shard log, the records of damaged segments moved aside (remote mode: records are read
   * again one by one, as a failed build's are). Each build holds records of one contiguous range of one shard log,
   * at most REFILL_BYTES of them, so its recorded range claims no record it does not hold. None of these records is
   * in any other segment or in flight (each record is built into one segment, and the damaged segment was in no
   * merge), so nothing is indexed twice; if the process stops first, the next start finds them missing.
   */
  private async refill(held: readonly SegmentFooter['shards'][]): Promise<void> {
    const remote = this.remote!;
    for (const shards of held) {
      for (const [shardKey, entry] of Object.entries(shards)) {
        for (const [from, to] of rangesOf(entry)) {
          let batch: (StoredRecord & { shardKey: string })[] = [];
          let bytes = 0;
          for (let seq = from; seq < to && !this.stopped; seq++) {
            let record: StoredRecord | undefined;
            try {
              record = await remote.reread(shardKey, seq);
            } catch (err) {
              remote.log(`indexer: record ${shardKey}@${seq} could not be read again: ${String(err)}`);
            }
            if (record?.seq !== seq) {
              // Gone from the shard log (or unreadable): a build after it starts a new range.
              if (batch.length > 0) await this.buildRecords(batch, 0);
              batch = [];
              bytes = 0;
              continue;
            }
            batch.push({ ...record, payload: ownCopy(record.payload), shardKey });
            bytes += record.rawSize;
            if (bytes >= REFILL_BYTES) {
              await this.buildRecords(batch, 0);
              batch = [];
              bytes = 0;
            }
          }
          if (batch.length > 0 && !this.stopped) await this.buildRecords(batch, 0);
        }
      }
    }
  }

  /** Drops whole segments whose newest log is older than `beforeSec`. */
  dropBefore(beforeSec: number): number {
    if (this.merging) return 0;
    const old = this.segments.filter((s) => s.maxTime < beforeSec);
    if (old.length === 0) return 0;
    // Remember what the dropped segments held, so a restart does not index those expired records again.
    for (const seg of old) {
      for (const [key, ranges] of Object.entries(seg.footer.shards)) {
        const list = this.dropped[key] ?? [];
        for (const r of rangesOf(ranges)) list.push([r[0], r[1]]);
        this.dropped[key] = list;
      }
    }
    const tmp = join(this.dir, `${DROPPED_FILE}.tmp`);
    writeFileSync(tmp, JSON.stringify(this.dropped));
    renameSync(tmp, join(this.dir, DROPPED_FILE));
    this.segments = this.segments.filter((s) => s.maxTime >= beforeSec);
    for (const s of old) {
      s.close();
      unlinkSync(s.path);
    }
    return old.length;
  }

  close(): void {
    this.stopped = true;
    for (const s of this.segments) s.close();
    this.segments = [];
  }

  /** Closes and deletes everything. */
  destroy(): void {
    this.destroyed = true;
    this.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private newHead(): HeadPart {
    return new HeadPart(`head-${this.nextSeq}`, this.compiled);
  }

  private newSegmentId(): string {
    return String(this.nextSeq++).padStart(10, '0');
  }
}

/**
 * Moves a damaged segment file aside (renamed `<id>.seg.damaged`, kept for whoever looks into why) so that the index
 * goes on without it: queries and merges no longer read it, and the records it held are indexed again from the shard
 * log: at once (at start by catch-up, at run time by a refill when builds run on workers), else by the next start.
 */
function quarantine(
  path: string,
  why: string,
  log: (line: string) => void,
  again: 'now' | 'at the next start',
): boolean {
  try {
    renameSync(path, `${path}.damaged`);
  } catch (err) {
    // Left in place, and its records not indexed again: the next start would load it beside them.
    log(`index: segment ${path} is damaged (${why}) and could not be moved aside: ${String(err)}`);
    return false;
  }
  log(
    `index: segment ${path} is damaged (${why}); moved aside as ${path}.damaged, its logs are indexed again ${again}`,
  );
  return true;
}

/**
 * The segments one merge should read, or undefined for none: the longest run of the smallest segments (at most
 * MAX_MERGE_INPUTS, at most maxSegmentRows in all) whose total is at least mergeRatio times its largest.
 */
export function pickMerge<S extends { readonly n: number }>(
  segments: readonly S[],
  options: Pick<LogstoreIndexOptions, 'maxSegmentRows' | 'mergeRatio'>,
): S[] | undefined {
  const pick = [...segments].sort((a, b) => a.n - b.n);
  let rows = 0;
  let k = 0;
  while (k < pick.length && k < MAX_MERGE_INPUTS && rows + pick[k]!.n <= options.maxSegmentRows) rows += pick[k++]!.n;
  pick.length = k;
  while (pick.length >= 2 && rows < options.mergeRatio * pick[pick.length - 1]!.n) rows -= pick.pop()!.n;
  return pick.length >= 2 ? pick : undefined;
}

/**
 * A copy of `src` in an ArrayBuffer of exactly its size, owned by nobody else. The source's payload is a view of its
 * read buffer, which it may reuse (and whose whole ArrayBuffer a structured clone would copy). The builder transfers
 * such a buffer to its worker instead of serializing it there and copying it out again (two copies of every payload,
 * ~430 MB in a 5M load, and an allocation on the worker). SharedArrayBuffers, which need no transfer, were tried
 * first: two fresh 5M loads peaked at 501 and 520 MiB of RSS (445-494 MiB without), their memory going back only once
 * both threads had collected their views.
 */
function ownCopy(src: Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(src.byteLength);
  own.set(src);
  return own;
}
