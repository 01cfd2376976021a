import { useCallback, useEffect, useState } from 'react';
import * as api from '../api.ts';
import { VirtualList } from '../components/VirtualList.tsx';

const DEFAULT_TOKENS = [
  ' ',
  ',',
  "'",
  '"',
  ';',
  '=',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  '?',
  '@',
  '&',
  '<',
  '>',
  '/',
  ':',
  '\\n',
  '\\t',
  '\\r',
];

export function LogstoresPage({ project }: { project: string }) {
  const [names, setNames] = useState<string[]>([]);
  const [selected, setSelected] = useState('');
  const [error, setError] = useState('');
  const [form, setForm] = useState({ name: '', ttl: 30, shards: 2 });

  const load = useCallback(async () => {
    try {
      const r = await api.get<{ logstores: string[] }>('/logstores', { project, query: { size: 500 } });
      setNames(r.logstores);
      setSelected((s) => (s && r.logstores.includes(s) ? s : (r.logstores[0] ?? '')));
    } catch (e) {
      setError(api.errorText(e));
    }
  }, [project]);

  useEffect(() => {
    void load();
  }, [load]);

  const create = async () => {
    setError('');
    try {
      await api.call('/logstores', {
        method: 'POST',
        project,
        body: { logstoreName: form.name, ttl: form.ttl, shardCount: form.shards },
      });
      setSelected(form.name);
      setForm({ ...form, name: '' });
      await load();
    } catch (e) {
      setError(api.errorText(e));
    }
  };

  return (
    <div className="page two-cols">
      <aside className="card side">
        <h2>Logstores</h2>
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            void create();
          }}
        >
          <input
            placeholder="new logstore name"
            value={form.name}
            onChange={(e) => setForm({ ...form, name: e.target.value })}
            aria-label="new logstore name"
          />
          <label>
            TTL days
            <input
              type="number"
              min={1}
              max={3650}
              value={form.ttl}
              onChange={(e) => setForm({ ...form, ttl: Number(e.target.value) })}
              aria-label="new logstore ttl"
            />
          </label>
          <label>
            Shards
            <input
              type="number"
              min={1}
              max={256}
              value={form.shards}
              onChange={(e) => setForm({ ...form, shards: Number(e.target.value) })}
              aria-label="new logstore shards"
            />
          </label>
          <button type="submit" className="primary" disabled={!form.name}>
            Create
          </button>
        </form>
        {error && <div className="error-text">{error}</div>}
        <VirtualList
          items={names}
          estimate={32}
          height="calc(100vh - 330px)"
          render={(n) => (
            <button
              type="button"
              className={n === selected ? 'list-item on' : 'list-item'}
              onClick={() => setSelected(n)}
            >
              {n}
            </button>
          )}
        />
      </aside>
      <section className="detail">
        {selected ? (
          <LogstoreDetail project={project} name={selected} key={selected} onDeleted={load} />
        ) : (
          <div className="empty">Create a logstore to start.</div>
        )}
      </section>
    </div>
  );
}

