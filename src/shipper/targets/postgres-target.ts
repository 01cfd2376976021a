import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { ResumePoint, ShardBatch } from '../../consumer/consumer-worker.js';
import { type ColumnBatch, type DeclaredColumns, parseDouble, parseLong, TIME_COLUMN, toColumns } from '../rows.js';
import type { ShipTarget, WriteResult } from './target.js';

export interface PostgresTargetConfig {
  /** `postgres://user@host:port/db` */
  readonly connectionString: string;
  readonly schema: string;
  readonly table: string;
  /** Connect/query timeout, so an unreachable server fails a batch (and it is retried) instead of hanging it. */
  readonly timeoutMs: number;
}

/** Where each shipper's shard positions live, next to the data, so they commit in the same transaction. */
export const CURSOR_TABLE = 'sluice_ship_cursors';
/** PostgreSQL truncates identifiers to 63 bytes; longer keys get a stable shortened name. */
const MAX_IDENTIFIER_BYTES = 63;
/** Rows per COPY chunk written to the stream. */
const COPY_CHUNK_ROWS = 1000;

/**
 * Rows into a PostgreSQL table, loaded with COPY. The table is created with `__time__ bigint` and text columns, and
 * grows a column whenever a batch brings a new key (schema evolution). Exactly once: each batch's rows and the
 * shard's next position (`sluice_ship_cursors`) are committed in one transaction, and a shard resumes from that
 * table — a batch is either wholly in the table with its position, or absent and read again.
 */
