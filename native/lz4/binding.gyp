{
  # LZ4's C sources are the ones the `lz4` package (an optional dependency of Sluice) already ships, found through
  # Node's module resolution from this folder, so this repository carries none of LZ4's code. npm extracts every
  # package before it runs any install script, so they are there even when `lz4`'s own build has not run yet.
  'variables': {
    'lz4_lib': '<!(node -p "require(\'path\').join(require(\'path\').dirname(require.resolve(\'lz4/package.json\')), \'deps\', \'lz4\', \'lib\')")',
  },
  'targets': [
    {
      'target_name': 'sluice_lz4',
      'sources': ['src/binding.c', 'src/lz4-lib.c', 'src/validate.c'],
      'include_dirs': ['<(lz4_lib)'],
      'defines': ['NAPI_VERSION=8'],
      'cflags': ['-O3'],
      'cflags!': ['-O2'],
    },
  ],
}
