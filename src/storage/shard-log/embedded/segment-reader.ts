/**
 * Reading one segment file: position at a sequence number through the sparse index, then walk forward. Each read opens
 * its own handle, so TTL may unlink a file under a reader (POSIX keeps the open file readable) and the writer's handle
 * is never shared. Reads stop at a byte limit captured when the read began, so they never see a non-durable record.
 */
import { open } from 'node:fs/promises';
import { SlsError } from '../../../protocol/errors.js';
import type { StoredRecord } from '../shard-log.js';
import { type Frame, RecordCursor } from './record-cursor.js';
import { type Segment, SPARSE_INDEX_EVERY_BYTES } from './segment.js';

/** A header walk reads 16 KiB at a time: up to ~500 small headers per read, and little waste when records are big. */
const LOCATE_CHUNK_BYTES = 16 * 1024;
const MIN_READ_CHUNK_BYTES = 16 * 1024;
const MAX_READ_CHUNK_BYTES = 4 * 1024 * 1024;

export function damaged(segment: Segment, offset: number, reason: string): SlsError {
  return new SlsError(
    'InternalServerError',
    `shard log file ${segment.logPath} is damaged at byte ${offset} (${reason}) inside its durable range`,
  );
}

function isEnoent(err: unknown): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * Runs `fn` with a read handle on the segment; a file already removed by TTL maps to `InvalidCursor`. A file that
 * compaction has swapped for its rewrite since the caller took its view of the log is read from the rewrite: `fn`
 * gets the view of the file it reads, and `limit` is that file's durable size (the caller's for the file it named).
 */
export async function withSegmentFile<T>(
  segment: Segment,
  limit: number,
  fn: (
    view: Segment,
    limit: number,
    cursorAt: (offset: number, limit: number, chunkBytes: number) => RecordCursor,
  ) => Promise<T>,
): Promise<T> {
  let view = segment;
  let handle: Awaited<ReturnType<typeof open>>;
  for (;;) {
    try {
      handle = await open(view.logPath, 'r');
      break;
    } catch (err) {
      // Only sealed files are compacted, so the rewrite's size is its durable size.
      if (isEnoent(err) && view.replacedBy !== undefined) {
        view = view.replacedBy;
        limit = view.bytes;
        continue;
      }
      if (isEnoent(err)) {
        throw new SlsError('InvalidCursor', `records from seq ${segment.firstSeq} were removed by TTL`, {
          cause: err,
        });
      }
      throw err;
    }
  }
  try {
    return await fn(view, limit, (offset, end, chunkBytes) => new RecordCursor(handle, offset, end, chunkBytes));
  } finally {
    await handle.close();
  }
}

function expectRecord(segment: Segment, frame: Frame, seq: number): Extract<Frame, { kind: 'record' }> {
  if (frame.kind === 'end') throw damaged(segment, -1, `ended before seq ${seq}`);
  if (frame.kind === 'invalid') throw damaged(segment, frame.offset, frame.reason);
  if (frame.header.seq !== seq) throw damaged(segment, frame.offset, `seq ${frame.header.seq} where ${seq} belongs`);
  return frame;
}

/** Receive time of `seq`, which the segment holds below `limitBytes`. */
export async function timeOfSeqIn(named: Segment, seq: number, limitBytes: number): Promise<number> {
  const first = named.entryAtOrBefore(seq);
  if (named.entrySeq[first] === seq) return named.entryTime[first]!;
  return withSegmentFile(named, limitBytes, async (segment, limit, cursorAt) => {
    const entry = segment.entryAtOrBefore(seq);
    const cursor = cursorAt(segment.entryOffset[entry]!, limit, LOCATE_CHUNK_BYTES);
    for (let s = segment.entrySeq[entry]!; ; s++) {
      const frame = expectRecord(segment, await cursor.next({ payload: false, verify: false }), s);
      if (s === seq) return frame.header.receiveTimeMs;
    }
  });
}

/**
 * First seq in the segment received at or after `unixMs`; the caller has checked that the segment's last durable
 * record (below `limitBytes`, ending at `endSeq`) qualifies, so the walk always finds one.
 */
export async function seqAtTimeIn(named: Segment, unixMs: number, limitBytes: number, endSeq: number): Promise<number> {
  const first = named.entryBeforeTime(unixMs);
  if (named.entryTime[first]! >= unixMs) return named.entrySeq[first]!;
  return withSegmentFile(named, limitBytes, async (segment, limit, cursorAt) => {
    const entry = segment.entryBeforeTime(unixMs);
    const cursor = cursorAt(segment.entryOffset[entry]!, limit, LOCATE_CHUNK_BYTES);
    for (let s = segment.entrySeq[entry]!; s < endSeq; s++) {
      const frame = expectRecord(segment, await cursor.next({ payload: false, verify: false }), s);
      if (frame.header.receiveTimeMs >= unixMs) return s;
    }
    return endSeq;
  });
}

export interface ReadBudget {
  /** Records still wanted. */
  count: number;
  /** Payload bytes still allowed (the first record of the whole read is taken regardless). */
  bytes: number;
  /** Set once the next record would exceed `bytes`. */
  full: boolean;
  readonly out: StoredRecord[];
}

/**
 * Appends records [fromSeq, stopSeq) of the segment to `budget.out` until the budget runs out; payloads are verified
 * against their CRC on the way.
 */
export async function readFromSegment(
  named: Segment,
  fromSeq: number,
  stopSeq: number,
  limitBytes: number,
  budget: ReadBudget,
): Promise<void> {
  await withSegmentFile(named, limitBytes, async (segment, limitBytes, cursorAt) => {
    const entry = segment.entryAtOrBefore(fromSeq);
    const start = segment.entryOffset[entry]!;
    // Size reads by what this call can return: the sparse index bounds the bytes up to the last record wanted by
    // count, and the byte budget (plus one index interval of skipped records) bounds it too. A one-record read then
    // costs one small read, not a 4 MiB one; a record larger than the chunk is still read whole, in one go.
    const endWanted = Math.min(stopSeq, fromSeq + budget.count);
    let past = segment.entryAtOrBefore(endWanted);
    if (segment.entrySeq[past]! < endWanted) past += 1;
    const spanEnd = past < segment.entryOffset.length ? Math.min(segment.entryOffset[past]!, limitBytes) : limitBytes;
    const wanted = Math.min(spanEnd - start, budget.bytes + SPARSE_INDEX_EVERY_BYTES + MIN_READ_CHUNK_BYTES);
    const chunk = Math.max(MIN_READ_CHUNK_BYTES, Math.min(MAX_READ_CHUNK_BYTES, wanted));
    const cursor = cursorAt(start, limitBytes, chunk);
    let seq = segment.entrySeq[entry]!;
    for (; seq < fromSeq; seq++) expectRecord(segment, await cursor.next({ payload: false, verify: false }), seq);
    for (; seq < stopSeq && budget.count > 0; seq++) {
      const frame = expectRecord(segment, await cursor.next({ payload: true, verify: true }), seq);
      const payload = frame.payload!;
      const size = payload.length;
      if (size > budget.bytes && budget.out.length > 0) {
        budget.full = true;
        return;
      }
      budget.out.push({
        seq,
        receiveTimeMs: frame.header.receiveTimeMs,
        codec: frame.header.codec,
        rawSize: frame.header.rawSize,
        payload,
        ...(frame.idempotencyId !== undefined ? { idempotencyId: frame.idempotencyId } : {}),
      });
      budget.count -= 1;
      budget.bytes -= size;
    }
  });
}
