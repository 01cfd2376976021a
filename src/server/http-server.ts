import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { isSlsError, SlsError } from '../protocol/errors.js';
import { parseQuery, queryToRecord } from '../protocol/query-string.js';
import { DamagedBytesError } from '../storage/segment/bytes.js';
import { authenticate } from './auth.js';
import { type ConsoleFront, isConsolePath } from './console/console-front.js';
import { projectFromHost } from './host.js';
import { nextRequestId } from './request-id.js';
import type { Reply, RequestContext, Router } from './router.js';

export interface HttpServerOptions {
  readonly router: Router;
  readonly endpoints: readonly string[];
  readonly secretOf: (accessKeyId: string) => string | undefined;
  readonly maxClockSkewMs: number;
  readonly requestTimeoutMs: number;
  readonly log?: (line: string) => void;
  /** The web console under `/console` (static bundle, login, session-authenticated API gate). */
  readonly console?: ConsoleFront;
}

/**
 * The HTTP front: one `node:http` server whose requests are fully independent. Each goes through the same steps —
 * route, bounded body read, authentication, handler — and any failure becomes the SLS error JSON for that request
 * alone. Plain node:http rather than a framework: the SLS API needs raw bodies, exact header control and limits
 * before buffering, and the whole router is a few dozen lines.
 */
export function createHttpServer(options: HttpServerOptions): Server {
  const server = createServer({ keepAlive: true, requestTimeout: options.requestTimeoutMs }, (req, res) => {
    handle(options, req, res).catch((err: unknown) => {
      options.log?.(`unexpected error outside a request handler: ${String(err)}`);
      if (!res.headersSent) res.destroy();
    });
  });
  // A keep-alive connection idles longer than common client pools (Node agents default to 5 s free sockets).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = Math.min(options.requestTimeoutMs, 60_000);
  return server;
}

