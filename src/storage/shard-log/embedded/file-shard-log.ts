/**
 * The embedded shard log: one directory per shard holding append-only segment files named by their first sequence
 * number (`00000000000000001000.log`), each a run of CRC-framed records (record-codec.ts), plus a sidecar index
 * (`.idx`, segment-index-file.ts) for every sealed file.
 *
 * Writes go through one serial lane: a group commit takes every append queued so far, assigns consecutive seqs, writes
 * them with one pwritev, fdatasyncs, and only then publishes them (endSeq, the sparse index) and resolves the appends.
 * While that commit runs, new appends queue and the next commit covers them all, so the fsync rate stays at one per
 * disk round trip however many clients write. Rotation and TTL run in the same lane, so they never race a commit.
 *
 * An I/O error during a commit fails that batch and everything queued behind it (never acknowledged, never visible),
 * then cuts the active file back to its durable size and fsyncs that. Trusting the page cache instead would be wrong:
 * after a failed fsync Linux may mark the dirty pages clean, so the failed records can read back whole now and vanish
 * at power loss, taking later acknowledged records with them when recovery cuts at the hole. Once the cut is durable,
 * the failed seqs were never seen by anyone and are handed out again. If the cut itself fails, the log stays failed
 * (`failure`) and each later commit retries the cut first; appends resume by themselves when the disk does (ENOSPC
 * freed by TTL, say). Durable records stay readable throughout.
 *
 * Idempotency ids travel inside their record's frame (record-codec.ts) and are published with it, after the fsync, into
 * an in-memory id -> seq map; at open the map is rebuilt from the sidecars and the active file's scan, and a trim
 * forgets the ids of the files it drops. One map entry per record that has an id.
 *
 * Receive times are clamped to be non-decreasing (a record gets max(its time, the previous record's)), so cursor-by-
 * time is a binary search; a clock stepping back shows up as equal times, never as disorder.
 *
 * Sealed files are compacted a while after sealing (compaction.ts): rewritten with zstd payloads on a worker thread,
 * then swapped in the lane: the rewrite is renamed to `<first seq>.zlog` (the directory fsynced, so recovery prefers it
 * from here on), its sidecar written, the in-memory view replaced, and the `.log` removed. A reader that took the old
 * view reads on from its open handle, or from the rewrite if the `.log` is already gone (`Segment.replacedBy`).
 *
 * Every fsync occupies a libuv threadpool thread for its duration; a server with many busy shards should raise
 * UV_THREADPOOL_SIZE (default 4) so fsyncs do not queue reads behind them.
 */
import type { FileHandle } from 'node:fs/promises';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { SlsError } from '../../../protocol/errors.js';
import {
  type AppendEntry,
  idempotencyIdProblem,
  type ReadOptions,
  type ShardLog,
  type StoredRecord,
} from '../shard-log.js';
import { type CompactionQueue, compactionQueue } from './compaction.js';
import { type FileShardLogOptions, parseShardLogOptions, type ResolvedShardLogOptions } from './options.js';
import { codecId, encodeRecordHeader, idBlockBytes, RECORD_HEADER_BYTES } from './record-codec.js';
import { type RecoveryReport, recoverShardLog, syncDirectory } from './recovery.js';
import { compactedFileName, Segment, segmentFileName } from './segment.js';
import { writeSegmentIndex } from './segment-index-file.js';
import { type ReadBudget, readFromSegment, seqAtTimeIn, timeOfSeqIn } from './segment-reader.js';

/** Counters since open, for metrics and tests. */
export interface ShardLogStats {
  /** Acknowledged append calls. */
  readonly appends: number;
  /** Acknowledged records. */
  readonly records: number;
  /** Acknowledged bytes on disk, framing included. */
  readonly bytes: number;
  /** Group commits (one write each). */
  readonly commits: number;
  /** fdatasync calls on segment files (0 with fsync off). */
  readonly fsyncs: number;
  /** Group commits that failed on an I/O error (their appends were rejected). */
  readonly failedCommits: number;
  readonly rotations: number;
  readonly trimmedFiles: number;
  /** Sealed files rewritten with zstd payloads, their bytes before and after, and rewrites that failed. */
  readonly compactedFiles: number;
  readonly compactedBytesBefore: number;
  readonly compactedBytesAfter: number;
  readonly failedCompactions: number;
}

interface PendingAppend {
  readonly entries: readonly AppendEntry[];
  readonly receiveTimeMs: number;
  readonly bytes: number;
  readonly resolve: (firstSeq: number) => void;
  readonly reject: (err: unknown) => void;
}

