/* LZ4 itself, compiled from the sources of the `lz4` package (binding.gyp puts their folder on the include path);
 * included rather than listed in `sources` because gyp's make generator cannot place objects of absolute paths. */
#include "lz4.c"
