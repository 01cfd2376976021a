/**
 * Deterministic nginx-like LogGroups for the protocol benchmarks and tests: ~15 fields per log, realistic value
 * lengths, a few repeated values (so LZ4 finds matches the way it does on real access logs).
 */
import type { Log, LogGroup } from '../src/protocol/log-group.js';

/** Small xorshift PRNG so fixtures are identical on every run. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const PATHS = ['/api/v1/users', '/api/v1/orders', '/static/app.js', '/health', '/api/v1/search', '/login', '/'];
const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 13_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.5 Safari/605.1.15',
  'curl/8.4.0',
  'python-requests/2.31.0',
];
const STATUSES = ['200', '200', '200', '200', '304', '404', '500', '302'];

export function nginxLog(r: () => number, time: number): Log {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const ip = `10.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
  const path = `${pick(PATHS)}?id=${Math.floor(r() * 100000)}&page=${Math.floor(r() * 20)}`;
  return {
    time,
    timeNs: Math.floor(r() * 1e9),
    contents: [
      { key: 'remote_addr', value: ip },
      { key: 'remote_user', value: '-' },
      { key: 'time_local', value: new Date(time * 1000).toUTCString() },
      { key: 'request_method', value: pick(METHODS) },
      { key: 'request_uri', value: path },
      { key: 'server_protocol', value: 'HTTP/1.1' },
      { key: 'status', value: pick(STATUSES) },
      { key: 'body_bytes_sent', value: String(Math.floor(r() * 50000)) },
      { key: 'http_referer', value: r() < 0.5 ? '-' : `https://example.com${pick(PATHS)}` },
      { key: 'http_user_agent', value: pick(AGENTS) },
      { key: 'request_time', value: (r() * 2).toFixed(3) },
      { key: 'upstream_response_time', value: (r() * 2).toFixed(3) },
      { key: 'host', value: 'api.example.com' },
      {
        key: 'request_id',
        value: Math.floor(r() * 2 ** 52)
          .toString(16)
          .padStart(13, '0'),
      },
      { key: 'upstream_addr', value: `10.0.${Math.floor(r() * 8)}.${Math.floor(r() * 32)}:8080` },
    ],
  };
}

export function nginxGroup(logCount: number, seed = 1, startTime = 1_736_841_600): LogGroup {
  const r = rng(seed);
  const logs: Log[] = [];
  for (let i = 0; i < logCount; i++) logs.push(nginxLog(r, startTime + Math.floor(i / 10)));
  return {
    logs,
    topic: 'nginx',
    source: '10.0.0.1',
    tags: [
      { key: '__path__', value: '/var/log/nginx/access.log' },
      { key: '__hostname__', value: 'web-1' },
    ],
  };
}
