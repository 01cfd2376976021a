import { INDEX_KIND, type StoredIndex } from '../index/index-registry.js';
import type { MetaStore } from '../meta/meta-store.js';
import type { DeclaredColumns } from './rows.js';

/**
 * The columns a logstore's index config declares (`keys` of CreateIndex), typed: `long` and `double` keys become
 * numeric columns, `text` and `json` keys text. Read per batch, so an index change applies to the next batch.
 */
export function declaredColumns(meta: MetaStore, project: string, logstore: string): DeclaredColumns {
  const doc = meta.getResource<StoredIndex>(INDEX_KIND, `${project}/${logstore}/`);
  const keys = doc?.config['keys'];
  const out = new Map<string, 'long' | 'double' | 'text'>();
  if (typeof keys !== 'object' || keys === null) return out;
  for (const [key, conf] of Object.entries(keys as Record<string, { type?: unknown }>)) {
    const type = conf?.type;
    out.set(key, type === 'long' || type === 'double' ? type : 'text');
  }
  return out;
}
