import { SlsError } from '../protocol/errors.js';
import type { ParquetTargetConfig } from './targets/parquet-target.js';
import type { PostgresTargetConfig } from './targets/postgres-target.js';

/** A shipper as stored and as GetShipper answers it (sls-api.md §5.11), plus our target types. */
export interface ShipperDoc {
  readonly shipperName: string;
  readonly targetType: 'parquet' | 'postgresql';
  /** As the client sent it (validated), so GetShipper echoes it back. */
  readonly targetConfiguration: Readonly<Record<string, unknown>>;
  readonly createTime: number;
  readonly lastModifyTime: number;
}

export interface ShipperSettings {
  readonly bufferIntervalMs: number;
  readonly bufferBytes: number;
  readonly target:
    | { readonly type: 'parquet'; readonly config: ParquetTargetConfig }
    | { readonly type: 'postgresql'; readonly config: PostgresTargetConfig };
}

export const SHIPPER_KIND = 'shipper';
/** SLS OSS shippers default to 300 s / 256 MB; we keep the size and ship sooner. */
export const DEFAULT_BUFFER_INTERVAL_SEC = 30;
export const DEFAULT_BUFFER_SIZE_MB = 256;
const NAME = /^[a-z0-9][a-z0-9_-]{1,126}[a-z0-9]$/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function checkShipperName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new SlsError(
      'ParameterInvalid',
      `shipperName must be 3 to 128 lowercase letters, digits, "_" or "-", starting and ending with a letter or digit, got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/** Validates a create/update body once, at the edge; the result is what the runner uses. */
export function parseShipperSettings(
  targetType: unknown,
  configuration: unknown,
  logstore: string,
): { targetType: ShipperDoc['targetType']; settings: ShipperSettings } {
  if (typeof configuration !== 'object' || configuration === null || Array.isArray(configuration)) {
    throw new SlsError('ParameterInvalid', 'targetConfiguration must be an object');
  }
  const c = configuration as Record<string, unknown>;
  const intervalSec = num(c['bufferInterval'], 'bufferInterval (seconds)', 0.1, 3600) ?? DEFAULT_BUFFER_INTERVAL_SEC;
  const sizeMb = num(c['bufferSize'], 'bufferSize (MB)', 0.001, 1024) ?? DEFAULT_BUFFER_SIZE_MB;
  const common = { bufferIntervalMs: Math.round(intervalSec * 1000), bufferBytes: Math.round(sizeMb * 1024 * 1024) };
  if (targetType === 'parquet') {
    const path = c['path'];
    if (typeof path !== 'string' || !path.startsWith('/')) {
      throw new SlsError('ParameterInvalid', 'targetConfiguration.path must be an absolute folder path');
    }
    const compression = c['compressType'] ?? 'zstd';
    if (compression !== 'zstd' && compression !== 'snappy' && compression !== 'none') {
      throw new SlsError('ParameterInvalid', 'targetConfiguration.compressType must be zstd, snappy or none');
    }
    return {
      targetType,
      settings: {
        ...common,
        target: {
          type: 'parquet',
          config: { path, compression: compression === 'none' ? 'uncompressed' : compression },
        },
      },
    };
  }
  if (targetType === 'postgresql') {
    const conn = c['connectionString'];
    if (typeof conn !== 'string' || !/^postgres(ql)?:\/\//.test(conn)) {
      throw new SlsError('ParameterInvalid', 'targetConfiguration.connectionString must be a postgres:// URL');
    }
    const schema = ident(c['schema'] ?? 'public', 'schema');
    const table = ident(c['table'] ?? logstore.replaceAll('-', '_'), 'table');
    const timeoutMs = Math.round((num(c['timeout'], 'timeout (seconds)', 0.1, 600) ?? 10) * 1000);
    return {
      targetType,
      settings: {
        ...common,
        target: { type: 'postgresql', config: { connectionString: conn, schema, table, timeoutMs } },
      },
    };
  }
  throw new SlsError('ParameterInvalid', `targetType must be parquet or postgresql, got ${JSON.stringify(targetType)}`);
}

function num(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new SlsError(
      'ParameterInvalid',
      `targetConfiguration.${name} must be from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function ident(value: unknown, name: string): string {
  if (typeof value !== 'string' || !IDENT.test(value)) {
    throw new SlsError(
      'ParameterInvalid',
      `targetConfiguration.${name} must be a plain SQL identifier, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
