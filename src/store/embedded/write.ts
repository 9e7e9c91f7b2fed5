/**
 * Writes of one document that keep NeDB's result at a fraction of its cost (PERFORMANCE.md §5; tested against the
 * library in test/store/embedded-write.test.ts).
 *
 * NeDB updates a document by building a new object and moving it into every index: for each index, a walk of its
 * tree to find the old object and put the new one in its place, even when the indexed value did not change — which
 * for most writes is every index but one. That was ~40% of an update of a user (~90 µs at 100k users). Here the
 * stored object stays the same object and takes the new content: only the indexes whose key changed are touched.
 *
 * The stored object takes the new version's top-level values; its nested objects are never written to (the new
 * version brings new objects for the fields the update writes and shares the others, see `modified`), which is what
 * lets `findReadOnly` hand out a shallow snapshot instead of a copy (read.ts).
 *
 * Inserts skip the copy NeDB makes of the inserted document to return it: the adapter never uses it.
 */
import type Datastore from '@seald-io/nedb';
import type { Query, Update } from '../port';
import { checkFieldNames, internals, model, type Doc, type NedbIndex } from './nedb';
import { runQueued } from './queue';

/** Whether two index keys of `index` are the same key (the same set of keys for an array field). */
function sameKey(index: NedbIndex, a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => model.compareThings(v, b[i]) === 0);
  }
  return index.treeOptions.compareKeys(a, b) === 0;
}

/**
 * Gives `target` exactly the own properties of `source`, in place and in `source`'s order: the data file's next line
 * for the document is written from it, and must list its fields as NeDB would. Top-level fields are the store's own
 * (`scim`, `lifecycle`, …), never `__proto__`: NeDB's copy of an inserted or updated document cannot hold one.
 */
function becomes(target: Doc, source: Doc): void {
  for (const key of Object.keys(target)) if (!Object.hasOwn(source, key)) delete target[key];
  const kept = Object.keys(target);
  const order = Object.keys(source);
  // Fields are only ever removed or appended, except when a field is removed and written again, or the document is
  // replaced whole: then its fields are laid out again.
  if (kept.some((key, i) => order[i] !== key)) for (const key of kept) delete target[key];
  Object.assign(target, source);
}

/**
 * The top-level fields an update of modifiers writes (`lifecycle` for `{$unset: {'lifecycle.pendingEffects': true}}`);
 * `undefined` for a replacement document or anything that is not an object of modifiers, which NeDB handles (or
 * refuses) itself.
 */
function fieldsWritten(update: Update): Set<string> | undefined {
  const touched = new Set<string>();
  const modifiers = Object.keys(update);
  if (modifiers.length === 0) return undefined;
  for (const modifier of modifiers) {
    const fields = (update as Record<string, unknown>)[modifier];
    if (!modifier.startsWith('$') || fields === null || typeof fields !== 'object') return undefined;
    for (const path of Object.keys(fields)) touched.add(path.split('.')[0]);
  }
  return touched;
}

const isPlainObject = (value: unknown): value is Doc =>
  value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;

/** The modifiers the store's hot paths use; NeDB's last step of each, on `container[field]`. */
const LAST_STEP: Record<string, (container: Doc, field: string, value: unknown) => void> = {
  $set: (container, field, value) => {
    container[field] = value;
  },
  $unset: (container, field) => {
    delete container[field];
  },
  $inc: (container, field, value) => {
    if (typeof value !== 'number') throw new Error(`${value} must be a number`);
    const current = container[field];
    if (typeof current === 'number') container[field] = current + value;
    else if (!Object.hasOwn(container, field)) container[field] = value;
    else throw new Error("Don't use the $inc modifier on non-number fields");
  },
};

/**
 * The object of `next` that holds the last part of `parts`, made `next`'s own on the way (plain objects on the path
 * are copied once, into `copies`; missing ones are created, as the library does). `'absent'` when a removal meets a
 * missing object (the library stops there); `undefined` when the path meets anything else.
 */
function parentOf(next: Doc, parts: string[], copies: Set<object>, removal: boolean): Doc | 'absent' | undefined {
  let container = next;
  for (const part of parts.slice(0, -1)) {
    if (part.startsWith('$')) return undefined;
    const child = container[part];
    if (child === undefined) {
      if (Object.hasOwn(container, part)) return undefined;
      if (removal) return 'absent';
      container = container[part] = {} as Doc;
      copies.add(container);
    } else if (isPlainObject(child) && Object.hasOwn(container, part)) {
      if (!copies.has(child)) copies.add((container[part] = { ...child }));
      container = container[part] as Doc;
    } else return undefined;
  }
  return container;
}

