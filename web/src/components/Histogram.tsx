/**
 * Log counts over time as SVG bars; drag across to zoom into that range (hand-written SVG: one rect per bucket, no
 * chart library needed for this — see Charts.tsx for the reasoning).
 */
import { type PointerEvent, useRef, useState } from 'react';
import type { HistogramBucket } from '../api.ts';

const HEIGHT = 110;
const PAD_LEFT = 44;
const PAD_BOTTOM = 20;

export function Histogram({
  buckets,
  from,
  to,
  onZoom,
}: {
  buckets: readonly HistogramBucket[];
  from: number;
  to: number;
  onZoom: (from: number, to: number) => void;
}) {
  const ref = useRef<SVGSVGElement>(null);
  const [drag, setDrag] = useState<{ a: number; b: number } | null>(null);
  const [hover, setHover] = useState<HistogramBucket | null>(null);
  const width = 1000;
  const plotW = width - PAD_LEFT - 8;
  const plotH = HEIGHT - PAD_BOTTOM - 6;
  const span = Math.max(1, to - from);
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const total = buckets.reduce((s, b) => s + b.count, 0);
  const xOf = (t: number) => PAD_LEFT + ((t - from) / span) * plotW;
  const tOf = (clientX: number) => {
    const r = ref.current!.getBoundingClientRect();
    const x = ((clientX - r.left) / r.width) * width;
    return Math.min(to, Math.max(from, from + ((x - PAD_LEFT) / plotW) * span));
  };
  const ticks = 6;
  const tickLabel = (t: number) => {
    const d = new Date(t * 1000);
    return span > 2 * 86400
      ? d.toLocaleDateString([], { month: 'short', day: 'numeric' })
      : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', ...(span < 600 ? { second: '2-digit' } : {}) });
  };

  const down = (e: PointerEvent<SVGSVGElement>) => {
    (e.target as Element).setPointerCapture?.(e.pointerId);
    const t = tOf(e.clientX);
    setDrag({ a: t, b: t });
  };
  const move = (e: PointerEvent<SVGSVGElement>) => {
    const t = tOf(e.clientX);
    if (drag) setDrag({ ...drag, b: t });
    setHover(buckets.find((b) => b.from <= t && t < b.to) ?? null);
  };
  const up = () => {
    if (drag) {
      const a = Math.floor(Math.min(drag.a, drag.b));
      const b = Math.ceil(Math.max(drag.a, drag.b));
      if (b - a >= 1 && (b - a) / span > 0.01) onZoom(a, b);
    }
    setDrag(null);
  };

  return (
    <div className="histogram">
      <div className="histogram-head">
        <span data-testid="hist-total">{total.toLocaleString()} logs</span>
        <span className="muted">
          {hover
            ? `${new Date(hover.from * 1000).toLocaleString()} — ${hover.count.toLocaleString()}`
            : 'drag across the chart to zoom'}
        </span>
      </div>
      <svg
        ref={ref}
        viewBox={`0 0 ${width} ${HEIGHT}`}
        preserveAspectRatio="none"
        className="histogram-svg"
        onPointerDown={down}
        onPointerMove={move}
        onPointerUp={up}
        onPointerLeave={() => setHover(null)}
        role="img"
        aria-label="log count histogram"
      >
        <line x1={PAD_LEFT} x2={width - 8} y1={plotH + 6} y2={plotH + 6} className="axis" />
        <text x={PAD_LEFT - 6} y={12} className="tick" textAnchor="end">
          {max.toLocaleString()}
        </text>
        <text x={PAD_LEFT - 6} y={plotH + 6} className="tick" textAnchor="end">
          0
        </text>
        {buckets.map((b) => {
          const x = xOf(b.from);
          const w = Math.max(1, xOf(b.to) - x - 1);
          const h = (b.count / max) * plotH;
          return (
            <rect
              key={b.from}
              x={x}
              y={plotH + 6 - h}
              width={w}
              height={h}
              className={hover === b ? 'bar hover' : 'bar'}
              data-count={b.count}
            />
          );
        })}
        {Array.from({ length: ticks + 1 }, (_, i) => {
          const t = from + (span * i) / ticks;
          return (
            <text
              key={i}
              x={xOf(t)}
              y={HEIGHT - 4}
              className="tick"
              textAnchor={i === 0 ? 'start' : i === ticks ? 'end' : 'middle'}
            >
              {tickLabel(t)}
            </text>
          );
        })}
        {drag && (
          <rect
            x={xOf(Math.min(drag.a, drag.b))}
            y={0}
            width={Math.abs(xOf(drag.b) - xOf(drag.a))}
            height={plotH + 6}
            className="selection"
          />
        )}
      </svg>
    </div>
  );
}
