/** Tiny timing helper for the protocol micro-benchmarks: runs `fn` for ~`ms` after a warm-up, returns MB/s. */
export function mbPerSec(bytesPerCall: number, fn: () => unknown, ms = 1500): number {
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) fn();
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 4; i++) fn();
    calls += 4;
    now = performance.now();
  }
  return (bytesPerCall * calls) / ((now - start) / 1000) / 1e6;
}

export function row(name: string, mbs: number): string {
  return `${name.padEnd(44)} ${mbs.toFixed(0).padStart(7)} MB/s`;
}
