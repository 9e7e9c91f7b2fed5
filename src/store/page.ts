/** One page of a query with its true total, shared by every list the server answers (SCIM lists, admin accounts). */
import type { Collection, DeepReadonly, Query, Sort } from './port';

export interface Page<T> {
  total: number;
  /** Read for rendering only: they may be the store's own objects (`Collection.findReadOnly`). */
  docs: ReadonlyArray<DeepReadonly<T>>;
}

/**
 * The documents of `query` from `skip`, at most `limit` (0: the total only), and how many match in all. A page shorter
 * than `limit` ends the results, so its total is `skip` plus what it holds and nothing is counted: an IdP looking a
 * user up by `userName` or `externalId` gets one read instead of two. A full page, or an empty one past the start,
 * is counted.
 */
export async function findPage<T extends { _id: string }>(collection: Collection<T>, query: Query, sort: Sort, skip: number, limit: number): Promise<Page<T>> {
  if (limit <= 0) return { total: await collection.count(query), docs: [] };
  const docs = await collection.findReadOnly(query, { sort, skip, limit });
  if (docs.length < limit && (docs.length > 0 || skip === 0)) return { total: skip + docs.length, docs };
  return { total: await collection.count(query), docs };
}
