import { inflateSync } from 'node:zlib';
import zstdBinding from 'zstd-napi/binding.js';
import { SlsError } from '../../protocol/errors.js';
import { lz4BlockDecompress, lz4BlockDecompressInto } from '../../protocol/lz4-block.js';
import { decodeColumnarLogGroup } from './columnar-log-group.js';
import type { StoredRecord } from './shard-log.js';

/**
 * The serialized LogGroup held by a stored record. Records keep the bytes the client sent (LZ4 blocks stay LZ4) until
 * their file is sealed and compacted to zstd, so reading decompresses; a record that fails to decompress means the
 * file was damaged behind the CRC's back and is reported as a server error, never returned as data.
 */
export function storedLogGroupBytes(record: StoredRecord, into?: Buffer): Uint8Array {
  try {
    switch (record.codec) {
      case 'none':
        return record.payload;
      case 'lz4':
        // `into` (the index builders' arena): decoded into it when it is large enough, as a view of it.
        return into
          ? lz4BlockDecompressInto(record.payload, record.rawSize, into)
          : lz4BlockDecompress(record.payload, record.rawSize);
      case 'deflate':
        return inflateSync(record.payload, { maxOutputLength: Math.max(record.rawSize, 1) });
      case 'zstd':
        // Sealed shard-log files rewritten by compaction (storage/shard-log/embedded/compaction.ts).
        return zstdDecompressExact(record.payload, record.rawSize, into);
      case 'zstd-columns':
        return decodeColumnarLogGroup(unpackColumns(record.payload), record.rawSize, into);
    }
  } catch (err) {
    throw new SlsError('InternalServerError', `stored record ${record.seq} could not be decoded`, { cause: err });
  }
}

let dctx: InstanceType<typeof zstdBinding.DCtx> | undefined;

/** Bytes `packColumns` may need for a columnar form of `length` bytes. */
export function packedColumnsBound(length: number): number {
  return COLUMNS_LENGTH_BYTES + zstdBinding.compressBound(length);
}

/**
 * A `zstd-columns` payload: the columnar form's length (u32 little-endian), then the form as one zstd frame at
 * `level`; written into `into`, which holds at least `packedColumnsBound(columnar.length)` bytes (as a view of it).
 */
export function packColumns(
  columnar: Uint8Array,
  level: number,
  cctx: InstanceType<typeof zstdBinding.CCtx>,
  into: Buffer,
): Buffer {
  into.writeUInt32LE(columnar.length, 0);
  const n = cctx.compress(into.subarray(COLUMNS_LENGTH_BYTES), columnar, level);
  return into.subarray(0, COLUMNS_LENGTH_BYTES + n);
}

const COLUMNS_LENGTH_BYTES = 4;
const MAX_KEPT_COLUMNS = 16 * 1024 * 1024;
let columns = Buffer.alloc(0);

/**
 * The columnar form of a `zstd-columns` payload, in a buffer of this thread's that the next call reuses (the caller
 * rebuilds the LogGroup from it at once). Forms above MAX_KEPT_COLUMNS get a buffer of their own, so one huge record
 * does not stay resident.
 */
function unpackColumns(payload: Buffer): Buffer {
  if (payload.length < COLUMNS_LENGTH_BYTES) throw new Error('zstd-columns payload is shorter than its length field');
  const length = payload.readUInt32LE(0);
  let target: Buffer;
  if (length > MAX_KEPT_COLUMNS) target = Buffer.allocUnsafe(length);
  else {
    if (columns.length < length) columns = Buffer.allocUnsafe(Math.min(MAX_KEPT_COLUMNS, Math.ceil(length * 1.25)));
    target = columns.subarray(0, length);
  }
  dctx ??= new zstdBinding.DCtx();
  const n = dctx.decompress(target, payload.subarray(COLUMNS_LENGTH_BYTES));
  if (n !== length) throw new Error(`zstd-columns payload decodes to ${n} bytes, its length field says ${length}`);
  return target;
}

/** A zstd frame of exactly `rawSize` bytes once decoded, into `into` when it fits (as a view of it). */
function zstdDecompressExact(payload: Uint8Array, rawSize: number, into: Buffer | undefined): Uint8Array {
  const target = into && into.length >= rawSize ? into.subarray(0, rawSize) : Buffer.allocUnsafe(rawSize);
  dctx ??= new zstdBinding.DCtx();
  const n = dctx.decompress(target, payload);
  if (n !== rawSize) throw new Error(`zstd payload decodes to ${n} bytes, the record says ${rawSize}`);
  return target;
}
