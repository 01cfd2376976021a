/**
 * Samples the agent's own CPU share and RSS once a second. Over the soft CPU or memory limit the agent reads less
 * per pass and waits longer between passes; over the hard memory limit it asks for a clean restart from its
 * checkpoint (the supervisor starts a fresh process).
 */
export interface SelfLimits {
  /** Fraction of one core (0.5 = 50 %) above which reading slows down; 0 = no limit. */
  readonly cpuSoftShare: number;
  readonly memSoftBytes: number;
  /** RSS above which the agent restarts itself; 0 = never. */
  readonly memHardBytes: number;
}

export interface SelfSample {
  readonly cpuShare: number;
  readonly rssBytes: number;
  readonly heapBytes: number;
  readonly externalBytes: number;
}

export class SelfMonitor {
  private lastCpu = process.cpuUsage();
  private lastAt = process.hrtime.bigint();
  sample: SelfSample = { cpuShare: 0, rssBytes: process.memoryUsage.rss(), heapBytes: 0, externalBytes: 0 };
  /** 1 = full speed; lower when over a soft limit. */
  throttle = 1;

  constructor(private readonly limits: SelfLimits) {}

  tick(): SelfSample {
    const now = process.hrtime.bigint();
    const cpu = process.cpuUsage(this.lastCpu);
    const wallUs = Number(now - this.lastAt) / 1000;
    this.lastCpu = process.cpuUsage();
    this.lastAt = now;
    const cpuShare = wallUs > 0 ? (cpu.user + cpu.system) / wallUs : 0;
    const mem = process.memoryUsage();
    this.sample = { cpuShare, rssBytes: mem.rss, heapBytes: mem.heapTotal, externalBytes: mem.external };
    const overCpu = this.limits.cpuSoftShare > 0 && cpuShare > this.limits.cpuSoftShare;
    const overMem = this.limits.memSoftBytes > 0 && mem.rss > this.limits.memSoftBytes;
    // Multiplicative slow-down while over a soft limit, gentle recovery below it.
    this.throttle = overCpu || overMem ? Math.max(0.05, this.throttle / 2) : Math.min(1, this.throttle * 1.25);
    return this.sample;
  }

  get overHardLimit(): boolean {
    return this.limits.memHardBytes > 0 && this.sample.rssBytes > this.limits.memHardBytes;
  }
}
