/**
 * Reads of the embedded store, answered synchronously from NeDB's in-memory data with NeDB's results (the same
 * documents, in the same order whenever a sort is asked for) (PERFORMANCE.md §5).
 *
 * NeDB runs every read as a task of its datastore's queue, through a cursor, a waterfall of promises and a copy of
 * the candidates: ~10 µs for a lookup by id, and it tests every document with its generic matcher (~1 µs a document)
 * when no index serves the query, then sorts every match even when the order asked for (`_id`) is the order its data
 * is already in. Here:
 *
 * - a read runs at once, between two queued tasks. NeDB applies a write to its indexes in one synchronous step, so a
 *   read sees every write that has resolved and never half of one; a write still queued is simply not seen yet;
 * - candidates come from the index that offers the fewest (NeDB takes the last usable one it sees);
 * - a query no index serves reads every document in `_id` order, from an array kept until the next write (NeDB would
 *   rebuild it from its tree on every query: ~30 ms at 100k documents); a sort by `_id` then needs no sorting, and
 *   `skip`/`limit` stop early;
 * - a query of plain top-level equalities (the scope of a list, `{orgId, connectionId}`) is tested with `===`, falling
 *   back to NeDB's matcher for any document whose field holds an object or an array (NeDB's array semantics); its
 *   count and the positions of every 64th match are kept until the next write, so a deep page (`startIndex=50001`)
 *   starts next to its first document instead of walking to it;
 * - a query that covers a compound index with primitives except for one `$in` of primitives (`{orgId, value: {$in:
 *   ids}}`, the memberships of a page of users) starts from one index lookup per `$in` value — NeDB's planner cannot
 *   use a compound index with `$in` and would scan the collection. Compound indexes are only ever declared on scalar
 *   fields (multikey specs are indexed single-field, see `open()`), so the lookups find every candidate.
 *
 * Projections other than a list of top-level fields, and TTL indexes, are left to NeDB.
 */
import type Datastore from '@seald-io/nedb';
import type { Query, Sort } from '../port';
import { compareKeyValues, hasKey, internals, model, type Doc, type NedbIndex, type NedbInternals, type TreeNode } from './nedb';

const isScalar = (v: unknown): v is string | number | boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
const isInOfScalars = (v: unknown): v is { $in: Array<string | number | boolean> } =>
  v !== null &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  Object.keys(v).length === 1 &&
  Array.isArray((v as { $in?: unknown }).$in) &&
  (v as { $in: unknown[] }).$in.every(isScalar);

/** A field of the document itself: not an operator, not a dotted path. */
const isTopLevelField = (key: string) => !key.startsWith('$') && !key.includes('.');

/** A value NeDB's indexes can look up directly (what its planner calls a basic match). */
const isKeyValue = (v: unknown) => isScalar(v) || v === null || v instanceof Date;

const byId = (a: Doc, b: Doc) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0);

/**
 * Matches between two kept positions of a plain query's matches; a deep page walks past half as many on average
 * before its first document. Reading the page at 50001 of 100k users took ~39 µs with 512, ~15 µs with 64.
 */
export const CHECKPOINT_EVERY = 64;

/** Candidates from which a sort that an index's order gives is read from the index instead (smaller: sorted). */
const ORDERED_WALK_FROM = 256;

/**
 * Visits an index's documents in key order (or its reverse) until `visit` returns false. With `place` — where a
 * node's key stands to a range, in the walk's direction: < 0 before it, 0 in it, > 0 after it — subtrees wholly
 * before the range are not entered and the walk stops at the first key after it.
 */
function visitInOrder(root: TreeNode, visit: (doc: Doc) => boolean, descending = false, place?: (node: TreeNode) => number): void {
  const stack: TreeNode[] = [];
  let node: TreeNode | null | undefined = hasKey(root) ? root : undefined;
  while (node || stack.length > 0) {
    while (node) {
      if (place && place(node) < 0) {
        node = descending ? node.left : node.right;
        continue;
      }
      stack.push(node);
      node = descending ? node.right : node.left;
    }
    const current = stack.pop()!;
    if (place && place(current) > 0) return;
    for (const doc of current.data) if (!visit(doc as Doc)) return;
    node = descending ? current.left : current.right;
  }
}

