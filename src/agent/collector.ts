/**
 * One collection config: discovers its files, tails them read-only, cuts entries, builds LogGroups and hands
 * batches to the logstore's delivery. The per-file state machine lives here:
 *
 * - identity = device + inode, verified by a growing head fingerprint; a mismatch on the same inode means the file
 *   was truncated and rewritten (copytruncate) or the inode was reused: it becomes a new generation from offset 0,
 *   after the unread tail was recovered from a copy with the old head when one is found in the same directory;
 * - a file whose path now names another file (renamed or deleted) is kept open and read to its end before the
 *   file now at its path, then closed after a quiet grace period;
 * - fully read files are closed when idle (or when over the descriptor budget) and reopened by path with an identity
 *   check, so 10,000 files never hold 10,000 descriptors;
 * - every batch's byte range is made durable as an intent before it is sent, and re-sent under the same id after a
 *   crash; data that can no longer be read is reported with file and byte range, never silently skipped.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LogGroupWriter } from './batch/log-group-writer.js';
import type { ByteRange, CheckpointStore, FileRecord, Intent } from './checkpoint/checkpoint-store.js';
import type { CollectionConfig } from './config/logtail-config.js';
import { DirScanner, type FoundFile, findByInode } from './discovery/dir-scanner.js';
import type { AgentMetrics } from './metrics.js';
import { LogBuilder, topicFor } from './parse/log-builder.js';
import { compileUserRegex } from './parse/safe-regex.js';
import type { Batch } from './send/batch.js';
import type { BufferPool } from './send/buffer-pool.js';
import type { BodyCompressor } from './send/compress.js';
import { splitEntries } from './tail/entry-splitter.js';
import { bytesHash, FINGERPRINT_MAX, headHash } from './tail/fingerprint.js';

export interface CollectorOptions {
  readonly pool: BufferPool;
  readonly compressor: BodyCompressor;
  readonly source: string;
  readonly hostname: string;
  readonly readChunkBytes: number;
  readonly maxEntryBytes: number;
  readonly maxOpenFiles: number;
  readonly maxWatches: number;
  readonly idleCloseMs: number;
  /** A rotated (or deleted) file read to its end is kept this long in case its writer still appends. */
  readonly rotateGraceMs: number;
  /** A multiline entry (or unterminated last line) with nothing new for this long is emitted as is. */
  readonly flushTimeoutMs: number;
  /** Logs per LogGroup: SLS's classic limit of 4096, below any server's (Sluice's default is 10,000). */
  readonly maxLogsPerBatch: number;
  /**
   * A growing file is read once it has `minReadBytes` unread (full chunks only), or `lingerMs` after the last read
   * that took anything (everything, tail included): a steady writer then yields full batches, several per pass, so
   * requests and checkpoint fdatasyncs per MB stay few, and a slow writer's lines still leave within `lingerMs`.
   */
  readonly lingerMs: number;
  readonly minReadBytes: number;
}

export interface CollectorHost {
  readonly store: CheckpointStore;
  readonly metrics: AgentMetrics;
  log(msg: string): void;
  /** A loss: bytes that will never be delivered, with why. */
  loss(r: ByteRange, path: string, reason: string): void;
  /** Called on watch events so the agent schedules a pass soon. */
  wake(): void;
}

interface Tracked {
  rec: FileRecord;
  /** The path it was found at first: rotation order is kept per origin path. */
  readonly origin: string;
  fd: number;
  readOffset: number;
  size: number;
  /** The largest size seen: what a truncation without a copy loses is reported up to it. */
  peakSize: number;
  rotated: boolean;
  /** A copy found after a copytruncate: read its tail, then forget it. */
  copyOf: boolean;
  lastChangeAt: number;
  lastReadAt: number;
  /** When a read last consumed bytes (see `lingerMs`). */
  lastTakeAt: number;
  /**
   * When the head was last found intact (ms; +Infinity = not yet in this process): a copy written after it, named
   * after this file and with a head never seen, holds a generation truncated away unseen (see laterGenerations).
   */
  verifiedAt: number;
  /** The first bytes of the head (up to HEAD_KEY_BYTES, latin1), indexing originals for copy detection. */
  headKey: string | undefined;
  /** The mtime reconcile last saw (0 = none yet). */
  mtimeMs: number;
  /**
   * Same size as read but a new mtime: truncated and rewritten to the same length, or written in place. iLogtail
   * checks the head then too; without it such a rewrite would go unnoticed until the file grows past our offset.
   */
  recheck: boolean;
  replay: Intent[];
}

interface Shadow {
  path: string;
  /** The tracked original it looked like a copy of. */
  readonly of: Tracked;
  size: number;
  /** Since when its size has not changed. */
  quietSince: number;
}

interface Sibling extends FoundFile {
  readonly mtimeMs: number;
}

/** Originals are indexed by up to this many head bytes; a new file's head is compared with sha1 after a hit. */
const HEAD_KEY_BYTES = 8;

