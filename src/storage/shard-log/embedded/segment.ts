/**
 * In-memory view of one segment file: which sequence numbers and receive times it holds, how many bytes of it are
 * durable, and a sparse index (seq → byte offset, receive time) so a reader positions with one binary search and a
 * short forward walk instead of scanning the file.
 */
import path from 'node:path';

/**
 * An index entry every 32 records or 256 KiB, whichever comes first: a cursor lookup then walks at most 31 headers
 * inside at most ~256 KiB (one or two reads), while a 64 MiB file of 40 KB records costs ~256 entries (~6 KiB).
 */
export const SPARSE_INDEX_EVERY_RECORDS = 32;
export const SPARSE_INDEX_EVERY_BYTES = 256 * 1024;

const NAME_DIGITS = 20;
const SEGMENT_NAME = /^(\d{20})\.log$/;
const COMPACTED_NAME = /^(\d{20})\.zlog$/;
const INDEX_NAME = /^(\d{20})\.idx$/;

export function segmentFileName(firstSeq: number): string {
  return String(firstSeq).padStart(NAME_DIGITS, '0') + '.log';
}

/** A sealed file rewritten with zstd payloads (compaction.ts); it replaces the `.log` of the same first seq. */
export function compactedFileName(firstSeq: number): string {
  return String(firstSeq).padStart(NAME_DIGITS, '0') + '.zlog';
}

export function indexFileName(firstSeq: number): string {
  return String(firstSeq).padStart(NAME_DIGITS, '0') + '.idx';
}

/** The first sequence number a segment file name encodes, or undefined if `name` is not a segment file. */
export function parseSegmentFileName(name: string): number | undefined {
  return parseName(SEGMENT_NAME, name);
}

export function parseCompactedFileName(name: string): number | undefined {
  return parseName(COMPACTED_NAME, name);
}

export function parseIndexFileName(name: string): number | undefined {
  return parseName(INDEX_NAME, name);
}

function parseName(pattern: RegExp, name: string): number | undefined {
  const match = pattern.exec(name);
  if (!match) return undefined;
  const seq = Number(match[1]);
  return Number.isSafeInteger(seq) ? seq : undefined;
}

export class Segment {
  readonly firstSeq: number;
  /** The file was rewritten by compaction (`.zlog`): its payloads are zstd, and it is not compacted again. */
  readonly compacted: boolean;
  readonly logPath: string;
  readonly indexPath: string;
  /**
   * Set once compaction has swapped this file for its rewrite. A reader that took this view before the swap may find
   * the file gone and reads the same records from the replacement instead.
   */
  replacedBy: Segment | undefined = undefined;
  /** Durable records and bytes; readers snapshot these, so they only grow after the covering fsync. */
  count = 0;
  bytes = 0;
  minTimeMs = 0;
  maxTimeMs = 0;
  /** Byte offset of the last durable record (-1 when empty), so a sealed file's tail can be spot-checked. */
  lastOffset = -1;
  /** Sparse index as parallel arrays; entry 0 is always the first record. */
  readonly entrySeq: number[] = [];
  readonly entryOffset: number[] = [];
  readonly entryTime: number[] = [];
  /**
   * Idempotency ids of the segment's records with their seqs, in seq order (parallel arrays, one entry per record that
   * has an id). Kept so that a trim can forget them and sealing can write them to the sidecar.
   */
  readonly idList: string[] = [];
  readonly idSeq: number[] = [];

  constructor(dir: string, firstSeq: number, compacted = false) {
    this.firstSeq = firstSeq;
    this.compacted = compacted;
    this.logPath = path.join(dir, compacted ? compactedFileName(firstSeq) : segmentFileName(firstSeq));
    this.indexPath = path.join(dir, indexFileName(firstSeq));
  }

  /** One past the last durable record. */
  get endSeq(): number {
    return this.firstSeq + this.count;
  }

  /** Records a durable record; must be called for every record, in order. */
  noteRecord(offset: number, receiveTimeMs: number, frameBytes: number, idempotencyId?: string): void {
    const seq = this.firstSeq + this.count;
    if (idempotencyId !== undefined) {
      this.idList.push(idempotencyId);
      this.idSeq.push(seq);
    }
    const last = this.entrySeq.length - 1;
    if (
      last < 0 ||
      seq - this.entrySeq[last]! >= SPARSE_INDEX_EVERY_RECORDS ||
      offset - this.entryOffset[last]! >= SPARSE_INDEX_EVERY_BYTES
    ) {
      this.entrySeq.push(seq);
      this.entryOffset.push(offset);
      this.entryTime.push(receiveTimeMs);
    }
    if (this.count === 0) this.minTimeMs = receiveTimeMs;
    this.maxTimeMs = receiveTimeMs;
    this.lastOffset = offset;
    this.count += 1;
    this.bytes = offset + frameBytes;
  }

  /** Index of the last sparse entry with seq <= `seq` (the segment must hold `seq`). */
  entryAtOrBefore(seq: number): number {
    return lastIndexWhere(this.entrySeq, (s) => s <= seq);
  }

  /**
   * Index of the last sparse entry whose receive time is < `unixMs`, or 0: the first record at or after `unixMs` lies
   * at or after that entry. Receive times are non-decreasing within a log (appends clamp them), so this is a search.
   */
  entryBeforeTime(unixMs: number): number {
    return Math.max(
      0,
      lastIndexWhere(this.entryTime, (t) => t < unixMs),
    );
  }
}

/** Binary search over a list where `pred` holds for a prefix: the last index of that prefix, or -1. */
function lastIndexWhere(values: readonly number[], pred: (value: number) => boolean): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(values[mid]!)) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}
