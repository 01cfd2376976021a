/* zstd's x86-64 Huffman decoding loop, from the `zstd-napi` package's sources (see zstd-lib.c). */
#include "decompress/huf_decompress_amd64.S"
