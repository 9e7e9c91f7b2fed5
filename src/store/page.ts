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
export async function findPage<T extends { _id: string }>(
  collection: Collection<T>,
  query: Query,
  sort: Sort,
  skip: number,
  limit: number,
  /** The sort's first field, when some documents may have no value for it (see {@link valuesFirst}). */
  mayBeMissing?: string,
): Promise<Page<T>> {
  if (limit <= 0) return { total: await collection.count(query), docs: [] };
  if (mayBeMissing !== undefined) return valuesFirst(collection, query, sort, skip, limit, mayBeMissing);
  const docs = await collection.findReadOnly(query, { sort, skip, limit });
  if (docs.length < limit && (docs.length > 0 || skip === 0)) return { total: skip + docs.length, docs };
  return { total: await collection.count(query), docs };
}

/**
 * RFC 7644 §3.4.2.3: documents without a value for the sort field come last when ascending and first when
 * descending. Both stores order a missing value below every other, so the two parts are read one after the other:
 * those with a value in the sort's order, those without by `_id`.
 */
async function valuesFirst<T extends { _id: string }>(collection: Collection<T>, query: Query, sort: Sort, skip: number, limit: number, field: string): Promise<Page<T>> {
  const valued: Query = { [field]: { $exists: true, $nin: [null, ''] } };
  const withValue = { part: { $and: [query, valued] }, sort };
  const without = { part: { $and: [query, { $nor: [valued] }] }, sort: { _id: 1 } as Sort };
  const docs: Array<DeepReadonly<T>> = [];
  let total = 0;
  let offset = skip;
  for (const { part, sort: order } of sort[field] === -1 ? [without, withValue] : [withValue, without]) {
    const n = await collection.count(part);
    total += n;
    if (docs.length < limit && offset < n) docs.push(...(await collection.findReadOnly(part, { sort: order, skip: offset, limit: limit - docs.length })));
    offset = Math.max(0, offset - n);
  }
  return { total, docs };
}
