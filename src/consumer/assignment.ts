/**
 * Shard assignment for a consumer group (sls-api.md §5.9): a pure function of the eligible shards, the live
 * consumers and the current owners, so the heartbeat handler stays small and the policy is unit-tested alone.
 *
 * Policy: a shard stays with its owner while the owner is alive; shards without a live owner go to the consumer with
 * the fewest; then, while one consumer has two more than another, the busiest gives its highest shard to the idlest
 * (so a consumer that joins gets its share). Ties break by name, so every server answers alike.
 */
export interface AssignmentInput {
  /** Shards that should be consumed now. */
  readonly shards: readonly number[];
  /** Live consumers (heartbeat within the group's timeout). */
  readonly consumers: readonly string[];
  /** The previous assignment. */
  readonly owners: ReadonlyMap<number, string>;
}

export function assignShards(input: AssignmentInput): Map<number, string> {
  const live = [...new Set(input.consumers)].sort();
  const owners = new Map<number, string>();
  if (live.length === 0) return owners;
  const load = new Map<string, number[]>(live.map((c) => [c, []]));
  const shards = [...new Set(input.shards)].sort((a, b) => a - b);
  const free: number[] = [];
  for (const shard of shards) {
    const owner = input.owners.get(shard);
    const held = owner !== undefined ? load.get(owner) : undefined;
    if (held) held.push(shard);
    else free.push(shard);
  }
  for (const shard of free) least(load).push(shard);
  for (;;) {
    const min = least(load);
    const max = most(load);
    if (max.length - min.length <= 1) break;
    max.sort((a, b) => a - b);
    min.push(max.pop()!);
  }
  for (const [consumer, held] of load) for (const shard of held) owners.set(shard, consumer);
  return owners;
}

function least(load: Map<string, number[]>): number[] {
  let best: number[] | undefined;
  for (const held of load.values()) if (!best || held.length < best.length) best = held;
  return best!;
}

function most(load: Map<string, number[]>): number[] {
  let best: number[] | undefined;
  for (const held of load.values()) if (!best || held.length > best.length) best = held;
  return best!;
}
