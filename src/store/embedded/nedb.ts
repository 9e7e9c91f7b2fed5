/**
 * The parts of NeDB's internals the embedded adapter relies on (read.ts, index-buckets.ts, bulk-index.ts, append.ts,
 * lines.ts), typed once, and the order of index keys that the adapter's trees keep.
 * They are not NeDB's public API, which is why `@seald-io/nedb` is pinned to an exact version; the equivalence tests in
 * test/store/embedded-read.test.ts compare every use with the library's own behaviour.
 */
import type Datastore from '@seald-io/nedb';

/** A stored document. */
export type Doc = Record<string, unknown> & { _id: string };

/** NeDB's document functions: its matcher, comparator, copier and serialiser, so the adapter never disagrees with it. */
export interface NedbModel {
  match(doc: unknown, query: unknown): boolean;
  deepCopy<T>(doc: T): T;
  compareThings(a: unknown, b: unknown, compareStrings?: (a: string, b: string) => number): number;
  getDotValue(doc: unknown, field: string): unknown;
  /** An index's key for a document: the value, or an object of the values for a compound index. */
  getDotValues(doc: unknown, fields: string[]): unknown;
  serialize(doc: unknown): string;
  deserialize(line: string): unknown;
  /** A new document: `doc` with the update's modifiers applied (throws on an invalid update or a changed `_id`). */
  modify(doc: unknown, update: unknown): Doc;
  /** Throws when a document holds a field NeDB refuses (`$`-prefixed or dotted names). */
  checkObject(doc: unknown): void;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const model = require('@seald-io/nedb/lib/model.js') as NedbModel;

/** NeDB's crash-safe file steps: `flushToStorageAsync` fsyncs a file or a directory (where the platform allows). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const storage = require('@seald-io/nedb/lib/storage.js') as {
  flushToStorageAsync(options: { filename: string; isDir?: boolean; mode?: number }): Promise<void>;
};

/** NeDB's splitter of a data file into lines (on `\n`, `\r\n` and the other line terminators it knows). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const byline = require('@seald-io/nedb/lib/byline.js') as (stream: NodeJS.ReadableStream) => NodeJS.ReadableStream;

/**
 * NeDB's order of two index keys (`compareThings`), with shortcuts for two strings — by far the commonest keys (ids,
 * user names, organization ids) and the case `compareThings` reaches only after six type tests and a call — and for
 * two dates (the audit log's `at`), which it reaches after ten tests and four `Object.prototype.toString` calls. Same
 * order as `compareThings` for every pair (tested).
 */
export function compareKeyValues(a: unknown, b: unknown): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (isPlainDate(a) && isPlainDate(b)) {
    const x = a.getTime();
    const y = b.getTime();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return model.compareThings(a, b);
}

/** A Date as documents hold them, which NeDB's `isDate` (an `[object Date]` tag) sees as one too. */
const isPlainDate = (value: unknown): value is Date =>
  value instanceof Date && Object.getPrototypeOf(value) === Date.prototype && !Object.prototype.hasOwnProperty.call(value, Symbol.toStringTag);

/** The `$` names NeDB accepts in a document: its own markers. */
const libraryName = (key: string, value: unknown) =>
  (key === '$$date' && typeof value === 'number') || (key === '$$deleted' && value === true) || key === '$$indexCreated' || key === '$$indexRemoved';

/**
 * NeDB's `checkObject`: throws the library's error for the first field name it refuses (`$`-prefixed other than its
 * markers, or dotted), in the same order, at any depth. Without its `for…in` and its second pass over every array
 * element: it runs on every document inserted and every value an update writes.
 */
export function checkFieldNames(value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  for (const key of Object.keys(value)) {
    const child = (value as Record<string, unknown>)[key];
    if (key.charCodeAt(0) === 36 /* $ */ && !libraryName(key, child)) throw new Error('Field names cannot begin with the $ character');
    if (key.includes('.')) throw new Error('Field names cannot contain a .');
    checkFieldNames(child);
  }
}

/**
 * NeDB's order of the keys of an index on `fields`. A compound key (`{orgId, userNameKey}`) is an object, which
 * `compareThings` orders by sorting both objects' keys and comparing the values pairwise — two sorts at every step.
 * Compound keys always hold exactly the index's fields, already sorted (NeDB sorts them when the index is declared),
 * so comparing those fields in that order gives the same order without the sorts.
 */
export function keyOrder(fields: string[]): (a: unknown, b: unknown) => number {
  if (fields.length < 2) return compareKeyValues;
  return (a, b) => {
    if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return model.compareThings(a, b);
    for (const f of fields) {
      const c = compareKeyValues((a as Record<string, unknown>)[f], (b as Record<string, unknown>)[f]);
      if (c !== 0) return c;
    }
    return 0;
  };
}

/** A node of an index's AVL tree: one key and the documents under it; the tree's constants come from its class. */
export interface TreeNode {
  key?: unknown;
  data: unknown[];
  left?: TreeNode | null;
  right?: TreeNode | null;
  parent?: TreeNode | null;
  unique: boolean;
  /** 1 for a leaf (the AVL tree's own count). */
  height?: number;
  compareKeys(a: unknown, b: unknown): number;
  checkValueEquality(a: unknown, b: unknown): boolean;
}

/** Whether `node` holds a key: the root of an empty tree is a node without one. */
export const hasKey = (node: TreeNode): boolean => Object.prototype.hasOwnProperty.call(node, 'key');

export interface NedbIndex {
  /** The field, or the fields of a compound index, as declared. */
  fieldName: string | string[];
  /** The sorted field names (`a,b` for a compound index). */
  _fields: string[];
  unique: boolean;
  sparse: boolean;
  tree: { tree: TreeNode; delete(key: unknown, value?: unknown): void };
  /** The options NeDB gives a new tree of this index. */
  treeOptions: { compareKeys(a: unknown, b: unknown): number };
  getMatching(value: unknown): Doc[];
  /** Adds the document under its key (each distinct key of an array field); a unique violation leaves the index as it was. */
  insert(doc: unknown): void;
  /** Removes the document from under its key. */
  remove(doc: unknown): void;
  /** One document, or (with a single argument) a list of `{oldDoc, newDoc}` pairs. */
  update(oldDoc: unknown, newDoc?: unknown): void;
}

export interface NedbPersistence {
  filename: string;
  inMemoryOnly: boolean;
  corruptAlertThreshold: number;
  modes: { fileMode: number; dirMode: number };
  persistNewStateAsync(docs: unknown[]): Promise<void>;
  persistCachedDatabaseAsync(): Promise<void>;
  /** Reads a data file's lines into its live documents and declared indexes. */
  treatRawStreamAsync(stream: NodeJS.ReadableStream): Promise<{ data: unknown[]; indexes: Record<string, unknown> }>;
}

export interface NedbInternals {
  indexes: Record<string, NedbIndex>;
  ttlIndexes: Record<string, unknown>;
  compareStrings?: (a: string, b: string) => number;
  persistence: NedbPersistence;
  /** The datastore's queue: every operation of NeDB runs as one of its tasks, so writes never interleave. */
  executor: { ready: boolean; pushAsync<R>(task: () => Promise<R>, forceQueuing?: boolean): Promise<R> };
  /** Adds a prepared document to every index; a unique violation leaves them all as they were. */
  _insertInCache(doc: Doc): void;
}

export const internals = (db: Datastore<unknown>) => db as unknown as NedbInternals;
