/** The agent's counters, exposed as Prometheus text by the metrics endpoint and summarised by `agent status`. */
export class AgentMetrics {
  readBytes = 0;
  readLines = 0;
  parsedLogs = 0;
  unmatchedLogs = 0;
  filteredLogs = 0;
  truncatedEntries = 0;
  timeParseErrors = 0;
  sendRequests = 0;
  sentBatches = 0;
  sentLogs = 0;
  sentRawBytes = 0;
  sendErrors = 0;
  retries = 0;
  throttled = 0;
  spooledBatches = 0;
  drainedBatches = 0;
  lostBatches = 0;
  lostBytes = 0;
  rotations = 0;
  truncations = 0;
  /** NUL bytes skipped at the start of an entry (the hole a non-O_APPEND writer leaves after a copytruncate). */
  skippedNulBytes = 0;
  filesTracked = 0;
  filesOpen = 0;
  lagBytes = 0;
  spoolBytes = 0;
  spoolCount = 0;
  cpuShare = 0;
  rssBytes = 0;
  heapBytes = 0;
  externalBytes = 0;
  readPaused = 0;
  restarts = 0;

  toPrometheus(): string {
    const lines: string[] = [];
    const gauges = new Set([
      'filesTracked',
      'filesOpen',
      'lagBytes',
      'spoolBytes',
      'spoolCount',
      'cpuShare',
      'rssBytes',
      'heapBytes',
      'externalBytes',
      'readPaused',
    ]);
    for (const [k, v] of Object.entries(this)) {
      if (typeof v !== 'number') continue;
      const name = `sluice_agent_${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}${gauges.has(k) ? '' : '_total'}`;
      lines.push(`# TYPE ${name} ${gauges.has(k) ? 'gauge' : 'counter'}`, `${name} ${v}`);
    }
    return `${lines.join('\n')}\n`;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(Object.entries(this).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
  }
}
