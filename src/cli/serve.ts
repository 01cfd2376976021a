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
