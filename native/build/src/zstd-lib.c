/* zstd's decoder, compiled from the sources of the `zstd-napi` package (binding.gyp puts their folder on the include
 * path), for rows.cc; included rather than listed in `sources` because gyp's make generator cannot place objects of
 * absolute paths. Only the decoding half: segments are written through zstd-napi. */
#include "common/debug.c"
#include "common/entropy_common.c"
#include "common/error_private.c"
#include "common/fse_decompress.c"
#include "common/xxhash.c"
#include "common/zstd_common.c"
#include "decompress/huf_decompress.c"
#include "decompress/zstd_ddict.c"
#include "decompress/zstd_decompress.c"
#include "decompress/zstd_decompress_block.c"
