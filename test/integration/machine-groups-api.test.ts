/**
 * Machine groups, Logtail configs and agent heartbeats against a real `sluice serve` (sls-api.md §5.10, docs/api.md):
 * the official `aliyun-sdk` (N2) for every call it has, our signed client for the heartbeat extension. Fails if a
 * call is missing or answers another shape, if a bad config is accepted, if membership by IP or user-defined id is
 * wrong, or if the documents outlive their project.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SlsClient } from '../../src/client/sls-client.js';
import { type N2Client, type N2Error, type N2Response, openN2 } from '../helpers/alicloud-log.js';
import { removeDir, type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { assertEmptyOk, assertSlsError, jsonOf, testClient } from '../helpers/sls-kit.js';

const project = 'mg-proj';

/** The config from sls-api.md §5.10, less the keys aliyun-sdk's schema refuses (it checks keys strictly). */
function nginxConfig(name: string, logstore = 'access'): Record<string, unknown> {
  return {
    configName: name,
    inputType: 'file',
    inputDetail: {
      logType: 'common_reg_log',
      logPath: '/var/log/nginx',
      filePattern: 'access*.log',
      localStorage: true,
      timeFormat: '%d/%b/%Y:%H:%M:%S',
      logBeginRegex: '.*',
      regex: '(\\S+) - (\\S+) \\[([^\\]]+)\\] "(\\w+) ([^"]*)" (\\d+)',
      key: ['remote_addr', 'remote_user', 'time_local', 'method', 'url', 'status'],
      filterKey: [],
      filterRegex: [],
      topicFormat: 'none',
      preserve: true,
      preserveDepth: 1,
      fileEncoding: 'utf8',
    },
    outputType: 'LogService',
    outputDetail: { logstoreName: logstore },
    logSample: '127.0.0.1 - - [10/Jan/2025:08:00:00 +0800] "GET / HTTP/1.1" 200',
  };
}

