/**
 * Virtual-host addressing (sls-api.md §1.2): the project is the label in front of a configured endpoint suffix; the
 * port is ignored (Python omits it, Node sends it); a bare endpoint or IP names no project.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_ENDPOINTS } from '../../../src/server/config.js';
import { projectFromHost } from '../../../src/server/host.js';

const DEFAULTS: readonly string[] = DEFAULT_ENDPOINTS;

describe('projectFromHost', () => {
  const cases: [string | undefined, string | undefined][] = [
    // Node SDK: project.endpoint:port
    ['proj.localhost:7000', 'proj'],
    ['proj.localhost', 'proj'],
    // Python SDK: project.host without the port
    ['proj.127.0.0.1', 'proj'],
    ['proj.127.0.0.1:18081', 'proj'],
    ['proj.sls.local:7000', 'proj'],
    // Bare endpoints and IPs: account-level calls, no project
    ['localhost:7000', undefined],
    ['localhost', undefined],
    ['127.0.0.1:7000', undefined],
    ['127.0.0.1', undefined],
    ['10.1.2.3:7000', undefined],
    ['sls.local', undefined],
    // aliyun-sdk CreateProject sends Host: undefined.<hostname>; the route takes the name from the body
    ['undefined.sls.local', 'undefined'],
    ['undefined.localhost:7000', 'undefined'],
    // IPv6 literals carry no project label
    ['[::1]:7000', undefined],
    ['[::1]', undefined],
    // Trailing dot (fully qualified) and upper case
    ['proj.localhost.', 'proj'],
    ['proj.localhost.:7000', 'proj'],
    ['localhost.', undefined],
    ['Proj.LocalHost:7000', 'proj'],
    ['MY-PROJ.127.0.0.1', 'my-proj'],
    // A deeper name under a configured suffix is not a project
    ['a.b.localhost', undefined],
    // Missing or empty
    [undefined, undefined],
    ['', undefined],
    ['myhost:7000', undefined],
  ];
  for (const [host, expected] of cases) {
    test(`${JSON.stringify(host)} → ${String(expected)}`, () => {
      assert.equal(projectFromHost(host, DEFAULTS), expected);
    });
  }

  test('a regional SLS domain: the first label is the project, with or without that suffix configured', () => {
    assert.equal(projectFromHost('proj.cn-hangzhou.log.aliyuncs.com', DEFAULTS), 'proj');
    const configured = [...DEFAULTS, 'cn-hangzhou.log.aliyuncs.com'];
    assert.equal(projectFromHost('proj.cn-hangzhou.log.aliyuncs.com', configured), 'proj');
    assert.equal(projectFromHost('proj.cn-hangzhou.log.aliyuncs.com:443', configured), 'proj');
    assert.equal(projectFromHost('cn-hangzhou.log.aliyuncs.com', configured), undefined, 'the bare endpoint');
    assert.equal(projectFromHost('CN-HANGZHOU.LOG.ALIYUNCS.COM.', configured), undefined);
  });

  test('the most specific configured suffix wins, whatever the configuration order', () => {
    for (const endpoints of [
      ['example.com', 'sls.example.com'],
      ['sls.example.com', 'example.com'],
    ]) {
      assert.equal(projectFromHost('proj.sls.example.com:7000', endpoints), 'proj', endpoints.join(','));
      assert.equal(projectFromHost('sls.example.com', endpoints), undefined, endpoints.join(','));
      assert.equal(projectFromHost('other.example.com', endpoints), 'other', endpoints.join(','));
    }
  });
});
