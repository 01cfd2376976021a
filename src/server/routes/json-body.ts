import { SlsError } from '../../protocol/errors.js';
import type { RequestContext } from '../router.js';

/** Parses a JSON object body; an empty body is `{}`. Anything else is `400 PostBodyInvalid` saying why. */
export function jsonBody(ctx: RequestContext): Record<string, unknown> {
  if (ctx.body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(ctx.body.toString('utf8'));
  } catch (err) {
    throw new SlsError('PostBodyInvalid', `body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SlsError('PostBodyInvalid', 'body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/** Reads an optional integer from a JSON body or query value (numbers or numeric strings). */
export function optionalInt(
  value: unknown,
  name: string,
  min: number,
  max: number,
  code: 'ParameterInvalid' | 'LogStoreInfoInvalid' | 'ProjectInfoInvalid' = 'ParameterInvalid',
): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new SlsError(code, `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Reads an optional boolean; accepts true/false and the Python SDK's "True"/"False". */
export function optionalBool(
  value: unknown,
  name: string,
  code: 'ParameterInvalid' | 'LogStoreInfoInvalid' = 'ParameterInvalid',
): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.toLowerCase();
    if (v === 'true') return true;
    if (v === 'false') return false;
  }
  throw new SlsError(code, `${name} must be true or false, got ${JSON.stringify(value)}`);
}

export function optionalString(
  value: unknown,
  name: string,
  maxLength: number,
  code: 'ParameterInvalid' | 'ProjectInfoInvalid' | 'LogStoreInfoInvalid' = 'ParameterInvalid',
): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > maxLength) {
    throw new SlsError(code, `${name} must be a string of at most ${maxLength} characters`);
  }
  return value;
}
