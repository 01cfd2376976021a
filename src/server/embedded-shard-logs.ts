import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ShardLogFactory, shardLogKey } from '../backend/log-service.js';
import type { ShardMeta } from '../meta/meta-store.js';
import { openFileShardLog } from '../storage/shard-log/embedded/file-shard-log.js';
import type { ShardLog } from '../storage/shard-log/shard-log.js';

/**
 * Shard logs in the data folder: `<data>/shards/<project>/<logstore>/<shardId>-<baseSeq>/`. The cursor base in the
 * folder name keeps a recreated logstore of the same name from ever opening the old one's files.
 */
export class EmbeddedShardLogs implements ShardLogFactory {
  constructor(
    private readonly root: string,
    private readonly options: {
      readonly fsync: boolean;
      readonly maxFileBytes: number;
      /** Defaults: the shard log's (DEFAULT_COMPACT_LEVEL, DEFAULT_COMPACT_DELAY_MS). */
      readonly compactLevel?: number;
      readonly compactDelayMs?: number;
    },
    private readonly log: (line: string) => void = () => {},
  ) {}

  async open(project: string, logstore: string, shard: ShardMeta): Promise<ShardLog> {
    const log = await openFileShardLog(this.dir(project, logstore, shard), {
      baseSeq: shard.baseSeq,
      fsync: this.options.fsync,
      maxFileBytes: this.options.maxFileBytes,
      ...(this.options.compactLevel !== undefined ? { compactLevel: this.options.compactLevel } : {}),
      ...(this.options.compactDelayMs !== undefined ? { compactDelayMs: this.options.compactDelayMs } : {}),
      // The file stays as clients sent it, readable as before; the next open tries again.
      onCompactionError: (err) =>
        this.log(
          `compaction of a sealed file of ${project}/${logstore} shard ${shard.id} failed: ${err instanceof Error ? err.message : String(err)}`,
        ),
    });
    // Operators must be able to see what recovery cut: a torn tail after a crash is expected, anything else is not.
    const { truncations, truncatedBytes } = log.recovery;
    if (truncations.length > 0) {
      this.log(
        `recovery of ${project}/${logstore} shard ${shard.id} cut ${truncatedBytes} bytes of unacknowledged tail: ${truncations.join('; ')}`,
      );
    }
    return log;
  }

  async remove(project: string, logstore: string, shard: ShardMeta): Promise<void> {
    await rm(this.dir(project, logstore, shard), { recursive: true, force: true });
  }

  async removeOrphans(live: ReadonlySet<string>): Promise<void> {
    for (const project of await listDirs(this.root)) {
      for (const logstore of await listDirs(join(this.root, project))) {
        const shards = await listDirs(join(this.root, project, logstore));
        for (const shard of shards) {
          if (!live.has(`${project}/${logstore}/${shard}`)) {
            await rm(join(this.root, project, logstore, shard), { recursive: true, force: true });
          }
        }
        if (shards.every((s) => !live.has(`${project}/${logstore}/${s}`))) {
          await rm(join(this.root, project, logstore), { recursive: true, force: true });
        }
      }
    }
  }

  private dir(project: string, logstore: string, shard: ShardMeta): string {
    const key = shardLogKey(project, logstore, shard);
    return join(this.root, ...key.split('/'));
  }
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
