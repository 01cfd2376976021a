import { SlsError } from '../../protocol/errors.js';

/** A parse error: 400 `InvalidQueryString` naming the position (0-based character offset) and what was expected. */
export function queryError(query: string, pos: number, message: string): SlsError {
  const near = query.slice(pos, pos + 20);
  const where = pos >= query.length ? 'at the end of the query' : `at position ${pos} (near ${JSON.stringify(near)})`;
  const err = new SlsError('InvalidQueryString', `invalid query ${where}: ${message}`);
  return Object.assign(err, { position: pos });
}
