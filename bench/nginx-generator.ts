/**
 * A seeded, deterministic generator of realistic nginx access logs: ~20k client IPs, 2k paths, skewed status / size /
 * user-agent / referer / request-time distributions, timestamps spread over one day. The same seed always yields the
 * same logs, so benchmark runs are comparable.
 */
import type { Log, LogGroup } from '../src/protocol/log-group.js';

/** mulberry32: small, fast, good enough for synthetic data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const METHODS: [string, number][] = [
  ['GET', 0.82],
  ['POST', 0.13],
  ['PUT', 0.02],
  ['DELETE', 0.01],
  ['HEAD', 0.02],
];
const STATUSES: [string, number][] = [
  ['200', 0.86],
  ['304', 0.04],
  ['301', 0.02],
  ['404', 0.04],
  ['400', 0.01],
  ['403', 0.005],
  ['500', 0.01],
  ['502', 0.01],
  ['503', 0.005],
];
const SEGMENTS = ['api', 'v1', 'v2', 'users', 'orders', 'items', 'search', 'static', 'img', 'cart', 'login', 'admin'];
const EXTS = ['', '', '', '.js', '.css', '.png', '.json', '.html'];
const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v}.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_{v} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'curl/8.{v}.0',
  'Go-http-client/1.1',
  'python-requests/2.{v}.0',
];

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** nginx's `$time_local` (in UTC): `01/Jan/2026:00:00:00 +0000`. */
function timeLocal(sec: number): string {
  const d = new Date(sec * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/**
 * A generated log as the line nginx would have written to its access log: `combined` plus request_time and
 * upstream_response_time, without the newline. What the same log weighs as a text file, beside its protobuf size.
 */
export function accessLine(log: Log): string {
  const f: Record<string, string> = {};
  for (const c of log.contents) f[c.key] = c.value;
  return (
    `${f['remote_addr']} - ${f['remote_user']} [${timeLocal(log.time)}] "${f['method']} ${f['request_uri']} ${f['protocol']}" ` +
    `${f['status']} ${f['body_bytes_sent']} "${f['http_referer']}" "${f['http_user_agent']}" ${f['request_time']} ${f['upstream_response_time']}`
  );
}

export class NginxLogGenerator {
  private readonly rand: () => number;
  private readonly ips: string[];
  private readonly paths: string[];
  private readonly agents: string[];
  private readonly referers: string[];
  private readonly dayStart: number;

  constructor(seed = 42, dayStart = 1_767_225_600 /* 2026-01-01T00:00:00Z */) {
    this.rand = prng(seed);
    this.dayStart = dayStart;
    const r = this.rand;
    this.ips = Array.from(
      { length: 20_000 },
      () =>
        `${1 + Math.floor(r() * 223)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${1 + Math.floor(r() * 254)}`,
    );
    this.paths = Array.from({ length: 2_000 }, () => {
      const depth = 1 + Math.floor(r() * 4);
      const parts = Array.from({ length: depth }, () =>
        r() < 0.25 ? String(Math.floor(r() * 100_000)) : SEGMENTS[Math.floor(r() * SEGMENTS.length)]!,
      );
      return `/${parts.join('/')}${EXTS[Math.floor(r() * EXTS.length)]}`;
    });
    this.agents = Array.from({ length: 60 }, () =>
      BROWSERS[Math.floor(r() * BROWSERS.length)]!.replaceAll('{v}', String(10 + Math.floor(r() * 120))),
    );
    this.referers = [
      '-',
      '-',
      '-',
      ...Array.from(
        { length: 200 },
        () => `https://www.example${Math.floor(r() * 50)}.com${this.paths[Math.floor(r() * 2000)]}`,
      ),
    ];
  }

  /** Zipf-ish pick: low indexes much more often, like real traffic. */
  private skewed<T>(items: readonly T[]): T {
    const x = this.rand();
    return items[Math.floor(items.length * x * x * x)]!;
  }

  private weighted(table: readonly [string, number][]): string {
    let x = this.rand();
    for (const [v, w] of table) {
      x -= w;
      if (x <= 0) return v;
    }
    return table[0]![0];
  }

  log(): Log {
    const r = this.rand;
    const time = this.dayStart + Math.floor(r() * 86_400);
    const status = this.weighted(STATUSES);
    const method = this.weighted(METHODS);
    const path = this.skewed(this.paths);
    const query = r() < 0.3 ? `?id=${Math.floor(r() * 1_000_000)}&page=${1 + Math.floor(r() * 20)}` : '';
    const bytes = status === '304' ? 0 : Math.floor(200 + -Math.log(1 - r()) * 8_000);
    const requestTime = (-Math.log(1 - r()) * (status.startsWith('5') ? 0.8 : 0.05)).toFixed(3);
    return {
      time,
      contents: [
        { key: 'remote_addr', value: this.skewed(this.ips) },
        { key: 'remote_user', value: '-' },
        { key: 'time_local', value: new Date(time * 1000).toISOString() },
        { key: 'method', value: method },
        { key: 'request_uri', value: path + query },
        { key: 'protocol', value: r() < 0.7 ? 'HTTP/1.1' : 'HTTP/2.0' },
        { key: 'status', value: status },
        { key: 'body_bytes_sent', value: String(bytes) },
        { key: 'http_referer', value: this.skewed(this.referers) },
        { key: 'http_user_agent', value: this.skewed(this.agents) },
        { key: 'request_time', value: requestTime },
        { key: 'upstream_response_time', value: status === '304' ? '-' : requestTime },
      ],
    };
  }

  group(count: number, source = '10.0.0.1'): LogGroup {
    const logs = Array.from({ length: count }, () => this.log());
    return { logs, topic: 'nginx', source, tags: [{ key: '__hostname__', value: 'web-01' }] };
  }
}
