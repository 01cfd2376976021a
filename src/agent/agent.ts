/**
 * The agent: checkpoint store, one collector per config, one delivery (and spool) per logstore, the self-monitor
 * and the metrics endpoint, driven by one loop. A pass reconciles files (on watch events, else every second), reads
 * what is new within the budget the deliveries and self-monitor allow, makes the pass's intents durable with one
 * fdatasync, then hands the batches to the deliveries.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { networkInterfaces, hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { SlsClient } from '../client/sls-client.js';
import type { ByteRange, FileRecord } from './checkpoint/checkpoint-store.js';
import { CheckpointStore } from './checkpoint/checkpoint-store.js';
import { Collector, type CollectorOptions } from './collector.js';
import type { CollectionConfig } from './config/logtail-config.js';
import { pathMatches } from './config/path-match.js';
import type { HeartbeatStatus, RemoteConfig, RemoteConfigSource } from './config/remote-config-source.js';
import { AgentMetrics } from './metrics.js';
import { type SelfLimits, SelfMonitor } from './self-monitor/self-monitor.js';
import type { Batch } from './send/batch.js';
import { BufferPool } from './send/buffer-pool.js';
import { BodyCompressor } from './send/compress.js';
import { Delivery } from './send/delivery.js';
import { Spool } from './spool/spool.js';

export interface AgentOptions {
  readonly endpoint: string;
  readonly project: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly dataDir: string;
  readonly configs: readonly CollectionConfig[];
  /** Prometheus text on 127.0.0.1:port; undefined = off, 0 = any free port. */
  readonly metricsPort?: number;
  readonly limits: SelfLimits;
  readonly spoolCapBytes: number;
  readonly maxConcurrency: number;
  readonly maxMemoryBytes: number;
  readonly passBudgetBytes: number;
  readonly collector: Partial<CollectorOptions>;
  readonly log: (msg: string) => void;
  /** Configs from the server instead of (`configs` is then the empty start): see docs/agent.md "Remote configs". */
  readonly remote?: { readonly source: RemoteConfigSource; readonly intervalMs: number };
}

export const DEFAULT_AGENT_LIMITS = Object.freeze({
  spoolCapBytes: 1024 * 1024 * 1024,
  maxConcurrency: 4,
  maxMemoryBytes: 2 * 1024 * 1024,
  passBudgetBytes: 4 * 1024 * 1024,
});

/** Exit code asking the supervisor for a restart (hard memory limit). */
export const RESTART_EXIT_CODE = 75;

