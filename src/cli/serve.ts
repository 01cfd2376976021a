import { setFlagsFromString } from 'node:v8';
import { ConfigError, loadServerConfig } from '../server/config.js';
import { DataDirLockedError } from '../server/data-lock.js';
import { startServer } from '../server/server.js';
import { parseArgs } from './args.js';

export const SERVE_USAGE = `Usage: sluice serve [--host 127.0.0.1] [--port 7000] [--data ./sluice-data] [--config FILE]

Runs the embedded Sluice server: the SLS-compatible HTTP API and durable storage in one process.
  --host     address to listen on (default 127.0.0.1)
  --port     port to listen on (default 7000; 0 picks a free one)
  --data     data folder (default ./sluice-data)
  --config   JSON or YAML config file (see docs/configuration.md)
Environment: SLUICE_ACCESS_KEY_ID and SLUICE_ACCESS_KEY_SECRET set the access key; otherwise one is generated on
first start and kept in the data folder.`;

export async function serve(argv: readonly string[]): Promise<number> {
  const { flags } = parseArgs(argv, { host: 'value', port: 'value', data: 'value', config: 'value', help: 'bool' });
  if (flags['help']) {
    console.log(SERVE_USAGE);
    return 0;
  }
  let config: Awaited<ReturnType<typeof loadServerConfig>>;
  try {
    config = await loadServerConfig({ flags, env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`sluice serve: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const heapFlag = serverHeapFlag(process.execArgv);
  if (heapFlag) setFlagsFromString(heapFlag);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config, (line) => console.error(`[sluice] ${line}`));
  } catch (err) {
    if (err instanceof DataDirLockedError) {
      console.error(`sluice serve: ${err.message}`);
      return 1;
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(`sluice serve: ${config.host}:${config.port} is already in use; pick another with --port`);
      return 1;
    }
    throw err;
  }
  console.log(`Sluice is listening on ${server.url} (data in ${config.dataDir})`);
  console.log(`Access key id:     ${server.accessKey.id}`);
  console.log(`Access key secret: ${server.accessKey.secret}`);
  console.log(
    `Point an SLS SDK at endpoint ${server.url.replace('http://', '')}; projects are addressed as <project>.localhost:${server.port}`,
  );
  console.log(`Web console:       ${server.url}/console (log in with the access key above)`);

  await new Promise<void>((done) => {
    const stop = (signal: string): void => {
      console.error(`[sluice] ${signal}: shutting down`);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.close().then(done, (err: unknown) => {
        console.error(`[sluice] shutdown failed: ${String(err)}`);
        done();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}

/**
 * How much the server's V8 heaps may grow past their live size before the next full GC: 4x, not V8's dynamic factor
 * (which stays near its minimum on a server whose GCs are cheap). V8 counts external memory allocated since the last
 * full GC (request bodies, the payloads handed to the index builders: ~1.7 GB per 5M logs) against that headroom, so
 * with a ~15 MB live heap the event loop's isolate ran a full GC every ~20 MB of bodies: 80 per 5M-log load, each
 * marked on V8's helper threads beside the builds. With 4x: ~21 full GCs per load and ~10 % less server CPU for
 * it (docs/benchmarks.md, session 7), for ~30 MB more peak RSS. The flag is read at every heap limit computation,
 * so setting it at start-up takes effect at the next GC; worker isolates created later get it too (the builders'
 * heaps stay bounded by their resourceLimits). A `--heap-growing-percent` given to node itself wins.
 */
export const SERVER_HEAP_GROWING_PERCENT = 300;

/** The V8 flag `sluice serve` sets for its heaps, or undefined when node was started with one of its own. */
export function serverHeapFlag(execArgv: readonly string[]): string | undefined {
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return undefined;
  return `--heap-growing-percent=${SERVER_HEAP_GROWING_PERCENT}`;
}
