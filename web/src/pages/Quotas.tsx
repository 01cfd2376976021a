import { useCallback, useEffect, useState } from 'react';
import * as api from '../api.ts';
import { VirtualList } from '../components/VirtualList.tsx';

const QUOTA_FIELDS = [
  { key: 'writeBytesPerSec', label: 'Write bytes / s (project)' },
  { key: 'writeRequestsPerSec', label: 'Write requests / s (project)' },
  { key: 'shardWriteBytesPerSec', label: 'Write bytes / s (per shard)' },
] as const;

export function QuotasPage({ project, onDeleted }: { project: string; onDeleted: () => void }) {
  const [usage, setUsage] = useState<api.UsageInfo | null>(null);
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [error, setError] = useState('');
  const [note, setNote] = useState('');

  const load = useCallback(async () => {
    try {
      const u = await api.get<api.UsageInfo>('/sluice/usage', { project });
      setUsage(u);
      setDraft(Object.fromEntries(QUOTA_FIELDS.map((f) => [f.key, u.quota[f.key] ? String(u.quota[f.key]) : ''])));
    } catch (e) {
      setError(api.errorText(e));
    }
  }, [project]);

  useEffect(() => {
    void load();
  }, [load]);

  const save = async () => {
    setError('');
    setNote('');
    try {
      const quota = Object.fromEntries(QUOTA_FIELDS.map((f) => [f.key, draft[f.key] ? Number(draft[f.key]) : null]));
      await api.call('/', { method: 'PUT', project, body: { quota } });
      setNote('Quota saved.');
      await load();
    } catch (e) {
      setError(api.errorText(e));
    }
  };

  // DeleteProject removes its logstores and their data too (as SLS does): the confirmation says how many.
  const [deleteError, setDeleteError] = useState('');
  const deleteProject = async () => {
    const n = usage?.logstores.length ?? 0;
    const what = n === 0 ? '' : ` and its ${n === 1 ? 'logstore' : `${n} logstores`} with all their data`;
    if (!window.confirm(`Delete project ${project}${what}? This cannot be undone.`)) return;
    setDeleteError('');
    try {
      await api.call('/', { method: 'DELETE', project });
      onDeleted();
    } catch (e) {
      setDeleteError(api.errorText(e));
    }
  };

  const totals = (usage?.logstores ?? []).reduce(
    (t, l) => ({ stored: t.stored + l.storedBytes, index: t.index + l.indexBytes, groups: t.groups + l.logGroups }),
    { stored: 0, index: 0, groups: 0 },
  );

  return (
    <div className="page quotas">
      <div className="card">
        <h2>Write quotas of {project}</h2>
        <p className="muted">Empty = unlimited. A write over quota is refused whole with 403 WriteQuotaExceed.</p>
        <div className="form-grid">
          {QUOTA_FIELDS.map((f) => (
            <label key={f.key}>
              {f.label}
              <input
                type="number"
                min={1}
                value={draft[f.key] ?? ''}
                placeholder="unlimited"
                onChange={(e) => setDraft({ ...draft, [f.key]: e.target.value })}
                aria-label={f.key}
              />
            </label>
          ))}
        </div>
        <button type="button" className="primary" onClick={save}>
          Save quota
        </button>
        {error && <div className="error-text">{error}</div>}
        {note && <div className="ok-text">{note}</div>}
      </div>
      <div className="card">
        <h2>Usage</h2>
        <div className="stats">
          <div>
            <b>{api.formatBytes(totals.stored)}</b>
            <span>stored</span>
          </div>
          <div>
            <b>{api.formatBytes(totals.index)}</b>
            <span>index</span>
          </div>
          <div>
            <b>{totals.groups.toLocaleString()}</b>
            <span>LogGroups</span>
          </div>
          <div>
            <b>{usage?.logstores.length ?? 0}</b>
            <span>logstores</span>
          </div>
        </div>
        <div className="usage-row usage-head">
          <span>Logstore</span>
          <span>TTL</span>
          <span>Shards (rw / ro)</span>
          <span>LogGroups</span>
          <span>Stored</span>
          <span>Index</span>
          <span>Share of storage</span>
        </div>
        <VirtualList
          items={usage?.logstores ?? []}
          estimate={30}
          height={Math.min(480, (usage?.logstores.length ?? 0) * 30 + 4)}
          render={(l) => (
            <div className="usage-row">
              <span>{l.logstoreName}</span>
              <span>{l.ttl >= 3650 ? 'forever' : `${l.ttl} d`}</span>
              <span>
                {l.readwriteShards} / {l.readonlyShards}
              </span>
              <span>{l.logGroups.toLocaleString()}</span>
              <span>{api.formatBytes(l.storedBytes)}</span>
              <span>{api.formatBytes(l.indexBytes)}</span>
              <span className="meter">
                <i style={{ width: `${totals.stored ? (100 * l.storedBytes) / totals.stored : 0}%` }} />
              </span>
            </div>
          )}
        />
      </div>
      <div className="card" data-testid="delete-project">
        <h2>Delete project</h2>
        <p className="muted">Deletes {project}, its logstores and their data, machine groups and collection configs.</p>
        <button type="button" className="danger" onClick={() => void deleteProject()}>
          Delete project {project}
        </button>
        {deleteError && <div className="error-text">{deleteError}</div>}
      </div>
    </div>
  );
}
