import { inflateSync } from 'node:zlib';
import { type SlsClient, SlsClientError, type SlsResponse } from '../client/sls-client.js';
import { decodeCursor, encodeCursor } from '../protocol/cursor.js';
import { splitLogGroupList } from '../protocol/log-group.js';
import { lz4BlockDecompress } from '../protocol/lz4-block.js';
import { type ConsumerSource, type PullPage, pulledGroup, type ShardInfo } from './consumer-source.js';

/** A consumer group of any SLS-compatible endpoint, over the signed REST API (sls-api.md §5.8, §5.9). */
export class HttpConsumerSource implements ConsumerSource {
  private readonly base: string;

  constructor(
    private readonly client: SlsClient,
    private readonly project: string,
    logstore: string,
    private readonly group: string,
  ) {
    this.base = `/logstores/${logstore}`;
  }

  async ensureGroup(timeoutSec: number, order: boolean): Promise<void> {
    try {
      await this.call('POST', `${this.base}/consumergroups`, undefined, {
        consumerGroup: this.group,
        timeout: timeoutSec,
        order,
      });
    } catch (err) {
      if (!(err instanceof SlsClientError && err.code === 'ConsumerGroupAlreadyExist')) throw err;
    }
  }

  async heartbeat(consumer: string, held: readonly number[]): Promise<number[]> {
    const res = await this.call('POST', this.groupPath(), { type: 'heartbeat', consumer }, held);
    return JSON.parse(res.body.toString('utf8')) as number[];
  }

  async checkpoints(): Promise<Map<number, number>> {
    const res = await this.call('GET', this.groupPath());
    const list = JSON.parse(res.body.toString('utf8')) as { shard: number; checkpoint: string }[];
    return new Map(list.filter((c) => c.checkpoint !== '').map((c) => [c.shard, decodeCursor(c.checkpoint)]));
  }

  async commit(consumer: string, shard: number, seq: number): Promise<void> {
    await this.call(
      'POST',
      this.groupPath(),
      { type: 'checkpoint', consumer, forceSuccess: 'true' },
      { shard, checkpoint: encodeCursor(seq) },
    );
  }

  async shards(): Promise<ShardInfo[]> {
    const res = await this.call('GET', `${this.base}/shards`);
    const list = JSON.parse(res.body.toString('utf8')) as { shardID: number; status: string }[];
    return list.map((s) => ({ id: s.shardID, readonly: s.status === 'readonly' }));
  }

  async cursor(shard: number, from: 'begin' | 'end'): Promise<number> {
    const res = await this.call('GET', `${this.base}/shards/${shard}`, { type: 'cursor', from });
    return decodeCursor((JSON.parse(res.body.toString('utf8')) as { cursor: string }).cursor);
  }

  async pull(
    shard: number,
    from: number,
    options: { count: number; maxBytes?: number; endSeq?: number },
  ): Promise<PullPage> {
    const res = await this.client.call({
      method: 'GET',
      project: this.project,
      path: `${this.base}/shards/${shard}`,
      query: {
        type: 'log',
        cursor: encodeCursor(from),
        count: String(options.count),
        ...(options.endSeq !== undefined ? { end_cursor: encodeCursor(options.endSeq) } : {}),
      },
      headers: { accept: 'application/x-protobuf', 'accept-encoding': 'lz4' },
    });
    const next = decodeCursor(header(res, 'x-log-cursor') ?? '');
    const rawSize = Number(header(res, 'x-log-bodyrawsize') ?? '0');
    const end = header(res, 'x-log-end-of-cursor') === '1' ? next : Number.MAX_SAFE_INTEGER;
    if (rawSize === 0) return { groups: [], next, end: next };
    const type = header(res, 'x-log-compresstype');
    const raw =
      type === 'lz4' ? lz4BlockDecompress(res.body, rawSize) : type === 'deflate' ? inflateSync(res.body) : res.body;
    const last = Number(header(res, 'x-log-read-last-cursor'));
    const parts = splitLogGroupList(raw);
    const firstSeq = Number.isSafeInteger(last) ? last - parts.length + 1 : from;
    const cursorTimeSec = Number(header(res, 'x-log-cursor-time') ?? '0');
    const groups = parts.map((bytes, i) => pulledGroup(firstSeq + i, cursorTimeSec * 1000, bytes));
    return { groups, next, end };
  }

  private groupPath(): string {
    return `${this.base}/consumergroups/${this.group}`;
  }

  private call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    query?: Record<string, string>,
    json?: unknown,
  ): Promise<SlsResponse> {
    return this.client.call({
      method,
      project: this.project,
      path,
      ...(query ? { query } : {}),
      ...(json !== undefined ? { body: Buffer.from(JSON.stringify(json)) } : {}),
    });
  }
}

function header(res: SlsResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
