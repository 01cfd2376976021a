import { useCallback, useEffect, useMemo, useState } from 'react';
import * as api from '../api.ts';
import { VirtualList } from '../components/VirtualList.tsx';

type Mode = 'line' | 'multiline' | 'json' | 'regex' | 'delimiter' | 'nginx' | 'apache';
const MODES: { id: Mode; label: string }[] = [
  { id: 'line', label: 'Single line' },
  { id: 'multiline', label: 'Multiline' },
  { id: 'json', label: 'JSON' },
  { id: 'regex', label: 'Regex' },
  { id: 'delimiter', label: 'Delimiter' },
  { id: 'nginx', label: 'nginx' },
  { id: 'apache', label: 'Apache' },
];

interface Form {
  configName: string;
  logstore: string;
  logPath: string;
  filePattern: string;
  maxDepth: number;
  mode: Mode;
  sample: string;
  logBeginRegex: string;
  regex: string;
  keys: string;
  separator: string;
  quote: string;
  timeKey: string;
  timeFormat: string;
  discardUnmatch: boolean;
}

const EMPTY: Form = {
  configName: '',
  logstore: '',
  logPath: '/var/log/app',
  filePattern: '*.log',
  maxDepth: 0,
  mode: 'line',
  sample: '',
  logBeginRegex: '\\d{4}-\\d{2}-\\d{2}.*',
  regex: '',
  keys: '',
  separator: ',',
  quote: '"',
  timeKey: '',
  timeFormat: '',
  discardUnmatch: false,
};

function keyList(text: string): string[] {
  return text
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
}

/** The form as the Logtail config JSON the agent reads (sls-api.md §5.10). */
function toConfig(f: Form): api.LogtailConfig {
  const d: Record<string, unknown> = {
    logPath: f.logPath,
    filePattern: f.filePattern,
    maxDepth: f.maxDepth,
    discardUnmatch: f.discardUnmatch,
    topicFormat: 'none',
    fileEncoding: 'utf8',
  };
  switch (f.mode) {
    case 'line':
      d['logType'] = 'common_reg_log';
      break;
    case 'multiline':
      d['logType'] = 'common_reg_log';
      d['logBeginRegex'] = f.logBeginRegex;
      break;
    case 'json':
      d['logType'] = 'json_log';
      break;
    case 'regex':
      d['logType'] = 'common_reg_log';
      d['regex'] = f.regex;
      d['key'] = keyList(f.keys);
      break;
    case 'delimiter':
      d['logType'] = 'delimiter_log';
      d['separator'] = f.separator;
      d['quote'] = f.quote;
      d['key'] = keyList(f.keys);
      break;
    case 'nginx':
    case 'apache':
      d['logType'] = f.mode;
      break;
  }
  if (f.timeKey.trim() !== '' && f.mode !== 'nginx' && f.mode !== 'apache') {
    d['timeKey'] = f.timeKey.trim();
    d['timeFormat'] = f.timeFormat;
  }
  return {
    configName: f.configName,
    inputType: 'file',
    inputDetail: d,
    outputDetail: { logstoreName: f.logstore, compressType: 'lz4' },
    logSample: sampleHead(f.sample),
  };
}

/** The server previews the first 64 KiB of a sample; the console sends (and saves) no more, cut at a line end. */
const SAMPLE_CHARS = 64 * 1024;

function sampleHead(sample: string): string {
  if (sample.length <= SAMPLE_CHARS) return sample;
  const cut = sample.lastIndexOf('\n', SAMPLE_CHARS);
  return sample.slice(0, cut > 0 ? cut : SAMPLE_CHARS);
}