/** What follows a file's name or stem in the name of one of its rotations: a separator and a number or date. */
const ROTATION_SUFFIX = /^[-._]\d/;

/** Names of compressed rotations: never read as logs (nor mistaken for an unseen generation). */
const COMPRESSED = /\.(gz|bz2|xz|zst|lz4|zip|z)$/i;

let openFds = 0;

export class Collector {
  private readonly scanner: DirScanner;
  private readonly builder: LogBuilder;
  private readonly beginRegex: RegExp | undefined;
  private readonly files = new Map<string, Tracked>();
  private readonly byInode = new Map<string, Tracked>();
  private readonly byPath = new Map<string, Tracked>();
  private readonly writer: LogGroupWriter;
  private readonly buf: Buffer;
  private readonly scratch = Buffer.allocUnsafe(FINGERPRINT_MAX);
  private firstScan = true;
  /**
   * New files whose head is a tracked file's head, not read yet: `dev:ino` → what we know. A copytruncate copy
   * (the original is truncated soon after) or a file of its own that starts the same (a `cp`): undecided until the
   * original's truncation is seen (then only the copy's tail past the original's offset is read) or the copy has
   * stayed unchanged for `rotateGraceMs` while the original kept its head (then it is a new file, read in full).
   */
  private readonly shadows = new Map<string, Shadow>();
  /** Originals with a fingerprint, by the first bytes of their head (see copyOfTracked). */
  private readonly headIndex = new Map<string, Set<Tracked>>();
  /**
   * Originals restored from the checkpoint and not yet in `headIndex` (their head bytes are known only once read
   * again): by `fpLen:fpHash`, so a copy made while the agent was down is still recognised.
   */
  private readonly restoredHeads = new Map<string, Tracked>();
  /** The fingerprint lengths in `restoredHeads`, with how many use each (a new file is hashed once per length). */
  private readonly restoredLens = new Map<number, number>();

  constructor(
    readonly config: CollectionConfig,
    private readonly o: CollectorOptions,
    private readonly host: CollectorHost,
    /** Checkpointed files of this config not to follow (kept in the store untouched); see Agent.applyConfigs. */
    skipRecord?: (rec: FileRecord) => boolean,
  ) {
    this.scanner = new DirScanner(config, o.maxWatches, () => host.wake());
    this.builder = new LogBuilder(config, host.metrics);
    this.beginRegex = config.logBeginRegex ? compileUserRegex(`^(?:${config.logBeginRegex})`, false) : undefined;
    // One arena: the LogGroup being built, then the read buffer. A line-mode group is at most what was read plus
    // ~27 bytes of framing per log and the tags, so it stays in its part (else the writer moves out).
    const readBytes = o.readChunkBytes + o.maxEntryBytes;
    const groupBytes = readBytes + o.maxLogsPerBatch * 32 + 64 * 1024;
    const arena = Buffer.allocUnsafeSlow(groupBytes + readBytes);
    this.writer = LogGroupWriter.inArena(arena, groupBytes);
    this.buf = arena.subarray(groupBytes);
    // Files the checkpoint knows for this config come back first, with their unacknowledged intents to resend.
    const replay = new Map<string, Intent[]>();
    for (const i of host.store.pending.values()) {
      const id = i.ranges[0]?.fileId;
      if (id !== undefined) replay.set(id, [...(replay.get(id) ?? []), i]);
    }
    for (const rec of host.store.files.values()) {
      if (rec.config !== config.configName || skipRecord?.(rec) === true) continue;
      const intents = (replay.get(rec.fileId) ?? []).sort((a, b) => a.ranges[0]!.start - b.ranges[0]!.start);
      // Reading resumes past everything spoken for: the pending intents (resent as they were) and the ranges
      // acknowledged ahead of `committed`. Read again, those would be cut anew and leave under other ids.
      const end = host.store.frontier(rec.fileId);
      const t: Tracked = {
        rec,
        origin: rec.path,
        fd: -1,
        readOffset: end,
        size: end,
        peakSize: end,
        rotated: false,
        copyOf: false,
        lastChangeAt: Date.now(),
        lastReadAt: 0,
        lastTakeAt: 0,
        verifiedAt: Number.POSITIVE_INFINITY,
        headKey: undefined,
        mtimeMs: 0,
        recheck: false,
        replay: intents,
      };
      this.track(t);
      if (rec.fpLen > 0 && !this.restoredHeads.has(`${rec.fpLen}:${rec.fpHash}`)) {
        this.restoredHeads.set(`${rec.fpLen}:${rec.fpHash}`, t);
        this.restoredLens.set(rec.fpLen, (this.restoredLens.get(rec.fpLen) ?? 0) + 1);
      }
    }
    // A config that follows no file yet starts at the files' ends (unless tailExisted), whatever other configs do: a
    // config added to a running agent, or changed to another pattern, does not collect what its files held before.
    this.firstScan = this.files.size === 0;
  }

