/**
 * A seeded PRNG for the crash suites, so a failing run can be replayed exactly: every random choice (kill delay,
 * writer count, payload sizes, routing keys, garbage bytes) comes from here, and the seed is printed first.
 * `SLUICE_CRASH_SEED=<n>` replays a run.
 */
import { randomInt } from 'node:crypto';

export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** mulberry32: tiny, fast, and good enough to drive a test (not for anything secret). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.int(0, 255);
    return out;
  }

  /** Printable text (so LZ4 has something to compress, unlike random bytes). */
  text(n: number): string {
    const words = ['GET', '/api/v1/items', '200', 'INFO', 'user=', 'latency_ms=', 'ok', 'retry', 'shard', 'cursor'];
    let s = '';
    while (s.length < n) s += `${this.pick(words)}${this.int(0, 99999)} `;
    return s.slice(0, n);
  }

  /** 32 lowercase hex characters: a hash key anywhere in the key space. */
  hashKey(): string {
    let s = '';
    for (let i = 0; i < 4; i++) s += this.int(0, 0xffffffff).toString(16).padStart(8, '0');
    return s;
  }

  /** An independent generator (e.g. one per writer) whose sequence depends only on this one's seed and `salt`. */
  fork(salt: number): Prng {
    return new Prng((Math.imul(this.seed ^ 0x9e3779b9, 31) + salt * 0x85ebca6b) >>> 0);
  }
}

/** The run's seed: `SLUICE_CRASH_SEED` when set (replay), otherwise fresh. */
export function crashSeed(): number {
  const fromEnv = process.env['SLUICE_CRASH_SEED'];
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isSafeInteger(n) || n < 0)
      throw new Error(`SLUICE_CRASH_SEED must be a non-negative integer, got ${fromEnv}`);
    return n >>> 0;
  }
  return randomInt(0, 2 ** 31);
}