function lineCount(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < text.length - 1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function fromConfig(c: api.LogtailConfig): Form {
  const d = c.inputDetail;
  const s = (k: string, fallback = '') => (typeof d[k] === 'string' ? (d[k] as string) : fallback);
  const keys = Array.isArray(d['key']) ? (d['key'] as string[]).join(', ') : '';
  const logType = s('logType', 'common_reg_log');
  let mode: Mode = 'line';
  if (logType === 'json_log') mode = 'json';
  else if (logType === 'delimiter_log') mode = 'delimiter';
  else if (logType === 'nginx' || logType === 'apache') mode = logType;
  else if (s('regex') !== '' && s('regex') !== '(.*)') mode = 'regex';
  else if (s('logBeginRegex') !== '' && s('logBeginRegex') !== '.*') mode = 'multiline';
  return {
    ...EMPTY,
    configName: c.configName,
    logstore: c.outputDetail.logstoreName,
    logPath: s('logPath'),
    filePattern: s('filePattern'),
    maxDepth: typeof d['maxDepth'] === 'number' ? d['maxDepth'] : 0,
    mode,
    sample: c.logSample ?? '',
    logBeginRegex: s('logBeginRegex', EMPTY.logBeginRegex),
    regex: s('regex'),
    keys,
    separator: s('separator', ','),
    quote: s('quote', '"'),
    timeKey: s('timeKey'),
    timeFormat: s('timeFormat'),
    discardUnmatch: d['discardUnmatch'] === true,
  };
}

export function CollectionPage({ project }: { project: string }) {
  const [groups, setGroups] = useState<string[]>([]);
  const [configs, setConfigs] = useState<string[]>([]);
  const [logstores, setLogstores] = useState<string[]>([]);
  const [group, setGroup] = useState('');
  const [editing, setEditing] = useState<Form | null>(null);
  const [editingExisting, setEditingExisting] = useState(false);
  /** Changes when another config is opened (a new editor); saving keeps the editor and its messages. */
  const [editorKey, setEditorKey] = useState(0);
  const [error, setError] = useState('');

  const load = useCallback(async () => {
    try {
      const [g, c, l] = await Promise.all([
        api.get<{ machinegroups: string[] }>('/machinegroups', { project, query: { size: 500 } }),
        api.get<{ configs: string[] }>('/configs', { project, query: { size: 500 } }),
        api.get<{ logstores: string[] }>('/logstores', { project, query: { size: 500 } }),
      ]);
      setGroups(g.machinegroups);
      setConfigs(c.configs);
      setLogstores(l.logstores);
      setGroup((cur) => (cur && g.machinegroups.includes(cur) ? cur : (g.machinegroups[0] ?? '')));
    } catch (e) {
      setError(api.errorText(e));
    }
  }, [project]);

  useEffect(() => {
    void load();
  }, [load]);

  const openConfig = async (name: string) => {
    try {
      const c = await api.get<api.LogtailConfig>(`/configs/${encodeURIComponent(name)}`, { project });
      setEditing(fromConfig(c));
      setEditingExisting(true);
      setEditorKey((k) => k + 1);
    } catch (e) {
      setError(api.errorText(e));
    }
  };

  return (
    <div className="page collection">
      {error && (
        <div className="banner error">
          {error}
          <button type="button" className="ghost small right" onClick={() => setError('')}>
            ✕
          </button>
        </div>
      )}
      <div className="two-cols">
        <aside className="card side">
          <h2>Machine groups</h2>
          <NewGroup project={project} onCreated={(g) => load().then(() => setGroup(g))} onError={setError} />
          {groups.map((g) => (
            <button
              type="button"
              key={g}
              className={g === group ? 'list-item on' : 'list-item'}
              onClick={() => setGroup(g)}
            >
              {g}
            </button>
          ))}
          <h2 className="spaced">Collection configs</h2>
          <button
            type="button"
            className="primary"
            onClick={() => {
              setEditing({ ...EMPTY, logstore: logstores[0] ?? '' });
              setEditingExisting(false);
              setEditorKey((k) => k + 1);
            }}
          >
            + New config
          </button>
          {configs.map((c) => (
            <button
              type="button"
              key={c}
              className={editing?.configName === c && editingExisting ? 'list-item on' : 'list-item'}
              onClick={() => void openConfig(c)}
            >
              {c}
            </button>
          ))}
        </aside>
        <section className="detail">
          {editing && (
            <ConfigEditor
              project={project}
              initial={editing}
              existing={editingExisting}
              logstores={logstores}
              groups={groups}
              key={editorKey}
              onSaved={(saved) => {
                setEditing(saved);
                setEditingExisting(true);
                void load();
              }}
              onClose={() => setEditing(null)}
              onDeleted={() => {
                setEditing(null);
                void load();
              }}
            />
          )}
          {group && (
            <GroupDetail project={project} name={group} configs={configs} key={group} onDeleted={() => void load()} />
          )}
          <AllAgents project={project} />
        </section>
      </div>
    </div>
  );
}

function NewGroup({
  project,
  onCreated,
  onError,
}: {
  project: string;
  onCreated: (name: string) => void;
  onError: (e: string) => void;
}) {
  const [name, setName] = useState('');
  const [type, setType] = useState<'ip' | 'userdefined'>('userdefined');
  const [list, setList] = useState('');
  return (
    <form
      className="inline-form"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await api.call('/machinegroups', {
            method: 'POST',
            project,
            body: {
              groupName: name,
              groupType: '',
              machineIdentifyType: type,
              groupAttribute: { externalName: '', groupTopic: '' },
              machineList: list
                .split(/[\s,]+/)
                .map((m) => m.trim())
                .filter((m) => m !== ''),
            },
          });
          setName('');
          setList('');
          onCreated(name);
        } catch (err) {
          onError(api.errorText(err));
        }
      }}
    >
      <input
        placeholder="new group name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        aria-label="group name"
      />
      <select value={type} onChange={(e) => setType(e.target.value as 'ip' | 'userdefined')} aria-label="identify by">
        <option value="userdefined">user-defined ids</option>
        <option value="ip">IP addresses</option>
      </select>
      <input
        placeholder={type === 'ip' ? '10.0.0.1, 10.0.0.2' : 'web-frontend'}
        value={list}
        onChange={(e) => setList(e.target.value)}
        aria-label="machine list"
      />
      <button type="submit" disabled={!name}>
        Create group
      </button>
    </form>
  );
}

