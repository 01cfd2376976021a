import { SlsClientError } from '../../client/sls-client.js';

export type Verdict = 'ok' | 'retry' | 'throttle' | 'permanent';

/**
 * What a PutLogs outcome means for the batch. Quota errors (403 WriteQuotaExceed / ShardWriteQuotaExceed) slow the
 * logstore down; 5xx, timeouts and network errors are retried; 401/404 (wrong key, logstore not created yet) are
 * retried too, since an operator fixes them without touching the data, but they are logged each time. Other 4xx say
 * the batch itself can never be stored: it is given up and reported, never looped on.
 */
export function classify(status: number, code: string): Verdict {
  if (status === 200) return 'ok';
  if (status === 403 && /QuotaExceed$/.test(code)) return 'throttle';
  if (status === 429) return 'throttle';
  if (status >= 500 || status === 0 || status === 401 || status === 404 || status === 408) return 'retry';
  if (code === 'RequestTimeExpired') return 'retry';
  return 'permanent';
}

export function errorCode(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof SlsClientError) return { status: err.status, code: err.code, message: err.message };
  const e = err as NodeJS.ErrnoException;
  return { status: 0, code: e?.code ?? 'NetworkError', message: e?.message ?? String(err) };
}

/** Full-jitter exponential backoff (AWS style): uniform in [base, min(cap, base * 2^attempt)]. */
export function backoffMs(attempt: number, baseMs: number, capMs: number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return baseMs + Math.random() * (ceiling - baseMs);
}
