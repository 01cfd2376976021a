{
  # rows.cc decodes row groups with zstd, compiled from the C sources the `zstd-napi` package (a dependency of Sluice)
  # already ships, found through Node's module resolution from this folder, so this repository carries none of zstd's
  # code. npm extracts every package before it runs any install script, so they are there even when zstd-napi's own
  # build has not run yet.
  'variables': {
    'zstd_lib': '<!(node -p "require(\'path\').join(require(\'path\').dirname(require.resolve(\'zstd-napi/package.json\')), \'deps\', \'zstd\', \'lib\')")',
  },
  'targets': [
    {
      'target_name': 'sluice_build',
      'sources': ['src/build.cc', 'src/rows.cc', 'src/zstd-lib.c', 'src/zstd-huf-amd64.S'],
      'include_dirs': ['<(zstd_lib)'],
      'defines': ['NAPI_VERSION=8', 'ZSTD_NO_TRACE', 'XXH_NAMESPACE=SLUICE_ZSTD_', 'ZSTDLIB_VISIBLE=', 'ZSTDERRORLIB_VISIBLE='],
      'cflags': ['-O3', '-fvisibility=hidden'],
      'cflags!': ['-O2'],
      'cflags_cc': ['-O3', '-std=c++17'],
      'cflags_cc!': ['-O2', '-fno-exceptions'],
    },
  ],
}