export function hostIp(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export class Agent {
  readonly metrics = new AgentMetrics();
  private readonly store: CheckpointStore;
  private readonly client: SlsClient;
  private collectors: Collector[] = [];
  /** The `key` (source JSON) each running collector was started with, by config name. */
  private readonly startedWith = new Map<string, string>();
  /**
   * Configs waiting for the batches of their previous collector to be acknowledged (a reload or a re-add right after
   * a removal): starting now would resend those batches, to the new logstore if it changed. `until` bounds the wait
   * for intents left by a crash, which nothing in this process will acknowledge.
   */
  private readonly waiting = new Map<
    string,
    { rc: RemoteConfig; ids: Set<string>; until: number; previous: CollectionConfig | undefined }
  >();
  /** Configs the server sent that the parser refused, with why. */
  private readonly refused = new Map<string, string>();
  /** Losses by config and by file, for the heartbeat status. */
  private readonly perConfig = new Map<string, { errors: number; lastError: string; droppedBytes: number }>();
  private readonly perFile = new Map<string, { errors: number; lastError: string; droppedBytes: number }>();
  private readonly sentLogs = new Map<string, number>();
  private readonly copts: CollectorOptions;
  private readonly deliveries = new Map<string, Delivery>();
  private readonly monitor: SelfMonitor;
  private readonly pool = new BufferPool();
  private metricsServer: Server | undefined;
  private stopping = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeResolve: (() => void) | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatWake: (() => void) | undefined;
  private dirty = true;
  private readonly lossLog: string;
  metricsUrl: string | undefined;

  constructor(private readonly o: AgentOptions) {
    mkdirSync(o.dataDir, { recursive: true });
    this.lossLog = join(o.dataDir, 'losses.jsonl');
    this.store = CheckpointStore.open(join(o.dataDir, 'checkpoint'));
    this.client = new SlsClient({
      endpoint: o.endpoint,
      accessKeyId: o.accessKeyId,
      accessKeySecret: o.accessKeySecret,
      maxSockets: o.maxConcurrency,
      timeoutMs: 30_000,
    });
    this.monitor = new SelfMonitor(o.limits);
    const copts: CollectorOptions = {
      pool: this.pool,
      compressor: new BodyCompressor(),
      source: hostIp(),
      hostname: osHostname(),
      readChunkBytes: 1024 * 1024,
      maxEntryBytes: 512 * 1024,
      maxOpenFiles: 1000,
      maxWatches: 4096,
      idleCloseMs: 30_000,
      rotateGraceMs: 5_000,
      flushTimeoutMs: 3_000,
      lingerMs: 500,
      minReadBytes: 4 * 1024 * 1024,
      maxLogsPerBatch: 4096,
      ...o.collector,
    };
    this.copts = copts;
    for (const c of o.configs) this.startCollector(c, '');
    // Batches spooled for a logstore no config names any more still go out.
    const spoolDir = join(o.dataDir, 'spool');
    if (existsSync(spoolDir))
      for (const d of readdirSync(spoolDir, { withFileTypes: true })) if (d.isDirectory()) this.deliveryFor(d.name);
    // Remote mode starts with the configs the server sent last, so a restart while it is down still collects.
    const cached = o.remote?.source.cached();
    if (cached !== undefined) {
      o.log(`configs cached from the server: ${cached.configs.map((c) => c.name).join(', ') || '(none)'}`);
      this.applyConfigs(cached.configs, true);
    }
  }

  /** How many configs are collecting now. */
  get configCount(): number {
    return this.collectors.length;
  }

  private startCollector(c: CollectionConfig, key: string, skipRecord?: (rec: FileRecord) => boolean): void {
    this.deliveryFor(c.logstore);
    this.collectors.push(
      new Collector(
        c,
        this.copts,
        {
          store: this.store,
          metrics: this.metrics,
          log: this.o.log,
          loss: (r, path, reason) => this.loss(r, path, reason),
          wake: () => this.rescan(),
        },
        skipRecord,
      ),
    );
    this.startedWith.set(c.configName, key);
    this.dirty = true;
  }

  private deliveryFor(logstore: string): Delivery {
    const have = this.deliveries.get(logstore);
    if (have) return have;
    const o = this.o;
    const spool = Spool.open(join(o.dataDir, 'spool', logstore), o.spoolCapBytes, o.log);
    this.metrics.lostBatches += spool.corrupt;
    const d = new Delivery(
      this.client,
      spool,
      {
        project: o.project,
        logstore,
        maxConcurrency: o.maxConcurrency,
        directAttempts: 3,
        backoffBaseMs: 100,
        backoffCapMs: 10_000,
        maxMemoryBytes: o.maxMemoryBytes,
      },
      {
        delivered: (b) => this.acked(b, true),
        spooled: (b) => this.acked(b, true),
        released: (b) => this.pool.release(b.slab),
        givenUp: (b, reason) => {
          this.metrics.lostBatches++;
          for (const r of b.ranges) this.loss(r, this.store.files.get(r.fileId)?.path ?? '?', `rejected: ${reason}`);
          this.store.ack(b.id);
          this.wake();
        },
      },
      this.metrics,
      o.log,
    );
    this.deliveries.set(logstore, d);
    return d;
  }

  /**
   * Makes the running collectors match `configs` without a restart: new ones start, changed ones (a different source
   * JSON) stop and start again, missing ones stop. Checkpoints are kept by config name, so a config that comes back
   * resumes where it stopped.
   */
  applyConfigs(configs: readonly RemoteConfig[], startup = false): void {
    const wanted = new Map<string, RemoteConfig>();
    this.refused.clear();
    for (const rc of configs) {
      if (rc.config === undefined) {
        this.refused.set(rc.name, rc.error ?? 'refused');
        this.o.log(`config ${rc.name} refused: ${rc.error}`);
      } else if (!wanted.has(rc.name)) wanted.set(rc.name, rc);
    }
    for (const name of [...this.waiting.keys()]) {
      const w = wanted.get(name);
      if (w === undefined) this.waiting.delete(name);
      else this.waiting.get(name)!.rc = w;
    }
    for (const c of [...this.collectors]) {
      const name = c.config.configName;
      const w = wanted.get(name);
      if (w !== undefined && w.key === this.startedWith.get(name)) continue;
      this.stopCollector(c, w === undefined ? 'removed' : 'changed');
      if (w !== undefined) this.waitFor(w, c.config);
    }
    for (const [name, w] of wanted) {
      if (this.startedWith.has(name) || this.waiting.has(name)) continue;
      this.waitFor(w, undefined);
      // At startup, unacknowledged intents are a previous process's: the new collector resends them itself.
      if (startup) this.waiting.get(name)!.ids.clear();
    }
    this.startReady();
  }

  private stopCollector(c: Collector, why: string): void {
    this.o.log(`config ${c.config.configName} ${why}: collector stopped (checkpoints kept)`);
    c.close();
    this.collectors = this.collectors.filter((x) => x !== c);
    this.startedWith.delete(c.config.configName);
  }

  private waitFor(rc: RemoteConfig, previous: CollectionConfig | undefined): void {
    const ids = new Set<string>();
    for (const i of this.store.pending.values()) {
      if (i.ranges.some((r) => this.store.files.get(r.fileId)?.config === rc.name)) ids.add(i.id);
    }
    this.waiting.set(rc.name, { rc, ids, until: Date.now() + 30_000, previous });
  }

  /** Starts the waiting configs whose previous batches are all acknowledged. */
  private startReady(): void {
    const now = Date.now();
    for (const [name, w] of this.waiting) {
      for (const id of w.ids) if (!this.store.pending.has(id)) w.ids.delete(id);
      if (w.ids.size > 0 && now < w.until) continue;
      this.waiting.delete(name);
      const config = w.rc.config!;
      // After a change, files the old config followed by name and the new one does not match keep their checkpoint
      // but are not followed (changed back, they resume from it). A rotated file still being read to its end matched
      // neither by name, and stays.
      const prev = w.previous;
      const skip =
        prev === undefined
          ? undefined
          : (rec: FileRecord) => pathMatches(prev, rec.path) && !pathMatches(config, rec.path);
      this.startCollector(config, w.rc.key, skip);
      this.o.log(`config ${name} started (logstore ${config.logstore})`);
    }
  }

  private acked(b: Batch, counted = false): void {
    // Logs handed over for good (acknowledged, or spooled to be sent later), per config for the heartbeat status.
    const config = counted ? this.store.files.get(b.ranges[0]?.fileId ?? '')?.config : undefined;
    if (config !== undefined) this.sentLogs.set(config, (this.sentLogs.get(config) ?? 0) + b.logCount);
    this.store.ack(b.id);
    this.wake();
  }

  /** Every loss is counted and written to losses.jsonl with file and byte range. */
  private loss(r: ByteRange, path: string, reason: string): void {
    this.metrics.lostBytes += Math.max(0, r.end - r.start);
    const config = this.store.files.get(r.fileId)?.config;
    const count = (map: Map<string, { errors: number; lastError: string; droppedBytes: number }>, key: string) => {
      const e = map.get(key) ?? { errors: 0, lastError: '', droppedBytes: 0 };
      e.errors++;
      e.lastError = `${path}: ${reason}`;
      e.droppedBytes += Math.max(0, r.end - r.start);
      map.set(key, e);
    };
    if (config !== undefined) count(this.perConfig, config);
    count(this.perFile, r.fileId);
    const line = JSON.stringify({ time: new Date().toISOString(), path, ...r, reason });
    this.o.log(`loss: ${line}`);
    appendFileSync(this.lossLog, `${line}\n`);
    this.store.skip(r);
  }

  /** A watch event: reconcile on the next pass instead of waiting for the periodic one. */
  rescan(): void {
    this.dirty = true;
    this.wake();
  }

  wake(): void {
    const r = this.wakeResolve;
    this.wakeResolve = undefined;
    r?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((done) => {
      this.wakeResolve = done;
      this.wakeTimer = setTimeout(() => this.wake(), ms);
    }).then(() => clearTimeout(this.wakeTimer));
  }

  /** Heartbeats until stopped; a failed one is logged (once per outage) and the last configs keep running. */
  private async heartbeatLoop(): Promise<void> {
    const remote = this.o.remote;
    if (remote === undefined) return;
    let failing = false;
    while (!this.stopping) {
      try {
        const changed = await remote.source.heartbeat(this.heartbeatStatus());
        if (failing) this.o.log('heartbeat: the server answers again');
        failing = false;
        if (changed !== undefined && !this.stopping) {
          this.o.log(`configs from the server: ${changed.configs.map((c) => c.name).join(', ') || '(none)'}`);
          this.applyConfigs(changed.configs);
          this.wake();
        }
      } catch (err) {
        if (!failing) this.o.log(`heartbeat failed (keeping the last configs): ${(err as Error).message}`);
        failing = true;
      }
      await new Promise<void>((done) => {
        this.heartbeatWake = done;
        this.heartbeatTimer = setTimeout(done, remote.intervalMs);
      });
      clearTimeout(this.heartbeatTimer);
    }
  }

  /** Per-config and per-file status for the server (docs/api.md "Agent heartbeat"). */
  heartbeatStatus(): HeartbeatStatus {
    const committed = new Map([...this.store.files.values()].map((f) => [f.fileId, f.committed]));
    const configs: Record<string, unknown>[] = [];
    const files: Record<string, unknown>[] = [];
    for (const c of this.collectors) {
      const name = c.config.configName;
      const e = this.perConfig.get(name);
      let read = 0;
      let lag = 0;
      const progress = c.progress();
      for (const p of progress) {
        const done = committed.get(p.fileId) ?? 0;
        const fe = this.perFile.get(p.fileId);
        read += p.read;
        lag += Math.max(0, p.size - done);
        if (files.length < 1000)
          files.push({
            configName: name,
            path: p.path,
            size: p.size,
            offset: p.read,
            committed: done,
            lagBytes: Math.max(0, p.size - done),
            rotated: p.rotated,
            errors: fe?.errors ?? 0,
            droppedBytes: fe?.droppedBytes ?? 0,
            lastError: fe?.lastError ?? '',
          });
      }
      configs.push({
        configName: name,
        logstore: c.config.logstore,
        state: 'running',
        files: progress.length,
        readBytes: read,
        lagBytes: lag,
        sentLogs: this.sentLogs.get(name) ?? 0,
        errors: e?.errors ?? 0,
        lastError: e?.lastError ?? '',
        droppedBytes: e?.droppedBytes ?? 0,
      });
    }
    for (const [name, w] of this.waiting)
      configs.push({ configName: name, logstore: w.rc.config?.logstore ?? '', state: 'starting', files: 0 });
    for (const [name, why] of this.refused)
      configs.push({ configName: name, logstore: '', state: 'refused', files: 0, errors: 1, lastError: why });
    const spools = this.spoolStats();
    return {
      configs,
      files,
      counters: { ...this.metrics.toJSON(), spoolBytes: spools.bytes, spoolCount: spools.count },
    };
  }

  async startMetrics(): Promise<void> {
    if (this.o.metricsPort === undefined) return;
    const server = createServer((req, res) => {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(this.metrics.toPrometheus());
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((done) => server.listen(this.o.metricsPort, '127.0.0.1', done));
    const addr = server.address();
    this.metricsUrl = typeof addr === 'object' && addr ? `http://127.0.0.1:${addr.port}/metrics` : undefined;
    this.metricsServer = server;
  }

  /** Runs until `stop()`; resolves with `'restart'` when the hard memory limit asks for a fresh process. */
  async run(): Promise<'stopped' | 'restart'> {
    await this.startMetrics();
    const beating = this.heartbeatLoop();
    let lastReconcile = 0;
    let lastSample = Date.now();
    let lastStatus = 0;
    let lastActivity = '';
    let outcome: 'stopped' | 'restart' = 'stopped';
    while (!this.stopping) {
      const now = Date.now();
      if (now - lastSample >= 1000) {
        lastSample = now;
        const s = this.monitor.tick();
        this.metrics.cpuShare = Math.round(s.cpuShare * 1000) / 1000;
        this.metrics.rssBytes = s.rssBytes;
        this.metrics.heapBytes = s.heapBytes;
        this.metrics.externalBytes = s.externalBytes;
        if (this.monitor.overHardLimit) {
          this.o.log(
            `RSS ${Math.round(s.rssBytes / 1048576)} MiB is over the hard limit: restarting from the checkpoint`,
          );
          outcome = 'restart';
          break;
        }
      }
      if (this.waiting.size > 0) this.startReady();
      if (now - lastReconcile >= (this.dirty ? 50 : 1000)) {
        for (const c of this.collectors) c.reconcile(now);
        lastReconcile = now;
        this.dirty = false;
      }
      const batches: Batch[] = [];
      const budget = Math.max(64 * 1024, Math.floor(this.o.passBudgetBytes * this.monitor.throttle));
      let read = 0;
      for (const c of this.collectors) {
        const d = this.deliveries.get(c.config.logstore)!;
        read += c.readPass(now, budget - read, () => d.accepting, batches);
      }
      this.metrics.readPaused = [...this.deliveries.values()].some((d) => !d.accepting) ? 1 : 0;
      this.store.flush(batches.length > 0); // intents durable before any batch leaves
      for (const b of batches) this.deliveries.get(b.logstore)!.submit(b);
      // Adaptive ticks: an idle agent writes its status every 10 s instead of every second, and sleeps until the next
      // reconciliation when no file has anything to read (watch events and acknowledgements still wake it).
      const m = this.metrics;
      let tracked = 0;
      for (const c of this.collectors) tracked += c.trackedCount;
      const activity = `${m.readBytes}/${m.sentBatches}/${m.lostBytes}/${this.store.pending.size}/${this.collectors.length}/${tracked}`;
      if (now - lastStatus >= (activity !== lastActivity ? 1000 : 10_000)) {
        lastStatus = now;
        lastActivity = activity;
        this.writeStatus();
      }
      if (read > 0 && this.monitor.throttle >= 1) await new Promise((r) => setImmediate(r));
      else if (read > 0) await this.sleep(Math.round(100 * (1 / this.monitor.throttle - 1)));
      else if (this.collectors.some((c) => c.hasWork)) await this.sleep(200);
      else await this.sleep(Math.max(50, 1000 - (Date.now() - lastReconcile)));
    }
    this.stopping = true;
    this.heartbeatWake?.();
    this.o.remote?.source.close(); // an in-flight heartbeat fails at once
    await beating;
    await this.shutdown();
    return outcome;
  }

  /** Per-file progress and counters in `<data>/status.json`, for `sluice agent status`. */
  private writeStatus(): void {
    let lag = 0;
    let tracked = 0;
    for (const c of this.collectors) {
      lag += c.lagBytes;
      tracked += c.trackedCount;
    }
    const spools = this.spoolStats();
    this.metrics.lagBytes = lag;
    this.metrics.filesTracked = tracked;
    this.metrics.spoolBytes = spools.bytes;
    this.metrics.spoolCount = spools.count;
    const committed = new Map([...this.store.files.values()].map((f) => [f.fileId, f.committed]));
    const status = {
      pid: process.pid,
      updatedAt: new Date().toISOString(),
      endpoint: this.o.endpoint,
      project: this.o.project,
      metricsUrl: this.metricsUrl,
      files: this.collectors.flatMap((c) =>
        c.progress().map((p) => ({ config: c.config.configName, ...p, committed: committed.get(p.fileId) ?? 0 })),
      ),
      pendingBatches: this.store.pending.size,
      counters: this.metrics.toJSON(),
    };
    try {
      // Informational only: rename keeps readers from seeing a torn file; no fsync needed.
      const path = join(this.o.dataDir, 'status.json');
      writeFileSync(`${path}.tmp`, JSON.stringify(status));
      renameSync(`${path}.tmp`, path);
    } catch (err) {
      this.o.log(`status: ${(err as Error).message}`);
    }
  }

  private spoolStats(): { bytes: number; count: number } {
    let bytes = 0;
    let count = 0;
    for (const d of this.deliveries.values()) {
      const s = d.spoolStats();
      bytes += s.bytes;
      count += s.count;
    }
    return { bytes, count };
  }

  stop(): void {
    this.stopping = true;
    this.wake();
    this.heartbeatWake?.();
  }

  /** Waits (bounded) for in-flight sends, then writes a final snapshot. */
  private async shutdown(): Promise<void> {
    const deadline = Date.now() + 5_000;
    for (const d of this.deliveries.values()) {
      while (!d.inMemoryIdle && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      d.close();
    }
    this.writeStatus();
    for (const c of this.collectors) c.close();
    this.store.close();
    this.client.close();
    await new Promise<void>((done) => (this.metricsServer ? this.metricsServer.close(() => done()) : done()));
  }
}
