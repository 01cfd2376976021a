#!/usr/bin/env node
// Entry point installed as `sluice`. The TypeScript sources are compiled to dist/ by `npm ci` (the `prepare` script).

// Every fsync holds a libuv threadpool thread for its whole duration; with the default 4 threads, a few shards
// syncing at once would stall all other file I/O. The pool is created on first use, so this must run before any
// module that touches the file system is loaded (hence the dynamic import below).
process.env.UV_THREADPOOL_SIZE ??= '16';

const { main } = await import('../dist/src/cli/main.js');
main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
