/**
 * Cuts a read buffer into log entries (byte ranges): one per line, or one per multiline entry that starts at a line
 * matching the begin regex. Only complete entries are emitted; the returned `consumed` is where the next read must
 * start, always an entry boundary, so a checkpoint offset never points into the middle of a log. With `flush` (the
 * file was rotated away, or nothing new came for the flush timeout) the unfinished tail is emitted too.
 */
export type EmitEntry = (start: number, end: number) => void;

export interface SplitOptions {
  readonly beginRegex: RegExp | undefined;
  /** An entry longer than this is cut (counted by the caller via the return value). */
  readonly maxEntryBytes: number;
}

export interface SplitResult {
  consumed: number;
  /** Entries cut because they passed `maxEntryBytes`. */
  cut: number;
}

/** Line end without a trailing `\r`. */
function trimCr(buf: Buffer, start: number, end: number): number {
  return end > start && buf[end - 1] === 0x0d ? end - 1 : end;
}

/** How much of a line the begin regex sees: enough for any timestamp prefix, bounded so a huge line stays cheap. */
const BEGIN_PROBE_BYTES = 1024;

export function splitEntries(buf: Buffer, len: number, flush: boolean, o: SplitOptions, emit: EmitEntry): SplitResult {
  const r: SplitResult = { consumed: 0, cut: 0 };
  if (o.beginRegex === undefined) {
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0 || nl >= len) break;
      if (nl - start > o.maxEntryBytes) r.cut++;
      emit(start, Math.min(trimCr(buf, start, nl), start + o.maxEntryBytes));
      start = nl + 1;
    }
    if (start < len && (flush || len - start >= o.maxEntryBytes)) {
      if (len - start >= o.maxEntryBytes) r.cut++;
      const end = Math.min(len, start + o.maxEntryBytes);
      emit(start, end);
      start = end;
    }
    r.consumed = start;
    return r;
  }

  const begin = o.beginRegex;
  let entryStart = -1;
  let entryEnd = 0; // end of the entry's last complete line, without its newline
  let lineStart = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, lineStart);
    if (nl < 0 || nl >= len) break;
    const lineEnd = trimCr(buf, lineStart, nl);
    const probe = buf.toString('utf8', lineStart, Math.min(lineEnd, lineStart + BEGIN_PROBE_BYTES));
    if (begin.test(probe) || entryStart < 0) {
      if (entryStart >= 0) emit(entryStart, entryEnd);
      entryStart = lineStart;
    } else if (lineEnd - entryStart > o.maxEntryBytes) {
      // The entry would pass the limit: close it before this line, which starts the next piece.
      r.cut++;
      emit(entryStart, entryEnd);
      entryStart = lineStart;
    }
    entryEnd = lineEnd;
    lineStart = nl + 1;
  }
  if (flush) {
    if (lineStart < len) {
      const probe = buf.toString('utf8', lineStart, Math.min(len, lineStart + BEGIN_PROBE_BYTES));
      if (entryStart >= 0 && begin.test(probe)) {
        emit(entryStart, entryEnd);
        entryStart = lineStart;
      } else if (entryStart < 0) entryStart = lineStart;
      entryEnd = len;
      lineStart = len;
    }
    if (entryStart >= 0) emit(entryStart, entryEnd);
    r.consumed = lineStart;
    return r;
  }
  if (entryStart < 0) entryStart = lineStart;
  if (len - entryStart >= o.maxEntryBytes) {
    // The buffer holds one unfinished entry at the limit: emit what we have so reading can go on.
    r.cut++;
    if (lineStart > entryStart) {
      emit(entryStart, entryEnd);
      r.consumed = lineStart;
    } else {
      emit(entryStart, entryStart + o.maxEntryBytes);
      r.consumed = entryStart + o.maxEntryBytes;
    }
    return r;
  }
  r.consumed = entryStart;
  return r;
}
