/** nginx `combined` text lines (plus request_time and upstream_response_time) from the seeded generator. */
import { accessLine, NginxLogGenerator } from './nginx-generator.js';

export class NginxLineGenerator {
  private readonly gen: NginxLogGenerator;

  constructor(seed = 42) {
    this.gen = new NginxLogGenerator(seed);
  }

  line(): string {
    return accessLine(this.gen.log());
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
