/**
 * Raw LZ4 block throughput on ~1 MB of nginx-like LogGroup protobuf: native compression (lz4-napi / lz4_flex),
 * and decompression by the hand-written JS decoder vs the native one (which needs a size-prefixed copy).
 *
 * Run: npx tsc -p tsconfig.json && node dist/bench/protocol-lz4.js
 * MB/s are of uncompressed bytes (1 MB = 1e6 bytes).
 */
import { encodeLogGroup } from '../src/protocol/log-group.js';
import { lz4BlockCompress, lz4BlockDecompress, lz4BlockDecompressJs } from '../src/protocol/lz4-block.js';
import { mbPerSec, row } from './protocol-bench-util.js';
import { nginxGroup } from './protocol-fixtures.js';

const raw = encodeLogGroup(nginxGroup(2000));
const block = lz4BlockCompress(raw);
console.log(
  `input: ${raw.length} bytes of LogGroup protobuf -> ${block.length} bytes LZ4 (ratio ${(raw.length / block.length).toFixed(2)}), node ${process.version}`,
);
if (!lz4BlockDecompressJs(block, raw.length).equals(raw)) throw new Error('JS decoder mismatch');
if (!lz4BlockDecompress(block, raw.length).equals(raw)) throw new Error('native decoder mismatch');

// A small request (the GO producer's typical batch is far below its 512 KB cap) to show per-call overhead.
const smallRaw = encodeLogGroup(nginxGroup(30));
const smallBlock = lz4BlockCompress(smallRaw);

for (const [name, mbs] of [
  ['compress (lz4-napi)', mbPerSec(raw.length, () => lz4BlockCompress(raw))],
  ['decompress (JS)', mbPerSec(raw.length, () => lz4BlockDecompressJs(block, raw.length))],
  ['decompress (lz4-napi, prefixed copy)', mbPerSec(raw.length, () => lz4BlockDecompress(block, raw.length))],
  [`decompress 15 KB (JS)`, mbPerSec(smallRaw.length, () => lz4BlockDecompressJs(smallBlock, smallRaw.length))],
  [`decompress 15 KB (lz4-napi)`, mbPerSec(smallRaw.length, () => lz4BlockDecompress(smallBlock, smallRaw.length))],
] as const) {
  console.log(row(name, mbs));
}
