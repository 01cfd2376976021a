/**
 * Opening a shard directory: rebuild the in-memory view of every segment and repair what a crash can leave behind.
 *
 * - Sealed files (all but the last) are trusted through their sidecar index when it is intact, matches the file's size,
 *   and the last record it names reads back with a good CRC and the expected seq; otherwise the file is scanned and a
 *   fresh sidecar written. A reopen of many GB therefore reads a few KiB per sealed file plus the active file (plus
 *   ~5 bytes + the id per record appended with an idempotency id: the sidecar lists them).
 * - Idempotency ids come back with the segments (`Segment.idList`): from the sidecar of a sealed file, from the scan
 *   otherwise. A record cut as torn takes its id with it, since the id sits inside the CRC-covered frame.
 * - The last (active) file is always scanned record by record; the first torn, garbage or CRC-bad frame and everything
 *   after it is cut (truncate + fsync). Acknowledged records are never cut: they were fsynced, so they read back whole.
 * - Sequence numbers must continue from one file to the next. A gap, or a CRC-valid record with the wrong seq, is not
 *   something a crash produces, so the log refuses to open rather than renumber or drop data silently.
 */
import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { SlsError } from '../../../protocol/errors.js';
import type { ResolvedShardLogOptions } from './options.js';
import { RecordCursor } from './record-cursor.js';
import {
  compactedFileName,
  indexFileName,
  parseCompactedFileName,
  parseIndexFileName,
  parseSegmentFileName,
  Segment,
  segmentFileName,
} from './segment.js';
import { decodeSegmentIndex, writeSegmentIndex } from './segment-index-file.js';

/** Recovery reads 4 MiB at a time: large sequential reads, and a bounded buffer whatever the record sizes. */
const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;

export interface RecoveryReport {
  /** Sealed files whose sidecar index was trusted. */
  readonly indexedFiles: number;
  /** Files read record by record (the active file, plus sealed files without a usable sidecar). */
  readonly scannedFiles: number;
  readonly scannedBytes: number;
  /** Bytes cut from file tails, and why (empty when nothing was cut). */
  readonly truncatedBytes: number;
  readonly truncations: readonly string[];
  readonly durationMs: number;
}

export interface RecoveredLog {
  /** Oldest first; never empty; the last one is the active file. */
  readonly segments: Segment[];
  readonly report: RecoveryReport;
}