  private track(t: Tracked): void {
    this.files.set(t.rec.fileId, t);
    this.byInode.set(`${t.rec.dev}:${t.rec.ino}`, t);
    if (!t.rotated) this.byPath.set(t.rec.path, t);
  }

  private untrack(t: Tracked): void {
    this.unindexHead(t);
    this.forgetRestoredHead(t);
    this.closeFd(t);
    this.files.delete(t.rec.fileId);
    if (this.byInode.get(`${t.rec.dev}:${t.rec.ino}`) === t) this.byInode.delete(`${t.rec.dev}:${t.rec.ino}`);
    if (this.byPath.get(t.rec.path) === t) this.byPath.delete(t.rec.path);
  }

  get trackedCount(): number {
    return this.files.size;
  }

  /** Bytes known to be written but not yet read. */
  get lagBytes(): number {
    let lag = 0;
    for (const t of this.files.values()) lag += Math.max(0, t.size - t.readOffset);
    return lag;
  }

  /** Per-file progress for `agent status`. */
  progress(): { path: string; fileId: string; read: number; size: number; rotated: boolean }[] {
    return [...this.files.values()].map((t) => ({
      path: t.rec.path,
      fileId: t.rec.fileId,
      read: t.readOffset,
      size: t.size,
      rotated: t.rotated,
    }));
  }

  /** Stat reconciliation: new files, renames, rotations, deletions, growth. */
  reconcile(now: number): void {
    const found = this.scanner.scan();
    const seen = new Set<Tracked>();
    const seenShadows = new Set<string>();
    for (const f of found) {
      const key = `${f.dev}:${f.ino}`;
      let t = this.byInode.get(key);
      if (t?.copyOf) continue;
      if (t === undefined) {
        // An empty new file waits until it has bytes: a copy being made (`cp`, copytruncate) is empty for a moment,
        // and a copy's head is what tells it from a new file. (At the first scan its position, 0, is known already.)
        if (f.size === 0 && !this.firstScan) continue;
        let sh = this.shadows.get(key);
        if (sh === undefined) {
          const of = this.copyOfTracked(f);
          if (of !== undefined) {
            sh = { path: f.path, of, size: f.size, quietSince: now };
            this.shadows.set(key, sh);
            this.host.log(`${f.path} starts as ${of.rec.path} does: held until it is known to be a copytruncate copy`);
          }
        }
        if (sh !== undefined) {
          seenShadows.add(key);
          sh.path = f.path;
          if (f.size !== sh.size) {
            sh.size = f.size;
            sh.quietSince = now;
          }
          // A copytruncate copy is taken over by recoverFromCopy when the original's truncation is seen. One that
          // stays quiet while the original keeps its head is a file of its own (`cp app.log app-copy.log`): a new
          // inode is a new file, read in full, as iLogtail does (its content is then stored twice, under two paths).
          if (now - sh.quietSince < this.o.rotateGraceMs || !this.originalIntact(sh.of)) continue;
          this.shadows.delete(key);
          this.host.log(`${f.path} is not a copytruncate copy of ${sh.of.rec.path}: collected as a new file`);
        }
        t = this.discover(f, now);
      } else if (t.rec.path !== f.path) {
        // Renamed to another matching name (app.log → app.log.1 with pattern app.log*).
        if (this.byPath.get(t.rec.path) === t) this.byPath.delete(t.rec.path);
        t.rec.path = f.path;
        this.host.store.putFile(t.rec);
      }
      const current = this.byPath.get(f.path);
      if (current !== undefined && current !== t) this.markRotated(current, now);
      if (!t.rotated || this.byPath.get(f.path) === undefined) {
        t.rotated = false;
        this.byPath.set(f.path, t);
      }
      if (f.size !== t.size) t.lastChangeAt = now;
      if (f.mtimeMs !== undefined) {
        if (t.mtimeMs !== 0 && f.mtimeMs !== t.mtimeMs && f.size === t.readOffset) t.recheck = true;
        t.mtimeMs = f.mtimeMs;
      }
      t.size = f.size;
      t.peakSize = Math.max(t.peakSize, f.size);
      seen.add(t);
    }
    for (const key of this.shadows.keys()) if (!seenShadows.has(key)) this.shadows.delete(key);
    for (const t of this.files.values()) {
      if (seen.has(t)) continue;
      if (t.copyOf) {
        // A copy stays tracked (so it is never read again as a new file, nor taken for an unseen generation) for as
        // long as it exists in its directory, renamed or not (logrotate shifts app.log.1 to app.log.2).
        if (!this.stillAt(t)) {
          const moved = findByInode(dirname(t.rec.path), t.rec.dev, t.rec.ino);
          if (moved !== undefined) t.rec.path = moved;
          else {
            this.untrack(t);
            if (this.canForgetRecord(t)) this.host.store.forgetFile(t.rec.fileId);
          }
        }
        continue;
      }
      if (!t.rotated) this.markRotated(t, now);
      if (t.fd < 0) this.reopenRotated(t, now);
    }
    this.firstScan = false;
  }

