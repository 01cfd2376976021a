/**
 * Line, bar and pie charts for `| SQL` results, as hand-written SVG. Why not a library: the console needs three plain
 * chart kinds over at most a few thousand points; the mainstream React chart libraries (recharts, nivo, visx) each
 * pull in d3 modules and 100–400 KB of script for features we would not use, and every extra dependency here must
 * also be mirrored for `npm ci`. Three small components keep the bundle small and the rendering easy to follow.
 */
import { useState } from 'react';

export type ChartKind = 'line' | 'bar' | 'pie' | 'table';

export interface Series {
  readonly name: string;
  readonly values: readonly number[];
}

const COLORS = ['#2f6fde', '#e8833a', '#3aa55d', '#c4443b', '#8a5cc2', '#1c9fa8', '#b0902b', '#d45a9e'];
const W = 900;
const H = 280;
const PAD = { left: 56, right: 16, top: 16, bottom: 44 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function Legend({ series }: { series: readonly Series[] }) {
  if (series.length < 2) return null;
  return (
    <div className="legend">
      {series.map((s, i) => (
        <span key={s.name}>
          <i style={{ background: COLORS[i % COLORS.length] }} />
          {s.name}
        </span>
      ))}
    </div>
  );
}

/**
 * Shorter labels for SQL timestamps (`2026-11-22 16:12:00.000`): the date goes when every label shares it, the
 * seconds when every label is a whole minute, milliseconds always.
 */
export function shortLabels(labels: readonly string[]): string[] {
  const ts = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(:\d{2})?(\.\d+)?$/;
  const parsed = labels.map((l) => ts.exec(l));
  if (labels.length === 0 || parsed.some((m) => m === null)) return [...labels];
  const oneDay = parsed.every((m) => m![1] === parsed[0]![1]);
  const wholeMinutes = parsed.every((m) => !m![3] || m![3] === ':00');
  return parsed.map((m) => {
    const sec = wholeMinutes ? '' : (m![3] ?? ':00');
    return `${oneDay ? '' : `${m![1]!.slice(5)} `}${m![2]}${sec}`;
  });
}

function Axes({ max, labels: raw }: { max: number; labels: readonly string[] }) {
  const labels = shortLabels(raw);
  const plotH = H - PAD.top - PAD.bottom;
  const step = Math.max(1, Math.ceil(labels.length / 8));
  const plotW = W - PAD.left - PAD.right;
  return (
    <g>
      {[0, 0.25, 0.5, 0.75, 1].map((f) => {
        const y = PAD.top + plotH * (1 - f);
        return (
          <g key={f}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y} y2={y} className="grid" />
            <text x={PAD.left - 6} y={y + 4} textAnchor="end" className="tick">
              {fmt(max * f)}
            </text>
          </g>
        );
      })}
      {labels.map((l, i) =>
        i % step === 0 ? (
          <text
            key={`${l}-${i}`}
            x={PAD.left + (plotW * (i + 0.5)) / labels.length}
            y={H - PAD.bottom + 16}
            textAnchor="middle"
            className="tick"
          >
            {l.length > 16 ? `${l.slice(0, 15)}…` : l}
          </text>
        ) : null,
      )}
    </g>
  );
}

export function LineChart({ labels, series }: { labels: readonly string[]; series: readonly Series[] }) {
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (plotW * (i + 0.5)) / Math.max(1, labels.length);
  const y = (v: number) => PAD.top + plotH * (1 - v / max);
  return (
    <div className="chart" data-chart="line">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="line chart">
        <Axes max={max} labels={labels} />
        {series.map((s, si) => (
          <g key={s.name}>
            <polyline
              fill="none"
              stroke={COLORS[si % COLORS.length]}
              strokeWidth={2}
              points={s.values.map((v, i) => `${x(i)},${y(v)}`).join(' ')}
            />
            {s.values.length <= 60 &&
              s.values.map((v, i) => <circle key={i} cx={x(i)} cy={y(v)} r={3} fill={COLORS[si % COLORS.length]} />)}
          </g>
        ))}
      </svg>
      <Legend series={series} />
    </div>
  );
}

export function BarChart({ labels, series }: { labels: readonly string[]; series: readonly Series[] }) {
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, labels.length);
  const bw = Math.max(1, (slot * 0.8) / Math.max(1, series.length));
  return (
    <div className="chart" data-chart="bar">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="bar chart">
        <Axes max={max} labels={labels} />
        {series.map((s, si) =>
          s.values.map((v, i) => {
            const h = (plotH * v) / max;
            return (
              <rect
                key={`${si}-${i}`}
                x={PAD.left + slot * i + slot * 0.1 + bw * si}
                y={PAD.top + plotH - h}
                width={bw}
                height={Math.max(0, h)}
                fill={COLORS[si % COLORS.length]}
              >
                <title>{`${labels[i]}: ${v}`}</title>
              </rect>
            );
          }),
        )}
      </svg>
      <Legend series={series} />
    </div>
  );
}

export function PieChart({ labels, values }: { labels: readonly string[]; values: readonly number[] }) {
  const [hover, setHover] = useState(-1);
  const total = values.reduce((s, v) => s + Math.max(0, v), 0) || 1;
  const r = 110;
  const cx = 150;
  const cy = 130;
  let angle = -Math.PI / 2;
  return (
    <div className="chart pie" data-chart="pie">
      <svg viewBox="0 0 300 260" role="img" aria-label="pie chart">
        {values.map((v, i) => {
          const a0 = angle;
          const a1 = angle + (Math.max(0, v) / total) * Math.PI * 2;
          angle = a1;
          const large = a1 - a0 > Math.PI ? 1 : 0;
          const p = (a: number) => `${cx + r * Math.cos(a)},${cy + r * Math.sin(a)}`;
          const d =
            values.length === 1
              ? `M ${cx - r},${cy} a ${r},${r} 0 1,0 ${2 * r},0 a ${r},${r} 0 1,0 ${-2 * r},0`
              : `M ${cx},${cy} L ${p(a0)} A ${r},${r} 0 ${large} 1 ${p(a1)} Z`;
          return (
            <path
              key={`${labels[i]}-${i}`}
              d={d}
              fill={COLORS[i % COLORS.length]}
              opacity={hover === -1 || hover === i ? 1 : 0.5}
              onPointerEnter={() => setHover(i)}
              onPointerLeave={() => setHover(-1)}
            >
              <title>{`${labels[i]}: ${v}`}</title>
            </path>
          );
        })}
      </svg>
      <div className="legend vertical">
        {labels.map((l, i) => (
          <span key={`${l}-${i}`} className={hover === i ? 'on' : ''}>
            <i style={{ background: COLORS[i % COLORS.length] }} />
            {l} — {values[i]} ({((100 * Math.max(0, values[i]!)) / total).toFixed(1)}%)
          </span>
        ))}
      </div>
    </div>
  );
}
