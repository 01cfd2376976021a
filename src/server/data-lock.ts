import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

const LOCK_FILE = 'LOCK';

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
}

/**
 * Claims the data folder for this process: two servers writing the same shard logs would corrupt them. The lock is
 * a file holding the owner's pid; one left by a crashed process (its pid no longer running) is taken over.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.sync();
      await fh.close();
      return async () => {
        await unlink(path).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isRunning(owner)) {
      throw new DataDirLockedError(
        `data folder ${dir} is in use by process ${owner}; stop it first (or, if that is not a Sluice server, delete ${path})`,
      );
    }
    await unlink(path).catch(() => {}); // stale: its owner is gone
  }
  throw new DataDirLockedError(`could not lock data folder ${dir}: another process keeps taking ${path}`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