function GroupDetail({
  project,
  name,
  configs,
  onDeleted,
}: {
  project: string;
  name: string;
  configs: string[];
  onDeleted: () => void;
}) {
  const path = `/machinegroups/${encodeURIComponent(name)}`;
  const [machineList, setMachineList] = useState<string | null>(null);
  const [group, setGroup] = useState<api.MachineGroupInfo | null>(null);
  const [machines, setMachines] = useState<api.MachineInfo[]>([]);
  const [applied, setApplied] = useState<string[]>([]);
  const [toApply, setToApply] = useState('');
  const [agent, setAgent] = useState('');
  const [error, setError] = useState('');

  const load = useCallback(async () => {
    try {
      const [g, m, a] = await Promise.all([
        api.get<api.MachineGroupInfo>(path, { project }),
        api.get<{ machines: api.MachineInfo[] }>(`${path}/machines`, { project, query: { size: 500 } }),
        api.get<{ configs: string[] }>(`${path}/configs`, { project }),
      ]);
      setGroup(g);
      setMachines(m.machines);
      setApplied(a.configs);
    } catch (e) {
      setError(api.errorText(e));
    }
  }, [path, project]);

  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), 5000);
    return () => clearInterval(t);
  }, [load]);

  const change = async (method: 'PUT' | 'DELETE', config: string) => {
    try {
      await api.call(`${path}/configs/${encodeURIComponent(config)}`, { method, project });
      await load();
    } catch (e) {
      setError(api.errorText(e));
    }
  };

  return (
    <div className="card" data-testid="group-detail">
      <h2>
        Group {name}{' '}
        <span className="muted small-text">
          by {group?.machineIdentifyType === 'ip' ? 'IP' : 'user-defined id'}: {group?.machineList.join(', ') || '—'}
        </span>
        <span className="right">
          <button
            type="button"
            className="ghost small"
            onClick={() => setMachineList(machineList === null ? (group?.machineList.join(', ') ?? '') : null)}
          >
            Edit
          </button>
          <button
            type="button"
            className="ghost small danger"
            onClick={() => {
              if (window.confirm(`Delete machine group ${name}? Its agents stop the configs it gave them.`)) {
                void api.call(path, { method: 'DELETE', project }).then(onDeleted, (e) => setError(api.errorText(e)));
              }
            }}
          >
            Delete
          </button>
        </span>
      </h2>
      {machineList !== null && group && (
        <form
          className="row-form"
          onSubmit={async (e) => {
            e.preventDefault();
            try {
              await api.call(path, {
                method: 'PUT',
                project,
                body: {
                  ...group,
                  machineList: machineList
                    .split(/[\s,]+/)
                    .map((m) => m.trim())
                    .filter((m) => m !== ''),
                },
              });
              setMachineList(null);
              await load();
            } catch (err) {
              setError(api.errorText(err));
            }
          }}
        >
          <label className="grow">
            {group.machineIdentifyType === 'ip' ? 'IP addresses' : 'User-defined ids'} (comma or space separated)
            <input
              value={machineList}
              onChange={(e) => setMachineList(e.target.value)}
              aria-label="edit machine list"
            />
          </label>
          <button type="submit">Save</button>
        </form>
      )}
      {error && <div className="error-text">{error}</div>}
      <div className="row-form">
        <span>Applied configs:</span>
        {applied.length === 0 && <span className="muted">none</span>}
        {applied.map((c) => (
          <span className="chip" key={c}>
            {c}
            <button
              type="button"
              className="ghost small"
              title="remove from group"
              onClick={() => void change('DELETE', c)}
            >
              ✕
            </button>
          </span>
        ))}
        <select value={toApply} onChange={(e) => setToApply(e.target.value)} aria-label="config to apply">
          <option value="">apply a config…</option>
          {configs
            .filter((c) => !applied.includes(c))
            .map((c) => (
              <option key={c}>{c}</option>
            ))}
        </select>
        <button
          type="button"
          disabled={!toApply}
          onClick={() => void change('PUT', toApply).then(() => setToApply(''))}
        >
          Apply
        </button>
      </div>
      <h3>
        Machines <span className="muted small-text">({machines.length} heartbeating; refreshed every 5 s)</span>
      </h3>
      <MachineTable machines={machines} onPick={setAgent} />
      {agent && <AgentDetail project={project} id={agent} onClose={() => setAgent('')} />}
    </div>
  );
}

