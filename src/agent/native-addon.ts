/**
 * Sluice's own optional addon (`native/lz4`, installed as the `sluice-lz4` optional dependency and compiled by
 * node-gyp at install from the C sources of the `lz4` package): LZ4_compress_fast with an acceleration, and line
 * framing in C. Absent when it did not build (or `SLUICE_AGENT_NATIVE=off`): every caller then has a JS or other
 * native path, so the agent works without it.
 */
import { createRequire } from 'node:module';

export interface SluiceNative {
  /** `LZ4_compress_fast(input, output + start, input.length, end - start, acceleration)`: 0 if it did not fit. */
  compress(input: Uint8Array, output: Uint8Array, start: number, end: number, acceleration: number): number;
  /**
   * Line mode's split + LogGroup framing in one call (see native/lz4/src/binding.c and LogGroupWriter.addLines).
   * Returns 0 (done), 1 (dst full: `state[4]` bytes needed) or 2 (`maxLogs` written, more lines wait).
   */
  frameLines(
    src: Uint8Array,
    srcLen: number,
    flush: boolean,
    maxEntryBytes: number,
    maxLogs: number,
    dst: Uint8Array,
    dstLimit: number,
    timeBytes: Uint8Array,
    state: Int32Array,
  ): number;
}

let loaded: SluiceNative | null | undefined;

/** The addon, loaded once; undefined when it is not there. */
export function sluiceNative(): SluiceNative | undefined {
  if (loaded === undefined) {
    loaded = null;
    if (process.env['SLUICE_AGENT_NATIVE'] !== 'off') {
      try {
        const b = createRequire(import.meta.url)('sluice-lz4') as Partial<SluiceNative>;
        if (typeof b.compress === 'function' && typeof b.frameLines === 'function') loaded = b as SluiceNative;
      } catch {
        // Not built (optional dependency): callers fall back.
      }
    }
  }
  return loaded ?? undefined;
}
