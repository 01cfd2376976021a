/**
 * A map that remembers the order its keys were last used in, for the reader's caches (rows, postings, decoded
 * blocks): `get` makes a key the newest, `shift` drops the oldest. Every operation is O(1).
 *
 * Why not a plain Map used as a queue (`delete` and `set` to refresh a key, `map.delete(map.keys().next().value)` to
 * drop the oldest), as these caches did: V8 leaves a hole where a key is deleted and compacts its table only when it
 * grows or shrinks, so the first key is found by skipping every hole before it. A full cache of 8,192 rows took
 * ~3 µs per eviction that way, ~0.25 ms of a distinct needle's page of 80 new rows; here the order is a doubly linked
 * list beside the Map.
 */
interface Entry<K, V> {
  readonly key: K;
  value: V;
  /** The next older and the next newer entry. */
  older: Entry<K, V> | undefined;
  newer: Entry<K, V> | undefined;
}

export class LruMap<K, V> {
  private readonly map = new Map<K, Entry<K, V>>();
  private oldest: Entry<K, V> | undefined;
  private newest: Entry<K, V> | undefined;

  get size(): number {
    return this.map.size;
  }

  /** The value of `key`, which becomes the newest key; undefined when absent. */
  get(key: K): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    this.touch(e);
    return e.value;
  }

  /** The value of `key`, leaving the order as it is. */
  peek(key: K): V | undefined {
    return this.map.get(key)?.value;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Sets `key` (the newest key now) to `value`. */
  set(key: K, value: V): this {
    const e = this.map.get(key);
    if (e !== undefined) {
      e.value = value;
      this.touch(e);
      return this;
    }
    const added: Entry<K, V> = { key, value, older: this.newest, newer: undefined };
    if (this.newest) this.newest.newer = added;
    else this.oldest = added;
    this.newest = added;
    this.map.set(key, added);
    return this;
  }

  delete(key: K): boolean {
    const e = this.map.get(key);
    if (e === undefined) return false;
    this.unlink(e);
    this.map.delete(key);
    return true;
  }

  /** Removes the oldest key and returns it with its value; undefined when empty. */
  shift(): [K, V] | undefined {
    const e = this.oldest;
    if (e === undefined) return undefined;
    this.unlink(e);
    this.map.delete(e.key);
    return [e.key, e.value];
  }

  /** Keys from the oldest to the newest. */
  *keys(): IterableIterator<K> {
    for (let e = this.oldest; e !== undefined; e = e.newer) yield e.key;
  }

  private touch(e: Entry<K, V>): void {
    if (e === this.newest) return;
    this.unlink(e);
    e.older = this.newest;
    e.newer = undefined;
    if (this.newest) this.newest.newer = e;
    else this.oldest = e;
    this.newest = e;
  }

  private unlink(e: Entry<K, V>): void {
    if (e.older) e.older.newer = e.newer;
    else this.oldest = e.newer;
    if (e.newer) e.newer.older = e.older;
    else this.newest = e.older;
    e.older = undefined;
    e.newer = undefined;
  }
}
