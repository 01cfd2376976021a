import { SlsError } from '../protocol/errors.js';
import type { RequestHeaders } from '../protocol/signature.js';
import { parseAuthorization, verifyRequest } from '../protocol/signature.js';

export const API_VERSION = '0.6.0';

export interface AuthRequest {
  readonly method: string;
  readonly path: string;
  readonly rawQuery: string;
  readonly headers: RequestHeaders;
  readonly body: Uint8Array;
}

/**
 * Checks the API version and the request signature (v1 or v4). Throws the SLS error a client would get; returns the
 * access key id that signed.
 */
export function authenticate(
  req: AuthRequest,
  secretOf: (accessKeyId: string) => string | undefined,
  options: { readonly nowMs: number; readonly maxSkewMs: number },
): string {
  const version = headerText(req.headers['x-log-apiversion']);
  if (version === undefined) throw new SlsError('MissingAPIVersion', 'x-log-apiversion header is missing');
  if (version !== API_VERSION) {
    throw new SlsError('InvalidAPIVersion', `x-log-apiversion ${version} is not supported; use ${API_VERSION}`);
  }
  const auth = parseAuthorization(headerText(req.headers['authorization']));
  const secret = secretOf(auth.accessKeyId);
  if (secret === undefined) {
    throw new SlsError('Unauthorized', `AccessKeyId ${auth.accessKeyId} is not found or disabled`);
  }
  verifyRequest(req, secret, options);
  return auth.accessKeyId;
}

function headerText(v: string | readonly string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : (v as string | undefined);
}
