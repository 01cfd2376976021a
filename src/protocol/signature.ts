/**
 * SLS request signatures, both sides (sls-api.md §2): v1 `LOG ak:sig` (HMAC-SHA1) and v4 `SLS4-HMAC-SHA256`.
 *
 * The verifier is deliberately tolerant where real clients disagree with each other, by trying the few canonical
 * forms they produce rather than picking one:
 * - v1: `x-log-date` is never signed (PY and the browser plugin add it after signing); `x-log-meta-*` headers are
 *   signed by N1/GO but not by PY, so when present both forms are tried; N2 signs the percent-decoded path.
 * - v4: GO keeps `~` bare in the canonical query while PY writes `%7E`; GO drops `x-log-meta-*` headers, PY signs
 *   them. Each ambiguity is only tried when the request actually contains it.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SlsError } from './errors.js';
import { parseQuery, type QueryParam, rfc3986Encode, sortParams } from './query-string.js';

export type HeaderValue = string | readonly string[] | undefined;
export type RequestHeaders = Readonly<Record<string, HeaderValue>>;

export interface SignedRequest {
  readonly method: string;
  /** The path as received, without the query. */
  readonly path: string;
  /** The raw text after `?` (without it); `''` when there is none. */
  readonly rawQuery: string;
  /** Request headers; names in any case (Node gives lower case). */
  readonly headers: RequestHeaders;
  /** The body bytes exactly as received (still compressed). */
  readonly body: Uint8Array;
}

export interface VerifyOptions {
  /** Server clock, unix ms. */
  readonly nowMs: number;
  /** Largest accepted |request time − server time| in ms; SLS uses 15 minutes. `Infinity` disables the check. */
  readonly maxSkewMs: number;
}

export const DEFAULT_MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export type ParsedAuthorization =
  | { readonly version: 'v1'; readonly accessKeyId: string; readonly signature: string }
  | {
      readonly version: 'v4';
      readonly accessKeyId: string;
      /** Credential scope date, `yyyymmdd`. */
      readonly date: string;
      readonly region: string;
      readonly signature: string;
    };

const V4_ALGORITHM = 'SLS4-HMAC-SHA256';
const V4_TERMINATOR = 'aliyun_v4_request';
const V4_SERVICE = 'sls';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const V4_CREDENTIAL = /^Credential=([^/]+)\/(\d{8})\/([^/]+)\/sls\/aliyun_v4_request$/;

/** Parses an `Authorization` header; anything unrecognisable is `401 Unauthorized`. */
export function parseAuthorization(header: string | undefined): ParsedAuthorization {
  if (header === undefined || header.length === 0) throw new SlsError('Unauthorized', 'missing Authorization header');
  const h = header.trim();
  if (h.startsWith('LOG ')) {
    const rest = h.slice(4).trim();
    const colon = rest.lastIndexOf(':');
    if (colon <= 0 || colon === rest.length - 1) {
      throw new SlsError('Unauthorized', 'malformed Authorization header: expected "LOG <AccessKeyId>:<Signature>"');
    }
    return { version: 'v1', accessKeyId: rest.slice(0, colon), signature: rest.slice(colon + 1) };
  }
  if (h.startsWith(`${V4_ALGORITHM} `)) {
    let credential: RegExpExecArray | null = null;
    let signature: string | undefined;
    for (const part of h.slice(V4_ALGORITHM.length + 1).split(',')) {
      const p = part.trim();
      if (p.startsWith('Credential=')) credential = V4_CREDENTIAL.exec(p);
      else if (p.startsWith('Signature=')) signature = p.slice('Signature='.length);
    }
    if (credential === null || signature === undefined || !/^[0-9a-f]{64}$/i.test(signature)) {
      throw new SlsError(
        'Unauthorized',
        'malformed Authorization header: expected "SLS4-HMAC-SHA256 Credential=<ak>/<yyyymmdd>/<region>/sls/aliyun_v4_request,Signature=<hex>"',
      );
    }
    return {
      version: 'v4',
      accessKeyId: credential[1]!,
      date: credential[2]!,
      region: credential[3]!,
      signature: signature.toLowerCase(),
    };
  }
  throw new SlsError('Unauthorized', 'unsupported Authorization scheme: expected "LOG" or "SLS4-HMAC-SHA256"');
}

/** Uppercase hex MD5, the SLS Content-MD5 form (not base64). */
export function contentMd5Hex(body: Uint8Array): string {
  return createHash('md5').update(body).digest('hex').toUpperCase();
}

export function sha256Hex(body: Uint8Array): string {
  return body.length === 0 ? EMPTY_SHA256 : createHash('sha256').update(body).digest('hex');
}