function LogstoreDetail({ project, name, onDeleted }: { project: string; name: string; onDeleted: () => void }) {
  const [info, setInfo] = useState<api.LogstoreInfo | null>(null);
  const [ttl, setTtl] = useState(30);
  const [shards, setShards] = useState<api.ShardInfo[]>([]);
  const [error, setError] = useState('');
  const [note, setNote] = useState('');
  const path = `/logstores/${encodeURIComponent(name)}`;

  const load = useCallback(async () => {
    try {
      const [ls, sh] = await Promise.all([
        api.get<api.LogstoreInfo>(path, { project }),
        api.get<api.ShardInfo[]>(`${path}/shards`, { project }),
      ]);
      setInfo(ls);
      setTtl(ls.ttl);
      setShards(sh);
    } catch (e) {
      setError(api.errorText(e));
    }
  }, [path, project]);

  useEffect(() => {
    void load();
  }, [load]);

  const act = async (what: string, f: () => Promise<unknown>) => {
    setError('');
    setNote('');
    try {
      await f();
      await load();
      setNote(what);
    } catch (e) {
      setError(api.errorText(e));
    }
  };

  if (!info) return <div className="card">{error || 'Loading…'}</div>;
  return (
    <>
      <div className="card">
        <h2>
          {name}
          <button
            type="button"
            className="danger small right"
            onClick={() => {
              if (window.confirm(`Delete logstore ${name} and all its data?`)) {
                void api.call(path, { method: 'DELETE', project }).then(onDeleted, (e) => setError(api.errorText(e)));
              }
            }}
          >
            Delete
          </button>
        </h2>
        <div className="row-form">
          <label>
            TTL (days, 3650 = forever)
            <input
              type="number"
              min={1}
              max={3650}
              value={ttl}
              onChange={(e) => setTtl(Number(e.target.value))}
              aria-label="ttl"
            />
          </label>
          <button
            type="button"
            onClick={() =>
              act('TTL saved', () => api.call(path, { method: 'PUT', project, body: { logstoreName: name, ttl } }))
            }
            disabled={ttl === info.ttl}
          >
            Save TTL
          </button>
          <span className="muted">{info.shardCount} readwrite shards</span>
        </div>
        {error && <div className="error-text">{error}</div>}
        {note && <div className="ok-text">{note}</div>}
        <h3>Shards</h3>
        <table className="grid-table">
          <thead>
            <tr>
              <th>ID</th>
              <th>Status</th>
              <th>Hash range (MD5, hex)</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {shards.map((s) => (
              <tr key={s.shardID} className={s.status === 'readwrite' ? '' : 'muted'}>
                <td>{s.shardID}</td>
                <td>{s.status}</td>
                <td className="mono">
                  [{s.inclusiveBeginKey.slice(0, 8)}… , {s.exclusiveEndKey.slice(0, 8)}…)
                  <HashBar begin={s.inclusiveBeginKey} end={s.exclusiveEndKey} />
                </td>
                <td>{new Date(s.createTime * 1000).toLocaleString()}</td>
                <td className="actions">
                  {s.status === 'readwrite' ? (
                    <>
                      <button
                        type="button"
                        className="small"
                        onClick={() =>
                          act(`shard ${s.shardID} split`, () =>
                            api.call(`${path}/shards/${s.shardID}`, {
                              method: 'POST',
                              project,
                              query: { action: 'split', shardCount: 2 },
                            }),
                          )
                        }
                      >
                        Split
                      </button>
                      <button
                        type="button"
                        className="small"
                        title={
                          hasRightNeighbour(shards, s)
                            ? 'merge with the readwrite shard to its right'
                            : 'no readwrite shard to its right to merge with'
                        }
                        disabled={!hasRightNeighbour(shards, s)}
                        onClick={() =>
                          act(`shard ${s.shardID} merged`, () =>
                            api.call(`${path}/shards/${s.shardID}`, {
                              method: 'POST',
                              project,
                              query: { action: 'merge' },
                            }),
                          )
                        }
                      >
                        Merge →
                      </button>
                    </>
                  ) : (
                    <button
                      type="button"
                      className="small danger"
                      onClick={() =>
                        act(`shard ${s.shardID} deleted`, () =>
                          api.call(`${path}/shards/${s.shardID}`, { method: 'DELETE', project }),
                        )
                      }
                    >
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <IndexEditor project={project} logstore={name} />
    </>
  );
}

/** Whether a readwrite shard starts where `s` ends (what Merge needs). */
function hasRightNeighbour(shards: readonly api.ShardInfo[], s: api.ShardInfo): boolean {
  return shards.some((o) => o.status === 'readwrite' && o.inclusiveBeginKey === s.exclusiveEndKey);
}

/** Where a shard's range lies in the whole MD5 space. */
function HashBar({ begin, end }: { begin: string; end: string }) {
  const frac = (hex: string) => Number.parseInt(hex.slice(0, 8), 16) / 0x100000000;
  const a = frac(begin);
  const b = end.toLowerCase().startsWith('ffffffff') && end.length > 8 && /^f+$/i.test(end) ? 1 : frac(end) || 1;
  return (
    <span className="hashbar">
      <span style={{ left: `${a * 100}%`, width: `${Math.max(0.5, (b - a) * 100)}%` }} />
    </span>
  );
}

interface KeyRow {
  name: string;
  type: api.IndexKey['type'];
  alias: string;
  caseSensitive: boolean;
  docValue: boolean;
  token: string;
}

function IndexEditor({ project, logstore }: { project: string; logstore: string }) {
  const path = `/logstores/${encodeURIComponent(logstore)}/index`;
  const [exists, setExists] = useState<boolean | null>(null);
  const [fullText, setFullText] = useState(true);
  const [tokens, setTokens] = useState(DEFAULT_TOKENS.join(''));
  const [caseSensitive, setCaseSensitive] = useState(false);
  const [keys, setKeys] = useState<KeyRow[]>([]);
  const [error, setError] = useState('');
  const [note, setNote] = useState('');

  useEffect(() => {
    api
      .get<api.IndexConfig>(path, { project })
      .then((c) => {
        setExists(true);
        setFullText(c.line !== undefined);
        if (c.line) {
          setTokens(
            c.line.token.map((t) => t.replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r')).join(''),
          );
          setCaseSensitive(c.line.caseSensitive ?? false);
        }
        // A key saved with the full-text delimiters (what an empty field saves) shows the empty field again, not a
        // copy that would no longer follow the full-text ones.
        const lineTokens = [...(c.line?.token ?? DEFAULT_TOKENS)].sort().join('');
        setKeys(
          Object.entries(c.keys ?? {}).map(([name, k]) => ({
            name,
            type: k.type,
            alias: k.alias ?? '',
            caseSensitive: k.caseSensitive ?? false,
            docValue: k.doc_value ?? false,
            token: [...(k.token ?? [])].sort().join('') === lineTokens ? '' : (k.token ?? []).join(''),
          })),
        );
      })
      .catch((e) => {
        if (e instanceof api.ApiError && e.code === 'IndexConfigNotExist') setExists(false);
        else setError(api.errorText(e));
      });
  }, [path, project]);

  const tokenList = (text: string) => {
    const out: string[] = [];
    for (let i = 0; i < text.length; i++) {
      if (text[i] === '\\' && 'ntr'.includes(text[i + 1] ?? '')) {
        out.push(text[i + 1] === 'n' ? '\n' : text[i + 1] === 't' ? '\t' : '\r');
        i++;
      } else out.push(text[i]!);
    }
    return [...new Set(out)];
  };

  const save = async () => {
    setError('');
    setNote('');
    const body: api.IndexConfig = {
      ...(fullText ? { line: { token: tokenList(tokens), caseSensitive, chn: false } } : {}),
      keys: Object.fromEntries(
        keys
          .filter((k) => k.name.trim() !== '')
          .map((k) => [
            k.name.trim(),
            {
              type: k.type,
              ...(k.type === 'text' || k.type === 'json'
                ? { token: tokenList(k.token || tokens), caseSensitive: k.caseSensitive }
                : {}),
              ...(k.alias ? { alias: k.alias } : {}),
              doc_value: k.docValue,
            },
          ]),
      ),
    };
    try {
      await api.call(path, { method: exists ? 'PUT' : 'POST', project, body });
      setExists(true);
      setNote('Index saved. It applies to logs written from now on; Reindex rebuilds it for older ones.');
    } catch (e) {
      setError(api.errorText(e));
    }
  };

  const update = (i: number, patch: Partial<KeyRow>) => setKeys(keys.map((k, j) => (j === i ? { ...k, ...patch } : k)));

  return (
    <div className="card index-editor">
      <h3>Index {exists === false && <span className="badge">none yet</span>}</h3>
      <label className="toggle">
        <input type="checkbox" checked={fullText} onChange={(e) => setFullText(e.target.checked)} /> Full-text index
      </label>
      {fullText && (
        <div className="row-form">
          <label className="grow">
            Delimiters (each character splits tokens; \n \t \r for control characters)
            <input
              className="mono"
              value={tokens}
              onChange={(e) => setTokens(e.target.value)}
              aria-label="delimiters"
            />
          </label>
          <label className="toggle">
            <input type="checkbox" checked={caseSensitive} onChange={(e) => setCaseSensitive(e.target.checked)} /> Case
            sensitive
          </label>
        </div>
      )}
      <h4>Field indexes</h4>
      <table className="grid-table keys">
        <thead>
          <tr>
            <th>Key</th>
            <th>Type</th>
            <th>Alias</th>
            <th>Delimiters (text)</th>
            <th>Case</th>
            <th title="doc_value: column store for SQL">Analytics</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {keys.map((k, i) => (
            <tr key={i}>
              <td>
                <input
                  value={k.name}
                  onChange={(e) => update(i, { name: e.target.value })}
                  aria-label={`key ${i + 1} name`}
                />
              </td>
              <td>
                <select
                  value={k.type}
                  onChange={(e) => update(i, { type: e.target.value as KeyRow['type'] })}
                  aria-label={`key ${i + 1} type`}
                >
                  <option value="text">text</option>
                  <option value="long">long</option>
                  <option value="double">double</option>
                  <option value="json">json</option>
                </select>
              </td>
              <td>
                <input value={k.alias} onChange={(e) => update(i, { alias: e.target.value })} />
              </td>
              <td>
                <input
                  className="mono"
                  value={k.token}
                  placeholder="(full-text's)"
                  aria-label={`key ${i + 1} delimiters`}
                  disabled={k.type === 'long' || k.type === 'double'}
                  onChange={(e) => update(i, { token: e.target.value })}
                />
              </td>
              <td>
                <input
                  type="checkbox"
                  checked={k.caseSensitive}
                  onChange={(e) => update(i, { caseSensitive: e.target.checked })}
                />
              </td>
              <td>
                <input
                  type="checkbox"
                  checked={k.docValue}
                  onChange={(e) => update(i, { docValue: e.target.checked })}
                />
              </td>
              <td>
                <button type="button" className="small ghost" onClick={() => setKeys(keys.filter((_, j) => j !== i))}>
                  ✕
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="row-form">
        <button
          type="button"
          onClick={() =>
            setKeys([...keys, { name: '', type: 'text', alias: '', caseSensitive: false, docValue: true, token: '' }])
          }
        >
          + Key
        </button>
        <span className="spacer" />
        <button type="button" className="primary" onClick={save}>
          {exists ? 'Save index' : 'Create index'}
        </button>
      </div>
      {error && <div className="error-text">{error}</div>}
      {note && <div className="ok-text">{note}</div>}
      {exists && <Reindex project={project} logstore={logstore} />}
    </div>
  );
}

interface RebuildStatus {
  from: number | null;
  status: 'Running' | 'Done';
  indexedRecords: number;
  totalRecords: number;
  progress: number;
}

const REINDEX_FROM = [
  { label: 'all logs', sec: 0 },
  { label: 'the last hour', sec: 3600 },
  { label: 'the last 24 hours', sec: 86400 },
  { label: 'the last 7 days', sec: 7 * 86400 },
] as const;

/**
 * Rebuilds the index with its saved config over logs received from a time to now (`POST …/index/rebuild`, docs/api.md),
 * then follows its progress: what `sluice reindex --wait` does, for a console user who just changed the index.
 */
function Reindex({ project, logstore }: { project: string; logstore: string }) {
  const path = `/logstores/${encodeURIComponent(logstore)}/index/rebuild`;
  const [since, setSince] = useState(0);
  const [status, setStatus] = useState<RebuildStatus | null>(null);
  const [started, setStarted] = useState(false);
  const [error, setError] = useState('');

  useEffect(() => {
    if (!started || status?.status === 'Done') return;
    const timer = setInterval(() => {
      api
        .get<RebuildStatus>(path, { project })
        .then(setStatus)
        .catch((e) => setError(api.errorText(e)));
    }, 1000);
    return () => clearInterval(timer);
  }, [started, status, path, project]);

  const start = async () => {
    setError('');
    try {
      const now = Math.floor(Date.now() / 1000);
      const from = since === 0 ? 0 : now - since;
      // `to` is exclusive: the range ends after the current second, so what was just received is included.
      const body = { from, to: now + 1 };
      setStatus((await api.call<RebuildStatus>(path, { method: 'POST', project, body })).data);
      setStarted(true);
    } catch (e) {
      setError(api.errorText(e));
    }
  };

  const running = started && status?.status === 'Running';
  return (
    <div className="row-form reindex" data-testid="reindex">
      <span>Reindex logs received in</span>
      <select value={since} onChange={(e) => setSince(Number(e.target.value))} aria-label="reindex from">
        {REINDEX_FROM.map((r) => (
          <option key={r.sec} value={r.sec}>
            {r.label}
          </option>
        ))}
      </select>
      <button type="button" onClick={() => void start()} disabled={running}>
        {running ? 'Reindexing…' : 'Reindex'}
      </button>
      {started && status && (
        <span className={status.status === 'Done' ? 'ok-text' : 'muted'} data-testid="reindex-status">
          {status.status === 'Done' ? 'Reindexed' : 'Reindexing'}: {status.indexedRecords.toLocaleString()} of{' '}
          {status.totalRecords.toLocaleString()} LogGroups ({Math.floor(status.progress * 100)} %)
        </span>
      )}
      {error && <span className="error-text">{error}</span>}
    </div>
  );
}
