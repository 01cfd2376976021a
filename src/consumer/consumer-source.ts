import { decodeLogGroup, type LogGroup } from '../protocol/log-group.js';

/** One LogGroup read from a shard, with its position. */
export interface PulledGroup {
  readonly seq: number;
  /** Server receive time, unix milliseconds (0 when the transport does not say). */
  readonly receiveTimeMs: number;
  /** Size of the serialized LogGroup, for batching by size. */
  readonly rawSize: number;
  /** The serialized LogGroup (protobuf), for processors that hand it on undecoded (to a worker thread). */
  readonly bytes: Uint8Array;
  /** Decoded on first use. */
  readonly group: LogGroup;
}

/** A PulledGroup that decodes its bytes only when `group` is read: decoding is the costliest step of a pull. */
export function pulledGroup(seq: number, receiveTimeMs: number, bytes: Uint8Array): PulledGroup {
  let decoded: LogGroup | undefined;
  return {
    seq,
    receiveTimeMs,
    rawSize: bytes.length,
    bytes,
    get group() {
      decoded ??= decodeLogGroup(bytes);
      return decoded;
    },
  };
}

export interface PullPage {
  readonly groups: readonly PulledGroup[];
  /** Sequence number of the next unread LogGroup. */
  readonly next: number;
  /** The shard's end when read (`next >= end` = caught up). */
  readonly end: number;
}

export interface ShardInfo {
  readonly id: number;
  readonly readonly: boolean;
}

/**
 * What a consumer needs from the service, as a port: over HTTP for users (./http-source.ts) and in process for the
 * server's own shippers (./local-source.ts). Positions are sequence numbers (a cursor's integer, sls-api.md §6).
 */
export interface ConsumerSource {
  ensureGroup(timeoutSec: number, order: boolean): Promise<void>;
  heartbeat(consumer: string, held: readonly number[]): Promise<number[]>;
  /** Committed checkpoints by shard. */
  checkpoints(): Promise<Map<number, number>>;
  commit(consumer: string, shard: number, seq: number): Promise<void>;
  shards(): Promise<ShardInfo[]>;
  cursor(shard: number, from: 'begin' | 'end'): Promise<number>;
  /** `maxBytes` is a hint: a source may return more (the server's own page limit), never fewer than one group. */
  pull(shard: number, from: number, options: { count: number; maxBytes?: number; endSeq?: number }): Promise<PullPage>;
}