/** `visitInOrder`'s `place` for the keys of a two-field index whose first field equals `value`. */
const firstFieldEquals = (first: string, value: unknown, descending: boolean) => (node: TreeNode) =>
  (descending ? -1 : 1) * compareKeyValues((node.key as Record<string, unknown>)[first], value);

/** The documents under each of `keys` in an index, each once, in the order found. */
function lookupEach(index: NedbIndex, keys: unknown[]): Doc[] {
  const seen = new Set<Doc>();
  for (const key of keys) for (const doc of index.getMatching(key)) seen.add(doc);
  return [...seen];
}

/** Every document in `_id` order: an in-order walk of NeDB's `_id` index (unique, so one document per node). */
function allInIdOrder(db: NedbInternals): Doc[] {
  const out: Doc[] = [];
  visitInOrder(db.indexes._id.tree.tree, (doc) => {
    out.push(doc);
    return true;
  });
  return out;
}

/**
 * NeDB's matcher, with top-level equalities (`{orgId: 'x', connectionId: 'y'}`) tested with `===` and `$in` lists of
 * primitives (`{value: {$in: ids}}`, a page's memberships) with a set — NeDB compares each value with every element
 * of the list. A document whose field holds an object or an array goes to NeDB's matcher (its array semantics).
 */
function matcher(query: Query): (doc: Doc) => boolean {
  const entries = Object.entries(query);
  const fast = entries.every(([k, v]) => isTopLevelField(k) && (isScalar(v) || isInOfScalars(v)));
  if (!fast) return (doc) => model.match(doc, query);
  const tests = entries.map(([k, v]) => {
    if (isScalar(v)) return { k, equals: v };
    return { k, within: new Set<unknown>((v as { $in: unknown[] }).$in) };
  });
  return (doc) => {
    for (const test of tests) {
      const actual = doc[test.k];
      // An array field matches when an element does (and objects have their own rules): NeDB decides.
      if (actual !== null && typeof actual === 'object') return model.match(doc, query);
      if (test.within ? !test.within.has(actual) : actual !== test.equals) return false;
    }
    return true;
  };
}

/** A query of top-level equalities to primitives (`{orgId, connectionId}`, the scope of a list). */
const isPlain = (query: Query) => Object.entries(query).every(([k, v]) => isTopLevelField(k) && isScalar(v));

/** The count of a plain query's matches among the documents in `_id` order, and where every 64th match is. */
interface MatchPositions {
  total: number;
  checkpoints: number[];
  matches(doc: Doc): boolean;
}

/**
 * What a write did, when the collection can tell: nothing, or one document updated or inserted (named by `_id`).
 * Anything else — several documents, removals, a failed write — is reported without a change: all kept is dropped.
 */
export type Change = 'nothing' | { updated: string; before?: Doc } | { inserted: string };