/** Linux caps one writev at 1024 buffers (IOV_MAX); past that, libuv would split the batch into several syscalls. */
const MAX_IOVECS = 1024;
const MAX_U32 = 0xffffffff;

/** Directories open in this process: two instances on one directory would interleave writes and corrupt it. */
const openDirs = new Set<string>();

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function invalid(message: string): SlsError {
  return new SlsError('ParameterInvalid', message);
}

function isNonNegativeInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

export class FileShardLog implements ShardLog {
  readonly dir: string;
  /** What opening had to do: files trusted via sidecar, files scanned, bytes cut from torn tails. */
  readonly recovery: RecoveryReport;
  private readonly options: ResolvedShardLogOptions;
  /** Oldest first; the last one is the active file. Never empty. */
  private readonly segments: Segment[];
  private activeHandle: FileHandle;
  private activeStartedAtMs: number;
  /** Receive times are clamped to be non-decreasing so that seqAtTime can binary-search them. */
  private lastTimeMs: number;
  /** Idempotency id -> seq of the durable record carrying it (the newest, should an id occur twice). */
  private readonly ids = new Map<string, number>();
  private pending: PendingAppend[] = [];
  private pendingBytes = 0;
  private commitQueued = false;
  /** The serial lane for commits, rotation and trimming. */
  private lane: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  /** Set while the active file may hold bytes past its durable size that could not be cut (see the file comment). */
  private failedWith: SlsError | undefined;
  private tailDirty = false;
  /** Compactions waiting for their delay, and those queued or running. */
  private readonly compactTimers = new Set<NodeJS.Timeout>();
  private readonly compactions = new Set<Promise<void>>();
  private readonly compactor: CompactionQueue;
  private counters = {
    appends: 0,
    records: 0,
    bytes: 0,
    commits: 0,
    fsyncs: 0,
    failedCommits: 0,
    rotations: 0,
    trimmedFiles: 0,
    compactedFiles: 0,
    compactedBytesBefore: 0,
    compactedBytesAfter: 0,
    failedCompactions: 0,
  };

  private constructor(
    dir: string,
    options: ResolvedShardLogOptions,
    segments: Segment[],
    activeHandle: FileHandle,
    recovery: RecoveryReport,
    compactor: CompactionQueue,
  ) {
    this.dir = dir;
    this.options = options;
    this.compactor = compactor;
    this.segments = segments;
    this.activeHandle = activeHandle;
    this.recovery = recovery;
    const active = this.active;
    this.activeStartedAtMs = active.count > 0 ? active.minTimeMs : options.now();
    const newest = segments.findLast((s) => s.count > 0);
    this.lastTimeMs = newest?.maxTimeMs ?? 0;
    for (const segment of segments) {
      for (let i = 0; i < segment.idList.length; i++) this.ids.set(segment.idList[i]!, segment.idSeq[i]!);
    }
    // Sealed files a previous run did not get to (or wrote before compaction existed).
    for (const segment of segments.slice(0, -1)) this.scheduleCompaction(segment);
  }

  /** `compactor`: the queue rewrites run on (tests pass their own; the process shares one by default). */
  static async open(
    dir: string,
    options: FileShardLogOptions = {},
    compactor: CompactionQueue = compactionQueue,
  ): Promise<FileShardLog> {
    const resolved = parseShardLogOptions(options);
    const absolute = path.resolve(dir);
    if (openDirs.has(absolute)) {
      throw new SlsError('InternalServerError', `shard log ${absolute} is already open in this process`);
    }
    openDirs.add(absolute);
    try {
      const { segments, report } = await recoverShardLog(absolute, resolved);
      const handle = await open(segments.at(-1)!.logPath, 'r+');
      return new FileShardLog(absolute, resolved, segments, handle, report, compactor);
    } catch (err) {
      openDirs.delete(absolute);
      throw err;
    }
  }

  private get active(): Segment {
    return this.segments.at(-1)!;
  }

  /**
   * Set while a failed write could not be cut back to the durable size; each commit retries the cut and fails while it
   * keeps failing. Undefined once the log has repaired itself.
   */
  get failure(): SlsError | undefined {
    return this.failedWith;
  }

  stats(): ShardLogStats {
    return { ...this.counters };
  }

  beginSeq(): number {
    return this.segments[0]!.firstSeq;
  }

  endSeq(): number {
    return this.active.endSeq;
  }

