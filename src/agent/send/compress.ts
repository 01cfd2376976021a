/**
 * The LZ4 block compressor for batch bodies, the agent's largest CPU cost per MB.
 *
 * Preferred: the reference C LZ4 (`LZ4_compress_default`, from the `lz4` package, built from source at install),
 * writing straight into a pooled buffer of the block's worst-case size (no native allocation and no copy per
 * batch; a ~1 MB LogGroup's ~280 KB block took a 1 MiB buffer before too, the pool's class above 256 KiB; the copy
 * cost ~0.1 ms per batch). Groups whose bound is above the largest class go through a reused scratch buffer and are
 * copied into a pooled buffer sized to the block. Measured on a
 * ~1.1 MB line-mode LogGroup of nginx lines (Node 20, this machine): 1.47 ms per MB against 2.25–2.50 ms for
 * `lz4-napi` (lz4_flex), the same ratio (3.56), and the same raw block format.
 *
 * Fallback, when that optional package did not build: `lz4-napi`, whose results are native buffers that only go
 * back to the OS when V8 collects their small wrappers, so a minor GC is asked for every few MB compressed (see
 * native-gc.ts).
 */
import { createRequire } from 'node:module';
import { lz4BlockCompress } from '../../protocol/lz4-block.js';
import { NativeBufferCollector } from '../self-monitor/native-gc.js';
import type { BufferPool } from './buffer-pool.js';

interface Lz4Binding {
  /** `LZ4_compress_default(input, output + start, input.length, end - start)`: the block's size, 0 if it did not fit. */
  compress(input: Buffer, output: Buffer, start: number, end: number): number;
}

function loadReferenceLz4(): Lz4Binding | undefined {
  if (process.env['SLUICE_AGENT_LZ4'] === 'napi') return undefined;
  try {
    // The binding alone: the package's main module also loads its stream classes and a JS xxhash.
    const b = createRequire(import.meta.url)('lz4/build/Release/lz4.node') as Lz4Binding;
    return typeof b.compress === 'function' ? b : undefined;
  } catch {
    return undefined;
  }
}

/** LZ4's worst case for `n` input bytes (`LZ4_COMPRESSBOUND`). */
export function lz4Bound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

export class BodyCompressor {
  private readonly native = loadReferenceLz4();
  private readonly gc = new NativeBufferCollector(4 * 1024 * 1024);
  private scratch = Buffer.alloc(0);

  /** Which implementation runs (reported at start). */
  get implementation(): 'lz4 (C)' | 'lz4-napi' {
    return this.native ? 'lz4 (C)' : 'lz4-napi';
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
