import type { ShardMeta } from '../meta/meta-store.js';
import { SlsError } from '../protocol/errors.js';
import { initialRanges, keyInRange, parseHashKey, splitKeyValid } from '../protocol/hash-range.js';

/**
 * Pure shard-set arithmetic: the shards of a new logstore, a split and a merge. Each returns the complete new shard
 * list, which the MetaStore then commits atomically. Parents become readonly and stay readable; children get fresh
 * ids (max id + 1, + 2, like SLS) and their own cursor base.
 */

export function planInitialShards(count: number, nowSec: number, nextBase: () => number): ShardMeta[] {
  return initialRanges(count).map((r, id) => ({
    id,
    status: 'readwrite',
    beginKey: r.begin,
    endKey: r.end,
    createTime: nowSec,
    baseSeq: nextBase(),
    parents: [],
  }));
}

export function planSplit(
  shards: readonly ShardMeta[],
  shardId: number,
  splitKey: string,
  nowSec: number,
  nextBase: () => number,
): ShardMeta[] {
  const parent = requireReadWrite(shards, shardId);
  const key = parseHashKey(splitKey);
  if (!splitKeyValid(parent.beginKey, parent.endKey, key)) {
    throw new SlsError(
      'ParameterInvalid',
      `invalid mid hash ${splitKey}: it must lie strictly inside shard ${shardId}'s range [${parent.beginKey}, ${parent.endKey})`,
    );
  }
  const maxId = Math.max(...shards.map((s) => s.id));
  const left: ShardMeta = {
    id: maxId + 1,
    status: 'readwrite',
    beginKey: parent.beginKey,
    endKey: key,
    createTime: nowSec,
    baseSeq: nextBase(),
    parents: [parent.id],
  };
  const right: ShardMeta = { ...left, id: maxId + 2, beginKey: key, endKey: parent.endKey, baseSeq: nextBase() };
  return [...shards.map((s) => (s.id === shardId ? { ...s, status: 'readonly' as const } : s)), left, right];
}

/** Merges `shardId` with the readwrite shard that starts where it ends. */
export function planMerge(
  shards: readonly ShardMeta[],
  shardId: number,
  nowSec: number,
  nextBase: () => number,
): ShardMeta[] {
  const left = requireReadWrite(shards, shardId);
  const right = shards.find((s) => s.status === 'readwrite' && s.beginKey === left.endKey);
  if (!right) {
    throw new SlsError(
      'ParameterInvalid',
      `shard ${shardId} has no adjacent readwrite shard to its right to merge with`,
    );
  }
  const maxId = Math.max(...shards.map((s) => s.id));
  const merged: ShardMeta = {
    id: maxId + 1,
    status: 'readwrite',
    beginKey: left.beginKey,
    endKey: right.endKey,
    createTime: nowSec,
    baseSeq: nextBase(),
    parents: [left.id, right.id],
  };
  return [
    ...shards.map((s) => (s.id === left.id || s.id === right.id ? { ...s, status: 'readonly' as const } : s)),
    merged,
  ];
}

export function planDelete(shards: readonly ShardMeta[], shardId: number): ShardMeta[] {
  const shard = requireShard(shards, shardId);
  if (shard.status !== 'readonly') {
    throw new SlsError('ParameterInvalid', `shard ${shardId} is readwrite; only a readonly shard can be deleted`);
  }
  return shards.filter((s) => s.id !== shardId);
}

/** The readwrite shard whose range holds `key`. */
export function shardForKey(shards: readonly ShardMeta[], key: string): ShardMeta | undefined {
  return shards.find((s) => s.status === 'readwrite' && keyInRange(key, s.beginKey, s.endKey));
}

export function requireShard(shards: readonly ShardMeta[], shardId: number): ShardMeta {
  const shard = shards.find((s) => s.id === shardId);
  if (!shard) throw new SlsError('ShardNotExist', `shard ${shardId} does not exist`);
  return shard;
}

function requireReadWrite(shards: readonly ShardMeta[], shardId: number): ShardMeta {
  const shard = requireShard(shards, shardId);
  if (shard.status !== 'readwrite') {
    throw new SlsError('ParameterInvalid', `shard ${shardId} is readonly and cannot be split or merged`);
  }
  return shard;
}