  append(entries: readonly AppendEntry[], receiveTimeMs?: number): Promise<number> {
    if (this.closing) return Promise.reject(this.closedError());
    if (!Array.isArray(entries) || entries.length === 0) {
      return Promise.reject(invalid('append needs at least one entry'));
    }
    if (receiveTimeMs !== undefined && !isNonNegativeInteger(receiveTimeMs)) {
      return Promise.reject(invalid(`receiveTimeMs must be a non-negative integer, got ${receiveTimeMs}`));
    }
    let bytes = 0;
    for (const entry of entries) {
      if (codecId(entry.codec) === undefined) return Promise.reject(invalid(`unknown payload codec ${entry.codec}`));
      if (!(entry.payload instanceof Uint8Array)) return Promise.reject(invalid('payload must be a Uint8Array'));
      if (entry.payload.length > this.options.maxRecordBytes) {
        return Promise.reject(
          new SlsError(
            'PostBodyTooLarge',
            `record of ${entry.payload.length} bytes exceeds the shard log limit of ${this.options.maxRecordBytes}`,
          ),
        );
      }
      if (!isNonNegativeInteger(entry.rawSize) || entry.rawSize > MAX_U32) {
        return Promise.reject(invalid(`rawSize must be an integer in [0, ${MAX_U32}], got ${entry.rawSize}`));
      }
      if (entry.idempotencyId !== undefined) {
        const problem = idempotencyIdProblem(entry.idempotencyId);
        if (problem !== undefined) return Promise.reject(invalid(`idempotency id ${problem}`));
      }
      bytes += RECORD_HEADER_BYTES + idBlockBytes(entry.idempotencyId) + entry.payload.length;
    }
    return new Promise<number>((resolve, reject) => {
      const receivedAt = receiveTimeMs ?? this.options.now();
      this.pending.push({ entries: Array.from(entries), receiveTimeMs: receivedAt, bytes, resolve, reject });
      this.pendingBytes += bytes;
      this.kick();
    });
  }

  async read(fromSeq: number, options: ReadOptions): Promise<StoredRecord[]> {
    this.assertOpen();
    const { maxCount, maxBytes, endSeq: requestedEnd } = options;
    if (!isNonNegativeInteger(maxCount)) throw invalid(`maxCount must be a non-negative integer, got ${maxCount}`);
    if (!isNonNegativeInteger(maxBytes)) throw invalid(`maxBytes must be a non-negative integer, got ${maxBytes}`);
    if (requestedEnd !== undefined && !Number.isSafeInteger(requestedEnd)) {
      throw invalid(`endSeq must be an integer, got ${requestedEnd}`);
    }
    // Snapshot before any await: later commits may grow the active segment, but this read stays within what was
    // durable when it started.
    const segments = this.segments.slice();
    const active = segments.at(-1)!;
    const activeEnd = active.endSeq;
    const activeBytes = active.bytes;
    this.assertInRange(fromSeq, segments[0]!.firstSeq, activeEnd, 'read from');
    const stop = Math.min(activeEnd, requestedEnd ?? activeEnd);
    const budget: ReadBudget = { count: maxCount, bytes: maxBytes, full: false, out: [] };
    let seq = fromSeq;
    for (let i = findSegment(segments, seq); seq < stop && budget.count > 0 && !budget.full; i++) {
      const segment = segments[i]!;
      const isActive = segment === active;
      const segmentEnd = isActive ? activeEnd : segment.endSeq;
      await readFromSegment(segment, seq, Math.min(stop, segmentEnd), isActive ? activeBytes : segment.bytes, budget);
      seq = segmentEnd;
    }
    return budget.out;
  }

  async seqAtTime(unixMs: number): Promise<number> {
    this.assertOpen();
    if (!Number.isFinite(unixMs)) throw invalid(`time must be a finite number, got ${unixMs}`);
    const segments = this.segments.slice();
    const active = segments.at(-1)!;
    const activeEnd = active.endSeq;
    const activeBytes = active.bytes;
    const activeMaxTime = active.maxTimeMs;
    // Times never decrease along the log, so the first segment whose newest record qualifies holds the answer.
    for (const segment of segments) {
      const isActive = segment === active;
      const count = isActive ? activeEnd - segment.firstSeq : segment.count;
      if (count === 0 || (isActive ? activeMaxTime : segment.maxTimeMs) < unixMs) continue;
      if (segment.minTimeMs >= unixMs) return segment.firstSeq;
      return seqAtTimeIn(segment, unixMs, isActive ? activeBytes : segment.bytes, segment.firstSeq + count);
    }
    return activeEnd;
  }

