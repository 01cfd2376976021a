/**
 * The shard log: per shard, an append-only sequence of LogGroups kept as they arrived (still compressed), each with a
 * consecutive sequence number (the cursor), its server receive time and a checksum. The embedded log rewrites sealed
 * files more compactly (embedded/compaction.ts); a record always reads back as the bytes that were sent. It is the source of truth;
 * everything else (indexes, segments, consumer progress) can be rebuilt from it.
 *
 * Two implementations share this seam: the embedded one on local files (./embedded) and, in cluster mode, one on
 * NATS JetStream. Only the composition root chooses.
 */

/**
 * How a record's payload is encoded. The payload is always one serialized protobuf `LogGroup` once decoded.
 * `zstd-columns` is only written by compaction of sealed files: the LogGroup transposed to columns, then zstd
 * (stored-payload.ts, columnar-log-group.ts).
 */
export type PayloadCodec = SentCodec | 'zstd-columns';

/** The codecs a client can send a LogGroup in (`x-log-compresstype`), each stored as sent. */
export type SentCodec = 'none' | 'lz4' | 'deflate' | 'zstd';

/** Longest idempotency id (`x-log-idempotency-id`), in characters (= bytes: printable ASCII only). */
export const MAX_IDEMPOTENCY_ID_LENGTH = 128;

/**
 * Why `id` cannot be an idempotency id, or undefined when it can: 1 to 128 printable ASCII characters, no space. The
 * HTTP layer and every ShardLog implementation apply this one rule.
 */
export function idempotencyIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'must be a string';
  if (id.length === 0) return 'is empty';
  if (id.length > MAX_IDEMPOTENCY_ID_LENGTH) {
    return `is ${id.length} characters, over the limit of ${MAX_IDEMPOTENCY_ID_LENGTH}`;
  }
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return `holds a character that is not printable ASCII or is a space (at ${i})`;
  }
  return undefined;
}

export interface AppendEntry {
  /** The LogGroup bytes as stored (compressed per `codec`). */
  readonly payload: Uint8Array;
  readonly codec: PayloadCodec;
  /** Size of the payload once decompressed (equals payload length for codec 'none'). */
  readonly rawSize: number;
  /**
   * Stored with the record, in the same atomic write (a crash never keeps the record without it), and findable through
   * `findIdempotencyId` for as long as the record is retained. The log does not refuse duplicates itself: the caller
   * looks the id up first (see LogService.put).
   */
  readonly idempotencyId?: string;
}

export interface StoredRecord {
  /** Consecutive per shard: the record after `seq` is `seq + 1`. */
  readonly seq: number;
  /** Server receive time, unix milliseconds. */
  readonly receiveTimeMs: number;
  readonly codec: PayloadCodec;
  readonly rawSize: number;
  readonly payload: Buffer;
  /** The id the record was appended with, if any. */
  readonly idempotencyId?: string;
}

export interface ReadOptions {
  /** At most this many records. */
  readonly maxCount: number;
  /**
   * Stop once this many payload bytes have been collected. The first record is always returned even when larger, so
   * a reader can never get stuck behind one big record.
   */
  readonly maxBytes: number;
  /** Exclusive upper bound on sequence numbers to return. */
  readonly endSeq?: number;
}

export interface ShardLog {
  /** First sequence number still held (moves up when TTL trims whole files). */
  beginSeq(): number;
  /**
   * One past the last durable record: the `end` cursor. Records become visible to readers only once durable, so a
   * reader never sees a record that a crash could take back.
   */
  endSeq(): number;
  /**
   * Appends records atomically and in order; resolves with the sequence number of the first one only after an fsync
   * (or replication quorum) that covers all of them. Concurrent appends share one fsync (group commit).
   */
  append(entries: readonly AppendEntry[], receiveTimeMs?: number): Promise<number>;
  /** Reads durable records starting at `fromSeq` (which must lie in [beginSeq, endSeq]). */
  read(fromSeq: number, options: ReadOptions): Promise<StoredRecord[]>;
  /** First sequence number whose receive time is >= `unixMs`; `endSeq()` if there is none. */
  seqAtTime(unixMs: number): Promise<number>;
  /** Receive time (unix ms) of the record at `seq`, which must lie in [beginSeq, endSeq). */
  timeOfSeq(seq: number): Promise<number>;
  /**
   * Sequence number of the durable, still retained record appended with this idempotency id, or undefined. Ids of
   * records dropped by `trimBefore` are forgotten with them; a record not yet durable is not found (the caller tracks
   * appends in flight). Answered from memory: the embedded log rebuilds an id -> seq map at open (sealed files from
   * their sidecar, the active file from its scan).
   *
   * On NATS JetStream the append would also carry the id as `Nats-Msg-Id`, so the server drops a duplicate publish by
   * itself; but that dedup only spans the stream's duplicate window (minutes), not the retention, so the cluster log
   * keeps the id in a message header and answers this from an index rebuilt from the stream, as here.
   */
  findIdempotencyId(id: string): number | undefined;
  /** Drops whole files whose newest record was received before `unixMs`. */
  trimBefore(unixMs: number): Promise<void>;
  /** Flushes and closes; further calls fail. */
  close(): Promise<void>;
}
