import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file runs from dist/test/helpers/). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
export const SLUICE_BIN = join(REPO_ROOT, 'bin', 'sluice.js');

export const TEST_ACCESS_KEY_ID = 'test-ak';
export const TEST_ACCESS_KEY_SECRET = 'test-secret-0123456789';

export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** What the server printed so far (stdout + stderr). */
  output(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit: a crash. */
  kill(): Promise<void>;
}

export interface StartOptions {
  /** Reuse a data folder (restart after a kill); a fresh temp folder otherwise. */
  readonly dataDir?: string;
  /** Config file contents (JSON), written next to the data folder. */
  readonly config?: Record<string, unknown>;
  /** Fixed port (restart on the same port); 0 = any free port. */
  readonly port?: number;
  readonly env?: Record<string, string>;
  /** Use the generated access key instead of the test one. */
  readonly generatedKey?: boolean;
  /** Extra node flags for the server process (e.g. `--cpu-prof` when profiling a bench). */
  readonly nodeArgs?: readonly string[];
}

/**
 * Starts `sluice serve` as a real child process on a free loopback port and waits until it prints where it listens.
 */
export async function startServerProcess(options: StartOptions = {}): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'sluice-test-')));
  const args = [
    ...(options.nodeArgs ?? []),
    SLUICE_BIN,
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    String(options.port ?? 0),
    '--data',
    dataDir,
  ];
  if (options.config) {
    const file = `${dataDir}.config.json`;
    await writeFile(file, JSON.stringify(options.config));
    args.push('--config', file);
  }
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (!options.generatedKey) {
    env['SLUICE_ACCESS_KEY_ID'] = TEST_ACCESS_KEY_ID;
    env['SLUICE_ACCESS_KEY_SECRET'] = TEST_ACCESS_KEY_SECRET;
  } else {
    delete env['SLUICE_ACCESS_KEY_ID'];
    delete env['SLUICE_ACCESS_KEY_SECRET'];
  }
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));

  const port = await new Promise<number>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start within 20 s:\n${out}`)), 20_000);
    const check = (): void => {
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        done(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });

  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    child,
    output: () => out,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
  };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await rm(`${dir}.config.json`, { force: true });
}