function MachineTable({
  machines,
  onPick,
  empty = 'No agent of this group has heartbeated yet.',
}: {
  machines: readonly api.MachineInfo[];
  onPick: (id: string) => void;
  empty?: string;
}) {
  if (machines.length === 0) return <div className="empty small">{empty}</div>;
  return (
    <div className="machine-table">
      <div className="mt-row mt-head">
        <span>State</span>
        <span>Host</span>
        <span>IP</span>
        <span>User-defined id</span>
        <span>Last heartbeat</span>
        <span>Configs / files</span>
        <span>Lag</span>
        <span>Errors</span>
      </div>
      <VirtualList
        items={machines}
        estimate={30}
        height={Math.min(300, machines.length * 30 + 4)}
        render={(m) => (
          <button
            type="button"
            className="mt-row"
            onClick={() => onPick(m['machine-uniqueid'])}
            data-testid="machine-row"
          >
            <span className={`state ${m.state ?? 'ok'}`}>{m.state ?? 'ok'}</span>
            <span>{m.hostname ?? ''}</span>
            <span>{m.ip}</span>
            <span>{m['userdefined-id']}</span>
            <span>{new Date(m.lastHeartbeatTime * 1000).toLocaleTimeString()}</span>
            <span>
              {m.status?.configs ?? 0} / {m.status?.files ?? 0}
            </span>
            <span>{api.formatBytes(m.status?.lagBytes ?? 0)}</span>
            <span className={(m.status?.errors ?? 0) > 0 ? 'bad' : ''}>{m.status?.errors ?? 0}</span>
          </button>
        )}
      />
    </div>
  );
}

