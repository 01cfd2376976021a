import type { IncomingHttpHeaders } from 'node:http';

/** What a handler sees of a request, after routing, body limits and authentication. */
export interface RequestContext {
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  /** Text after `?`, undecoded. */
  readonly rawQuery: string;
  /** Decoded query parameters (form encoding; the first of repeated names). */
  readonly query: Readonly<Record<string, string>>;
  /** Path parameters named in the route pattern. */
  readonly params: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  /** Project named by the Host header, if any. */
  readonly hostProject: string | undefined;
  readonly body: Buffer;
  readonly clientIp: string;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

/** A handler's answer. `json` is serialized; `body` is sent as is; neither = empty 200 with no content type. */
export interface Reply {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string | number>>;
  readonly json?: unknown;
  readonly body?: Buffer;
}

export type Handler = (ctx: RequestContext) => Promise<Reply> | Reply;

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** `/logstores/:logstore/shards/:shard` — literal segments and `:name` parameters. */
  readonly pattern: string;
  /** Largest body accepted, checked before buffering. */
  readonly maxBodyBytes: number;
  /** `false` only for unauthenticated endpoints (health). */
  readonly auth?: boolean;
  readonly handle: Handler;
}

interface CompiledRoute extends RouteSpec {
  readonly segments: readonly string[];
  readonly literals: number;
}

export interface RouteMatch {
  readonly route: RouteSpec;
  readonly params: Record<string, string>;
}

/** A small exact-segment router: routes are resolved once at registration, matching is a scan of split segments. */
export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(spec: RouteSpec): void {
    const segments = splitPath(spec.pattern);
    this.routes.push({ ...spec, segments, literals: segments.filter((s) => !s.startsWith(':')).length });
  }

  /**
   * The route for `method` + `path`; `'method'` when the path exists under another method; else undefined. Literal
   * segments win over parameters (`/shards/lb` over `/shards/:shard`).
   */
  match(method: string, path: string): RouteMatch | 'method' | undefined {
    const segments = splitPath(path);
    let pathMatched = false;
    let best: RouteMatch | undefined;
    let bestScore = -1;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments);
      if (!params) continue;
      if (route.method !== method) {
        pathMatched = true;
        continue;
      }
      if (route.literals > bestScore) {
        best = { route, params };
        bestScore = route.literals;
      }
    }
    return best ?? (pathMatched ? 'method' : undefined);
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function matchSegments(pattern: readonly string[], actual: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const a = actual[i]!;
    if (p.startsWith(':')) {
      let value: string;
      try {
        value = decodeURIComponent(a);
      } catch {
        return undefined;
      }
      params[p.slice(1)] = value;
    } else if (p !== a) {
      return undefined;
    }
  }
  return params;
}
