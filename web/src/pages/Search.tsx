import { Fragment, type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import * as api from '../api.ts';
import { BarChart, type ChartKind, LineChart, PieChart, type Series } from '../components/Charts.tsx';
import { Histogram } from '../components/Histogram.tsx';
import { VirtualList } from '../components/VirtualList.tsx';
import { errorPosition, highlightTerms, pipeIndex, searchPart, withFilter } from '../query-text.ts';

type Row = Record<string, string>;

const RELATIVE = [
  { id: '5m', label: 'Last 5 minutes', sec: 300 },
  { id: '15m', label: 'Last 15 minutes', sec: 900 },
  { id: '1h', label: 'Last hour', sec: 3600 },
  { id: '4h', label: 'Last 4 hours', sec: 4 * 3600 },
  { id: '24h', label: 'Last 24 hours', sec: 86400 },
  { id: '7d', label: 'Last 7 days', sec: 7 * 86400 },
  { id: '30d', label: 'Last 30 days', sec: 30 * 86400 },
] as const;

type Range = { kind: 'relative'; sec: number } | { kind: 'absolute'; from: number; to: number };

const PAGE = 50;
const TAIL_MS = 2000;

function resolve(r: Range): { from: number; to: number } {
  if (r.kind === 'absolute') return { from: r.from, to: r.to };
  const to = Math.floor(Date.now() / 1000) + 1;
  return { from: to - r.sec, to };
}

function toLocalInput(t: number): string {
  const d = new Date(t * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function highlight(text: string, terms: readonly string[]): ReactNode {
  if (terms.length === 0 || text.length > 20_000) return text;
  const re = new RegExp(`(${terms.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`, 'gi');
  const parts = text.split(re);
  if (parts.length === 1) return text;
  return parts.map((p, i) => (i % 2 === 1 ? <mark key={i}>{p}</mark> : <Fragment key={i}>{p}</Fragment>));
}

const SYNTAX: [string, string][] = [
  ['error', 'full-text token'],
  ['status:500', 'field term (numeric on long/double keys)'],
  ['"db timeout"', 'phrase'],
  ['use*  u?er', 'wildcards inside a token'],
  ['a and b · a or b · not a', 'boolean, with ( )'],
  ['status >= 500 · status in [200 299]', 'numeric ranges'],
  ['__topic__:web · __tag__:__path__:/var/log/*', 'reserved fields'],
  ['* | select status, count(*) as n group by status', 'SQL over the hits (table + chart)'],
];

export function SearchPage({ project }: { project: string }) {
  const [logstores, setLogstores] = useState<string[]>([]);
  const [logstore, setLogstore] = useState('');
  const [query, setQuery] = useState('*');
  const [range, setRange] = useState<Range>({ kind: 'relative', sec: 900 });
  const [ran, setRan] = useState<{ query: string; from: number; to: number } | null>(null);
  const [rows, setRows] = useState<Row[]>([]);
  const [sqlRows, setSqlRows] = useState<Row[] | null>(null);
  const [buckets, setBuckets] = useState<api.HistogramBucket[]>([]);
  const [total, setTotal] = useState(0);
  const [page, setPage] = useState(0);
  const [expanded, setExpanded] = useState<Set<number>>(new Set());
  const [error, setError] = useState<{ text: string; position?: number | undefined; query: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [tail, setTail] = useState(false);
  const [help, setHelp] = useState(false);
  const [meta, setMeta] = useState('');
  const abort = useRef<AbortController | null>(null);

  useEffect(() => {
    api
      .get<{ logstores: string[] }>('/logstores', { project, query: { size: 500 } })
      .then((r) => {
        setLogstores(r.logstores);
        // The last logstore used here, unless it has been deleted since.
        const saved = localStorage.getItem(`sluice.logstore.${project}`);
        setLogstore((cur) => cur || (saved && r.logstores.includes(saved) ? saved : (r.logstores[0] ?? '')));
      })
      .catch((e) => setError({ text: api.errorText(e), query: '' }));
  }, [project]);

  useEffect(() => {
    if (logstore) localStorage.setItem(`sluice.logstore.${project}`, logstore);
  }, [project, logstore]);

  const run = useCallback(
    async (q: string, r: Range, pageNo: number, quiet = false) => {
      if (!logstore) return;
      abort.current?.abort();
      const ctl = new AbortController();
      abort.current = ctl;
      const { from, to } = resolve(r);
      if (!quiet) setBusy(true);
      const started = performance.now();
      try {
        const isSql = pipeIndex(q) >= 0;
        const search = searchPart(q) || '*';
        const path = `/logstores/${encodeURIComponent(logstore)}`;
        const histogram = api.call<api.HistogramBucket[]>(path, {
          project,
          query: { type: 'histogram', from, to, query: search },
          signal: ctl.signal,
        });
        const logs = api.call<Row[]>(path, {
          project,
          query: isSql
            ? { type: 'log', from, to, query: q }
            : { type: 'log', from, to, query: q, line: PAGE, offset: pageNo * PAGE, reverse: true },
          signal: ctl.signal,
        });
        const [h, l] = await Promise.all([histogram, logs]);
        if (ctl.signal.aborted) return;
        setBuckets(h.data);
        setTotal(Number(h.headers.get('x-log-count') ?? 0));
        if (isSql) {
          setSqlRows(l.data);
          setRows([]);
        } else {
          setSqlRows(null);
          setRows(l.data);
        }
        setPage(pageNo);
        setRan({ query: q, from, to });
        if (!quiet) setExpanded(new Set());
        setError(null);
        setMeta(
          `${l.headers.get('x-log-progress') ?? ''} · ${Math.round(performance.now() - started)} ms${
            l.headers.get('x-log-processed-rows') ? ` · ${l.headers.get('x-log-processed-rows')} rows scanned` : ''
          }`,
        );
      } catch (e) {
        if (ctl.signal.aborted) return;
        const text = api.errorText(e);
        const position =
          e instanceof api.ApiError && e.code === 'InvalidQueryString' ? errorPosition(e.message, q) : undefined;
        const hint =
          e instanceof api.ApiError && e.code === 'IndexConfigNotExist'
            ? ' — create an index for this logstore on the Logstores page first.'
            : e instanceof api.ApiError && /is not config as key value config/.test(e.message)
              ? ' — add the key to the index on the Logstores page (then reindex to cover older logs).'
              : '';
        setError({ text: text + hint, position, query: q });
        setTail(false);
        // What was on screen belongs to another query (or logstore): showing it under the error reads as its result.
        setRows([]);
        setSqlRows(null);
        setBuckets([]);
        setTotal(0);
        setRan(null);
      } finally {
        if (!quiet) setBusy(false);
      }
    },
    [logstore, project],
  );

  // A search whenever the logstore is chosen or changed (the first one too), with the query and range as they are
  // then: results of the previous logstore must not stay under the new one's name.
  const current = useRef({ query, range });
  current.current = { query, range };
  useEffect(() => {
    if (logstore) void run(current.current.query, current.current.range, 0);
  }, [logstore, run]);

  // Live tail: the relative range re-run every few seconds, first page.
  useEffect(() => {
    if (!tail) return;
    const r: Range = range.kind === 'relative' ? range : { kind: 'relative', sec: 900 };
    if (range.kind !== 'relative') setRange(r);
    const timer = setInterval(() => void run(query, r, 0, true), TAIL_MS);
    return () => clearInterval(timer);
  }, [tail, range, query, run]);

  const terms = useMemo(() => highlightTerms(ran?.query ?? ''), [ran]);
  const submit = () => void run(query, range, 0);
  const filter = (key: string, value: string) => {
    const q = withFilter(query, key, value);
    setQuery(q);
    void run(q, range, 0);
  };
  const zoom = (from: number, to: number) => {
    const r: Range = { kind: 'absolute', from, to };
    setTail(false);
    setRange(r);
    void run(query, r, 0);
  };
  const pages = Math.max(1, Math.ceil(total / PAGE));
  const shown = ran ?? resolve(range);

  return (
    <div className="page search">
      <div className="toolbar">
        <select value={logstore} onChange={(e) => setLogstore(e.target.value)} aria-label="logstore">
          {logstores.length === 0 && <option value="">(no logstores)</option>}
          {logstores.map((l) => (
            <option key={l}>{l}</option>
          ))}
        </select>
        <div className="query-box">
          <input
            className={error?.position !== undefined ? 'query bad' : 'query'}
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') submit();
            }}
            placeholder="status:500 and path:/api* | select count(*) as n"
            aria-label="query"
            spellCheck={false}
          />
          <button type="button" className="ghost help-btn" onClick={() => setHelp(!help)} title="query syntax">
            ?
          </button>
          {help && (
            <div className="syntax-help card">
              <table>
                <tbody>
                  {SYNTAX.map(([q, what]) => (
                    <tr key={q}>
                      <td>
                        <code>{q}</code>
                      </td>
                      <td>{what}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
        <select
          aria-label="time range"
          value={range.kind === 'relative' ? String(range.sec) : 'absolute'}
          onChange={(e) => {
            if (e.target.value === 'absolute') {
              const { from, to } = resolve(range);
              setRange({ kind: 'absolute', from, to });
            } else {
              setRange({ kind: 'relative', sec: Number(e.target.value) });
            }
          }}
        >
          {RELATIVE.map((r) => (
            <option key={r.id} value={r.sec}>
              {r.label}
            </option>
          ))}
          <option value="absolute">Absolute…</option>
        </select>
        {range.kind === 'absolute' && (
          <span className="absolute">
            <input
              type="datetime-local"
              step={1}
              value={toLocalInput(range.from)}
              onChange={(e) => setRange({ ...range, from: Math.floor(new Date(e.target.value).getTime() / 1000) })}
              aria-label="from"
            />
            –
            <input
              type="datetime-local"
              step={1}
              value={toLocalInput(range.to)}
              onChange={(e) => setRange({ ...range, to: Math.floor(new Date(e.target.value).getTime() / 1000) })}
              aria-label="to"
            />
          </span>
        )}
        <button
          type="button"
          className="primary"
          onClick={submit}
          disabled={busy || !logstore}
          data-testid="run-search"
        >
          {busy ? 'Searching…' : 'Search'}
        </button>
        <label className="toggle" title="re-run every 2 s over the relative range">
          <input type="checkbox" checked={tail} onChange={(e) => setTail(e.target.checked)} aria-label="live tail" />{' '}
          Live tail
        </label>
      </div>

      {error && (
        <div className="banner error" data-testid="query-error">
          {error.position !== undefined && (
            <pre className="caret">
              {error.query}
              {'\n'}
              {' '.repeat(error.position)}^
            </pre>
          )}
          {error.text}
        </div>
      )}

      {!error && <Histogram buckets={buckets} from={shown.from} to={shown.to} onZoom={zoom} />}

      {error ? null : sqlRows ? (
        <SqlResult rows={sqlRows} key={`${ran?.query}-${ran?.to}`} />
      ) : (
        <>
          <div className="result-head">
            <span>
              {total.toLocaleString()} logs, newest first · page {page + 1} of {pages}
              <span className="muted"> · {meta}</span>
            </span>
            <span className="pager">
              <button type="button" disabled={page === 0 || busy} onClick={() => void run(query, range, page - 1)}>
                ‹ Newer
              </button>
              <button
                type="button"
                disabled={page + 1 >= pages || busy}
                onClick={() => void run(query, range, page + 1)}
              >
                Older ›
              </button>
            </span>
          </div>
          {rows.length === 0 ? (
            <div className="empty">No logs in this range.</div>
          ) : (
            <VirtualList
              items={rows}
              estimate={34}
              height="calc(100vh - 360px)"
              className="log-rows"
              render={(row, i) => (
                <LogRow
                  row={row}
                  open={expanded.has(i)}
                  terms={terms}
                  onToggle={() => {
                    const next = new Set(expanded);
                    if (next.has(i)) next.delete(i);
                    else next.add(i);
                    setExpanded(next);
                  }}
                  onFilter={filter}
                />
              )}
            />
          )}
        </>
      )}
    </div>
  );
}

function LogRow({
  row,
  open,
  terms,
  onToggle,
  onFilter,
}: {
  row: Row;
  open: boolean;
  terms: readonly string[];
  onToggle: () => void;
  onFilter: (key: string, value: string) => void;
}) {
  const time = new Date(Number(row['__time__']) * 1000);
  const fields = Object.entries(row).filter(([k, v]) => k !== '__time__' && !(k.startsWith('__') && v === ''));
  return (
    <div className={open ? 'log-row open' : 'log-row'} data-testid="log-row">
      <button type="button" className="log-line" onClick={onToggle}>
        <span className="chev">{open ? '▾' : '▸'}</span>
        <span className="log-time">{time.toLocaleString()}</span>
        <span className="log-summary">
          {fields.map(([k, v]) => (
            <span key={k} className="kv">
              <span className="k">{k}</span>=
              <span className="v">{highlight(v.length > 300 ? `${v.slice(0, 300)}…` : v, terms)}</span>{' '}
            </span>
          ))}
        </span>
      </button>
      {open && (
        <table className="fields">
          <tbody>
            {fields.map(([k, v]) => (
              <tr key={k}>
                <th>{k}</th>
                <td>
                  <button type="button" className="value" title="filter on this value" onClick={() => onFilter(k, v)}>
                    {highlight(v, terms)}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** Which chart fits a result: a time-like first column → line; few categories with one measure → pie; else bar. */
function pickChart(
  columns: readonly string[],
  rows: readonly Row[],
): { kind: ChartKind; label: string; measures: string[] } {
  const numeric = (c: string) =>
    rows.length > 0 &&
    rows.every((r) => r[c] === undefined || r[c] === '' || r[c] === 'null' || Number.isFinite(Number(r[c])));
  const measures = columns.filter((c) => numeric(c));
  const labelCol = columns.find((c) => !measures.includes(c)) ?? columns[0] ?? '';
  const ms = measures.filter((m) => m !== labelCol);
  if (ms.length === 0 || rows.length === 0) return { kind: 'table', label: labelCol, measures: [] };
  const timeLike =
    /time|date|minute|hour|day|^t$|^ts$/i.test(labelCol) ||
    rows.slice(0, 20).every((r) => /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}/.test(r[labelCol] ?? ''));
  if (timeLike) return { kind: 'line', label: labelCol, measures: ms };
  if (ms.length === 1 && rows.length <= 8 && rows.every((r) => Number(r[ms[0]!]) >= 0)) {
    return { kind: 'pie', label: labelCol, measures: ms };
  }
  return { kind: 'bar', label: labelCol, measures: ms };
}

function SqlResult({ rows }: { rows: Row[] }) {
  const columns = useMemo(() => (rows[0] ? Object.keys(rows[0]) : []), [rows]);
  const auto = useMemo(() => pickChart(columns, rows), [columns, rows]);
  const [kind, setKind] = useState<ChartKind | 'auto'>('auto');
  const chosen = kind === 'auto' ? auto.kind : kind;
  const chartRows = rows.slice(0, 2000);
  const labels = chartRows.map((r) => r[auto.label] ?? '');
  const series: Series[] = auto.measures.map((m) => ({
    name: m,
    values: chartRows.map((r) => Number(r[m] ?? 0) || 0),
  }));
  return (
    <div className="sql-result">
      <div className="result-head">
        <span>{rows.length.toLocaleString()} rows</span>
        <span className="segmented small">
          {(['auto', 'line', 'bar', 'pie', 'table'] as const).map((k) => (
            <button type="button" key={k} className={kind === k ? 'on' : ''} onClick={() => setKind(k)} data-kind={k}>
              {k === 'auto' ? `auto (${auto.kind})` : k}
            </button>
          ))}
        </span>
      </div>
      {series.length > 0 && chosen === 'line' && <LineChart labels={labels} series={series} />}
      {series.length > 0 && chosen === 'bar' && <BarChart labels={labels} series={series} />}
      {series.length > 0 && chosen === 'pie' && <PieChart labels={labels} values={series[0]!.values} />}
      <div className="sql-table">
        <div className="sql-tr sql-th" style={{ gridTemplateColumns: `repeat(${columns.length}, minmax(120px, 1fr))` }}>
          {columns.map((c) => (
            <span key={c}>{c}</span>
          ))}
        </div>
        <VirtualList
          items={rows}
          estimate={28}
          height={Math.min(420, rows.length * 28 + 4)}
          render={(r) => (
            <div className="sql-tr" style={{ gridTemplateColumns: `repeat(${columns.length}, minmax(120px, 1fr))` }}>
              {columns.map((c) => (
                <span key={c}>{r[c]}</span>
              ))}
            </div>
          )}
        />
      </div>
    </div>
  );
}