/** Where the document with `_id` `id` is in `docs` (in `_id` order), or -1. */
function positionOfId(docs: Doc[], id: string): number {
  let lo = 0;
  let hi = docs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = docs[mid]._id;
    if (at === id) return mid;
    if (at < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

export interface ReadOptions {
  sort?: Sort;
  skip?: number;
  limit?: number;
  projection?: Record<string, 0 | 1>;
}

/** An inclusion projection of top-level fields (`{value: 1, groupId: 1}`, `_id` possibly excluded). */
const isFieldList = (projection: Record<string, 0 | 1>) =>
  Object.entries(projection).every(([f, v]) => isTopLevelField(f) && (v === 1 || (f === '_id' && v === 0))) &&
  Object.entries(projection).some(([f, v]) => f !== '_id' && v === 1);

/**
 * The reads of one datastore. `written()` must be called after every write (the embedded collection does): what is
 * kept between reads — the documents in `_id` order, a list scope's count and positions — is brought in line with the
 * change when it is one document updated or appended in `_id` order (ids are time-ordered UUIDs, so a new user comes
 * last), and dropped otherwise. Rebuilding it costs a walk of every document: at 100k users a deep page read right
 * after a write took ~16 ms instead of ~0.1 ms, so a list paged while an IdP or logins write paid it on every page.
 */
export class DatastoreReader {
  private readonly db: NedbInternals;
  private inIdOrder?: Doc[];
  private indexes?: Array<{ name: string; index: NedbIndex; fields: string[] }>;
  private readonly positions = new Map<string, MatchPositions>();

  constructor(db: Datastore<unknown>) {
    this.db = internals(db);
  }

  written(change?: Change): void {
    if (change === 'nothing') return;
    if (change !== undefined && this.inIdOrder && this.keptAfter(change, this.inIdOrder)) return;
    this.inIdOrder = undefined;
    this.positions.clear();
  }

  /** Brings the kept documents and positions in line with `change`; `false` when they cannot be. */
  private keptAfter(change: Exclude<Change, 'nothing'>, order: Doc[]): boolean {
    const id = 'updated' in change ? change.updated : change.inserted;
    // The document as stored now (a later write may already have replaced the one this change wrote: same result).
    const stored = this.db.indexes._id.getMatching(id)[0];
    if (!stored) return false;
    if ('updated' in change) {
      const at = positionOfId(order, id);
      if (at < 0) return false;
      // An update in place (write.ts) leaves the same object in `order`: the change says what it was before.
      const before = change.before ?? order[at];
      order[at] = stored;
      // A scope the document entered or left (an unlinked user) has other positions: counted again when next asked.
      for (const [key, known] of this.positions) if (known.matches(before) !== known.matches(stored)) this.positions.delete(key);
      return true;
    }
    if (order.length > 0 && !(order[order.length - 1]._id < id)) return false;
    order.push(stored);
    for (const known of this.positions.values()) {
      if (!known.matches(stored)) continue;
      if (known.total % CHECKPOINT_EVERY === 0) known.checkpoints.push(order.length - 1);
      known.total++;
    }
    return true;
  }

  /**
   * `find` for a NeDB-dialect query; `undefined` when NeDB must run it (TTL indexes, projections other than a list of
   * top-level fields). Results are copies, or with `copies` false snapshots that share the stored document's nested
   * objects (never to be changed): an update gives a stored document new top-level values and never writes into a
   * nested object (write.ts), so a snapshot stays the version it was read at. Projections are always new.
   */
  find(query: Query, options: ReadOptions = {}, copies = true): Doc[] | undefined {
    if (options.projection && !isFieldList(options.projection)) return undefined;
    const page = this.findStored(query, options);
    if (!page || !options.projection) return page?.map(copies ? (doc) => model.deepCopy(doc) : (doc) => ({ ...doc }));
    // NeDB's inclusion projection: the fields listed (those the document has), and `_id` unless it is excluded.
    const fields = Object.keys(options.projection).filter((f) => f !== '_id');
    const withId = options.projection._id !== 0;
    return page.map((doc) => {
      const out: Record<string, unknown> = withId ? { _id: doc._id } : {};
      for (const f of fields) if (doc[f] !== undefined) out[f] = model.deepCopy(doc[f]);
      return out as Doc;
    });
  }

  /** The `_id` of the first document `find` would return (`null`: none), without copying it. */
  firstId(query: Query): string | null | undefined {
    const page = this.findStored(query, { limit: 1 });
    return page === undefined ? undefined : (page[0]?._id ?? null);
  }

  /** The `_id` of every match, in `find`'s order. */
  ids(query: Query): string[] | undefined {
    return this.findStored(query, {})?.map((doc) => doc._id);
  }

  /** `count` for a NeDB-dialect query; `undefined` when NeDB must run it. */
  count(query: Query): number | undefined {
    if (Object.keys(this.db.ttlIndexes).length > 0) return undefined;
    const candidates = this.candidates(query);
    if (candidates.docs === this.inIdOrder && isPlain(query)) return this.matchPositions(query).total;
    const matches = matcher(query);
    let n = 0;
    for (const doc of candidates.docs) if (matches(doc)) n++;
    return n;
  }

  private findStored(query: Query, options: ReadOptions): Doc[] | undefined {
    if (Object.keys(this.db.ttlIndexes).length > 0) return undefined;
    // NeDB reads 0 as "no skip" and "no limit".
    const skip = options.skip || 0;
    const limit = options.limit || Infinity;
    const sortKeys = Object.entries(options.sort ?? {});
    const candidates = this.candidates(query);
    const matches = matcher(query);
    const byIdOnly = sortKeys.length === 1 && sortKeys[0][0] === '_id';
    if (sortKeys.length === 0 || (byIdOnly && candidates.inIdOrder)) {
      const descending = byIdOnly && sortKeys[0][1] === -1;
      return this.walk(candidates.docs, query, matches, skip, limit, descending);
    }
    const ordered = candidates.docs.length >= ORDERED_WALK_FROM ? this.indexInOrderOf(query, sortKeys) : undefined;
    if (ordered) {
      const page: Doc[] = [];
      let skipped = 0;
      if (limit > 0) {
        const visit = (doc: Doc) => {
          if (!matches(doc)) return true;
          if (skipped < skip) skipped++;
          else page.push(doc);
          return page.length < limit;
        };
        visitInOrder(ordered.index.tree.tree, visit, ordered.descending, firstFieldEquals(ordered.first, query[ordered.first], ordered.descending));
      }
      return page;
    }
    // The comparator of NeDB's cursor: the same (stable) order.
    const all = candidates.docs.filter(matches);
    all.sort((a, b) => {
      for (const [key, direction] of sortKeys) {
        const c = direction * model.compareThings(model.getDotValue(a, key), model.getDotValue(b, key), this.db.compareStrings);
        if (c !== 0) return c;
      }
      return 0;
    });
    return all.slice(skip, skip + limit);
  }

  /**
   * The fewest candidates any index offers for `query`: a single-field index named by a top-level equality (or
   * `$in`), or a compound index covered by equalities (or by equalities and one `$in`, looked up value by value —
   * NeDB's planner cannot use a compound index with `$in`). Compound indexes are only ever declared on scalar fields,
   * so the lookups find every candidate. NeDB's own planner takes the last usable index it sees, which for
   * `{orgId, license: 'pending_seat', accountStatus: 'active'}` is the key nearly every user shares. Without a usable
   * index: every document, in `_id` order.
   */
  private candidates(query: Query): { docs: Doc[]; inIdOrder: boolean } {
    let best: { docs: Doc[]; inIdOrder: boolean } | undefined;
    const offer = (docs: Doc[], inIdOrder = false) => {
      if (!best || docs.length < best.docs.length) best = { docs, inIdOrder };
    };
    for (const { name, index, fields } of this.indexList()) {
      if (fields.length === 1) {
        const value = query[name];
        if (isKeyValue(value)) offer(index.getMatching(value));
        // One lookup per value, as NeDB does, but collected in a set (NeDB keys an object by _id: ~4 µs a document).
        else if (isInOfScalars(value)) offer(lookupEach(index, value.$in));
        continue;
      }
      if (!fields.every((f) => f in query)) continue;
      if (fields.every((f) => isKeyValue(query[f]))) {
        const key: Record<string, unknown> = {};
        for (const f of fields) key[f] = query[f];
        offer(index.getMatching(key));
        continue;
      }
      const inFields = fields.filter((f) => isInOfScalars(query[f]));
      if (inFields.length !== 1 || !fields.every((f) => f === inFields[0] || isScalar(query[f]))) continue;
      const [inField] = inFields;
      const keys = [...new Set((query[inField] as { $in: unknown[] }).$in)].map((value) => {
        const key: Record<string, unknown> = {};
        for (const f of fields) key[f] = f === inField ? value : query[f];
        return key;
      });
      offer(lookupEach(index, keys).sort(byId), true);
    }
    if (best) return best;
    this.inIdOrder ??= allInIdOrder(this.db);
    return { docs: this.inIdOrder, inIdOrder: true };
  }

  /**
   * A unique, non-sparse index on `[a, b]` that gives the order of `sort` for `query`: the query holds `a` equal to a
   * scalar and the sort is on `b`, then possibly `_id` (which cannot break a tie: `b` is unique among the documents
   * with that `a`). The admin account list and SCIM `sortBy=userName` (`{orgId, userNameKey}`) are read from it in
   * order, stopping once the page is full, instead of sorting every user of the organization (~80–130 ms a page at
   * 100k).
   */
  private indexInOrderOf(query: Query, sort: Array<[string, 1 | -1]>): { index: NedbIndex; first: string; descending: boolean } | undefined {
    const [[field, direction], tieBreak] = sort;
    if (sort.length > 2 || (tieBreak && tieBreak[0] !== '_id')) return undefined;
    for (const { index, fields } of this.indexList()) {
      if (fields.length === 2 && index.unique && !index.sparse && fields[1] === field && isScalar(query[fields[0]])) {
        return { index, first: fields[0], descending: direction === -1 };
      }
    }
    return undefined;
  }

  /** The datastore's indexes with their fields, worked out again only when indexes are added or removed. */
  private indexList(): Array<{ name: string; index: NedbIndex; fields: string[] }> {
    const names = Object.keys(this.db.indexes);
    if (this.indexes?.length !== names.length || this.indexes.some((i, k) => i.name !== names[k] || i.index !== this.db.indexes[i.name])) {
      this.indexes = names.map((name) => ({ name, index: this.db.indexes[name], fields: name.split(',') }));
    }
    return this.indexes;
  }

  /** Skips `skip` matches and takes up to `limit`, in candidate order or its reverse. */
  private walk(docs: Doc[], query: Query, matches: (doc: Doc) => boolean, skip: number, limit: number, descending: boolean): Doc[] {
    const page: Doc[] = [];
    if (limit === 0) return page;
    if (docs === this.inIdOrder && skip >= CHECKPOINT_EVERY && isPlain(query)) {
      // Start at the first match wanted, found from the kept positions of this query's matches.
      const { total, checkpoints } = this.matchPositions(query);
      const first = descending ? total - 1 - skip : skip;
      if (first < 0 || first >= total) return page;
      const j = Math.floor(first / CHECKPOINT_EVERY);
      let i = checkpoints[j];
      for (let seen = j * CHECKPOINT_EVERY; ; i++) if (matches(docs[i]) && seen++ === first) break;
      const step = descending ? -1 : 1;
      for (; i >= 0 && i < docs.length && page.length < limit; i += step) if (matches(docs[i])) page.push(docs[i]);
      return page;
    }
    const n = docs.length;
    let skipped = 0;
    for (let k = 0; k < n && page.length < limit; k++) {
      const doc = docs[descending ? n - 1 - k : k];
      if (!matches(doc)) continue;
      if (skipped < skip) skipped++;
      else page.push(doc);
    }
    return page;
  }

  /** The count and kept positions of a plain query's matches, computed once per state of the data. */
  private matchPositions(query: Query): MatchPositions {
    const key = JSON.stringify(Object.entries(query).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let known = this.positions.get(key);
    if (!known) {
      this.inIdOrder ??= allInIdOrder(this.db);
      const docs = this.inIdOrder;
      const matches = matcher(query);
      const checkpoints: number[] = [];
      let total = 0;
      for (let i = 0; i < docs.length; i++) {
        if (!matches(docs[i])) continue;
        if (total % CHECKPOINT_EVERY === 0) checkpoints.push(i);
        total++;
      }
      known = { total, checkpoints, matches };
      // A handful of scopes per organization; an unbounded variety of queries would not come through here.
      if (this.positions.size >= 64) this.positions.clear();
      this.positions.set(key, known);
    }
    return known;
  }
}
