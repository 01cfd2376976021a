/** nginx `combined` text lines (plus request_time and upstream_response_time) from the seeded generator. */
import { NginxLogGenerator } from './nginx-generator.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function timeLocal(sec: number): string {
  const d = new Date(sec * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

export class NginxLineGenerator {
  private readonly gen: NginxLogGenerator;

  constructor(seed = 42) {
    this.gen = new NginxLogGenerator(seed);
  }

  line(): string {
    const log = this.gen.log();
    const f = Object.fromEntries(log.contents.map((c) => [c.key, c.value]));
    return (
      `${f['remote_addr']} - ${f['remote_user']} [${timeLocal(log.time)}] "${f['method']} ${f['request_uri']} ${f['protocol']}" ` +
      `${f['status']} ${f['body_bytes_sent']} "${f['http_referer']}" "${f['http_user_agent']}" ${f['request_time']} ${f['upstream_response_time']}`
    );
  }

  /** About `bytes` of whole lines, newline-terminated. */
  chunk(bytes: number): string {
    const parts: string[] = [];
    let n = 0;
    while (n < bytes) {
      const l = this.line();
      parts.push(l);
      n += l.length + 1;
    }
    return `${parts.join('\n')}\n`;
  }
}
