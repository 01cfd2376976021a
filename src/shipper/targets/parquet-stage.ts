import { BIGINT, DOUBLE, type DuckDBConnection, DuckDBDataChunk, type DuckDBType, VARCHAR } from '@duckdb/node-api';
import { type ColumnBatch, hourPartition, parseDouble, parseLong, TIME_COLUMN } from '../rows.js';

/** Rows per DuckDB data chunk (its vector size). */
const CHUNK_ROWS = 2048;
let tables = 0;

/**
 * Writes a batch as Parquet into `staging/dt=…/hh=…/part_<i>.parquet` with DuckDB: the columns are appended as data
 * chunks into a temporary table, and one `COPY … PARTITION_BY (dt, hh)` writes every hour partition.
 */
export async function stageParquet(
  conn: DuckDBConnection,
  data: ColumnBatch,
  staging: string,
  compression: string,
): Promise<void> {
  const table = `batch_${++tables}`;
  const columns = uniqueColumnNames([...data.columns.keys()]).map((c) => {
    const type = data.types.get(c.key);
    return { ...c, type, sql: type === 'long' ? 'BIGINT' : type === 'double' ? 'DOUBLE' : 'VARCHAR' };
  });
  await conn.run(
    `CREATE TABLE ${table} (${quote(TIME_COLUMN)} BIGINT, dt VARCHAR, hh VARCHAR, ${columns.map((c) => `${quote(c.name)} ${c.sql}`).join(', ')})`,
  );
  try {
    const { dt, hh } = partitionColumns(data.times);
    // Typed columns (from the index config) hold what parses; text that does not is NULL there.
    const values = columns.map((c) => {
      const text = data.columns.get(c.key)!;
      return c.type === 'long' ? text.map(parseLong) : c.type === 'double' ? text.map(parseDouble) : text;
    });
    const types: DuckDBType[] = [
      BIGINT,
      VARCHAR,
      VARCHAR,
      ...columns.map((c) => (c.type === 'long' ? BIGINT : c.type === 'double' ? DOUBLE : VARCHAR)),
    ];
    const appender = await conn.createAppender(table);
    for (let off = 0; off < data.count; off += CHUNK_ROWS) {
      const end = Math.min(off + CHUNK_ROWS, data.count);
      const chunk = DuckDBDataChunk.create(types, end - off);
      chunk.setColumnValues(0, data.times.slice(off, end).map(BigInt));
      chunk.setColumnValues(1, dt.slice(off, end));
      chunk.setColumnValues(2, hh.slice(off, end));
      for (const [i, v] of values.entries()) chunk.setColumnValues(i + 3, v.slice(off, end));
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
    appender.closeSync();
    await conn.run(
      `COPY ${table} TO '${staging.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION ${compression}, PARTITION_BY (dt, hh), FILENAME_PATTERN 'part_{i}')`,
    );
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${table}`);
  }
}

/** `dt`/`hh` partition values per row, computed once per distinct hour. */
function partitionColumns(times: readonly number[]): { dt: string[]; hh: string[] } {
  const dt: string[] = [];
  const hh: string[] = [];
  let hour = Number.NaN;
  let cur = { dt: '', hh: '' };
  for (const t of times) {
    const h = Math.floor(t / 3600);
    if (h !== hour) {
      hour = h;
      cur = hourPartition(t);
    }
    dt.push(cur.dt);
    hh.push(cur.hh);
  }
  return { dt, hh };
}

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * DuckDB column names are case-insensitive, SLS keys are not: `Status` and `status` in one file would collide, so
 * later spellings get a `#2`, `#3`… suffix instead of failing the batch. `dt` and `hh` are the partition columns.
 */
function uniqueColumnNames(keys: readonly string[]): { key: string; name: string }[] {
  const taken = new Set<string>([TIME_COLUMN, 'dt', 'hh']);
  return keys.map((key) => {
    let name = key;
    for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${key}#${n}`;
    taken.add(name.toLowerCase());
    return { key, name };
  });
}
