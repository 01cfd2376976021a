{
  'targets': [
    {
      'target_name': 'sluice_build',
      'sources': ['src/build.cc'],
      'defines': ['NAPI_VERSION=8'],
      'cflags_cc': ['-O3', '-std=c++17'],
      'cflags_cc!': ['-O2', '-fno-exceptions'],
      'cflags!': ['-O2'],
    },
  ],
}
