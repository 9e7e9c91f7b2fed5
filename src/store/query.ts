/** Composition of MongoDB-dialect queries, shared by everything that scopes a client filter. */
import type { Query } from './port';

/** What every stored document matches. */
export const EVERY_RESOURCE: Query = { _id: { $exists: true } };

/** What no stored document matches. */
export const NO_RESOURCE: Query = { _id: { $exists: false } };

/**
 * `a AND b`. When the two share no top-level key they are merged into one object, which keeps equality fields at the
 * top level where both stores pick their indexes from; otherwise `$and` keeps both conditions (a spread would let
 * one silently replace the other).
 */
export function andQuery(a: Query, b: Query): Query {
  const overlap = Object.keys(a).some((key) => key in b);
  return overlap ? { $and: [a, b] } : { ...a, ...b };
}