function corrupt(dir: string, message: string): SlsError {
  return new SlsError(
    'InternalServerError',
    `shard log ${dir} cannot be opened: ${message}; refusing to renumber or drop records (restore the files or move the damaged ones aside)`,
  );
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function recoverShardLog(dir: string, options: ResolvedShardLogOptions): Promise<RecoveredLog> {
  const started = performance.now();
  const created = await mkdir(dir, { recursive: true });
  if (created !== undefined && options.fsync) await syncDirectory(path.dirname(dir));

  const names = await readdir(dir);
  const logSeqs: number[] = [];
  const indexSeqs = new Set<number>();
  const compacted = new Set<number>();
  for (const name of names) {
    const logSeq = parseSegmentFileName(name);
    if (logSeq !== undefined) logSeqs.push(logSeq);
    const compactedSeq = parseCompactedFileName(name);
    if (compactedSeq !== undefined) compacted.add(compactedSeq);
    const indexSeq = parseIndexFileName(name);
    if (indexSeq !== undefined) indexSeqs.add(indexSeq);
    // A sidecar that was being written when the process died; the data file is still there, so it is rebuilt. The
    // same for a compaction's rewrite: the file it was rewriting is still there.
    if (name.endsWith('.idx.tmp') || name.endsWith('.zlog.tmp')) await rm(path.join(dir, name), { force: true });
  }
  // A rewrite gets its name only once it is whole and durable, so it replaces its original: a crash came between the
  // rename and the removal of the original.
  for (const seq of compacted) {
    if (logSeqs.includes(seq)) await rm(path.join(dir, segmentFileName(seq)), { force: true });
    else logSeqs.push(seq);
  }
  logSeqs.sort((a, b) => a - b);
  // Sidecars without their data file are leftovers of a trim interrupted between the two unlinks.
  for (const seq of indexSeqs) {
    if (!logSeqs.includes(seq)) await rm(path.join(dir, indexFileName(seq)), { force: true });
  }

  const report = {
    indexedFiles: 0,
    scannedFiles: 0,
    scannedBytes: 0,
    truncatedBytes: 0,
    truncations: [] as string[],
    durationMs: 0,
  };

  if (logSeqs.length === 0) {
    const segment = new Segment(dir, options.baseSeq);
    const handle = await open(segment.logPath, 'wx');
    await handle.close();
    if (options.fsync) await syncDirectory(dir);
    report.durationMs = performance.now() - started;
    return { segments: [segment], report };
  }

  const segments: Segment[] = [];
  for (let i = 0; i < logSeqs.length; i++) {
    const firstSeq = logSeqs[i]!;
    const nextFirstSeq = logSeqs[i + 1];
    const isLast = nextFirstSeq === undefined;
    const segment = isLast
      ? await recoverActive(dir, firstSeq, compacted.has(firstSeq), indexSeqs.has(firstSeq), options, report)
      : await recoverSealed(
          dir,
          firstSeq,
          compacted.has(firstSeq),
          nextFirstSeq,
          indexSeqs.has(firstSeq),
          options,
          report,
        );
    const previous = segments.at(-1);
    if (previous !== undefined && previous.endSeq !== segment.firstSeq) {
      throw corrupt(
        dir,
        `sequence gap: ${segmentFileName(previous.firstSeq)} ends before seq ${previous.endSeq} but the next file starts at ${segment.firstSeq}`,
      );
    }
    segments.push(segment);
  }
  if (report.truncatedBytes > 0 && options.fsync) await syncDirectory(dir);
  report.durationMs = performance.now() - started;
  return { segments, report };
}

async function recoverSealed(
  dir: string,
  firstSeq: number,
  compacted: boolean,
  nextFirstSeq: number,
  hasIndex: boolean,
  options: ResolvedShardLogOptions,
  report: {
    indexedFiles: number;
    scannedFiles: number;
    scannedBytes: number;
    truncatedBytes: number;
    truncations: string[];
  },
): Promise<Segment> {
  const size = (await stat(fileOf(dir, firstSeq, compacted))).size;
  if (hasIndex) {
    const trusted = await loadTrustedIndex(dir, firstSeq, compacted, size);
    if (trusted !== undefined) {
      report.indexedFiles += 1;
      return trusted;
    }
  }
  const { segment, invalid } = await scanSegment(dir, firstSeq, size, compacted);
  report.scannedFiles += 1;
  report.scannedBytes += size;
  if (invalid !== undefined) {
    // A sealed file is fsynced before its successor exists, so only a run with fsync off (or damage) leaves a bad
    // tail here. Cutting it is safe only when nothing referenced is lost: the next file must continue right after.
    if (segment.endSeq !== nextFirstSeq) {
      throw corrupt(
        dir,
        `${segmentFileName(firstSeq)} is damaged at byte ${invalid.offset} (${invalid.reason}) after seq ${segment.endSeq - 1}, and the next file starts at seq ${nextFirstSeq}`,
      );
    }
    await truncateFile(segment.logPath, segment.bytes, options.fsync);
    report.truncatedBytes += size - segment.bytes;
    report.truncations.push(`${segmentFileName(firstSeq)} at byte ${invalid.offset}: ${invalid.reason}`);
  }
  if (segment.count > 0) await writeSegmentIndex(segment, options.fsync);
  return segment;
}

async function recoverActive(
  dir: string,
  firstSeq: number,
  compacted: boolean,
  hasIndex: boolean,
  options: ResolvedShardLogOptions,
  report: { scannedFiles: number; scannedBytes: number; truncatedBytes: number; truncations: string[] },
): Promise<Segment> {
  // The process died between sealing this file and creating its successor; it becomes the active file again, and
  // gets a new sidecar when it is next sealed.
  if (hasIndex) await rm(path.join(dir, indexFileName(firstSeq)), { force: true });
  const size = (await stat(fileOf(dir, firstSeq, compacted))).size;
  const { segment, invalid } = await scanSegment(dir, firstSeq, size, compacted);
  report.scannedFiles += 1;
  report.scannedBytes += size;
  if (invalid !== undefined) {
    await truncateFile(segment.logPath, segment.bytes, options.fsync);
    report.truncatedBytes += size - segment.bytes;
    report.truncations.push(`${segmentFileName(firstSeq)} at byte ${invalid.offset}: ${invalid.reason}`);
  }
  return segment;
}

/** Uses the sidecar if it is intact, matches the data file's size, and the last record it names reads back whole. */
async function loadTrustedIndex(
  dir: string,
  firstSeq: number,
  compacted: boolean,
  size: number,
): Promise<Segment | undefined> {
  const sidecar = await readFile(path.join(dir, indexFileName(firstSeq)));
  const fromIndex = decodeSegmentIndex(sidecar, dir, firstSeq, size, compacted);
  if (typeof fromIndex === 'string') return undefined;
  const handle = await open(fromIndex.logPath, 'r');
  try {
    const cursor = new RecordCursor(handle, fromIndex.lastOffset, size, 64 * 1024);
    const frame = await cursor.next({ payload: true, verify: true });
    const ok = frame.kind === 'record' && frame.header.seq === fromIndex.endSeq - 1 && cursor.position === size;
    return ok ? fromIndex : undefined;
  } finally {
    await handle.close();
  }
}

export interface ScanResult {
  readonly segment: Segment;
  /** The first frame that is not a whole, CRC-valid record; everything from here on is not part of the log. */
  readonly invalid: { readonly offset: number; readonly reason: string } | undefined;
}

/** Reads a segment file record by record, verifying every CRC, and builds its in-memory view. */
export async function scanSegment(dir: string, firstSeq: number, size: number, compacted = false): Promise<ScanResult> {
  const segment = new Segment(dir, firstSeq, compacted);
  const handle = await open(segment.logPath, 'r');
  try {
    const cursor = new RecordCursor(handle, 0, size, SCAN_CHUNK_BYTES);
    for (;;) {
      const frame = await cursor.next({ payload: false, verify: true });
      if (frame.kind === 'end') return { segment, invalid: undefined };
      if (frame.kind === 'invalid') return { segment, invalid: { offset: frame.offset, reason: frame.reason } };
      if (frame.header.seq !== segment.endSeq) {
        throw corrupt(
          dir,
          `${segmentFileName(firstSeq)} holds a CRC-valid record with seq ${frame.header.seq} at byte ${frame.offset} where seq ${segment.endSeq} belongs`,
        );
      }
      segment.noteRecord(frame.offset, frame.header.receiveTimeMs, cursor.position - frame.offset, frame.idempotencyId);
    }
  } finally {
    await handle.close();
  }
}

function fileOf(dir: string, firstSeq: number, compacted: boolean): string {
  return path.join(dir, compacted ? compactedFileName(firstSeq) : segmentFileName(firstSeq));
}

async function truncateFile(file: string, size: number, fsync: boolean): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.truncate(size);
    if (fsync) await handle.sync();
  } finally {
    await handle.close();
  }
}