  async timeOfSeq(seq: number): Promise<number> {
    this.assertOpen();
    const segments = this.segments.slice();
    const active = segments.at(-1)!;
    const activeBytes = active.bytes;
    this.assertInRange(seq, segments[0]!.firstSeq, active.endSeq - 1, 'get the time of');
    const segment = segments[findSegment(segments, seq)]!;
    return timeOfSeqIn(segment, seq, segment === active ? activeBytes : segment.bytes);
  }

  findIdempotencyId(id: string): number | undefined {
    this.assertOpen();
    return this.ids.get(id);
  }

  async trimBefore(unixMs: number): Promise<void> {
    this.assertOpen();
    if (!Number.isFinite(unixMs)) throw invalid(`time must be a finite number, got ${unixMs}`);
    await this.inLane(async () => {
      const removed: Segment[] = [];
      while (this.segments.length > 1 && this.segments[0]!.maxTimeMs < unixMs) removed.push(this.segments.shift()!);
      // A quiet shard whose every record has expired: seal the active file so it can go too. Skipped after a write
      // failure, since rotating writes.
      const active = this.active;
      if (this.segments.length === 1 && active.count > 0 && active.maxTimeMs < unixMs && !this.tailDirty) {
        await this.rotate();
        removed.push(this.segments.shift()!);
      }
      if (removed.length === 0) return;
      // The records are gone for readers from here on; so are their ids.
      for (const segment of removed) {
        for (let i = 0; i < segment.idList.length; i++) {
          const id = segment.idList[i]!;
          if (this.ids.get(id) === segment.idSeq[i]) this.ids.delete(id);
        }
      }
      // Oldest first, so a crash midway leaves a contiguous run of files.
      for (const segment of removed) {
        await rm(segment.logPath, { force: true });
        // A compacted file's original, should its removal after the swap have failed.
        if (segment.compacted) await rm(path.join(this.dir, segmentFileName(segment.firstSeq)), { force: true });
        await rm(segment.indexPath, { force: true });
      }
      if (this.options.fsync) await syncDirectory(this.dir);
      this.counters.trimmedFiles += removed.length;
    });
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    // Appends accepted before close() still commit; new ones are refused (append checks `closing`).
    while (this.pending.length > 0 || this.commitQueued) await this.lane;
    // Rewrites not started are dropped (the next open schedules them again); a running one is waited for.
    for (const timer of this.compactTimers) clearTimeout(timer);
    this.compactTimers.clear();
    await Promise.all(this.compactions);
    await this.inLane(() => this.activeHandle.close());
    openDirs.delete(this.dir);
  }

  private closedError(): SlsError {
    return new SlsError('InternalServerError', `shard log ${this.dir} is closed`);
  }

  private assertOpen(): void {
    if (this.closing) throw this.closedError();
  }

  private assertInRange(seq: number, begin: number, last: number, what: string): void {
    if (!Number.isSafeInteger(seq) || seq < begin || seq > last) {
      throw new SlsError('InvalidCursor', `cannot ${what} seq ${seq}: the shard holds [${begin}, ${last}]`);
    }
  }

