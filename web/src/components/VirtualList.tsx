/**
 * A virtualized list: only the rows in view (plus a few) are rendered, so 100k rows cost the same as 30. Rows may
 * change height (an expanded log): each rendered row is measured.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { type ReactNode, useRef } from 'react';

export function VirtualList<T>({
  items,
  estimate,
  render,
  height,
  rowKey,
  className,
}: {
  items: readonly T[];
  estimate: number;
  render: (item: T, index: number) => ReactNode;
  height: number | string;
  rowKey?: (item: T, index: number) => string | number;
  className?: string;
}) {
  const parent = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({
    count: items.length,
    getScrollElement: () => parent.current,
    estimateSize: () => estimate,
    overscan: 8,
    ...(rowKey ? { getItemKey: (i: number) => rowKey(items[i]!, i) } : {}),
  });
  return (
    <div
      ref={parent}
      className={`vlist ${className ?? ''}`}
      style={{ height, overflow: 'auto' }}
      data-rows={items.length}
    >
      <div style={{ height: v.getTotalSize(), position: 'relative' }}>
        {v.getVirtualItems().map((row) => (
          <div
            key={row.key}
            data-index={row.index}
            ref={v.measureElement}
            style={{ position: 'absolute', top: 0, left: 0, right: 0, transform: `translateY(${row.start}px)` }}
          >
            {render(items[row.index]!, row.index)}
          </div>
        ))}
      </div>
    </div>
  );
}