describe('machine groups and Logtail configs', () => {
  let server: ServerProcess;
  let n2: N2Client;
  let raw: SlsClient;

  const call = (method: string, params: Record<string, unknown>): Promise<N2Response> =>
    n2.call(method, { projectName: project, ...params });

  const rejectsWith = (p: Promise<unknown>, status: number, code: string, message?: RegExp): Promise<void> =>
    assert.rejects(p, (err: unknown) => {
      const e = err as N2Error;
      assert.equal(e.code, status, `status (${String(e.errorMessage)})`);
      assert.equal(e.errorCode, code, `errorCode (${String(e.errorMessage)})`);
      if (message) assert.match(String(e.errorMessage), message);
      return true;
    });

  const send = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, p = project) =>
    raw.send({
      method,
      project: p,
      path,
      ...(body !== undefined ? { body: Buffer.from(JSON.stringify(body)) } : {}),
    });

  const heartbeat = async (body: Record<string, unknown>) => {
    const res = await send('POST', '/logtail/heartbeat', body);
    assert.equal(res.status, 200, res.body.toString());
    return jsonOf<{ etag: string; changed: boolean; groups: string[]; configs?: Record<string, unknown>[] }>(res);
  };

  before(async () => {
    // A short stale threshold (limits.agentStaleMs) so the test sees a machine go stale.
    server = await startServerProcess({ config: { limits: { agentStaleMs: 3000 } } });
    n2 = openN2(server.port);
    raw = testClient(server.url);
    assertEmptyOk(
      await raw.send({ method: 'POST', path: '/', body: Buffer.from(JSON.stringify({ projectName: project })) }),
    );
  });

  after(async () => {
    raw?.close();
    n2?.close();
    await server?.stop();
    if (server) await removeDir(server.dataDir);
  });

  test('machine group CRUD through aliyun-sdk, in the SLS shapes', async () => {
    const detail = {
      groupName: 'web',
      groupType: '',
      machineIdentifyType: 'userdefined',
      groupAttribute: { externalName: 'ext', groupTopic: 'topic-a' },
      machineList: ['web-frontend', 'web-backend'],
    };
    await call('createMachineGroup', { machineGroupDetail: detail });
    await rejectsWith(call('createMachineGroup', { machineGroupDetail: detail }), 400, 'MachineGroupAlreadyExist');
    const got = (await call('getMachineGroup', { groupName: 'web' })).body as Record<string, unknown>;
    assert.deepEqual(
      { ...got, createTime: 0, lastModifyTime: 0 },
      { ...detail, createTime: 0, lastModifyTime: 0 },
      'GetMachineGroup echoes the group',
    );
    assert.equal(typeof got['createTime'], 'number');
    await call('createMachineGroup', {
      machineGroupDetail: {
        groupName: 'by-ip',
        machineIdentifyType: 'ip',
        groupAttribute: {},
        machineList: ['10.9.8.7'],
      },
    });
    const list = (await call('listMachineGroup', { offset: 0, size: 10 })).body;
    assert.deepEqual(list, { count: 2, total: 2, machinegroups: ['by-ip', 'web'] });
    const filtered = (await call('listMachineGroup', { groupName: 'we' })).body;
    assert.deepEqual(filtered, { count: 1, total: 1, machinegroups: ['web'] });

    await call('updateMachineGroup', {
      groupName: 'web',
      machineGroupDetail: { ...detail, machineList: ['web-frontend'] },
    });
    const updated = (await call('getMachineGroup', { groupName: 'web' })).body as { machineList: string[] };
    assert.deepEqual(updated.machineList, ['web-frontend']);

    await rejectsWith(call('getMachineGroup', { groupName: 'nope' }), 404, 'MachineGroupNotExist');
    await rejectsWith(call('deleteMachineGroup', { groupName: 'nope' }), 404, 'MachineGroupNotExist');
    await rejectsWith(
      call('createMachineGroup', {
        machineGroupDetail: { groupName: 'bad', machineIdentifyType: 'mac', groupAttribute: {}, machineList: [] },
      }),
      400,
      'ParameterInvalid',
      /machineIdentifyType/,
    );
    assertSlsError(await send('POST', '/machinegroups', { groupName: 'a/b' }), 400, 'ParameterInvalid');
    assertSlsError(
      await send('PUT', '/machinegroups/web', { ...detail, groupName: 'other' }),
      400,
      'ParameterInvalid',
      'groupName in the body must match the path',
    );
  });

  test('Logtail config CRUD through aliyun-sdk, checked by the agent parser', async () => {
    await call('createConfig', { configDetail: nginxConfig('nginx') });
    await rejectsWith(call('createConfig', { configDetail: nginxConfig('nginx') }), 400, 'ConfigAlreadyExist');
    const got = (await call('getConfig', { configName: 'nginx' })).body as Record<string, unknown>;
    const want = nginxConfig('nginx');
    for (const k of Object.keys(want)) assert.deepEqual(got[k], want[k], `GetConfig ${k}`);
    assert.equal(typeof got['createTime'], 'number');
    assert.equal(typeof got['lastModifyTime'], 'number');
    assert.deepEqual((await call('listConfig', { offset: 0, size: 100 })).body, {
      count: 1,
      total: 1,
      configs: ['nginx'],
    });

    // The agent's parser names the field and says how to fix it.
    const bad = nginxConfig('bad');
    (bad['inputDetail'] as Record<string, unknown>)['filePattern'] = 'sub/access.log';
    await rejectsWith(call('createConfig', { configDetail: bad }), 400, 'ParameterInvalid', /inputDetail\.filePattern/);
    const badKeys = nginxConfig('bad2');
    (badKeys['inputDetail'] as Record<string, unknown>)['key'] = ['only-one'];
    await rejectsWith(call('createConfig', { configDetail: badKeys }), 400, 'ParameterInvalid', /inputDetail\.key/);
    assertSlsError(
      await send('POST', '/configs', { ...nginxConfig('x'), outputDetail: {} }),
      400,
      'ParameterInvalid',
      'a config without a logstore',
    );
    assertSlsError(await send('POST', '/configs', '[1]'), 400, 'PostBodyInvalid');
    // Keys the SDK schema lacks (the agent's own) are kept verbatim.
    const rich = nginxConfig('rich');
    Object.assign(rich['inputDetail'] as object, { maxDepth: 3, tailExisted: true, discardUnmatch: false });
    assertEmptyOk(await send('POST', '/configs', rich));
    const richGot = jsonOf<{ inputDetail: Record<string, unknown> }>(await send('GET', '/configs/rich'));
    assert.deepEqual(richGot.inputDetail, rich['inputDetail']);
    assertEmptyOk(await send('DELETE', '/configs/rich'));

    const changed = nginxConfig('nginx', 'access2');
    await call('updateConfig', { configName: 'nginx', configDetail: changed });
    const after = (await call('getConfig', { configName: 'nginx' })).body as { outputDetail: { logstoreName: string } };
    assert.equal(after.outputDetail.logstoreName, 'access2');
    await rejectsWith(
      call('updateConfig', { configName: 'missing', configDetail: nginxConfig('missing') }),
      404,
      'ConfigNotExist',
    );
    await rejectsWith(call('getConfig', { configName: 'missing' }), 404, 'ConfigNotExist');
  });

  test('apply, applied configs and groups, remove, delete detaches', async () => {
    await call('createConfig', { configDetail: nginxConfig('second', 'other') });
    await call('applyConfigToMachineGroup', { groupName: 'web', configName: 'nginx' });
    await call('applyConfigToMachineGroup', { groupName: 'web', configName: 'nginx' }); // idempotent
    await call('applyConfigToMachineGroup', { groupName: 'web', configName: 'second' });
    await call('applyConfigToMachineGroup', { groupName: 'by-ip', configName: 'nginx' });
    assert.deepEqual((await call('getAppliedConfigs', { groupName: 'web' })).body, {
      count: 2,
      configs: ['nginx', 'second'],
    });
    assert.deepEqual((await call('getAppliedMachineGroups', { configName: 'nginx' })).body, {
      count: 2,
      machinegroups: ['by-ip', 'web'],
    });
    await rejectsWith(
      call('applyConfigToMachineGroup', { groupName: 'web', configName: 'missing' }),
      404,
      'ConfigNotExist',
    );
    await rejectsWith(
      call('applyConfigToMachineGroup', { groupName: 'missing', configName: 'nginx' }),
      404,
      'MachineGroupNotExist',
    );
    await rejectsWith(call('getAppliedConfigs', { groupName: 'missing' }), 404, 'MachineGroupNotExist');
    await rejectsWith(call('getAppliedMachineGroups', { configName: 'missing' }), 404, 'ConfigNotExist');

    await call('removeConfigFromMachineGroup', { groupName: 'by-ip', configName: 'nginx' });
    assert.deepEqual((await call('getAppliedMachineGroups', { configName: 'nginx' })).body, {
      count: 1,
      machinegroups: ['web'],
    });
    // Deleting a config takes it off every group.
    await call('deleteConfig', { configName: 'second' });
    assert.deepEqual((await call('getAppliedConfigs', { groupName: 'web' })).body, { count: 1, configs: ['nginx'] });
    await rejectsWith(call('deleteConfig', { configName: 'second' }), 404, 'ConfigNotExist');
  });

  test('heartbeats: configs of the agent groups with an etag, ListMachines, status', async () => {
    const status = {
      configs: [{ configName: 'nginx', logstore: 'access2', files: 1, lagBytes: 5, errors: 1, droppedBytes: 7 }],
      files: [{ configName: 'nginx', path: '/var/log/nginx/access.log', size: 10, offset: 10, committed: 5 }],
      counters: { sentLogs: 3 },
    };
    const first = await heartbeat({
      instanceId: 'agent-1',
      ip: '10.0.0.1',
      hostname: 'host-1',
      userDefinedIds: ['web-frontend'],
      version: 'test',
      status,
    });
    assert.equal(first.changed, true);
    assert.deepEqual(first.groups, ['web']);
    assert.deepEqual(
      first.configs?.map((c) => [c['configName'], (c['outputDetail'] as { logstoreName: string }).logstoreName]),
      [['nginx', 'access2']],
    );
    const again = await heartbeat({
      instanceId: 'agent-1',
      ip: '10.0.0.1',
      userDefinedIds: ['web-frontend'],
      configEtag: first.etag,
      status,
    });
    assert.deepEqual({ ...again, etag: '' }, { etag: '', changed: false, groups: ['web'], heartbeatIntervalSec: 5 });
    assert.equal(again.etag, first.etag);

    // An agent by IP only belongs to the ip group; with the config removed from it, it gets none.
    const byIp = await heartbeat({ instanceId: 'agent-2', ip: '10.9.8.7', hostname: 'host-2' });
    assert.deepEqual(byIp.groups, ['by-ip']);
    assert.deepEqual(byIp.configs, []);
    await call('applyConfigToMachineGroup', { groupName: 'by-ip', configName: 'nginx' });
    const byIp2 = await heartbeat({ instanceId: 'agent-2', ip: '10.9.8.7', configEtag: byIp.etag });
    assert.equal(byIp2.changed, true);
    assert.notEqual(byIp2.etag, byIp.etag);
    assert.deepEqual(
      byIp2.configs?.map((c) => c['configName']),
      ['nginx'],
    );

    // A config change changes the etag of every agent that has it.
    await call('updateConfig', { configName: 'nginx', configDetail: nginxConfig('nginx', 'access3') });
    const third = await heartbeat({ instanceId: 'agent-1', userDefinedIds: ['web-frontend'], configEtag: first.etag });
    assert.equal(third.changed, true);
    assert.equal((third.configs![0]!['outputDetail'] as { logstoreName: string }).logstoreName, 'access3');

    const machines = (await call('listMachines', { groupName: 'web', offset: 0, size: 10 })).body as {
      count: number;
      total: number;
      machines: Record<string, unknown>[];
    };
    assert.equal(machines.total, 1);
    const m = machines.machines[0]!;
    assert.equal(m['machine-uniqueid'], 'agent-1');
    assert.equal(m['userdefined-id'], 'web-frontend');
    assert.equal(m['hostname'], '', 'the last heartbeat sent no hostname');
    assert.equal(m['state'], 'ok');
    assert.ok(Math.abs(Number(m['lastHeartbeatTime']) - Date.now() / 1000) < 120, 'lastHeartbeatTime is now');
    assert.deepEqual(m['status'], { configs: 0, files: 0, lagBytes: 0, errors: 0, droppedBytes: 0 });
    const ipMachines = jsonOf<{ machines: { ip: string }[] }>(await send('GET', '/machinegroups/by-ip/machines'));
    assert.deepEqual(
      ipMachines.machines.map((x) => x.ip),
      ['10.9.8.7'],
    );

    await heartbeat({
      instanceId: 'agent-1',
      ip: '10.0.0.1',
      hostname: 'host-1',
      userDefinedIds: ['web-frontend'],
      status,
    });
    const detail = jsonOf<Record<string, unknown>>(await send('GET', '/logtail/machines/agent-1'));
    assert.equal(detail['hostname'], 'host-1');
    assert.deepEqual(detail['groups'], ['web']);
    assert.deepEqual(detail['status'], { configs: 1, files: 1, lagBytes: 5, errors: 1, droppedBytes: 7 });
    assert.deepEqual(detail['detail'], status);
    const all = jsonOf<{ total: number; machines: { 'machine-uniqueid': string }[] }>(
      await send('GET', '/logtail/machines'),
    );
    assert.equal(all.total, 2);
    assert.deepEqual(all.machines.map((x) => x['machine-uniqueid']).sort(), ['agent-1', 'agent-2']);

    assertSlsError(await send('GET', '/logtail/machines/nobody'), 404, 'MachineNotExist');
    assertSlsError(await send('POST', '/logtail/heartbeat', { instanceId: 'a b' }), 400, 'ParameterInvalid');
    assertSlsError(await send('POST', '/logtail/heartbeat', { instanceId: 'x', status: [] }), 400, 'ParameterInvalid');
    assertSlsError(
      await send('POST', '/logtail/heartbeat', { instanceId: 'x' }, 'no-such-project'),
      404,
      'ProjectNotExist',
    );
    await rejectsWith(call('listMachines', { groupName: 'missing' }), 404, 'MachineGroupNotExist');
  });

  test('topicFormat group_topic: the agent gets the group topic as a fixed topic', async () => {
    assertEmptyOk(
      await send('POST', '/machinegroups', {
        groupName: 'topical',
        machineIdentifyType: 'userdefined',
        groupAttribute: { groupTopic: 'blue' },
        machineList: ['topic-agent'],
      }),
    );
    const cfg = nginxConfig('by-group-topic');
    (cfg['inputDetail'] as Record<string, unknown>)['topicFormat'] = 'group_topic';
    assertEmptyOk(await send('POST', '/configs', cfg));
    assertEmptyOk(await send('PUT', '/machinegroups/topical/configs/by-group-topic'));
    const got = await heartbeat({ instanceId: 'agent-4', userDefinedIds: ['topic-agent'] });
    assert.equal((got.configs![0]!['inputDetail'] as { topicFormat: string }).topicFormat, 'customized://blue');
    // GetConfig still answers what was posted.
    const stored = jsonOf<{ inputDetail: { topicFormat: string } }>(await send('GET', '/configs/by-group-topic'));
    assert.equal(stored.inputDetail.topicFormat, 'group_topic');
  });

  test('a machine that stops heartbeating shows as stale', async () => {
    await heartbeat({ instanceId: 'agent-3', ip: '10.9.8.7' });
    const state = async () => jsonOf<{ state: string }>(await send('GET', '/logtail/machines/agent-3')).state;
    assert.equal(await state(), 'ok');
    const deadline = Date.now() + 15_000;
    while ((await state()) !== 'stale' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.equal(await state(), 'stale');
    await heartbeat({ instanceId: 'agent-3', ip: '10.9.8.7' });
    assert.equal(await state(), 'ok', 'a new heartbeat makes it fresh again');
  });

  test('everything goes with its project', async () => {
    assertEmptyOk(await send('DELETE', '/'));
    assertEmptyOk(
      await raw.send({ method: 'POST', path: '/', body: Buffer.from(JSON.stringify({ projectName: project })) }),
    );
    assert.deepEqual((await call('listMachineGroup', {})).body, { count: 0, total: 0, machinegroups: [] });
    assert.deepEqual((await call('listConfig', {})).body, { count: 0, total: 0, configs: [] });
    assert.deepEqual(jsonOf(await send('GET', '/logtail/machines')), { count: 0, total: 0, machines: [] });
    await rejectsWith(call('getConfig', { configName: 'nginx' }), 404, 'ConfigNotExist');
  });
});
