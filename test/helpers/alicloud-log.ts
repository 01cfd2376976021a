/**
 * Pointing the official Node SDKs at a test server. `@alicloud/log` (CommonJS) addresses projects as
 * `<project>.localhost:PORT`, which this machine does not resolve, so every call carries an agent whose lookup
 * answers 127.0.0.1 (sls-api.md §1.3). Node 20 calls `lookup` with `{ all: true }`: the array form is required.
 */
import { Agent } from 'node:http';
import { createRequire } from 'node:module';
import { createConnection } from 'node:net';
import { TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET } from './server-process.js';

const require = createRequire(import.meta.url);

export function loopbackAgent(): Agent {
  return new Agent({
    keepAlive: true,
    lookup: ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
      if (opts?.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
      else cb(null, '127.0.0.1', 4);
    }) as unknown as NonNullable<ConstructorParameters<typeof Agent>[0]>['lookup'],
  });
}

/** A `@alicloud/log` client for the server on `port`, typed by the caller with the methods its test uses. */
export function openN1<T>(port: number): T {
  const N1 = require('@alicloud/log') as new (config: {
    accessKeyId: string;
    accessKeySecret: string;
    endpoint: string;
  }) => T;
  return new N1({
    accessKeyId: TEST_ACCESS_KEY_ID,
    accessKeySecret: TEST_ACCESS_KEY_SECRET,
    endpoint: `http://localhost:${port}`,
  });
}

/** An `aliyun-sdk` (N2, `ALY.SLS`) answer: the response headers and the parsed JSON body. */
export interface N2Response {
  readonly request_id?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}
/** An N2 error: `code` is the HTTP status, the JSON body's `errorCode`/`errorMessage` are merged in. */
export interface N2Error {
  readonly code?: unknown;
  readonly errorCode?: unknown;
  readonly errorMessage?: unknown;
  readonly request_id?: unknown;
}
export type N2Service = Record<string, (params: unknown, cb: (err: N2Error | null, data: N2Response) => void) => void>;

export interface N2Client {
  readonly sls: N2Service;
  /** Calls SDK method `method` (asserting the SDK has it) as a promise. */
  call(method: string, params: unknown): Promise<N2Response>;
  /** Ends the keep-alive connections. */
  close(): void;
}

/**
 * An `aliyun-sdk` client for the server on `port`. N2 rewrites the endpoint to http://<project>.sls.local and drops
 * any port, so its agent dials the server whatever the host (sls-api.md §1.3).
 */
export function openN2(port: number): N2Client {
  const ALY = require('aliyun-sdk') as { readonly SLS: new (config: Record<string, unknown>) => N2Service };
  const agent = new Agent({ keepAlive: true });
  (agent as unknown as { createConnection: unknown }).createConnection = (_opts: unknown, cb: () => void) =>
    createConnection({ host: '127.0.0.1', port }, cb);
  const sls = new ALY.SLS({
    accessKeyId: TEST_ACCESS_KEY_ID,
    secretAccessKey: TEST_ACCESS_KEY_SECRET,
    endpoint: 'http://sls.local',
    apiVersion: '2015-06-01',
    httpOptions: { agent },
  });
  return {
    sls,
    call: (method, params) =>
      new Promise((resolve, reject) => {
        const fn = sls[method];
        if (!fn) throw new Error(`aliyun-sdk has no ${method}`);
        fn.call(sls, params, (err, data) => (err ? reject(err) : resolve(data)));
      }),
    close: () => agent.destroy(),
  };
}

/** N2 turns JSON arrays into objects keyed '0', '1', … (ALY.util.update); back to an array. */
export function arrayBody<T>(body: unknown): T[] {
  if (Array.isArray(body)) return body as T[];
  return Object.keys(body as object)
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => (body as Record<string, T>)[k]!);
}
