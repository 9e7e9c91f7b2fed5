/**
 * The lines of a data file, written and read without NeDB's JSON replacer and reviver. Both make V8 leave its fast
 * JSON paths and call back into JavaScript for every value. Each function gives exactly what NeDB's own gives
 * (tested against the library in test/store/embedded-lines.test.ts).
 *
 * - Reading: with the reviver, a quarter of the start-up at 100k users after the index build was fixed
 *   (bulk-index.ts). The line is parsed without one and the same replacements are made afterwards, bottom-up as a
 *   reviver does them: every value under a key `$$date` becomes `new Date(value)`, then every object with its own
 *   `$$date` becomes that Date. Values many documents repeat are kept once (`pooled`), and so are dates while a
 *   store opens (`sharingDates`).
 * - Writing: with the replacer, ~120 µs of a deactivation's ~1 ms (three documents written). The document is copied
 *   with each Date as `{"$$date": ms}` (null when invalid), which is what the replacer returns for it, and the copy is
 *   stringified. Anything the copy would not reproduce exactly goes to the library: keys it refuses or treats
 *   specially (`$…`, dotted), `__proto__`, objects that are not plain (they may have `toJSON` or `getTime`), Dates
 *   with keys of their own, functions, symbols, bigints.
 */
import { model } from './nedb';

const libraryDeserialize = model.deserialize;
const librarySerialize = model.serialize;

/**
 * One copy of each string value that many documents repeat under the same key — organization and connection ids,
 * group ids and names, lifecycle states, email types. `JSON.parse` makes a new string for every value it reads, and
 * every major collection marks each of them: with one copy each, the heap after opening 100k users went from 420 to
 * 376 MB. A key is pooled until it shows more than {@link POOL_LIMIT} different values (ids, names, addresses): then
 * it is left alone and its values forgotten, so the pool stays small whatever the data.
 */
const POOL_LIMIT = 10_000;
/** Longer values are free text, rarely repeated. */
const POOLED_LENGTH = 64;
const pools = new Map<string, Map<string, string> | null>();

function pooled(key: string, value: string): string {
  if (value.length > POOLED_LENGTH) return value;
  let pool = pools.get(key);
  if (pool === null) return value;
  if (pool === undefined) pools.set(key, (pool = new Map()));
  const known = pool.get(value);
  if (known !== undefined) return known;
  if (pool.size >= POOL_LIMIT) {
    pools.set(key, null);
    return value;
  }
  pool.set(value, value);
  return value;
}

/**
 * While a store opens, one Date object per instant, shared by every document that holds that instant. A user's
 * `created` and `lastModified`, the audit event of its creation and the memberships one change added are each the
 * same instant, and a Date takes 96 bytes of heap (V8 caches its calendar fields in it): at 100k users, 44 of the
 * 397 MB the store took once open. Nothing changes a Date in place: a stored document's nested values never are
 * (write.ts), and the library's copies (`deepCopy`) already hand its Dates to callers as they are. The map is dropped
 * once the store is open, so it holds nothing while the server runs; two stores opening at once share it.
 */
let sharedDates: Map<number, Date> | undefined;
let loading = 0;

/** Runs `load` (the opening of a store) with Dates shared as above. */
export async function sharingDates<T>(load: () => Promise<T>): Promise<T> {
  if (loading++ === 0) sharedDates = new Map();
  try {
    return await load();
  } finally {
    if (--loading === 0) sharedDates = undefined;
  }
}

/** NeDB's `new Date(value)` for a `$$date`, the shared Date for its instant while a store opens. */
function dateOf(value: unknown): Date {
  if (!sharedDates || typeof value !== 'number') return new Date(value as number);
  let date = sharedDates.get(value);
  if (!date) sharedDates.set(value, (date = new Date(value)));
  return date;
}

function revive(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const revived = revive(value[i]);
      if (revived !== value[i]) value[i] = revived;
    }
    return value;
  }
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    const child = object[key];
    if (typeof child === 'string' && key !== '$$date') {
      // The same characters: only which copy of them the document holds changes.
      object[key] = pooled(key, child);
      continue;
    }
    const revived = key === '$$date' ? dateOf(revive(child)) : revive(child);
    if (revived !== child) object[key] = revived; // an own property, `__proto__` included: no setter runs
  }
  return Object.prototype.hasOwnProperty.call(object, '$$date') ? object.$$date : object;
}

/** NeDB's `deserialize`, without a reviver. */
export const deserialize = (line: string): unknown => revive(JSON.parse(line));

/** Returned by {@link persisted} for a value the library must serialise itself. */
const LIBRARY = Symbol('library');
/** Deeper than any document of ours; a cycle goes to the library, which reports it. */
const MAX_DEPTH = 64;

/** `value` as NeDB's replacer would present it to `JSON.stringify`, or {@link LIBRARY}. */
function persisted(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return value;
    case 'object':
      break;
    default:
      return LIBRARY;
  }
  if (value === null) return null;
  if (depth > MAX_DEPTH) return LIBRARY;
  if (value instanceof Date) {
    // The library sees `toJSON()`'s result first: null for an invalid date. A Date given own keys may have its own.
    if (Object.keys(value).length > 0) return LIBRARY;
    const time = value.getTime();
    return Number.isNaN(time) ? null : { $$date: time };
  }
  // A container is copied only when something in it is presented differently (a date): most of a user (its SCIM
  // attributes) holds none, and is handed to JSON.stringify as it is.
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = persisted(value[i], depth + 1);
      if (item === LIBRARY) return LIBRARY;
      if (item !== value[i]) copy ??= value.slice(0, i);
      if (copy) copy[i] = item;
    }
    return copy ?? value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return LIBRARY;
  const keys = Object.keys(value);
  let copy: Record<string, unknown> | undefined;
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k];
    if (key.charCodeAt(0) === 36 /* $ */ || key.includes('.') || key === '__proto__') return LIBRARY;
    const child = (value as Record<string, unknown>)[key];
    const item = persisted(child, depth + 1);
    if (item === LIBRARY) return LIBRARY;
    if (item !== child && !copy) {
      copy = {};
      for (let j = 0; j < k; j++) copy[keys[j]] = (value as Record<string, unknown>)[keys[j]];
    }
    if (copy) copy[key] = item;
  }
  return copy ?? value;
}

/** NeDB's `serialize`, without a replacer. */
export function serialize(doc: unknown): string {
  const copy = persisted(doc, 0);
  return copy === LIBRARY ? librarySerialize(doc) : JSON.stringify(copy);
}

/** Makes NeDB read and write data files with {@link deserialize} and {@link serialize}. Idempotent. */
export function installFastLines(): void {
  model.deserialize = deserialize;
  model.serialize = serialize;
}

/** The library's own functions, for the equivalence tests. */
export { libraryDeserialize, librarySerialize };