/** Lower-cased header map with repeated headers joined by `,` (what Node does for unknown headers). */
function normalizeHeaders(headers: RequestHeaders): Map<string, string> {
  const m = new Map<string, string>();
  for (const [name, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    m.set(name.toLowerCase(), typeof v === 'string' ? v : v.join(','));
  }
  return m;
}

function isLogHeader(name: string): boolean {
  return name.startsWith('x-log-') || name.startsWith('x-acs-');
}

/** The `name:value\n` lines of v1 (`x-log-date` excluded; `x-log-meta-*` optionally excluded). */
function canonicalHeadersV1(h: Map<string, string>, withMeta: boolean): string {
  const names = [...h.keys()]
    .filter((n) => isLogHeader(n) && n !== 'x-log-date' && (withMeta || !n.startsWith('x-log-meta-')))
    .sort();
  let out = '';
  for (const n of names) out += `${n}:${h.get(n)!.trim()}\n`;
  return out;
}

/** CanonicalizedResource of v1: path, then `?` and decoded `k=v` sorted by key when there is at least one param. */
export function canonicalResourceV1(path: string, params: readonly QueryParam[]): string {
  if (params.length === 0) return path;
  return `${path}?${sortParams(params)
    .map((p) => `${p.key}=${p.value}`)
    .join('&')}`;
}

export interface StringToSignV1Input {
  readonly method: string;
  readonly contentMd5: string;
  readonly contentType: string;
  readonly date: string;
  /** Already lower-cased `x-log-*`/`x-acs-*` headers (any `x-log-date` is ignored). */
  readonly logHeaders: ReadonlyMap<string, string>;
  readonly resource: string;
}

export function stringToSignV1(i: StringToSignV1Input): string {
  return `${i.method}\n${i.contentMd5}\n${i.contentType}\n${i.date}\n${canonicalHeadersV1(new Map(i.logHeaders), true)}${i.resource}`;
}

function hmacSha1Base64(secret: string, msg: string): string {
  return createHmac('sha1', secret).update(msg, 'utf8').digest('base64');
}

function hmacSha256(key: string | Buffer, msg: string): Buffer {
  return createHmac('sha256', key).update(msg, 'utf8').digest();
}

/** v4 signing key: HMAC chain over date, region, service, terminator. */
function signingKeyV4(secret: string, date: string, region: string): Buffer {
  const kDate = hmacSha256(`aliyun_v4${secret}`, date);
  const kRegion = hmacSha256(kDate, region);
  const kService = hmacSha256(kRegion, V4_SERVICE);
  return hmacSha256(kService, V4_TERMINATOR);
}

function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  // Length leaks nothing useful: signatures have a fixed length per version.
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

export interface CanonicalRequestV4Input {
  readonly method: string;
  readonly path: string;
  readonly params: readonly QueryParam[];
  /** Lower-cased headers. */
  readonly headers: ReadonlyMap<string, string>;
  readonly contentSha256: string;
  /** Write `~` as `%7E` in the query (PY) instead of bare (GO, RFC 3986). */
  readonly encodeTilde?: boolean;
  /** Sign `x-log-meta-*` headers (PY) or not (GO). */
  readonly signMetaHeaders?: boolean;
}

export function canonicalRequestV4(i: CanonicalRequestV4Input): string {
  const tilde = i.encodeTilde ?? false;
  const query = i.params
    .map((p) => ({ key: rfc3986Encode(p.key, tilde), value: rfc3986Encode(p.value, tilde) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((p) => (p.value.length === 0 ? p.key : `${p.key}=${p.value}`))
    .join('&');
  const names = [...i.headers.keys()]
    .filter(
      (n) =>
        n === 'host' ||
        n === 'content-type' ||
        (isLogHeader(n) && ((i.signMetaHeaders ?? false) || !n.startsWith('x-log-meta-'))),
    )
    .sort();
  let canonicalHeaders = '';
  for (const n of names) canonicalHeaders += `${n}:${i.headers.get(n)!.trim()}\n`;
  return `${i.method}\n${i.path}\n${query}\n${canonicalHeaders}\n${names.join(';')}\n${i.contentSha256}`;
}

export function stringToSignV4(dateTime: string, scope: string, canonicalRequest: string): string {
  return `${V4_ALGORITHM}\n${dateTime}\n${scope}\n${createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')}`;
}

function scopeV4(date: string, region: string): string {
  return `${date}/${region}/${V4_SERVICE}/${V4_TERMINATOR}`;
}

const RFC1123_LIKE = /^[A-Za-z]{3}, \d{1,2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const ISO_BASIC = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** Parses an RFC 1123 date (v1 `Date`/`x-log-date`) or an ISO 8601 basic one (v4 `x-log-date`); NaN when neither. */
export function parseRequestDate(s: string): number {
  const iso = ISO_BASIC.exec(s);
  if (iso !== null) {
    return Date.UTC(+iso[1]!, +iso[2]! - 1, +iso[3]!, +iso[4]!, +iso[5]!, +iso[6]!);
  }
  return RFC1123_LIKE.test(s) ? Date.parse(s) : Number.NaN;
}

function checkSkew(dateText: string, opts: VerifyOptions): void {
  const t = parseRequestDate(dateText);
  if (Number.isNaN(t)) throw new SlsError('InvalidDateFormat', `unparseable request date "${dateText}"`);
  if (Math.abs(t - opts.nowMs) > opts.maxSkewMs) {
    throw new SlsError(
      'RequestTimeExpired',
      `request time ${dateText} is more than ${Math.round(opts.maxSkewMs / 1000)} s away from the server time ${new Date(opts.nowMs).toUTCString()}`,
    );
  }
}

function checkContentMd5(h: Map<string, string>, body: Uint8Array): void {
  const md5 = h.get('content-md5');
  if (md5 === undefined) return;
  if (md5.trim().toUpperCase() !== contentMd5Hex(body)) {
    throw new SlsError('InvalidContentMD5', 'Content-MD5 does not match the MD5 (uppercase hex) of the request body');
  }
}

function safeDecodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function verifyV1(
  req: SignedRequest,
  auth: Extract<ParsedAuthorization, { version: 'v1' }>,
  h: Map<string, string>,
  secret: string,
  opts: VerifyOptions,
): void {
  const date = h.get('date') ?? h.get('x-log-date');
  if (date === undefined) throw new SlsError('MissingDate', 'missing Date (or x-log-date) header');
  checkSkew(date, opts);
  const params = parseQuery(req.rawQuery);
  const head = `${req.method}\n${h.get('content-md5') ?? ''}\n${h.get('content-type') ?? ''}\n${date}\n`;
  const paths = [req.path];
  const decodedPath = safeDecodePath(req.path);
  if (decodedPath !== req.path) paths.push(decodedPath);
  const hasMeta = [...h.keys()].some((n) => n.startsWith('x-log-meta-'));
  const headerForms = hasMeta
    ? [canonicalHeadersV1(h, true), canonicalHeadersV1(h, false)]
    : [canonicalHeadersV1(h, true)];
  for (const hdrs of headerForms) {
    for (const p of paths) {
      const expected = hmacSha1Base64(secret, `${head}${hdrs}${canonicalResourceV1(p, params)}`);
      if (safeEqual(expected, auth.signature)) return;
    }
  }
  throw new SlsError('SignatureNotMatch', 'the request signature (v1, HMAC-SHA1) does not match');
}

function verifyV4(
  req: SignedRequest,
  auth: Extract<ParsedAuthorization, { version: 'v4' }>,
  h: Map<string, string>,
  secret: string,
  opts: VerifyOptions,
): void {
  const dateTime = h.get('x-log-date');
  if (dateTime === undefined)
    throw new SlsError('MissingDate', 'missing x-log-date header (required by v4 signatures)');
  checkSkew(dateTime, opts);
  const bodySha = sha256Hex(req.body);
  const sentSha = h.get('x-log-content-sha256');
  if (sentSha !== undefined && sentSha.trim().toLowerCase() !== bodySha) {
    throw new SlsError('SignatureNotMatch', 'x-log-content-sha256 does not match the SHA-256 of the request body');
  }
  const params = parseQuery(req.rawQuery);
  const hasTilde = params.some((p) => p.key.includes('~') || p.value.includes('~'));
  const hasMeta = [...h.keys()].some((n) => n.startsWith('x-log-meta-'));
  const scope = scopeV4(auth.date, auth.region);
  const key = signingKeyV4(secret, auth.date, auth.region);
  for (const encodeTilde of hasTilde ? [false, true] : [false]) {
    for (const signMetaHeaders of hasMeta ? [false, true] : [false]) {
      const canonical = canonicalRequestV4({
        method: req.method,
        path: req.path,
        params,
        headers: h,
        contentSha256: sentSha?.trim() ?? bodySha,
        encodeTilde,
        signMetaHeaders,
      });
      const expected = createHmac('sha256', key)
        .update(stringToSignV4(dateTime, scope, canonical), 'utf8')
        .digest('hex');
      if (safeEqual(expected, auth.signature)) return;
    }
  }
  throw new SlsError('SignatureNotMatch', 'the request signature (v4, SLS4-HMAC-SHA256) does not match');
}

/**
 * Verifies a signed request with the secret of the access key named in its Authorization header (look it up with
 * `parseAuthorization` first; an unknown key is the caller's `Unauthorized`). Throws `Unauthorized`,
 * `SignatureNotMatch`, `MissingDate`, `InvalidDateFormat`, `RequestTimeExpired` or `InvalidContentMD5`.
 */
export function verifyRequest(req: SignedRequest, secret: string, opts: VerifyOptions): ParsedAuthorization {
  const h = normalizeHeaders(req.headers);
  const auth = parseAuthorization(h.get('authorization'));
  checkContentMd5(h, req.body);
  if (auth.version === 'v1') verifyV1(req, auth, h, secret, opts);
  else verifyV4(req, auth, h, secret, opts);
  return auth;
}

export interface SignInput {
  readonly method: string;
  readonly path: string;
  /** Decoded query values; send them with `encodeQuery(query)` (query-string.ts) so the server decodes the same text. */
  readonly query?: Readonly<Record<string, string>>;
  /** Headers the request will carry (e.g. content-type, x-log-apiversion, x-log-bodyrawsize; host for v4). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** STS token, sent and signed as `x-acs-security-token`. */
  readonly securityToken?: string;
  /** Signing time; defaults to now. */
  readonly now?: Date;
}

function lowerCaseHeaders(input: SignInput): Map<string, string> {
  const h = new Map<string, string>();
  for (const [k, v] of Object.entries(input.headers)) h.set(k.toLowerCase(), v);
  return h;
}

function queryParams(query: Readonly<Record<string, string>> | undefined): QueryParam[] {
  return query === undefined ? [] : Object.entries(query).map(([key, value]) => ({ key, value }));
}

/**
 * Signs with v1 and returns the headers to add (lower-case names): `date`, `x-log-signaturemethod`, `content-md5`
 * when there is a body, `x-acs-security-token` with STS, and `authorization`.
 */
export function signRequestV1(input: SignInput): Record<string, string> {
  const h = lowerCaseHeaders(input);
  const add: Record<string, string> = {};
  add['date'] = (input.now ?? new Date()).toUTCString();
  add['x-log-signaturemethod'] = 'hmac-sha1';
  if (input.body !== undefined && input.body.length > 0) add['content-md5'] = contentMd5Hex(input.body);
  if (input.securityToken !== undefined) add['x-acs-security-token'] = input.securityToken;
  for (const [k, v] of Object.entries(add)) h.set(k, v);
  const sts = stringToSignV1({
    method: input.method,
    contentMd5: h.get('content-md5') ?? '',
    contentType: h.get('content-type') ?? '',
    date: h.get('date')!,
    logHeaders: h,
    resource: canonicalResourceV1(input.path, queryParams(input.query)),
  });
  add['authorization'] = `LOG ${input.accessKeyId}:${hmacSha1Base64(input.accessKeySecret, sts)}`;
  return add;
}

/** ISO 8601 basic UTC time, the v4 `x-log-date` form (`20250114T080000Z`). */
export function isoBasicDate(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/**
 * Signs with v4 and returns the headers to add: `x-log-date`, `x-log-content-sha256`, `x-acs-security-token` with
 * STS, and `authorization`. `input.headers` must hold `host` exactly as it will be sent.
 */
export function signRequestV4(input: SignInput & { readonly region: string }): Record<string, string> {
  const h = lowerCaseHeaders(input);
  if (!h.has('host')) throw new TypeError('signRequestV4: headers.host is required (it is signed)');
  const dateTime = isoBasicDate(input.now ?? new Date());
  const date = dateTime.slice(0, 8);
  const add: Record<string, string> = {};
  add['x-log-date'] = dateTime;
  add['x-log-content-sha256'] = sha256Hex(input.body ?? new Uint8Array(0));
  if (input.securityToken !== undefined) add['x-acs-security-token'] = input.securityToken;
  for (const [k, v] of Object.entries(add)) h.set(k, v);
  const canonical = canonicalRequestV4({
    method: input.method,
    path: input.path,
    params: queryParams(input.query),
    headers: h,
    contentSha256: add['x-log-content-sha256'],
  });
  const scope = scopeV4(date, input.region);
  const signature = createHmac('sha256', signingKeyV4(input.accessKeySecret, date, input.region))
    .update(stringToSignV4(dateTime, scope, canonical), 'utf8')
    .digest('hex');
  add['authorization'] = `${V4_ALGORITHM} Credential=${input.accessKeyId}/${scope},Signature=${signature}`;
  return add;
}
