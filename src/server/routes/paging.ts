import { optionalInt } from './json-body.js';

export const MAX_PAGE_SIZE = 500;

/** `offset`/`size` paging of list APIs; empty values (the Node SDK sends `offset=&size=`) mean the defaults. */
export function page<T>(
  items: readonly T[],
  query: Readonly<Record<string, string>>,
  defaultSize = MAX_PAGE_SIZE,
): T[] {
  const offset = optionalInt(query['offset'], 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const size = optionalInt(query['size'], 'size', 0, MAX_PAGE_SIZE) ?? defaultSize;
  return items.slice(offset, offset + size);
}