  /** Runs `task` after everything already in the lane. */
  private inLane<T>(task: () => Promise<T>): Promise<T> {
    const run = this.lane.then(task);
    this.lane = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Queues one group commit unless one is already queued; each commit re-kicks, so the queue drains. */
  private kick(): void {
    if (this.commitQueued || this.pending.length === 0) return;
    this.commitQueued = true;
    void this.inLane(async () => {
      const delay = this.options.groupCommitMaxDelayMs;
      if (delay > 0 && this.pendingBytes < this.options.maxBatchBytes) {
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
      this.commitQueued = false;
      await this.commitOnce();
    }).then(
      () => this.kick(),
      () => this.kick(),
    );
  }

  /** Takes queued appends (whole appends, up to maxBatchBytes), writes, syncs, publishes. Never throws. */
  private async commitOnce(): Promise<void> {
    if (this.tailDirty && !(await this.cutToDurable())) {
      this.rejectPending(this.failedWith!);
      return;
    }
    let take = 0;
    let batchBytes = 0;
    while (take < this.pending.length) {
      const next = this.pending[take]!;
      if (take > 0 && batchBytes + next.bytes > this.options.maxBatchBytes) break;
      batchBytes += next.bytes;
      take += 1;
    }
    const batch = this.pending.splice(0, take);
    this.pendingBytes -= batchBytes;
    try {
      await this.rotateIfDue(batchBytes);
      const active = this.active;
      let recordCount = 0;
      let headBytes = 0;
      for (const request of batch) {
        recordCount += request.entries.length;
        for (const entry of request.entries) headBytes += RECORD_HEADER_BYTES + idBlockBytes(entry.idempotencyId);
      }
      // Each record's header and id block, back to back; the payloads are written from where they lie.
      const headers = Buffer.allocUnsafe(headBytes);
      const buffers: Buffer[] = [];
      const firstSeqs: number[] = [];
      const times: number[] = [];
      const frameSizes: number[] = [];
      const ids: (string | undefined)[] = [];
      let seq = active.endSeq;
      let lastTime = this.lastTimeMs;
      let h = 0;
      for (const request of batch) {
        lastTime = Math.max(lastTime, request.receiveTimeMs);
        firstSeqs.push(seq);
        for (const entry of request.entries) {
          const payload = toBuffer(entry.payload);
          const id = entry.idempotencyId;
          const head = RECORD_HEADER_BYTES + idBlockBytes(id);
          encodeRecordHeader(headers, h, seq, lastTime, codecId(entry.codec)!, entry.rawSize, payload, id);
          buffers.push(headers.subarray(h, h + head), payload);
          times.push(lastTime);
          frameSizes.push(head + payload.length);
          ids.push(id);
          h += head;
          seq += 1;
        }
      }
      await this.options.hooks.beforeWrite?.(batchBytes);
      const { bytesWritten } = await this.activeHandle.writev(
        buffers.length > MAX_IOVECS ? [Buffer.concat(buffers, batchBytes)] : buffers,
        active.bytes,
      );
      if (bytesWritten !== batchBytes) throw new Error(`short write: ${bytesWritten} of ${batchBytes} bytes`);
      await this.options.hooks.beforeSync?.();
      if (this.options.fsync) {
        await this.activeHandle.datasync();
        this.counters.fsyncs += 1;
      }
      // Durable: publish to readers, then acknowledge.
      let offset = active.bytes;
      for (let i = 0; i < times.length; i++) {
        const id = ids[i];
        if (id !== undefined) this.ids.set(id, active.endSeq);
        active.noteRecord(offset, times[i]!, frameSizes[i]!, id);
        offset += frameSizes[i]!;
      }
      this.lastTimeMs = lastTime;
      this.counters.commits += 1;
      this.counters.appends += batch.length;
      this.counters.records += recordCount;
      this.counters.bytes += batchBytes;
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(firstSeqs[i]!);
    } catch (err) {
      this.counters.failedCommits += 1;
      const failure = new SlsError(
        'InternalServerError',
        `shard log ${this.dir}: write failed: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
      // Cut first, then answer: a client that sees the rejection and retries (or a test that reads the file) must
      // never find the failed batch's bytes still in it.
      const queued = this.takePending();
      this.tailDirty = true;
      await this.cutToDurable();
      for (const request of batch) request.reject(failure);
      for (const request of queued) request.reject(failure);
    }
  }

  /**
   * Truncates the active file to its durable size and fsyncs, so bytes of a failed commit can never resurface. Returns
   * false (and sets `failedWith`) when that fails too.
   */
  private async cutToDurable(): Promise<boolean> {
    try {
      await this.options.hooks.beforeTruncate?.();
      await this.activeHandle.truncate(this.active.bytes);
      if (this.options.fsync) await this.activeHandle.sync();
      this.tailDirty = false;
      this.failedWith = undefined;
      return true;
    } catch (err) {
      this.failedWith = new SlsError(
        'InternalServerError',
        `shard log ${this.dir}: a write failed and its bytes could not be cut from the file (${(err as Error).message}); ` +
          'appends fail until the cut succeeds',
        { cause: err },
      );
      return false;
    }
  }

  private rejectPending(err: SlsError): void {
    for (const request of this.takePending()) request.reject(err);
  }

  private takePending(): PendingAppend[] {
    const pending = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    return pending;
  }

  private async rotateIfDue(incomingBytes: number): Promise<void> {
    const active = this.active;
    if (active.count === 0) return;
    const full = active.bytes + incomingBytes > this.options.maxFileBytes;
    const old = this.options.now() - this.activeStartedAtMs >= this.options.maxFileAgeMs;
    if (full || old) await this.rotate();
  }

  /**
   * Seals the active file (its sidecar index goes first, so a sealed file always has one unless a crash intervened)
   * and starts the next one at endSeq. Runs in the lane, after the last commit's fsync.
   */
  private async rotate(): Promise<void> {
    const sealed = this.active;
    await writeSegmentIndex(sealed, this.options.fsync);
    const next = new Segment(this.dir, sealed.endSeq);
    const handle = await open(next.logPath, 'wx');
    try {
      if (this.options.fsync) await syncDirectory(this.dir);
    } catch (err) {
      await handle.close();
      throw err;
    }
    const previous = this.activeHandle;
    this.activeHandle = handle;
    this.segments.push(next);
    this.activeStartedAtMs = this.options.now();
    this.counters.rotations += 1;
    await previous.close();
    this.scheduleCompaction(sealed);
  }

  /** Queues the rewrite of a sealed file after the configured delay (nothing when compaction is off). */
  private scheduleCompaction(segment: Segment): void {
    if (this.options.compactLevel === 0 || segment.compacted || segment.count === 0) return;
    const timer = setTimeout(() => {
      this.compactTimers.delete(timer);
      const run = this.compact(segment).finally(() => this.compactions.delete(run));
      this.compactions.add(run);
    }, this.options.compactDelayMs);
    timer.unref();
    this.compactTimers.add(timer);
  }

  /** Rewrites a sealed file with zstd payloads and swaps it in (see the file comment). Never throws. */
  private async compact(segment: Segment): Promise<void> {
    const target = path.join(this.dir, compactedFileName(segment.firstSeq));
    const tmp = `${target}.tmp`;
    const wanted = (): boolean => !this.closing && this.segments.includes(segment);
    try {
      const result = await this.compactor.run(
        {
          source: segment.logPath,
          target: tmp,
          sourceBytes: segment.bytes,
          level: this.options.compactLevel,
          fsync: this.options.fsync,
        },
        wanted,
      );
      if (result === undefined) return;
      if (result.records !== segment.count) {
        throw new Error(`the rewrite holds ${result.records} records, the file ${segment.count}`);
      }
      const rewrite = new Segment(this.dir, segment.firstSeq, true);
      let id = 0;
      for (let i = 0; i < result.records; i++) {
        const seq = segment.firstSeq + i;
        const withId = result.ids[id]?.[0] === seq ? result.ids[id++]![1] : undefined;
        rewrite.noteRecord(result.offsets[i]!, result.times[i]!, result.frameBytes[i]!, withId);
      }
      if (rewrite.bytes !== result.targetBytes || rewrite.maxTimeMs !== segment.maxTimeMs) {
        throw new Error(
          `the rewrite's layout disagrees with the file (${rewrite.bytes} of ${result.targetBytes} bytes)`,
        );
      }
      const swapped = await this.inLane(async () => {
        // Trimmed while the rewrite ran: the original is gone already. (A close waits for this swap.)
        if (!this.segments.includes(segment)) return false;
        await rename(tmp, target);
        try {
          if (this.options.fsync) await syncDirectory(this.dir);
          await writeSegmentIndex(rewrite, this.options.fsync);
        } catch (err) {
          // Not swapped: the rewrite must not outlive the original, or a trim of the original would leave it behind.
          await rm(target, { force: true });
          throw err;
        }
        this.segments[this.segments.indexOf(segment)] = rewrite;
        segment.replacedBy = rewrite;
        await rm(segment.logPath, { force: true });
        if (this.options.fsync) await syncDirectory(this.dir);
        return true;
      });
      if (!swapped) {
        await rm(tmp, { force: true });
        return;
      }
      this.counters.compactedFiles += 1;
      this.counters.compactedBytesBefore += result.sourceBytes;
      this.counters.compactedBytesAfter += result.targetBytes;
    } catch (err) {
      // The original file stays in use; the next open tries again.
      this.counters.failedCompactions += 1;
      this.options.onCompactionError?.(err);
      await rm(tmp, { force: true }).catch(() => {});
    }
  }
}

/** Index of the segment holding `seq` (the last one starting at or before it). */
function findSegment(segments: readonly Segment[], seq: number): number {
  let lo = 0;
  let hi = segments.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (segments[mid]!.firstSeq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return Math.max(0, lo - 1);
}

/** Opens (recovering if needed) the shard log in `dir`, creating it at `options.baseSeq` if the directory is new. */
export function openFileShardLog(dir: string, options: FileShardLogOptions = {}): Promise<FileShardLog> {
  return FileShardLog.open(dir, options);
}