export class PostgresTarget implements ShipTarget {
  readonly kind = 'postgresql';
  private client: pg.Client | undefined;
  /** Columns of the table and their SQL types, as PostgreSQL reports them. */
  private columns: Map<string, string> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly config: PostgresTargetConfig,
    /** `<project>/<logstore>/<shipper>`: the key of this shipper's rows in the cursor table. */
    private readonly shipperKey: string,
  ) {}

  /** Connecting happens lazily, per batch, so a shipper starts (and reports why) while PostgreSQL is down. */
  async open(): Promise<void> {}

  resume(shard: number): Promise<ResumePoint> {
    return this.serial(async () => {
      const client = await this.connect();
      const r = await client.query<{ next_seq: string }>(
        `SELECT next_seq FROM ${this.cursorTable()} WHERE shipper = $1 AND shard = $2`,
        [this.shipperKey, shard],
      );
      const row = r.rows[0];
      return row ? { from: Number(row.next_seq) } : {};
    });
  }

  write(batch: ShardBatch, declared: DeclaredColumns): Promise<WriteResult> {
    return this.serial(() => this.writeNow(batch, toColumns(batch.groups, declared)));
  }

  async close(): Promise<void> {
    await this.queue.catch(() => {});
    await this.disconnect();
  }

  private async writeNow(batch: ShardBatch, data: ColumnBatch): Promise<WriteResult> {
    const client = await this.connect();
    try {
      await client.query('BEGIN');
      const cur = await client.query<{ next_seq: string }>(
        `SELECT next_seq FROM ${this.cursorTable()} WHERE shipper = $1 AND shard = $2 FOR UPDATE`,
        [this.shipperKey, batch.shard],
      );
      const committed = cur.rows[0] ? Number(cur.rows[0].next_seq) : undefined;
      if (committed !== undefined && committed >= batch.to) {
        // Already loaded (the consumer-group checkpoint lagged behind this table): nothing to add.
        await client.query('ROLLBACK');
        return { rows: 0, outputs: 0 };
      }
      if (committed !== undefined && committed !== batch.from) {
        throw new Error(
          `shard ${batch.shard}: table is at position ${committed}, batch covers [${batch.from}, ${batch.to})`,
        );
      }
      const columns = [...data.columns.keys()];
      await this.addColumns(client, data);
      const names = [TIME_COLUMN, ...columns].map((c) => quoteIdent(columnName(c)));
      const kinds = columns.map((c) => this.columns!.get(columnName(c)) ?? 'text');
      const copy = client.query(
        copyStreams.from(`COPY ${this.dataTable()} (${names.join(', ')}) FROM STDIN WITH (FORMAT text)`),
      );
      await pipeline(Readable.from(copyText(data, kinds)), copy);
      await client.query(
        `INSERT INTO ${this.cursorTable()} (shipper, shard, next_seq, updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (shipper, shard) DO UPDATE SET next_seq = EXCLUDED.next_seq, updated_at = now()`,
        [this.shipperKey, batch.shard, batch.to],
      );
      await client.query('COMMIT');
      return { rows: data.count, outputs: 1 };
    } catch (err) {
      // The connection may be broken or mid-transaction: drop it (rolling back) and start clean next time.
      await this.disconnect();
      throw err;
    }
  }

  /** New keys become columns, typed as the index config says (`long` bigint, `double` double precision, else text). */
  private async addColumns(client: pg.Client, data: ColumnBatch): Promise<void> {
    const known = this.columns!;
    for (const c of data.columns.keys()) {
      const name = columnName(c);
      if (known.has(name)) continue;
      const type = data.types.get(c);
      const sql = type === 'long' ? 'bigint' : type === 'double' ? 'double precision' : 'text';
      await client.query(`ALTER TABLE ${this.dataTable()} ADD COLUMN IF NOT EXISTS ${quoteIdent(name)} ${sql}`);
      // A rolled-back batch disconnects, and reconnecting reads the table's columns again.
      known.set(name, sql);
    }
  }

  private async connect(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: this.config.connectionString,
      connectionTimeoutMillis: this.config.timeoutMs,
      query_timeout: this.config.timeoutMs * 10,
      application_name: 'sluice-shipper',
    });
    // An idle connection that dies reports here; the next batch reconnects.
    client.on('error', () => {
      if (this.client === client) this.client = undefined;
    });
    try {
      await client.connect();
      await this.prepare(client);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    this.client = client;
    return client;
  }

  private async prepare(client: pg.Client): Promise<void> {
    const { schema } = this.config;
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${this.cursorTable()} (shipper text NOT NULL, shard integer NOT NULL,
       next_seq bigint NOT NULL, updated_at timestamptz NOT NULL, PRIMARY KEY (shipper, shard))`,
    );
    await client.query(`CREATE TABLE IF NOT EXISTS ${this.dataTable()} (${quoteIdent(TIME_COLUMN)} bigint NOT NULL)`);
    const r = await client.query<{ column_name: string; data_type: string }>(
      'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
      [schema, this.config.table],
    );
    this.columns = new Map(r.rows.map((row) => [row.column_name, row.data_type]));
  }

  private async disconnect(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.columns = undefined;
    await client?.end().catch(() => {});
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private dataTable(): string {
    return `${quoteIdent(this.config.schema)}.${quoteIdent(this.config.table)}`;
  }

  private cursorTable(): string {
    return `${quoteIdent(this.config.schema)}.${CURSOR_TABLE}`;
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The column a key is stored in: itself, or when over 63 bytes a prefix plus a hash of the whole key. */
export function columnName(key: string): string {
  if (Buffer.byteLength(key) <= MAX_IDENTIFIER_BYTES) return key;
  const hash = createHash('sha1').update(key).digest('hex').slice(0, 12);
  let prefix = key.slice(0, 50);
  while (Buffer.byteLength(prefix) > 50) prefix = prefix.slice(0, -1);
  return `${prefix}_${hash}`;
}

/**
 * COPY text format: tab-separated, `\N` for NULL, backslash escapes for the characters that would break a line.
 * Values go in as the table's column says: into a bigint or double precision column (typed by the index config when
 * created) what parses as one, NULL otherwise — a stray text value must not fail the batch forever.
 */
function* copyText(data: ColumnBatch, kinds: readonly string[]): Generator<string> {
  const columns = [...data.columns.values()].map((values, j) => {
    const kind = kinds[j];
    if (kind === 'bigint') return values.map((v) => parseLong(v)?.toString() ?? null);
    if (kind === 'double precision') return values.map((v) => parseDouble(v)?.toString() ?? null);
    return values;
  });
  let chunk = '';
  for (let i = 0; i < data.count; i++) {
    let line = String(data.times[i]);
    for (const c of columns) {
      const v = c[i];
      line += v === null || v === undefined ? '\t\\N' : `\t${escapeCopy(v)}`;
    }
    chunk += `${line}\n`;
    if ((i + 1) % COPY_CHUNK_ROWS === 0) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

const COPY_SPECIAL = /[\\\t\n\r\0]/;

function escapeCopy(v: string): string {
  if (!COPY_SPECIAL.test(v)) return v;
  // NUL cannot be stored in a text column at all; it is dropped rather than failing the batch forever.
  return v.replace(/[\\\t\n\r\0]/g, (ch) =>
    ch === '\\' ? '\\\\' : ch === '\t' ? '\\t' : ch === '\n' ? '\\n' : ch === '\r' ? '\\r' : '',
  );
}
