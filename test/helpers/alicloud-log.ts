/**
 * Pointing the official Node SDK (`@alicloud/log`, CommonJS) at a test server: it addresses projects as
 * `<project>.localhost:PORT`, which this machine does not resolve, so every call carries an agent whose lookup
 * answers 127.0.0.1 (sls-api.md §1.3). Node 20 calls `lookup` with `{ all: true }`: the array form is required.
 */
import { Agent } from 'node:http';
import { createRequire } from 'node:module';
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
