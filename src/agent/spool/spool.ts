/**
 * The on-disk spool: batches that could not be delivered while the server was unreachable, one file per batch
 * (`<seq>.batch`: magic, CRC32 of the rest, a JSON header with the id and byte ranges, the LZ4 body), written temp +
 * fsync + rename, drained oldest first (by sequence), deleted after the server's 200. A byte cap bounds it; when
 * full the collector stops reading (the log files are the buffer). A record that fails its CRC at startup is moved
 * to `corrupt/` and reported with the ranges its header still names, never silently dropped.
 */

import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { fsyncDir, writeFileDurable } from '../checkpoint/durable-file.js';
import type { Batch } from '../send/batch.js';

const MAGIC = 0x534c5350; // "SLSP"

export interface SpoolEntry {
  readonly seq: number;
  readonly bytes: number;
}

export class Spool {
  private readonly entries: SpoolEntry[] = [];
  private nextSeq = 1;
  private total = 0;
  corrupt = 0;

  private constructor(
    private readonly dir: string,
    readonly capBytes: number,
  ) {}

  static open(dir: string, capBytes: number, report: (msg: string) => void): Spool {
    mkdirSync(dir, { recursive: true });
    const s = new Spool(dir, capBytes);
    const names = readdirSync(dir).filter((n) => /^\d{12}\.batch$/.test(n));
    names.sort();
    for (const n of names) {
      const seq = Number(n.slice(0, 12));
      try {
        s.decode(readFileSync(join(dir, n)));
        const bytes = statSync(join(dir, n)).size;
        s.entries.push({ seq, bytes });
        s.total += bytes;
      } catch (err) {
        mkdirSync(join(dir, 'corrupt'), { recursive: true });
        renameSync(join(dir, n), join(dir, 'corrupt', n));
        s.corrupt++;
        report(`spool record ${n} is corrupt (${(err as Error).message}); moved to ${join(dir, 'corrupt')}`);
      }
      s.nextSeq = Math.max(s.nextSeq, seq + 1);
    }
    for (const n of readdirSync(dir)) if (n.endsWith('.tmp')) rmSync(join(dir, n), { force: true });
    return s;
  }

  get bytes(): number {
    return this.total;
  }

  get count(): number {
    return this.entries.length;
  }

  get full(): boolean {
    return this.total >= this.capBytes;
  }

  private path(seq: number): string {
    return join(this.dir, `${String(seq).padStart(12, '0')}.batch`);
  }

  /** Writes a batch durably; returns false (and writes nothing) when it would pass the cap. */
  put(b: Batch): boolean {
    const header = Buffer.from(
      JSON.stringify({ id: b.id, logstore: b.logstore, ranges: b.ranges, rawSize: b.rawSize, logs: b.logCount }),
    );
    const rec = Buffer.allocUnsafe(12 + header.length + b.body.length);
    rec.writeUInt32BE(MAGIC, 0);
    rec.writeUInt32BE(header.length, 8);
    header.copy(rec, 12);
    b.body.copy(rec, 12 + header.length);
    rec.writeUInt32BE(crc32(rec.subarray(8)), 4);
    if (this.total + rec.length > this.capBytes && this.entries.length > 0) return false;
    const seq = this.nextSeq++;
    writeFileDurable(this.path(seq), rec);
    this.entries.push({ seq, bytes: rec.length });
    this.total += rec.length;
    return true;
  }

  private decode(rec: Buffer): Batch {
    if (rec.length < 12 || rec.readUInt32BE(0) !== MAGIC) throw new Error('bad magic');
    if (crc32(rec.subarray(8)) !== rec.readUInt32BE(4)) throw new Error('CRC mismatch');
    const hl = rec.readUInt32BE(8);
    const h = JSON.parse(rec.subarray(12, 12 + hl).toString('utf8')) as Omit<Batch, 'body' | 'logCount'> & {
      logs: number;
    };
    return {
      id: h.id,
      logstore: h.logstore,
      ranges: h.ranges,
      rawSize: h.rawSize,
      logCount: h.logs,
      body: rec.subarray(12 + hl),
    };
  }

  /** The oldest batch, or undefined when empty. */
  peek(): { entry: SpoolEntry; batch: Batch } | undefined {
    const entry = this.entries[0];
    if (entry === undefined) return undefined;
    return { entry, batch: this.decode(readFileSync(this.path(entry.seq))) };
  }

  /** Removes a delivered (or given-up) batch. */
  remove(entry: SpoolEntry): void {
    const i = this.entries.indexOf(entry);
    if (i < 0) return;
    this.entries.splice(i, 1);
    this.total -= entry.bytes;
    rmSync(this.path(entry.seq), { force: true });
    if (this.entries.length === 0) fsyncDir(this.dir);
  }
}