  private stillAt(t: Tracked): boolean {
    try {
      const s = statSync(t.rec.path);
      return s.ino === t.rec.ino && s.dev === t.rec.dev;
    } catch {
      return false;
    }
  }

  /** The tracked original whose head (as far as fingerprinted) a new file starts with, if any. */
  private copyOfTracked(f: FoundFile): Tracked | undefined {
    if ((this.headIndex.size === 0 && this.restoredHeads.size === 0) || f.size === 0) return undefined;
    let fd: number;
    try {
      fd = openSync(f.path, 'r');
    } catch {
      return undefined;
    }
    try {
      const n = readSync(fd, this.scratch, 0, Math.min(f.size, HEAD_KEY_BYTES), 0);
      const head = this.scratch.toString('latin1', 0, n);
      // Originals with a head shorter than the key are indexed under their whole head: try each such length.
      const candidates: Tracked[] = [];
      for (let len = n; len >= 1; len--) {
        const set = this.headIndex.get(head.slice(0, len));
        if (set !== undefined)
          for (const t of set) if (len === Math.min(t.rec.fpLen, HEAD_KEY_BYTES)) candidates.push(t);
      }
      const hashes = new Map<number, string>();
      for (const t of candidates.slice(0, 16)) {
        if (t.rec.fpLen > f.size) {
          // Shorter than the original's fingerprint: a copy still being written, if it is a prefix of the original.
          if (this.isPrefixOf(fd, f.size, t)) return t;
          continue;
        }
        let h = hashes.get(t.rec.fpLen);
        if (h === undefined) {
          h = headHash(fd, t.rec.fpLen, this.scratch);
          hashes.set(t.rec.fpLen, h);
        }
        if (h === t.rec.fpHash) return t;
      }
      if (this.restoredHeads.size > 0) {
        let tried = 0;
        for (const len of this.restoredLens.keys()) {
          if (len > f.size) continue;
          if (++tried > 32) break;
          const t = this.restoredHeads.get(`${len}:${hashes.get(len) ?? headHash(fd, len, this.scratch)}`);
          if (t !== undefined) return t;
        }
      }
      return undefined;
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  /** The first `len` bytes of `fd` are the first `len` bytes of `t` (still at its path). */
  private isPrefixOf(fd: number, len: number, t: Tracked): boolean {
    const mine = Buffer.allocUnsafe(len);
    if (readSync(fd, mine, 0, len, 0) !== len) return false;
    try {
      const ofd = openSync(t.rec.path, 'r');
      try {
        const s = fstatSync(ofd);
        if (s.ino !== t.rec.ino || s.dev !== t.rec.dev) return false;
        const theirs = Buffer.allocUnsafe(len);
        return readSync(ofd, theirs, 0, len, 0) === len && theirs.equals(mine);
      } finally {
        closeSync(ofd);
      }
    } catch {
      return false;
    }
  }

  /** The original still has its head and has not shrunk below what was read (so it was not truncated). */
  private originalIntact(t: Tracked): boolean {
    if (!this.files.has(t.rec.fileId) || t.rec.fpLen === 0) return true;
    try {
      const fd = openSync(t.rec.path, 'r');
      try {
        const s = fstatSync(fd);
        if (s.ino !== t.rec.ino || s.dev !== t.rec.dev) return true; // rotated away: no truncation of it to wait for
        return s.size >= t.readOffset && headHash(fd, t.rec.fpLen, this.scratch) === t.rec.fpHash;
      } finally {
        closeSync(fd);
      }
    } catch {
      return true;
    }
  }

  private forgetRestoredHead(t: Tracked): void {
    const k = `${t.rec.fpLen}:${t.rec.fpHash}`;
    if (this.restoredHeads.get(k) !== t) return;
    this.restoredHeads.delete(k);
    const n = (this.restoredLens.get(t.rec.fpLen) ?? 1) - 1;
    if (n > 0) this.restoredLens.set(t.rec.fpLen, n);
    else this.restoredLens.delete(t.rec.fpLen);
  }

  private indexHead(t: Tracked, head: string): void {
    if (t.copyOf) return;
    this.forgetRestoredHead(t);
    this.unindexHead(t);
    t.headKey = head;
    let set = this.headIndex.get(head);
    if (set === undefined) {
      set = new Set();
      this.headIndex.set(head, set);
    }
    set.add(t);
  }

  private unindexHead(t: Tracked): void {
    if (t.headKey === undefined) return;
    const set = this.headIndex.get(t.headKey);
    set?.delete(t);
    if (set?.size === 0) this.headIndex.delete(t.headKey);
    t.headKey = undefined;
  }

  private discover(f: FoundFile, now: number): Tracked {
    const start = this.firstScan && !this.config.tailExisted ? f.size : 0;
    const rec: FileRecord = {
      fileId: `${f.dev}.${f.ino}.${randomBytes(4).toString('hex')}`,
      path: f.path,
      dev: f.dev,
      ino: f.ino,
      fpLen: 0,
      fpHash: '',
      committed: start,
      config: this.config.configName,
    };
    this.host.store.putFile(rec);
    const t: Tracked = {
      rec,
      origin: f.path,
      fd: -1,
      readOffset: start,
      size: f.size,
      peakSize: f.size,
      rotated: false,
      copyOf: false,
      lastChangeAt: now,
      lastReadAt: 0,
      lastTakeAt: 0,
      verifiedAt: now,
      headKey: undefined,
      mtimeMs: 0,
      recheck: false,
      replay: [],
    };
    this.track(t);
    return t;
  }

  private markRotated(t: Tracked, now: number): void {
    if (t.rotated) return;
    t.rotated = true;
    t.lastChangeAt = now;
    this.host.metrics.rotations++;
    if (this.byPath.get(t.rec.path) === t) this.byPath.delete(t.rec.path);
  }

  /** A rotated file whose descriptor was closed: find it by inode in its directory, or report what is lost. */
  private reopenRotated(t: Tracked, now: number): void {
    const path = findByInode(dirname(t.rec.path), t.rec.dev, t.rec.ino);
    if (path !== undefined && this.openAt(t, path)) {
      t.rec.path = path;
      return;
    }
    this.forget(t, now, 'the file was deleted or moved away while closed');
  }

  /** Drops a file, reporting any bytes known but not read. */
  private forget(t: Tracked, _now: number, why: string): void {
    if (t.replay.length > 0) {
      for (const i of t.replay) for (const r of i.ranges) this.host.loss(r, t.rec.path, `${why} before a resend`);
      t.replay = [];
    }
    if (t.size > t.readOffset) {
      const r = { fileId: t.rec.fileId, start: t.readOffset, end: t.size };
      this.host.loss(r, t.rec.path, why);
    }
    this.untrack(t);
    if (this.canForgetRecord(t)) this.host.store.forgetFile(t.rec.fileId);
  }

  private canForgetRecord(t: Tracked): boolean {
    for (const i of this.host.store.pending.values()) if (i.ranges.some((r) => r.fileId === t.rec.fileId)) return false;
    return true;
  }

  private openAt(t: Tracked, path: string): boolean {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return false;
    }
    const s = fstatSync(fd);
    if (s.ino !== t.rec.ino || s.dev !== t.rec.dev) {
      closeSync(fd);
      return false;
    }
    t.fd = fd;
    openFds++;
    this.host.metrics.filesOpen = openFds;
    return true;
  }

  private closeFd(t: Tracked): void {
    if (t.fd < 0) return;
    closeSync(t.fd);
    t.fd = -1;
    openFds--;
    this.host.metrics.filesOpen = openFds;
  }

  private static wantsRead(t: Tracked): boolean {
    return t.size !== t.readOffset || t.replay.length > 0 || t.recheck || (t.rotated && !t.copyOf);
  }

  /** Whether a read pass has anything to do before the next reconciliation (else the agent may sleep till then). */
  get hasWork(): boolean {
    for (const t of this.files.values()) if (Collector.wantsRead(t)) return true;
    return false;
  }

  /** Files with unread bytes, rotated ones first so a renamed file is read to its end before its successor. */
  private readable(): Tracked[] {
    const out: Tracked[] = [];
    for (const t of this.files.values()) if (Collector.wantsRead(t)) out.push(t);
    out.sort((a, b) => Number(b.rotated || b.copyOf) - Number(a.rotated || a.copyOf));
    return out;
  }

  /**
   * One read pass: reads up to `budgetBytes`, producing batches (intents recorded, not yet durable) for
   * `submit`. Returns the bytes read; `accepting` is polled between chunks for backpressure.
   */
  readPass(now: number, budgetBytes: number, accepting: () => boolean, out: Batch[]): number {
    let total = 0;
    const blockedOrigins = new Set<string>();
    for (const t of this.readable()) {
      if (total >= budgetBytes || !accepting()) break;
      if (!t.rotated && !t.copyOf && blockedOrigins.has(t.origin)) continue;
      const n = this.readFile(t, now, budgetBytes - total, accepting, out);
      total += n;
      if ((t.rotated || t.copyOf) && t.size > t.readOffset) blockedOrigins.add(t.origin);
    }
    this.closeIdle(now);
    return total;
  }

  private ensureOpen(t: Tracked, now: number): boolean {
    if (t.fd >= 0) return true;
    if (this.openAt(t, t.rec.path)) return true;
    if (!t.rotated) {
      this.markRotated(t, now);
      this.reopenRotated(t, now);
      return t.fd >= 0;
    }
    return false;
  }

  private readFile(t: Tracked, now: number, budget: number, accepting: () => boolean, out: Batch[]): number {
    if (!this.ensureOpen(t, now)) return 0;
    const st = fstatSync(t.fd);
    const size = st.size;
    t.mtimeMs = st.mtimeMs; // what this read saw is no reason for a recheck at the next reconciliation
    if (size !== t.size) t.lastChangeAt = now;
    t.size = size;
    t.peakSize = Math.max(t.peakSize, size);
    if (!this.checkIdentity(t, now)) return 0;
    let total = 0;
    while (t.replay.length > 0 && accepting()) {
      const intent = t.replay.shift()!;
      const r = intent.ranges[0]!;
      total += this.readRange(t, r.start, r.end, true, now, out, intent.id);
    }
    const lingered = t.rotated || now - t.lastTakeAt >= this.o.lingerMs;
    if (lingered || t.size - t.readOffset >= this.o.minReadBytes) {
      while (t.readOffset < t.size && total < budget && accepting()) {
        const want = Math.min(this.o.readChunkBytes, t.size - t.readOffset);
        // Before the linger has passed only full chunks are taken; the tail waits for more (or for the linger).
        if (want < this.o.readChunkBytes && !lingered) break;
        const quiet = now - t.lastChangeAt >= this.o.flushTimeoutMs;
        const atEnd = t.readOffset + want >= t.size;
        const n = this.readRange(t, t.readOffset, t.readOffset + want, atEnd && quiet, now, out);
        if (n === 0) break;
        total += n;
      }
      if (total > 0 || lingered) t.lastTakeAt = now;
    }
    t.lastReadAt = now;
    if (t.rotated && t.readOffset >= t.size && now - t.lastChangeAt >= this.o.rotateGraceMs) {
      if (t.copyOf)
        this.closeFd(t); // read to its end; kept tracked while it exists (see reconcile)
      else {
        this.untrack(t);
        if (this.canForgetRecord(t)) this.host.store.forgetFile(t.rec.fileId);
      }
    }
    return total;
  }

  /**
   * Reads `[start, end)`, cuts entries and makes one batch of the complete ones (with `flush`, of all). Returns the
   * bytes consumed. `id` replays an intent with its original id and exact range.
   */
  private readRange(
    t: Tracked,
    start: number,
    end: number,
    flush: boolean,
    now: number,
    out: Batch[],
    id?: string,
  ): number {
    const want = end - start;
    const n = readSync(t.fd, this.buf, 0, want, start);
    if (n < want && id !== undefined) {
      this.host.loss({ fileId: t.rec.fileId, start, end }, t.rec.path, 'a resend after restart found the file shorter');
      t.readOffset = Math.max(t.readOffset, end);
      return 0;
    }
    if (id === undefined && (n < want || (n > 0 && t.rec.fpLen > 0 && !this.headIntact(t)))) {
      // Shorter than the size just seen, or the head changed since checkIdentity: truncated (and maybe rewritten)
      // meanwhile, so these bytes may be the next generation's. Nothing is taken; the next pass checks identity.
      t.recheck = true;
      return 0;
    }
    this.host.metrics.readBytes += n;
    if (id === undefined && n > 0 && this.buf[0] === 0) {
      // A hole: after a copytruncate, a writer without O_APPEND goes on at its old offset and the file reads as NULs
      // up to there. No log starts with NUL: the run is skipped (counted, not sent), as Fluent Bit does.
      let k = 0;
      while (k < n && this.buf[k] === 0) k++;
      this.host.metrics.skippedNulBytes += k;
      this.host.store.skip({ fileId: t.rec.fileId, start, end: start + k });
      t.readOffset = Math.max(t.readOffset, start + k);
      return k;
    }
    const time = Math.floor(now / 1000);
    let logs = 0;
    // A batch holds at most maxLogsPerBatch logs: the entry that would pass it starts the next batch. (A replayed
    // range was cut the same way when it was first read, so it is never cut again.)
    const maxLogs = id === undefined ? this.o.maxLogsPerBatch : Number.MAX_SAFE_INTEGER;
    let consumed: number;
    // Plain line mode goes through the addon when it is there (same bytes, a fifth of the agent's CPU less).
    const lines =
      this.beginRegex === undefined && this.builder.fastPath
        ? this.writer.addLines(time, this.buf, n, flush || id !== undefined, this.o.maxEntryBytes, maxLogs)
        : undefined;
    if (lines !== undefined) {
      logs = lines.logs;
      consumed = lines.consumed;
      this.host.metrics.truncatedEntries += lines.cut;
    } else {
      let cutAt = -1;
      const split = splitEntries(
        this.buf,
        n,
        flush || id !== undefined,
        { beginRegex: this.beginRegex, maxEntryBytes: this.o.maxEntryBytes },
        (s, e) => {
          if (cutAt >= 0) return;
          if (this.writer.logCount >= maxLogs) {
            cutAt = s;
            return;
          }
          if (this.builder.add(this.writer, this.buf, s, e, time)) logs++;
        },
      );
      this.host.metrics.truncatedEntries += split.cut;
      consumed = cutAt >= 0 ? cutAt : split.consumed;
    }
    if (consumed === 0) {
      this.writer.reset();
      return 0;
    }
    const range: ByteRange = { fileId: t.rec.fileId, start, end: start + consumed };
    t.readOffset = Math.max(t.readOffset, range.end);
    this.host.metrics.readLines += logs;
    if (this.writer.logCount === 0) {
      this.writer.reset();
      if (id !== undefined) this.host.store.ack(id);
      else this.host.store.skip(range);
      return consumed;
    }
    this.host.metrics.parsedLogs += logs;
    const logCount = this.writer.logCount;
    const raw = this.writer.finish(topicFor(this.config, t.origin), this.o.source, [
      ['__path__', t.origin],
      ['__hostname__', this.o.hostname],
    ]);
    const { view, slab } = this.o.compressor.compress(raw, this.o.pool);
    const batch: Batch = {
      id: id ?? `sl1-${range.fileId}-${range.start}-${range.end}`,
      logstore: this.config.logstore,
      ranges: [range],
      body: view,
      slab,
      rawSize: raw.length,
      logCount,
    };
    if (id === undefined) this.host.store.addIntent({ id: batch.id, ranges: batch.ranges });
    out.push(batch);
    return consumed;
  }

  /** The head still hashes to the fingerprint (`t` is open and fingerprinted). */
  private headIntact(t: Tracked): boolean {
    return headHash(t.fd, t.rec.fpLen, this.scratch) === t.rec.fpHash;
  }

  /** Same inode, but shorter than what we read or a different head: copytruncate or inode reuse. */
  private checkIdentity(t: Tracked, now: number): boolean {
    const rec = t.rec;
    t.recheck = false;
    // From here on it is indexed by its head bytes (or replaced by a new generation).
    if (t.headKey === undefined) this.forgetRestoredHead(t);
    let truncated = t.size < t.readOffset;
    // One read of the head serves the check and the growth of the fingerprint. (Two reads let a copytruncate slip
    // in between: the old head verified, then the fingerprint grown over the new generation's bytes — the copy then
    // no longer matched it, and a rewrite of the same length passed for the old file.)
    const n = truncated ? 0 : readSync(t.fd, this.scratch, 0, FINGERPRINT_MAX, 0);
    if (!truncated && rec.fpLen > 0) truncated = n < rec.fpLen || bytesHash(this.scratch, rec.fpLen) !== rec.fpHash;
    if (!truncated) {
      const len = Math.min(t.size, n);
      if (len > rec.fpLen) {
        rec.fpHash = bytesHash(this.scratch, len);
        rec.fpLen = len;
        this.host.store.putFile(rec);
        this.indexHead(t, this.scratch.toString('latin1', 0, Math.min(len, HEAD_KEY_BYTES)));
      } else if (t.headKey === undefined && rec.fpLen > 0) {
        // Restored from the checkpoint: the head just verified is in the scratch buffer.
        this.indexHead(t, this.scratch.toString('latin1', 0, Math.min(rec.fpLen, HEAD_KEY_BYTES)));
      }
      t.verifiedAt = now;
      return true;
    }
    if (t.copyOf || t.rotated) {
      this.forget(t, now, 'a rotated file was truncated before it was read');
      return false;
    }
    this.host.metrics.truncations++;
    this.recoverFromCopy(t, now);
    // The inode starts a new generation, read from its beginning.
    const fd = t.fd;
    t.fd = -1;
    this.untrack(t);
    if (this.canForgetRecord(t)) this.host.store.forgetFile(rec.fileId);
    const fresh = this.discover({ path: rec.path, dev: rec.dev, ino: rec.ino, size: t.size }, now);
    fresh.fd = fd;
    return false;
  }

  /**
   * After a copytruncate, reads the unread tail `[readOffset, copy size)` from a sibling with the old head, then
   * any later generation truncated away before we looked (see laterGenerations).
   */
  private recoverFromCopy(t: Tracked, now: number): void {
    const rec = t.rec;
    const siblings = this.siblings(dirname(rec.path), rec);
    let found: Sibling | undefined;
    for (const c of siblings) {
      if (this.byInode.has(`${c.dev}:${c.ino}`)) continue; // a file of its own (or a copy already in use)
      let fd: number;
      try {
        fd = openSync(c.path, 'r');
      } catch {
        continue;
      }
      if (fstatSync(fd).size >= t.readOffset && rec.fpLen > 0 && headHash(fd, rec.fpLen, this.scratch) === rec.fpHash) {
        this.trackCopy(t, c, fd, t.readOffset, `${rec.fileId}c`, now);
        this.host.log(`copytruncate of ${rec.path}: reading ${c.size - t.readOffset} unread bytes from ${c.path}`);
        found = c;
        break;
      }
      closeSync(fd);
    }
    if (found === undefined) {
      // No copy: what we saw written past our offset before the truncation is gone (bytes written after our last
      // look are gone too, unseen and uncountable).
      if (t.peakSize > t.readOffset) {
        this.host.loss(
          { fileId: rec.fileId, start: t.readOffset, end: t.peakSize },
          rec.path,
          'truncated (copytruncate?) before it was read, and no copy with its head was found',
        );
      } else this.host.log(`copytruncate of ${rec.path}: no copy with its head found; nothing unread was seen`);
    }
    for (const c of this.laterGenerations(t, siblings, found)) {
      try {
        const fd = openSync(c.path, 'r');
        this.trackCopy(t, c, fd, 0, `${c.dev}.${c.ino}.${randomBytes(4).toString('hex')}`, now);
        this.host.log(`copytruncate of ${rec.path}: ${c.path} holds a generation truncated before it was seen`);
      } catch {
        // vanished
      }
    }
  }

  /**
   * Copies of generations that came and went between two looks (two copytruncates in a row): siblings named after
   * the file, not tracked, not compressed, written since its head was last found intact (so after every
   * generation we read), whose head is not the old one. A copy that matches the pattern is found by discovery
   * instead (its head was never tracked, so it is an ordinary new file). Oldest first.
   */
  private laterGenerations(t: Tracked, siblings: Sibling[], oldCopy: Sibling | undefined): Sibling[] {
    if (!Number.isFinite(t.verifiedAt)) return [];
    const name = basename(t.rec.path);
    const dot = name.indexOf('.');
    const stem = dot > 0 ? name.slice(0, dot) : name;
    const out: Sibling[] = [];
    for (const c of siblings) {
      if (c === oldCopy || c.size === 0 || this.byInode.has(`${c.dev}:${c.ino}`)) continue;
      if (this.shadows.has(`${c.dev}:${c.ino}`)) continue; // matches the pattern: discovery's to decide
      // A rotation name of this file: its name or stem, a separator, then a number or date (`app.log.1`,
      // `app.log-20261122`, `app-2.log`) — not another file that shares the stem (`app.error.log.1`).
      const n = basename(c.path);
      const numbered = (prefix: string) => n.startsWith(prefix) && ROTATION_SUFFIX.test(n.slice(prefix.length));
      if (!(numbered(name) || numbered(stem)) || COMPRESSED.test(n)) continue;
      // File times are a coarse clock (a tick behind at most): allow 20 ms.
      if (c.mtimeMs < t.verifiedAt - 20) continue;
      // The copy of another tracked file (rotated by the same logrotate run) is that file's to recover.
      if (this.copyOfTracked(c) !== undefined) continue;
      try {
        const fd = openSync(c.path, 'r');
        try {
          const n2 = readSync(fd, this.scratch, 0, 4, 0);
          const b = this.scratch;
          const magic = n2 >= 2 && ((b[0] === 0x1f && b[1] === 0x8b) || (b[0] === 0x28 && b[1] === 0xb5));
          if (magic || (t.rec.fpLen > 0 && headHash(fd, t.rec.fpLen, this.scratch) === t.rec.fpHash)) continue;
        } finally {
          closeSync(fd);
        }
      } catch {
        continue;
      }
      out.push(c);
    }
    return out.sort((a, b) => a.mtimeMs - b.mtimeMs);
  }

  /** Tracks a copy of `t`'s content at `c`, read from `from` to its end before `t`'s new generation. */
  private trackCopy(t: Tracked, c: Sibling, fd: number, from: number, fileId: string, now: number): void {
    const copyRec: FileRecord = { ...t.rec, fileId, path: c.path, dev: c.dev, ino: c.ino, committed: from };
    if (from === 0) {
      copyRec.fpLen = 0;
      copyRec.fpHash = '';
    }
    this.host.store.putFile(copyRec);
    const copy: Tracked = {
      rec: copyRec,
      origin: t.origin,
      fd,
      readOffset: from,
      size: c.size,
      peakSize: c.size,
      rotated: true,
      copyOf: true,
      lastChangeAt: now,
      lastReadAt: now,
      lastTakeAt: 0,
      verifiedAt: now,
      headKey: undefined,
      mtimeMs: 0,
      recheck: false,
      replay: [],
    };
    openFds++;
    this.files.set(copyRec.fileId, copy);
    this.byInode.set(`${c.dev}:${c.ino}`, copy);
    this.shadows.delete(`${c.dev}:${c.ino}`);
  }

  private siblings(dir: string, rec: FileRecord): Sibling[] {
    const out: Sibling[] = [];
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return out;
    }
    for (const name of names) {
      const p = join(dir, name);
      try {
        const s = statSync(p);
        if (s.isFile() && !(s.ino === rec.ino && s.dev === rec.dev))
          out.push({ path: p, dev: s.dev, ino: s.ino, size: s.size, mtimeMs: s.mtimeMs });
      } catch {
        // vanished
      }
    }
    return out;
  }

  private closeIdle(now: number): void {
    let excess = openFds - this.o.maxOpenFiles;
    for (const t of this.files.values()) {
      if (t.fd < 0 || t.rotated || t.copyOf || t.readOffset < t.size || t.replay.length > 0) continue;
      if (excess > 0 || now - t.lastReadAt >= this.o.idleCloseMs) {
        this.closeFd(t);
        excess--;
      }
    }
  }

  close(): void {
    this.scanner.close();
    for (const t of this.files.values()) this.closeFd(t);
  }
}
