/**
 * The C LogGroup validator in Sluice's optional addon (`native/lz4/src/validate.c`, installed as the `sluice-lz4`
 * optional dependency): the same accept / reject decisions as the JS `validateLogGroup`, several times faster.
 * Absent when the addon did not build, is older than this function, or `SLUICE_VALIDATE_NATIVE=off`: the JS scan
 * then does all the work.
 */
import { createRequire } from 'node:module';

/**
 * True when `bytes` passes; `limits` = [maxLogsPerGroup, maxKeyBytes, maxValueBytes, maxTopicBytes,
 * maxSourceBytes, strict ? 1 : 0], `out` receives [logCount, minTime, maxTime] on success.
 */
export type NativeValidate = (bytes: Uint8Array, limits: Float64Array, out: Float64Array) => boolean;

let loaded: NativeValidate | null | undefined;

/** The addon's validator, loaded once; undefined when it is not there. */
export function nativeValidate(): NativeValidate | undefined {
  if (loaded === undefined) {
    loaded = null;
    if (process.env['SLUICE_VALIDATE_NATIVE'] !== 'off') {
      try {
        const b = createRequire(import.meta.url)('sluice-lz4') as { validateLogGroup?: unknown };
        if (typeof b.validateLogGroup === 'function') loaded = b.validateLogGroup as NativeValidate;
      } catch {
        // Not built (optional dependency): the JS validator runs alone.
      }
    }
  }
  return loaded ?? undefined;
}