function AgentDetail({ project, id, onClose }: { project: string; id: string; onClose: () => void }) {
  const [m, setM] = useState<api.MachineDetail | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    const load = () =>
      api
        .get<api.MachineDetail>(`/logtail/machines/${encodeURIComponent(id)}`, { project })
        .then(setM, (e) => setError(api.errorText(e)));
    void load();
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, [project, id]);
  return (
    <div className="agent-detail" data-testid="agent-detail">
      <h3>
        Agent {m?.hostname ?? id} <span className="muted small-text">{m?.version}</span>
        <button type="button" className="ghost small right" onClick={onClose}>
          Close
        </button>
      </h3>
      {error && <div className="error-text">{error}</div>}
      <table className="grid-table">
        <thead>
          <tr>
            <th>Config</th>
            <th>Logstore</th>
            <th>Files</th>
            <th>State</th>
            <th>Read</th>
            <th>Lag</th>
            <th>Dropped</th>
            <th>Errors</th>
          </tr>
        </thead>
        <tbody>
          {(m?.detail?.configs ?? []).map((c) => (
            <tr key={c.configName}>
              <td>{c.configName}</td>
              <td>{c.logstore}</td>
              <td>{c.files ?? 0}</td>
              <td className={c.state === 'refused' ? 'bad' : ''}>{c.state ?? ''}</td>
              <td>{api.formatBytes(c.readBytes)}</td>
              <td>{api.formatBytes(c.lagBytes)}</td>
              <td>{api.formatBytes(c.droppedBytes)}</td>
              <td title={c.lastError} className={(c.errors ?? 0) > 0 ? 'bad' : ''}>
                {(c.errors ?? 0) > 0 ? `${c.errors}: ${c.lastError ?? ''}` : 0}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h4>Files</h4>
      {(m?.detail?.files?.length ?? 0) > 0 && (
        <div className="file-head">
          <span>Path</span>
          <span>Config</span>
          <span>Committed / size</span>
          <span>Lag</span>
          <span />
        </div>
      )}
      <VirtualList
        items={m?.detail?.files ?? []}
        estimate={26}
        height={Math.min(260, (m?.detail?.files?.length ?? 0) * 26 + 4)}
        render={(f) => (
          <div className="file-row">
            <span className="mono">{f.path}</span>
            <span>{f.configName}</span>
            <span>
              {api.formatBytes(f.committed)} / {api.formatBytes(f.size)}
            </span>
            <span className={(f.lagBytes ?? 0) > 0 ? 'warn' : ''}>lag {api.formatBytes(f.lagBytes)}</span>
            <span className={(f.errors ?? 0) > 0 ? 'bad' : ''} title={f.lastError}>
              {f.rotated ? 'rotated ' : ''}
              {(f.errors ?? 0) > 0 ? `${f.errors} errors` : ''}
            </span>
          </div>
        )}
      />
    </div>
  );
}

function AllAgents({ project }: { project: string }) {
  const [machines, setMachines] = useState<api.MachineInfo[]>([]);
  const [agent, setAgent] = useState('');
  useEffect(() => {
    const load = () =>
      api.get<{ machines: api.MachineInfo[] }>('/logtail/machines', { project, query: { size: 500 } }).then(
        (r) => setMachines(r.machines),
        () => {},
      );
    void load();
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, [project]);
  return (
    <div className="card">
      <h2>
        All agents <span className="muted small-text">({machines.length})</span>
      </h2>
      <MachineTable
        machines={machines}
        onPick={setAgent}
        empty={`No agent of project ${project} has heartbeated yet: start one with sluice agent --project ${project} (docs/agent.md).`}
      />
      {agent && <AgentDetail project={project} id={agent} onClose={() => setAgent('')} />}
    </div>
  );
}

function ConfigEditor({
  project,
  initial,
  existing,
  logstores,
  groups,
  onSaved,
  onClose,
  onDeleted,
}: {
  project: string;
  initial: Form;
  existing: boolean;
  logstores: string[];
  groups: string[];
  onSaved: (saved: Form) => void;
  onClose: () => void;
  onDeleted: () => void;
}) {
  const [f, setF] = useState<Form>(initial);
  const [preview, setPreview] = useState<api.PreviewResult | null>(null);
  const [previewError, setPreviewError] = useState('');
  const [applyTo, setApplyTo] = useState<Set<string>>(new Set());
  const [error, setError] = useState('');
  const [note, setNote] = useState('');
  const config = useMemo(() => toConfig(f), [f]);
  const set = (patch: Partial<Form>) => setF({ ...f, ...patch });

  // Live preview: the server runs the agent's own splitter and parsers on the sample (debounced).
  useEffect(() => {
    if (f.sample.trim() === '') {
      setPreview(null);
      setPreviewError('');
      return;
    }
    const ctl = new AbortController();
    const t = setTimeout(() => {
      api
        .call<api.PreviewResult>('/sluice/parse-preview', {
          method: 'POST',
          project,
          body: { config, sample: sampleHead(f.sample) },
          signal: ctl.signal,
        })
        .then(
          (r) => {
            setPreview(r.data);
            setPreviewError('');
          },
          (e) => {
            if (ctl.signal.aborted) return;
            // The table was computed for another config or sample: under the error it would read as this one's.
            setPreview(null);
            setPreviewError(api.errorText(e));
          },
        );
    }, 250);
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
  }, [config, f.sample, project]);

  const save = async () => {
    setError('');
    setNote('');
    try {
      const path = existing ? `/configs/${encodeURIComponent(f.configName)}` : '/configs';
      await api.call(path, { method: existing ? 'PUT' : 'POST', project, body: config });
      for (const g of applyTo) {
        await api.call(`/machinegroups/${encodeURIComponent(g)}/configs/${encodeURIComponent(f.configName)}`, {
          method: 'PUT',
          project,
        });
      }
      setNote(`Saved${applyTo.size > 0 ? ` and applied to ${[...applyTo].join(', ')}` : ''}.`);
      onSaved(f);
    } catch (e) {
      setError(api.errorText(e));
    }
  };

  const fieldNames = [...new Set((preview?.logs ?? []).flatMap((l) => (l.fields ?? []).map(([k]) => k)))];

  return (
    <div className="card config-editor" data-testid="config-editor">
      <h2>
        {existing ? `Config ${f.configName}` : 'New collection config'}
        <span className="right">
          {existing && (
            <button
              type="button"
              className="ghost small danger"
              onClick={() => {
                if (
                  window.confirm(`Delete config ${f.configName}? Agents stop collecting it (checkpoints are kept).`)
                ) {
                  void api
                    .call(`/configs/${encodeURIComponent(f.configName)}`, { method: 'DELETE', project })
                    .then(onDeleted, (e) => setError(api.errorText(e)));
                }
              }}
            >
              Delete
            </button>
          )}
          <button type="button" className="ghost small" onClick={onClose}>
            Close
          </button>
        </span>
      </h2>
      <div className="form-grid">
        <label>
          Name
          <input
            value={f.configName}
            disabled={existing}
            onChange={(e) => set({ configName: e.target.value })}
            aria-label="config name"
          />
        </label>
        <label>
          Logstore
          <select value={f.logstore} onChange={(e) => set({ logstore: e.target.value })} aria-label="target logstore">
            <option value="">choose…</option>
            {logstores.map((l) => (
              <option key={l}>{l}</option>
            ))}
          </select>
        </label>
        <label>
          Directory
          <input value={f.logPath} onChange={(e) => set({ logPath: e.target.value })} aria-label="log path" />
        </label>
        <label>
          File pattern
          <input
            value={f.filePattern}
            onChange={(e) => set({ filePattern: e.target.value })}
            aria-label="file pattern"
          />
        </label>
        <label>
          Subfolder depth
          <input
            type="number"
            min={0}
            max={1000}
            value={f.maxDepth}
            onChange={(e) => set({ maxDepth: Number(e.target.value) })}
          />
        </label>
      </div>
      <label className="block">
        Sample log (paste a few lines)
        <textarea
          value={f.sample}
          rows={4}
          className="mono"
          onChange={(e) => set({ sample: e.target.value })}
          aria-label="sample"
          spellCheck={false}
        />
      </label>
      <div className="segmented modes">
        {MODES.map((m) => (
          <button
            type="button"
            key={m.id}
            className={f.mode === m.id ? 'on' : ''}
            onClick={() => set({ mode: m.id })}
            data-mode={m.id}
          >
            {m.label}
          </button>
        ))}
      </div>
      {f.mode === 'multiline' && (
        <label className="block">
          A log begins on a line matching
          <input className="mono" value={f.logBeginRegex} onChange={(e) => set({ logBeginRegex: e.target.value })} />
        </label>
      )}
      {f.mode === 'regex' && (
        <>
          <label className="block">
            Regex (must match a whole log; one group per key)
            <input
              className="mono"
              value={f.regex}
              onChange={(e) => set({ regex: e.target.value })}
              aria-label="regex"
            />
          </label>
          {preview?.suggestion && preview.suggestion.regex !== f.regex && (
            <div className="suggestion">
              Suggested from the sample: <code>{preview.suggestion.regex}</code>
              {preview.suggestion.timeKey && (
                <span className="muted">
                  (time from <code>{preview.suggestion.timeKey}</code>, <code>{preview.suggestion.timeFormat}</code>)
                </span>
              )}
              <button
                type="button"
                className="small"
                onClick={() => {
                  const sg = preview.suggestion!;
                  set({
                    regex: sg.regex,
                    keys: sg.keys.join(', '),
                    ...(sg.timeKey && sg.timeFormat ? { timeKey: sg.timeKey, timeFormat: sg.timeFormat } : {}),
                  });
                }}
              >
                Use it
              </button>
            </div>
          )}
        </>
      )}
      {(f.mode === 'regex' || f.mode === 'delimiter') && (
        <label className="block">
          Keys (comma-separated, in order)
          <input value={f.keys} onChange={(e) => set({ keys: e.target.value })} aria-label="keys" />
        </label>
      )}
      {f.mode === 'delimiter' && (
        <div className="form-grid">
          <label>
            Separator (\t for tab)
            <input value={f.separator} onChange={(e) => set({ separator: e.target.value })} />
          </label>
          <label>
            Quote
            <input value={f.quote} onChange={(e) => set({ quote: e.target.value })} />
          </label>
        </div>
      )}
      {f.mode !== 'nginx' && f.mode !== 'apache' && f.mode !== 'line' && f.mode !== 'multiline' && (
        <div className="form-grid">
          <label>
            Time key (optional)
            <input value={f.timeKey} onChange={(e) => set({ timeKey: e.target.value })} placeholder="time" />
          </label>
          <label>
            Time format
            <input
              value={f.timeFormat}
              onChange={(e) => set({ timeFormat: e.target.value })}
              placeholder="%Y-%m-%d %H:%M:%S"
            />
          </label>
        </div>
      )}
      <label className="toggle">
        <input type="checkbox" checked={f.discardUnmatch} onChange={(e) => set({ discardUnmatch: e.target.checked })} />{' '}
        Drop logs that do not match (else kept whole as <code>__raw_log__</code>)
      </label>

      <h3>
        Parsed fields {preview && <span className="muted small-text">(by the agent's parsers, on the server)</span>}
      </h3>
      {f.sample.length > SAMPLE_CHARS && (
        <div className="muted small-text" data-testid="sample-cut">
          The sample is long: the preview (and the saved sample) use its first {lineCount(sampleHead(f.sample))} of{' '}
          {lineCount(f.sample).toLocaleString()} lines.
        </div>
      )}
      {previewError && (
        <div className="error-text" data-testid="preview-error">
          {previewError}
        </div>
      )}
      {preview && preview.logs.length > 0 && (
        <div className="preview-wrap">
          <table className="grid-table preview" data-testid="preview">
            <thead>
              <tr>
                <th>#</th>
                <th>status</th>
                <th>log time</th>
                {fieldNames.map((k) => (
                  <th key={k}>{k}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {preview.logs.map((l, i) => {
                const fields = Object.fromEntries(l.fields ?? []);
                return (
                  <tr key={i} className={l.status === 'parsed' ? '' : 'bad'}>
                    <td>{i + 1}</td>
                    <td>{l.status}</td>
                    <td title={l.timeError}>
                      {l.time
                        ? new Date(l.time * 1000).toISOString().replace('.000Z', 'Z')
                        : l.timeError
                          ? '⚠'
                          : 'read time'}
                    </td>
                    {fieldNames.map((k) => (
                      <td key={k} className="mono">
                        {fields[k] ?? ''}
                      </td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <div className="row-form">
        <span>Apply to groups:</span>
        {groups.length === 0 && <span className="muted">no groups yet</span>}
        {groups.map((g) => (
          <label className="toggle" key={g}>
            <input
              type="checkbox"
              checked={applyTo.has(g)}
              onChange={(e) => {
                const next = new Set(applyTo);
                if (e.target.checked) next.add(g);
                else next.delete(g);
                setApplyTo(next);
              }}
              aria-label={`apply to ${g}`}
            />{' '}
            {g}
          </label>
        ))}
        <span className="spacer" />
        <button type="button" className="primary" onClick={save} disabled={!f.configName || !f.logstore}>
          {existing ? 'Save' : 'Create'}
          {applyTo.size > 0 ? ' and apply' : ''}
        </button>
      </div>
      {error && <div className="error-text">{error}</div>}
      {note && <div className="ok-text">{note}</div>}
    </div>
  );
}
