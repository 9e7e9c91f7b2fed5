/**
 * Faster execution of the NeDB queries that NeDB itself runs slowly, with exactly NeDB's results (PERFORMANCE.md §5).
 *
 * NeDB answers a query that no index serves by testing every document with its generic matcher (~1.3 µs a
 * document), then sorts every match even when the order asked for (`_id`) is the order its data is already in. At
 * 100k users, a deep page of `GET /Users` (scope `{orgId, connectionId}`, sort `{_id: 1}`) paid that twice (count and
 * find) and blocked the event loop for about a second. Here:
 *
 * - documents are taken from NeDB's `_id` index in order (`getAllData()`, what NeDB itself would scan), so a sort by
 *   `_id` needs no sorting and `skip`/`limit` stop the scan early;
 * - a query of plain top-level equalities (`{orgId, connectionId}`) is tested with `===`, falling back to NeDB's own
 *   matcher for any document whose field holds an object or an array (NeDB's array semantics);
 * - a query that covers a compound index with primitives except for one `$in` of primitives (`{orgId, value: {$in:
 *   ids}}`, the memberships of a page of users) starts from one index lookup per `$in` value — NeDB's planner cannot
 *   use a compound index with `$in` and would scan the collection. Compound indexes are only ever declared on scalar
 *   fields (multikey specs are indexed single-field, see `open()`), so the lookups find every candidate.
 *
 * Everything else (any query NeDB starts from an index, projections, TTL indexes) is left to NeDB. The work runs as
 * one task of the datastore's executor, so it is serialised with writes exactly as NeDB's own cursor is.
 */
import type Datastore from '@seald-io/nedb';
import type { Query, Sort } from '../port';

type Doc = Record<string, unknown> & { _id: string };

interface NedbModel {
  match(doc: unknown, query: unknown): boolean;
  deepCopy<T>(doc: T): T;
  compareThings(a: unknown, b: unknown, compareStrings?: (a: string, b: string) => number): number;
  getDotValue(doc: unknown, field: string): unknown;
}

// NeDB's own matcher and comparator, so a fast path can never disagree with NeDB on what matches or how it sorts.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const model = require('@seald-io/nedb/lib/model.js') as NedbModel;

interface TreeNode {
  key?: unknown;
  data: unknown[];
  left?: TreeNode;
  right?: TreeNode;
  compareKeys(a: unknown, b: unknown): number;
  checkValueEquality(a: unknown, b: unknown): boolean;
}

interface NedbIndex {
  tree: { tree: TreeNode; delete(key: unknown, value?: unknown): void };
  getMatching(value: unknown): Doc[];
}

interface NedbInternals {
  executor: { pushAsync<R>(task: () => Promise<R>): Promise<R> };
  indexes: Record<string, NedbIndex>;
  ttlIndexes: Record<string, unknown>;
  compareStrings?: (a: string, b: string) => number;
  getAllData(): Doc[];
}

const internals = (db: Datastore<unknown>) => db as unknown as NedbInternals;

const isScalar = (v: unknown): v is string | number | boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
const isInOfScalars = (v: unknown): v is { $in: Array<string | number | boolean> } =>
  v !== null &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  Object.keys(v).length === 1 &&
  Array.isArray((v as { $in?: unknown }).$in) &&
  (v as { $in: unknown[] }).$in.every(isScalar);

const byId = (a: Doc, b: Doc) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0);

/**
 * Whether NeDB's planner would scan every document for `query`. It depends only on the query's shape and the index
 * names, which do not change after the store is opened, so it is decided before queueing: an indexed query goes
 * straight to NeDB without an extra turn through the datastore's queue.
 */
function nedbWouldScan(db: NedbInternals, query: Query): boolean {
  if (Object.keys(db.ttlIndexes).length > 0) return false;
  const names = Object.keys(db.indexes);
  const keys = Object.keys(query);
  if (keys.some((k) => names.includes(k))) return false;
  const covered = names
    .filter((n) => n.includes(','))
    .map((n) => n.split(','))
    .filter((fields) => fields.every((f) => keys.includes(f)));
  return !covered.some((fields) => fields.every((f) => isScalar(query[f]) || query[f] === null || query[f] instanceof Date));
}

/**
 * The candidate documents in `_id` order when NeDB would scan for `query` (a NeDB-dialect query), or `undefined`
 * when NeDB would start from an index (then NeDB runs the query). Mirrors NeDB's planner (`_getRawCandidates`):
 * any top-level key naming an index, or a compound index covered by scalars, is NeDB's business.
 */
function candidatesInIdOrder(db: NedbInternals, query: Query): Doc[] | undefined {
  if (!nedbWouldScan(db, query)) return undefined;
  const keys = Object.keys(query);
  const covered = Object.keys(db.indexes)
    .filter((n) => n.includes(','))
    .map((n) => ({ name: n, fields: n.split(',') }))
    .filter((c) => c.fields.every((f) => keys.includes(f)));
  for (const { name, fields } of covered) {
    const inFields = fields.filter((f) => isInOfScalars(query[f]));
    if (inFields.length !== 1 || !fields.every((f) => f === inFields[0] || isScalar(query[f]))) continue;
    const [inField] = inFields;
    const seen = new Set<Doc>();
    for (const value of new Set((query[inField] as { $in: unknown[] }).$in)) {
      const key: Record<string, unknown> = {};
      for (const f of fields) key[f] = f === inField ? value : query[f];
      for (const doc of db.indexes[name].getMatching(key)) seen.add(doc);
    }
    return [...seen].sort(byId);
  }
  return db.getAllData();
}

