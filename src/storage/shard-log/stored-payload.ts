import { inflateSync } from 'node:zlib';
import zstdBinding from 'zstd-napi/binding.js';
import { SlsError } from '../../protocol/errors.js';
import { lz4BlockDecompress, lz4BlockDecompressInto } from '../../protocol/lz4-block.js';
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
    }
  } catch (err) {
    throw new SlsError('InternalServerError', `stored record ${record.seq} could not be decoded`, { cause: err });
  }
}

let dctx: InstanceType<typeof zstdBinding.DCtx> | undefined;

/** A zstd frame of exactly `rawSize` bytes once decoded, into `into` when it fits (as a view of it). */
function zstdDecompressExact(payload: Uint8Array, rawSize: number, into: Buffer | undefined): Uint8Array {
  const target = into && into.length >= rawSize ? into.subarray(0, rawSize) : Buffer.allocUnsafe(rawSize);
  dctx ??= new zstdBinding.DCtx();
  const n = dctx.decompress(target, payload);
  if (n !== rawSize) throw new Error(`zstd payload decodes to ${n} bytes, the record says ${rawSize}`);
  return target;
}
