/**
 * The official `aliyun-sdk` (N2, `ALY.SLS`) against a real `sluice serve` process (sls-api.md §1.3): a hostname
 * endpoint plus an agent that always dials the server, because N2 drops the port. Projects, logstores, shards,
 * deflate PutLogs, GetCursor by time, BatchGetLogs through its pomelo-protobuf decoder, split and merge, cursor
 * arithmetic, and reading a readonly parent after a split. N2 has no DeleteShard, GetCursor begin/end or
 * GetCursorTime: those go through our signed client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SlsClient } from '../../src/client/sls-client.js';
import { arrayBody, type N2Client, type N2Error, type N2Response, openN2 } from '../helpers/alicloud-log.js';
import { removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import {
  assertEmptyOk,
  assertSlsError,
  cursorSeq,
  getCursor,
  jsonOf,
  plainGroup,
  pullShard,
  seqCursor,
  testClient,
} from '../helpers/sls-kit.js';

interface N2Log {
  readonly time: number;
  readonly contents: readonly { readonly key: string; readonly value: string }[];
}
interface N2LogGroup {
  readonly logs: readonly N2Log[];
  readonly topic?: string;
  readonly source?: string;
}
interface ShardJson {
  readonly shardID: number;
  readonly status: string;
  readonly inclusiveBeginKey: string;
  readonly exclusiveEndKey: string;
  readonly createTime: number;
}

describe('aliyun-sdk (N2) against sluice serve', () => {
  let server: ServerProcess;
  let n2: N2Client;
  let raw: SlsClient;
  const project = 'n2-proj';

  const call = (method: string, params: unknown): Promise<N2Response> => n2.call(method, params);

  /** N2 errors: `code` is the HTTP status, the JSON body's `errorCode` is merged in. */
  const rejectsWith = (p: Promise<unknown>, status: number, code: string): Promise<void> =>
    assert.rejects(p, (err: unknown) => {
      const e = err as N2Error;
      assert.equal(e.code, status, `status (${String(e.errorMessage)})`);
      assert.equal(e.errorCode, code, `errorCode (${String(e.errorMessage)})`);
      assert.match(String(e.request_id), /^[0-9A-F]{24}$/);
      return true;
    });

  const put = (logstore: string, logGroup: N2LogGroup) =>
    call('putLogs', { projectName: project, logStoreName: logstore, logGroup });

  const batchGet = async (logstore: string, shard: number, cursor: string, count: number, endCursor?: string) => {
    const data = await call('batchGetLogs', {
      projectName: project,
      logStoreName: logstore,
      ShardId: shard,
      cursor,
      count,
      ...(endCursor !== undefined ? { end_cursor: endCursor } : {}),
    });
    const body = data.body as { logGroupList?: N2LogGroup[] };
    return { headers: data.headers, groups: body.logGroupList ?? [] };
  };

  const shards = async (logstore: string) =>
    arrayBody<ShardJson>((await call('listShards', { projectName: project, logStoreName: logstore })).body);

  before(async () => {
    server = await startServerProcess();
    n2 = openN2(server.port);
    raw = testClient(server.url);
  });

  after(async () => {
    raw?.close();
    n2?.close();
    if (server) {
      await server.stop();
      await removeDir(server.dataDir);
    }
  });

  test('projects: createProject (Host undefined.<endpoint>), getProject, listProject, errors', async () => {
    const created = await call('createProject', { projectDetail: { projectName: project, description: 'N2 ✓' } });
    assert.match(created.request_id ?? '', /^[0-9A-F]{24}$/);
    assert.equal(created.headers['content-type'], undefined, 'empty success has no content type');
    await call('createProject', { projectDetail: { projectName: 'n2-other', description: '' } });
    await rejectsWith(
      call('createProject', { projectDetail: { projectName: project, description: 'again' } }),
      400,
      'ProjectAlreadyExist',
    );

    const got = (await call('getProject', { projectName: project })).body as Record<string, unknown>;
    assert.equal(got['projectName'], project);
    assert.equal(got['description'], 'N2 ✓');
    assert.equal(got['status'], 'Normal');
    await rejectsWith(call('getProject', { projectName: 'n2-missing' }), 404, 'ProjectNotExist');

    const list = (await call('listProject', {})).body as { count: number; total: number; projects: unknown };
    assert.equal(list.total, 2);
    assert.equal(list.count, 2);
    assert.deepEqual(
      arrayBody<{ projectName: string }>(list.projects).map((p) => p.projectName),
      ['n2-other', project],
    );
    const paged = (await call('listProject', { offset: 1, size: 1 })).body as {
      count: number;
      total: number;
      projects: unknown;
    };
    assert.equal(paged.count, 1);
    assert.equal(paged.total, 2);
    assert.deepEqual(
      arrayBody<{ projectName: string }>(paged.projects).map((p) => p.projectName),
      [project],
    );
    const filtered = (await call('listProject', { projectName: 'other' })).body as { total: number; projects: unknown };
    assert.equal(filtered.total, 1);
    assert.deepEqual(
      arrayBody<{ projectName: string }>(filtered.projects).map((p) => p.projectName),
      ['n2-other'],
    );
  });

  test('logstores: create, get, list, update, duplicate, missing, delete', async () => {
    await call('createLogstore', {
      projectName: project,
      logstoreDetail: { logstoreName: 'events', ttl: 5, shardCount: 2 },
    });
    await call('createLogstore', {
      projectName: project,
      logstoreDetail: { logstoreName: 'single', ttl: 30, shardCount: 1 },
    });
    await call('createLogstore', {
      projectName: project,
      logstoreDetail: { logstoreName: 'doomed', ttl: 1, shardCount: 1 },
    });
    await rejectsWith(
      call('createLogstore', {
        projectName: project,
        logstoreDetail: { logstoreName: 'events', ttl: 5, shardCount: 2 },
      }),
      400,
      'LogStoreAlreadyExist',
    );
    await rejectsWith(
      call('createLogstore', {
        projectName: 'n2-missing',
        logstoreDetail: { logstoreName: 'x-y', ttl: 5, shardCount: 2 },
      }),
      404,
      'ProjectNotExist',
    );
    const ls = (await call('getLogstore', { projectName: project, LogStoreName: 'events' })).body as Record<
      string,
      unknown
    >;
    assert.equal(ls['logstoreName'], 'events');
    assert.equal(ls['ttl'], 5);
    assert.equal(ls['shardCount'], 2);
    await rejectsWith(call('getLogstore', { projectName: project, LogStoreName: 'nope-ls' }), 404, 'LogStoreNotExist');

    const list = (await call('listLogStores', { projectName: project })).body as { count: number; logstores: unknown };
    assert.equal(list.count, 3);
    assert.deepEqual(arrayBody<string>(list.logstores), ['doomed', 'events', 'single']);

    await call('updateLogstore', {
      projectName: project,
      logstoreName: 'events',
      logstoreDetail: { logstoreName: 'events', ttl: 9, shardCount: 2 },
    });
    const updated = (await call('getLogstore', { projectName: project, LogStoreName: 'events' })).body as Record<
      string,
      unknown
    >;
    assert.equal(updated['ttl'], 9);

    await call('deleteLogstore', { projectName: project, LogStoreName: 'doomed' });
    await rejectsWith(call('getLogstore', { projectName: project, LogStoreName: 'doomed' }), 404, 'LogStoreNotExist');
    await rejectsWith(
      call('deleteLogstore', { projectName: project, LogStoreName: 'doomed' }),
      404,
      'LogStoreNotExist',
    );
  });

  test('listShards: two shards tiling the hash space', async () => {
    const list = await shards('events');
    assert.deepEqual(
      list.map((s) => [s.shardID, s.status, s.inclusiveBeginKey, s.exclusiveEndKey]),
      [
        [0, 'readwrite', '00000000000000000000000000000000', '80000000000000000000000000000000'],
        [1, 'readwrite', '80000000000000000000000000000000', 'ffffffffffffffffffffffffffffffff'],
      ],
    );
    for (const s of list) assert.ok(Number.isInteger(s.createTime) && s.createTime > 1_600_000_000);
    await rejectsWith(call('listShards', { projectName: project, logStoreName: 'nope-ls' }), 404, 'LogStoreNotExist');
  });

  test('putLogs (deflate) and batchGetLogs: exact round trip through both SDK decoders', async () => {
    const groups: N2LogGroup[] = [
      {
        logs: [
          {
            time: 1_700_000_000,
            contents: [
              { key: 'msg', value: 'hello 😀 日本語 \n\t"quoted" \\ end' },
              { key: 'empty', value: '' },
              { key: 'ключ', value: 'значение' },
              { key: 'nul', value: 'a\u0000b' },
            ],
          },
          { time: 1_700_000_001, contents: [{ key: 'n', value: '2' }] },
        ],
        topic: 'n2-topic',
        source: '192.168.1.7',
      },
      { logs: [{ time: 0, contents: [{ key: 'zero', value: 'time' }] }] },
      { logs: [{ time: 4_294_967_295, contents: [{ key: 'big', value: 'y'.repeat(100_000) }] }], topic: '' },
    ];
    for (const g of groups) {
      const res = await put('single', g);
      assert.equal(res.headers['content-type'], undefined);
      assert.match(res.request_id ?? '', /^[0-9A-F]{24}$/);
    }

    // GetCursor by time 0 is the beginning (N2 allows only numbers for `from`).
    const begin = (
      (await call('getCursor', { projectName: project, logStoreName: 'single', ShardId: 0, FromTime: 0 })).body as {
        cursor: string;
      }
    ).cursor;
    assert.equal(begin, await getCursor(raw, project, 'single', 0, 'begin'));

    const got = await batchGet('single', 0, begin, 100);
    assert.equal(got.headers['x-log-count'], '3');
    assert.equal(got.headers['content-type'], 'application/x-protobuf');
    const expected = groups.map((g) => ({
      logs: g.logs.map((l) => ({ time: l.time, contents: l.contents.map((c) => ({ key: c.key, value: c.value })) })),
      ...(g.topic !== undefined ? { topic: g.topic } : {}),
      ...(g.source !== undefined ? { source: g.source } : {}),
    }));
    assert.deepEqual(JSON.parse(JSON.stringify(got.groups)), expected);

    // The same bytes read by our decoder: the strings are real UTF-8, no TimeNs or tags were invented.
    const ours = await pullShard(raw, project, 'single', 0);
    assert.deepEqual(
      ours.map(plainGroup),
      groups.map((g) => ({
        logs: g.logs.map((l) => ({ time: l.time, contents: l.contents.map((c) => [c.key, c.value]) })),
        ...(g.topic !== undefined ? { topic: g.topic } : {}),
        ...(g.source !== undefined ? { source: g.source } : {}),
        tags: [],
      })),
    );

    await rejectsWith(put('nope-ls', groups[1]!), 404, 'LogStoreNotExist');
    await rejectsWith(
      put('single', { logs: [{ time: 1, contents: [{ key: '__topic__', value: 'reserved' }] }] }),
      400,
      'InvalidKey',
    );
    assert.equal((await pullShard(raw, project, 'single', 0)).length, 3, 'rejected puts wrote nothing');
  });

  test('cursors: consecutive integers, x-log-cursor = c + k, end_cursor, end of shard, GetCursorTime', async () => {
    const begin = await getCursor(raw, project, 'single', 0, 'begin');
    const end = await getCursor(raw, project, 'single', 0, 'end');
    const b = cursorSeq(begin);
    assert.equal(cursorSeq(end), b + 3n, 'three groups: end = begin + 3');

    // One group at a time: every next cursor is the previous + 1, and read-last-cursor is the decimal of the group.
    let c = begin;
    for (let i = 0; i < 3; i++) {
      const r = await batchGet('single', 0, c, 1);
      assert.equal(r.groups.length, 1);
      assert.equal(r.headers['x-log-count'], '1');
      assert.equal(r.headers['x-log-read-last-cursor'], (b + BigInt(i)).toString());
      const next = r.headers['x-log-cursor']!;
      assert.equal(cursorSeq(next), cursorSeq(c) + 1n);
      c = next;
    }
    assert.equal(c, end);

    // k groups at once from c: x-log-cursor = c + k.
    const two = await batchGet('single', 0, seqCursor(b + 1n), 2);
    assert.equal(two.groups.length, 2);
    assert.equal(two.headers['x-log-cursor'], end);
    assert.equal(two.groups[0]!.logs[0]!.time, 0);

    // end_cursor bounds the read (exclusive).
    const bounded = await batchGet('single', 0, begin, 100, seqCursor(b + 2n));
    assert.equal(bounded.groups.length, 2);
    assert.equal(bounded.headers['x-log-cursor'], seqCursor(b + 2n));

    // At the end: nothing, and the cursor stays.
    const atEnd = await batchGet('single', 0, end, 10);
    assert.equal(atEnd.groups.length, 0);
    assert.equal(atEnd.headers['x-log-count'], '0');
    assert.equal(atEnd.headers['x-log-cursor'], end);
    assert.equal(atEnd.headers['x-log-bodyrawsize'], '0');

    // Past the end: InvalidCursor.
    await rejectsWith(batchGet('single', 0, seqCursor(b + 4n), 1), 400, 'InvalidCursor');

    // GetCursorTime of each group, then GetCursor(from=t) = the first group received at or after t.
    const times: number[] = [];
    for (let i = 0n; i < 3n; i++) {
      const res = await raw.send({
        method: 'GET',
        project,
        path: '/logstores/single/shards/0',
        query: { type: 'cursor_time', cursor: seqCursor(b + i) },
      });
      const t = jsonOf<{ cursor_time: number }>(res).cursor_time;
      assert.ok(Number.isInteger(t) && t > 1_600_000_000, `cursor_time ${t}`);
      times.push(t);
    }
    assert.ok(times[0]! <= times[1]! && times[1]! <= times[2]!, 'receive times do not go back');
    for (const t of [...new Set(times)]) {
      const first = times.findIndex((x) => x >= t);
      const byTime = (
        (await call('getCursor', { projectName: project, logStoreName: 'single', ShardId: 0, FromTime: t })).body as {
          cursor: string;
        }
      ).cursor;
      assert.equal(cursorSeq(byTime), b + BigInt(first), `GetCursor from=${t}`);
    }
    const future = (
      (await call('getCursor', { projectName: project, logStoreName: 'single', ShardId: 0, FromTime: times[2]! + 1 }))
        .body as { cursor: string }
    ).cursor;
    assert.equal(future, end, 'a time after every group is the end cursor');
    await rejectsWith(
      call('getCursor', { projectName: project, logStoreName: 'single', ShardId: 7, FromTime: 0 }),
      404,
      'ShardNotExist',
    );
  });

  test('splitShard: parent readonly and still readable, writes go to the children; merge; delete readonly', async () => {
    // Data in shard 0 before the split.
    const before: N2LogGroup[] = [];
    for (let i = 0; i < 6; i++) {
      const g = { logs: [{ time: 1_700_000_000 + i, contents: [{ key: 'phase', value: `before-${i}` }] }] };
      before.push(g);
      await put('events', g);
    }
    const shard0Before = (await pullShard(raw, project, 'events', 0)).map((g) => g.logs[0]!.contents[0]!.value);
    assert.ok(shard0Before.length > 0, 'load balancing put some groups on shard 0');

    const split = arrayBody<ShardJson>(
      (
        await call('splitShard', {
          projectName: project,
          logStoreName: 'events',
          ShardId: 0,
          HashKey: '40000000000000000000000000000000',
        })
      ).body,
    );
    assert.deepEqual(
      split.map((s) => [s.shardID, s.status, s.inclusiveBeginKey, s.exclusiveEndKey]),
      [
        [0, 'readonly', '00000000000000000000000000000000', '80000000000000000000000000000000'],
        [2, 'readwrite', '00000000000000000000000000000000', '40000000000000000000000000000000'],
        [3, 'readwrite', '40000000000000000000000000000000', '80000000000000000000000000000000'],
      ],
    );
    assert.deepEqual(
      (await shards('events')).map((s) => [s.shardID, s.status]),
      [
        [0, 'readonly'],
        [1, 'readwrite'],
        [2, 'readwrite'],
        [3, 'readwrite'],
      ],
    );
    await rejectsWith(
      call('splitShard', {
        projectName: project,
        logStoreName: 'events',
        ShardId: 0,
        HashKey: '20000000000000000000000000000000',
      }),
      400,
      'ParameterInvalid',
    );
    await rejectsWith(
      call('splitShard', {
        projectName: project,
        logStoreName: 'events',
        ShardId: 1,
        HashKey: '10000000000000000000000000000000',
      }),
      400,
      'ParameterInvalid',
    );

    // Writes after the split never reach the readonly parent.
    for (let i = 0; i < 9; i++) {
      await put('events', { logs: [{ time: 1_700_000_100 + i, contents: [{ key: 'phase', value: `after-${i}` }] }] });
    }
    const begin0 = (
      (await call('getCursor', { projectName: project, logStoreName: 'events', ShardId: 0, FromTime: 0 })).body as {
        cursor: string;
      }
    ).cursor;
    const parent = await batchGet('events', 0, begin0, 100);
    assert.deepEqual(
      parent.groups.map((g) => g.logs[0]!.contents[0]!.value),
      shard0Before,
      'the readonly parent still serves exactly its old data',
    );
    const perChild = await Promise.all([1, 2, 3].map((s) => pullShard(raw, project, 'events', s)));
    const afterValues = perChild.flat().map((g) => g.logs[0]!.contents[0]!.value);
    assert.equal(afterValues.filter((v) => v.startsWith('after-')).length, 9);
    assert.ok(perChild[1]!.length > 0 && perChild[2]!.length > 0, 'both children take writes');
    const everything = [...shard0Before, ...afterValues].sort();
    assert.deepEqual(
      everything,
      [
        ...before.map((g) => g.logs[0]!.contents[0]!.value),
        ...afterValues.filter((v) => v.startsWith('after-')),
      ].sort(),
    );

    // Hash routing to the children by key.
    const routed = await raw.send({
      method: 'POST',
      project,
      path: '/logstores/events/shards/route',
      query: { key: '3fffffffffffffffffffffffffffffff' },
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ __logs__: [{ __time__: 1_700_000_500, phase: 'routed' }] })),
    });
    assertEmptyOk(routed, 'routed put');
    const child2 = await pullShard(raw, project, 'events', 2);
    assert.equal(child2[child2.length - 1]!.logs[0]!.contents[0]!.value, 'routed');

    // Merge the two children back (N2 mergeShards): both readonly, one new readwrite shard over their union.
    const merged = arrayBody<ShardJson>(
      (await call('mergeShards', { projectName: project, logStoreName: 'events', ShardId: 2 })).body,
    );
    assert.deepEqual(
      merged.map((s) => [s.shardID, s.status, s.inclusiveBeginKey, s.exclusiveEndKey]),
      [
        [2, 'readonly', '00000000000000000000000000000000', '40000000000000000000000000000000'],
        [3, 'readonly', '40000000000000000000000000000000', '80000000000000000000000000000000'],
        [4, 'readwrite', '00000000000000000000000000000000', '80000000000000000000000000000000'],
      ],
    );
    assert.equal((await pullShard(raw, project, 'events', 2)).length, child2.length, 'merged parent keeps its data');
    await rejectsWith(
      call('mergeShards', { projectName: project, logStoreName: 'events', ShardId: 2 }),
      400,
      'ParameterInvalid',
    );

    // DeleteShard (no N2 call) of a readonly shard; a readwrite one cannot be deleted.
    assertEmptyOk(await raw.send({ method: 'DELETE', project, path: '/logstores/events/shards/0' }), 'DeleteShard');
    assertSlsError(
      await raw.send({ method: 'DELETE', project, path: '/logstores/events/shards/1' }),
      400,
      'ParameterInvalid',
      'delete readwrite shard',
    );
    assert.deepEqual(
      (await shards('events')).map((s) => [s.shardID, s.status]),
      [
        [1, 'readwrite'],
        [2, 'readonly'],
        [3, 'readonly'],
        [4, 'readwrite'],
      ],
    );
    await rejectsWith(batchGet('events', 0, begin0, 1), 404, 'ShardNotExist');
  });
});