async function handle(options: HttpServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = nextRequestId();
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  let viaConsole = false;
  try {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    let path = q >= 0 ? url.slice(0, q) : url;
    const rawQuery = q >= 0 ? url.slice(q + 1) : '';
    const method = req.method ?? 'GET';
    let hostProject = projectFromHost(req.headers.host, options.endpoints);

    if (options.console && isConsolePath(path)) {
      viaConsole = true;
      const outcome = await options.console.handle({
        method,
        path,
        headers: req.headers,
        clientIp: req.socket.remoteAddress ?? '',
        readBody: (max) => readBody(req, max),
      });
      if ('reply' in outcome) {
        send(res, requestId, outcome.reply, true);
        return;
      }
      // A console API call, already authenticated by its session cookie and CSRF token: route it as `path`.
      path = outcome.api.path;
      hostProject = outcome.api.project;
    }
    if (method === 'OPTIONS') {
      send(res, requestId, { status: 200, headers: corsPreflight() });
      return;
    }
    const match = options.router.match(method, path);
    if (match === undefined) throw new SlsError('NotFound', `no API at ${method} ${path}`);
    if (match === 'method') throw new SlsError('MethodNotAllowed', `method ${method} is not allowed on ${path}`);
    const { route, params } = match;

    const body = await readBody(req, route.maxBodyBytes);
    if (route.auth !== false && !viaConsole) {
      authenticate({ method, path, rawQuery, headers: req.headers, body }, options.secretOf, {
        nowMs: Date.now(),
        maxSkewMs: options.maxClockSkewMs,
      });
    }
    const ctx: RequestContext = {
      requestId,
      method,
      path,
      rawQuery,
      query: queryToRecord(parseQuery(rawQuery)),
      params,
      headers: req.headers,
      hostProject,
      body,
      clientIp: req.socket.remoteAddress ?? '',
      signal: abort.signal,
    };
    const reply = await route.handle(ctx);
    send(res, requestId, reply, viaConsole);
  } catch (err) {
    const sls = toSlsError(err);
    if (sls.status >= 500) options.log?.(`request ${requestId} ${req.method} ${req.url} failed: ${errorText(err)}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const tooLarge = sls.code === 'PostBodyTooLarge' && !req.complete;
    send(
      res,
      requestId,
      {
        status: sls.status,
        json: sls.toJSON(),
        ...(tooLarge ? { headers: { connection: 'close' } } : {}),
      },
      viaConsole,
    );
    // The rest of an oversized body is never read: the connection closes after the response (lingering, see below).
    if (tooLarge) lingerOnClose(req);
  }
}

/** Reads the body, refusing (before buffering) anything over `max` bytes by Content-Length or by count. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    const n = Number(declared);
    if (!Number.isSafeInteger(n) || n < 0) {
      return Promise.reject(new SlsError('ParameterInvalid', `invalid Content-Length ${declared}`));
    }
    if (n > max) {
      return Promise.reject(new SlsError('PostBodyTooLarge', `body of ${n} bytes is over the limit of ${max} bytes`));
    }
    if (n === 0) return Promise.resolve(Buffer.alloc(0));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        cleanup();
        reject(new SlsError('PostBodyTooLarge', `body is over the limit of ${max} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new SlsError('ParameterInvalid', `request body could not be read: ${err.message}`, { cause: err }));
    };
    const onAborted = (): void => {
      cleanup();
      reject(new SlsError('ParameterInvalid', 'client closed the connection before the body was complete'));
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

function send(res: ServerResponse, requestId: string, reply: Reply, forConsole = false): void {
  const headers: Record<string, string | number> = {
    'x-log-requestid': requestId,
    server: 'sluice',
    // The console's answers are for its own origin only, and never cached unless they say so (static files do).
    ...(forConsole ? { 'cache-control': 'no-store' } : { 'access-control-allow-origin': '*' }),
    ...reply.headers,
  };
  let body: Buffer | undefined;
  if (reply.json !== undefined) {
    body = Buffer.from(JSON.stringify(reply.json));
    headers['content-type'] = 'application/json';
  } else if (reply.body !== undefined) {
    body = reply.body;
  }
  headers['content-length'] = body ? body.length : 0;
  res.writeHead(reply.status ?? 200, headers);
  res.end(body);
}

// Bounds of the lingering close after an early error response.
const LINGER_MS = 2_000;
const LINGER_MAX_BYTES = 4 * 1024 * 1024;

/**
 * After an early error (an oversized body) the client is usually still sending. Destroying the socket with unread
 * input makes the kernel answer with a reset, which can discard the error response before the client reads it: a
 * client then sees ECONNRESET/EPIPE (and retries) instead of `400 PostBodyTooLarge`. So when node closes this
 * connection after the response (`Connection: close` makes it call `destroySoon`), half-close instead, discard what
 * still arrives for at most LINGER_MS / LINGER_MAX_BYTES, then destroy. The same "lingering close" nginx does.
 */
function lingerOnClose(req: IncomingMessage): void {
  req.socket.destroySoon = function lingeringClose(this: Socket): void {
    if (this.writable) this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    this.once('end', () => this.destroy());
    let discarded = 0;
    const discard = (chunk: Buffer): void => {
      discarded += chunk.length;
      if (discarded > LINGER_MAX_BYTES) this.destroy();
    };
    // Body bytes reach the request stream (node may feed its parser without socket 'data' events): keep both flowing.
    req.on('data', discard);
    req.resume();
    this.on('data', discard);
    this.resume();
  };
}

function corsPreflight(): Record<string, string> {
  return {
    'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
    'access-control-allow-headers': '*',
    'access-control-max-age': '86400',
  };
}

function toSlsError(err: unknown): SlsError {
  if (isSlsError(err)) return err;
  // A damaged index file: say so rather than a bare internal error. The logs themselves are in the shard log; the
  // route told the indexer, which moves the damaged file aside and indexes its logs again.
  if (err instanceof DamagedBytesError)
    return new SlsError('InternalServerError', `the index of this logstore is damaged: ${err.message}`, { cause: err });
  return new SlsError('InternalServerError', 'internal server error', { cause: err });
}

function errorText(err: unknown): string {
  if (isSlsError(err) && err.cause !== undefined) return `${err.message}: ${errorText(err.cause)}`;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