/** NeDB's matcher, with plain top-level equalities (`{orgId: 'x', connectionId: 'y'}`) tested directly. */
function matcher(query: Query): (doc: Doc) => boolean {
  const entries = Object.entries(query);
  const plain = entries.every(([k, v]) => !k.startsWith('$') && !k.includes('.') && isScalar(v));
  if (!plain) return (doc) => model.match(doc, query);
  return (doc) => {
    for (const [k, v] of entries) {
      const actual = doc[k];
      if (actual === v) continue;
      // An array field matches when an element does (and objects have their own rules): NeDB decides.
      if (actual !== null && typeof actual === 'object') return model.match(doc, query);
      return false;
    }
    return true;
  };
}

export interface ScanOptions {
  sort?: Sort;
  skip?: number;
  limit?: number;
}

/**
 * Runs `find` for a NeDB-dialect query when NeDB would scan for it; `undefined` when NeDB should run it itself.
 * Results are deep copies, as NeDB's `find` returns.
 */
export async function scanFind(db: Datastore<unknown>, query: Query, options: ScanOptions): Promise<Doc[] | undefined> {
  const nedb = internals(db);
  if (!nedbWouldScan(nedb, query)) return undefined;
  return nedb.executor.pushAsync(async () => {
    const candidates = candidatesInIdOrder(nedb, query);
    if (!candidates) return undefined;
    const matches = matcher(query);
    // NeDB reads 0 as "no skip" and "no limit".
    const skip = options.skip || 0;
    const limit = options.limit || Infinity;
    const sortKeys = Object.entries(options.sort ?? {});
    const idOnly = sortKeys.length === 0 || (sortKeys.length === 1 && sortKeys[0][0] === '_id');
    let page: Doc[];
    if (idOnly) {
      // Candidates are in ascending `_id` order: walk them in the direction asked and stop once the page is full.
      const descending = sortKeys.length === 1 && sortKeys[0][1] === -1;
      page = [];
      let skipped = 0;
      const n = candidates.length;
      for (let i = 0; i < n && page.length < limit; i++) {
        const doc = candidates[descending ? n - 1 - i : i];
        if (!matches(doc)) continue;
        if (skipped < skip) skipped++;
        else page.push(doc);
      }
    } else {
      // The comparator of NeDB's cursor, applied to the same input order: the same (stable) result.
      const all = candidates.filter(matches);
      all.sort((a, b) => {
        for (const [key, direction] of sortKeys) {
          const c = direction * model.compareThings(model.getDotValue(a, key), model.getDotValue(b, key), nedb.compareStrings);
          if (c !== 0) return c;
        }
        return 0;
      });
      page = all.slice(skip, skip + limit);
    }
    return page.map((doc) => model.deepCopy(doc));
  });
}

/** Runs `count` when NeDB would scan for the query; `undefined` when NeDB should run it itself. */
export async function scanCount(db: Datastore<unknown>, query: Query): Promise<number | undefined> {
  const nedb = internals(db);
  if (!nedbWouldScan(nedb, query)) return undefined;
  return nedb.executor.pushAsync(async () => {
    const candidates = candidatesInIdOrder(nedb, query);
    if (!candidates) return undefined;
    const matches = matcher(query);
    let n = 0;
    for (const doc of candidates) if (matches(doc)) n++;
    return n;
  });
}

/**
 * Makes removing one document from an index key that many documents share cost a pass over that key's documents
 * without allocating, instead of NeDB's copy of them all. NeDB rewrites every index entry of a document on every
 * update, and some keys are shared by nearly all users (`{orgId, lifecycle.license: 'free'}`) or by every member of a
 * large group (`{orgId, groupId}`): each user write copied a 100k-element array (the O(N) step of PATCH and DELETE).
 *
 * Same result as the library's "delete only a value" branch (every entry equal to `value` under `key` is removed;
 * the tree itself is untouched); every other case (removing a node's last value, a key that is absent) goes to the
 * library. Applied to the index trees of an open datastore: NeDB builds new trees only when it loads, which this
 * adapter does once, before patching.
 */
export function patchIndexValueDeletes(db: Datastore<unknown>): void {
  for (const index of Object.values(internals(db).indexes)) {
    const wrapper = index.tree;
    const original = wrapper.delete.bind(wrapper);
    wrapper.delete = (key: unknown, value?: unknown) => {
      if (value !== undefined) {
        let node: TreeNode | undefined = wrapper.tree;
        while (node && Object.prototype.hasOwnProperty.call(node, 'key')) {
          const c = node.compareKeys(key, node.key);
          if (c === 0) break;
          node = c < 0 ? node.left : node.right;
        }
        if (node && Object.prototype.hasOwnProperty.call(node, 'key') && node.data.length > 1) {
          const data = node.data;
          let kept = 0;
          for (let i = 0; i < data.length; i++) if (!node.checkValueEquality(data[i], value)) data[kept++] = data[i];
          // Every value was equal: the library would have kept an empty node; leave that rare case to it.
          if (kept > 0) {
            data.length = kept;
            return;
          }
          return original(key, value);
        }
      }
      original(key, value);
    };
  }
}
