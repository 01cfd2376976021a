/**
 * The LZ4 block compressor for batch bodies, the agent's largest CPU cost per MB.
 *
 * Preferred: our own addon (`native/lz4`, the `sluice-lz4` optional dependency, N-API C built at install) calling
 * `LZ4_compress_fast` with an acceleration (see DEFAULT_LZ4_ACCELERATION) straight into a pooled buffer of the
 * block's worst-case size (no native allocation and no copy per batch). Groups whose bound is above the largest pool
 * class go through a reused scratch buffer and are copied into a pooled buffer sized to the block. Any acceleration
 * gives a standard LZ4 block: the server and the SLS SDKs decode it unchanged.
 *
 * Next, when that addon did not build: the reference C LZ4 of the `lz4` package (`LZ4_compress_default`, the same
 * code at acceleration 1), same buffers. Measured on a ~1.1 MB line-mode LogGroup of nginx lines (Node 20, this
 * machine): 1.47 ms per MB against 2.25–2.50 ms for `lz4-napi` (lz4_flex), the same ratio (3.56).
 *
 * Last, when neither built: `lz4-napi`, whose results are native buffers that only go back to the OS when V8
 * collects their small wrappers, so a minor GC is asked for every few MB compressed (see native-gc.ts).
 *
 * `SLUICE_AGENT_LZ4=lz4|napi` skips the addon (or both native ones; `SLUICE_AGENT_NATIVE=off` skips the addon everywhere) and `SLUICE_AGENT_LZ4_ACCELERATION=N` overrides
 * the acceleration: for tests and benchmarks.
 */
import { createRequire } from 'node:module';
import { lz4BlockCompress } from '../../protocol/lz4-block.js';
import { sluiceNative } from '../native-addon.js';
import { NativeBufferCollector } from '../self-monitor/native-gc.js';
import type { BufferPool } from './buffer-pool.js';

/**
 * LZ4_compress_fast's acceleration for batch bodies. Measured with bench/agent-lz4.ts on ~1 MB line-mode LogGroups of
 * the bench's nginx lines (ms per MB / ratio): 1 (= LZ4_compress_default) 1.53–1.57 / 3.59, 2: 1.48–1.52 / 3.45,
 * 4: 1.42–1.46 / 3.32, 8: 1.33–1.36 / 3.02, 16: 1.23–1.25 / 2.58 — each step buys a few % of LZ4's CPU with as many %
 * of bytes, no knee. Bytes cost too: SHA-256 for v4 signing (~0.67 µs per KB), socket writes, and the server's disk
 * (the shard log keeps bodies as received). 4 takes ~8 % off LZ4 (~3 % of the agent's CPU) for 8 % more bytes.
 */
export const DEFAULT_LZ4_ACCELERATION = 4;

/** `compress(input, output, start, end)`: the block's size written at `output[start..]`, 0 if it did not fit. */
type CompressInto = (input: Buffer, output: Buffer, start: number, end: number) => number;

interface ReferenceLz4Binding {
  /** `LZ4_compress_default(input, output + start, input.length, end - start)`. */
  compress(input: Buffer, output: Buffer, start: number, end: number): number;
}

export type Lz4Implementation = 'sluice-lz4 (C)' | 'lz4 (C)' | 'lz4-napi';

function loadNative(acceleration: number): { impl: Lz4Implementation; compress: CompressInto } | undefined {
  const choice = process.env['SLUICE_AGENT_LZ4'];
  if (choice === 'napi') return undefined;
  const addon = choice === 'lz4' ? undefined : sluiceNative();
  if (addon !== undefined)
    return { impl: 'sluice-lz4 (C)', compress: (i, o, s, e) => addon.compress(i, o, s, e, acceleration) };
  try {
    // The binding alone: the package's main module also loads its stream classes and a JS xxhash.
    const b = createRequire(import.meta.url)('lz4/build/Release/lz4.node') as Partial<ReferenceLz4Binding>;
    const fn = b.compress;
    if (typeof fn === 'function') return { impl: 'lz4 (C)', compress: (i, o, s, e) => fn(i, o, s, e) };
  } catch {
    // Not built either: lz4-napi.
  }
  return undefined;
}

function accelerationFromEnv(): number {
  const v = Number(process.env['SLUICE_AGENT_LZ4_ACCELERATION']);
  return Number.isInteger(v) && v >= 1 && v <= 65_537 ? v : DEFAULT_LZ4_ACCELERATION;
}

/** LZ4's worst case for `n` input bytes (`LZ4_COMPRESSBOUND`). */
export function lz4Bound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

export class BodyCompressor {
  private readonly native: { impl: Lz4Implementation; compress: CompressInto } | undefined;
  private readonly gc = new NativeBufferCollector(4 * 1024 * 1024);
  private scratch = Buffer.alloc(0);

  /** `acceleration` applies to the addon only (the others have none). */
  constructor(readonly acceleration = accelerationFromEnv()) {
    this.native = loadNative(acceleration);
  }

  /** Which implementation runs (reported at start). */
  get implementation(): Lz4Implementation {
    return this.native?.impl ?? 'lz4-napi';
  }

  /** A raw LZ4 block of `raw` in a pooled buffer: `view` is the block, `slab` goes back to the pool when done. */
  compress(raw: Buffer, pool: BufferPool): { view: Buffer; slab: Buffer | undefined } {
    if (this.native !== undefined) {
      const bound = lz4Bound(raw.length);
      const slab = pool.take(bound);
      if (slab !== undefined) {
        // Output capacity >= bound: LZ4's unlimited-output path, which cannot fail.
        const n = this.native.compress(raw, slab, 0, slab.length);
        if (n > 0) return { view: slab.subarray(0, n), slab };
        pool.release(slab);
      }
      if (this.scratch.length < bound) this.scratch = Buffer.allocUnsafeSlow(bound);
      const n = this.native.compress(raw, this.scratch, 0, this.scratch.length);
      if (n > 0) return pool.copy(this.scratch.subarray(0, n));
    }
    this.gc.note(raw.length);
    return pool.copy(lz4BlockCompress(raw));
  }
}