/**
 * NeDB's `modify` for updates of `$set`, `$unset` and `$inc` whose paths go through plain objects, copying only the
 * objects on the paths it writes. The library deep-copies the whole document first — every SCIM attribute of a user
 * to set `scim.active` or clear a lifecycle marker — and the old copy becomes garbage in the old generation. Here
 * the new version shares every object the update does not write with the stored one: safe because a stored
 * document's nested objects are never written to. The steps are the library's, in its order, so the fields come out
 * in the same order with the same values; parts already stored passed its key check when they were written, so
 * only what the update writes is checked. `undefined` when a path meets anything else (an array, a date, a
 * primitive, an inherited member, `_id`, a `$` name), which is left to the library.
 */
function copiedOnWrite(doc: Doc, update: Update): Doc | undefined {
  const next: Doc = { ...doc };
  const copies = new Set<object>([next]);
  const written: Array<[string, unknown]> = [];
  for (const [modifier, fields] of Object.entries(update)) {
    // Only the three modifiers (not a member LAST_STEP inherits), each with an object of paths; else the library's.
    if (!Object.hasOwn(LAST_STEP, modifier) || fields === null || typeof fields !== 'object') return undefined;
    const step = LAST_STEP[modifier];
    for (const [path, value] of Object.entries(fields as Record<string, unknown>)) {
      const parts = path.split('.');
      if (parts[0] === '_id') return undefined;
      const container = parentOf(next, parts, copies, modifier === '$unset');
      if (container === 'absent') continue;
      const field = parts[parts.length - 1];
      // Not a member the object inherits (`__proto__`, `constructor`): the library would write through it.
      if (!container || (!Object.hasOwn(container, field) && container[field] !== undefined)) return undefined;
      step(container, field, value);
      if (modifier !== '$unset') written.push([field, container[field]]);
    }
  }
  // The library checks the whole new version once all modifiers are applied: a bad name fails after a bad `$inc`.
  for (const [field, value] of written) checkFieldNames({ [field]: value });
  return next;
}

/** NeDB's `modify`, copying only what the update writes when it can (`copiedOnWrite`). Same result, same errors. */
function modified(doc: Doc, update: Update): Doc {
  return copiedOnWrite(doc, update) ?? model.modify(doc, update);
}

export interface UpdatedOne {
  /** A copy of the document as stored now, for the caller. */
  doc: Doc;
  /** The document before the update: its top-level fields, for the reader (read.ts) to tell what changed. */
  before: Doc;
}

/**
 * Updates the document with `_id` `id` when it matches `query` (NeDB dialect), as NeDB's `update` with `multi: false`
 * would: the same modifiers and checks, the same line appended to the data file, a unique violation refused with the
 * library's error and nothing changed. Resolves `null` when no document matched.
 */
export function updateById(db: Datastore<unknown>, id: string, query: Query, update: Update): Promise<UpdatedOne | null> {
  const { indexes, persistence } = internals(db);
  return runQueued(db, () => {
    const stored = indexes._id.getMatching(id)[0];
    if (!stored || !model.match(stored, query)) return null;
    const written = fieldsWritten(update);
    const next = modified(stored, update);
    const moved: NedbIndex[] = [];
    for (const index of Object.values(indexes)) {
      // An index on fields the update does not write keeps its key.
      if (written && !index._fields.some((field) => written.has(field.split('.')[0]))) continue;
      if (!sameKey(index, model.getDotValues(stored, index._fields), model.getDotValues(next, index._fields))) moved.push(index);
    }
    const before = { ...stored };
    for (const index of moved) index.remove(stored);
    becomes(stored, next);
    let inserted = 0;
    try {
      for (; inserted < moved.length; inserted++) moved[inserted].insert(stored);
    } catch (error) {
      // A unique key refused the new version: put the old one back everywhere, as the library does.
      for (let i = 0; i < inserted; i++) moved[i].remove(stored);
      becomes(stored, before);
      for (const index of moved) index.insert(stored);
      throw error;
    }
    // Everything happens before the task returns (queue.ts): the line is appended now, the copy taken now.
    const appended = persistence.persistNewStateAsync([next]);
    const result = { doc: model.deepCopy(stored), before };
    return appended.then(() => result);
  });
}

/** Inserts one document as NeDB's `insert` would (a copy, checked, indexed, appended), without copying it back. */
export function insertOne(db: Datastore<unknown>, doc: Doc): Promise<void> {
  const datastore = internals(db);
  return runQueued(db, () => {
    const prepared = model.deepCopy(doc);
    checkFieldNames(prepared);
    datastore._insertInCache(prepared);
    return datastore.persistence.persistNewStateAsync([prepared]);
  });
}
