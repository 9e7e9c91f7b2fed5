/**
 * The storage port: everything the server persists goes through these interfaces.
 *
 * Both adapters (embedded NeDB files, MongoDB through mongoose) speak the MongoDB query and update dialect, so the
 * queries built by shared code (SCIM filter translation, repositories, seat rules) run unchanged on either. The
 * adapters only differ in how they execute a query, never in what a query means.
 *
 * Conventions: "not found" is always `null` (or 0 for counts), never an exception. Exceptions are reserved for
 * failures: {@link DuplicateKeyError} for a unique-index violation, {@link StoreUnavailableError} when the store
 * cannot be reached. Documents are plain objects: no adapter type ever leaves the adapter.
 */
import type { AccessRequestDoc, AuditEventDoc, GroupDoc, MembershipDoc, OrganizationDoc, SeatDoc, TokenDoc, UserDoc, WorkspaceDoc } from './documents';

/** A MongoDB-dialect query (`{field: value}`, `$and`, `$or`, `$nor`, `$elemMatch`, `$regex` as RegExp, ...). */
export type Query = Record<string, unknown>;
/** A MongoDB-dialect update document using operators only (`$set`, `$unset`, `$inc`, `$push`, `$pull`, `$addToSet`). */
export type Update = Record<string, unknown>;
/** Sort specification in MongoDB form; keys are applied in insertion order. */
export type Sort = Record<string, 1 | -1>;
/** Inclusion (`{a: 1}`) or exclusion (`{a: 0}`) projection; `_id` is always returned. */
export type Projection = Record<string, 0 | 1>;

/**
 * A document that may be the store's own object, shared with every other reader: never to be changed. Dates stay
 * `Date` (their methods are what renders them).
 */
export type DeepReadonly<T> = T extends Date
  ? Date
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

export interface FindOptions {
  sort?: Sort;
  skip?: number;
  limit?: number;
  projection?: Projection;
}

/** One collection of plain documents keyed by a string `_id`. */
export interface Collection<T extends { _id: string }> {
  /** The first document matching `query`, or `null`. */
  findOne(query: Query, options?: Pick<FindOptions, 'projection' | 'sort'>): Promise<T | null>;
  /** Documents matching `query`, sorted, skipped and limited in the store (never the whole collection in memory). */
  find(query: Query, options?: FindOptions): Promise<T[]>;
  /**
   * `find` for answering a read: the same documents, which may be the store's own objects rather than copies (the
   * embedded store holds its data in memory, and copying a page of 100 users cost ~10% of serving it). Read, never
   * change them.
   */
  findReadOnly(query: Query, options?: FindOptions): Promise<ReadonlyArray<DeepReadonly<T>>>;
  /** Number of documents matching `query`. */
  count(query: Query): Promise<number>;
  /** Inserts one document; throws {@link DuplicateKeyError} when a unique index would be violated. */
  insertOne(doc: T): Promise<void>;
  /**
   * Inserts many documents (bulk loading); throws {@link DuplicateKeyError} on the first violation. Whether the
   * documents before the violating one were stored differs by adapter (MongoDB keeps them, NeDB none): callers that
   * care re-check or fall back to `insertOne`.
   */
  insertMany(docs: T[]): Promise<void>;
  /**
   * Atomically applies `update` to the first document matching `query` and returns the document after the update,
   * or `null` when nothing matched. This is the conditional write used for versioned updates and seat counters:
   * put the precondition in `query` (e.g. `{_id, version: 3}`) and check for `null`.
   */
  updateOne(query: Query, update: Update): Promise<T | null>;
  /** Applies `update` to every matching document; returns how many matched. */
  updateMany(query: Query, update: Update): Promise<number>;
  /** Deletes the first matching document and returns it, or `null` when nothing matched. */
  deleteOne(query: Query): Promise<T | null>;
  /** Deletes every matching document; returns how many were deleted. */
  deleteMany(query: Query): Promise<number>;
}

/** All collections of the product, plus lifecycle of the connection. */
export interface Store {
  readonly kind: 'embedded' | 'mongodb';
  readonly organizations: Collection<OrganizationDoc>;
  readonly tokens: Collection<TokenDoc>;
  readonly users: Collection<UserDoc>;
  readonly groups: Collection<GroupDoc>;
  readonly memberships: Collection<MembershipDoc>;
  readonly audit: Collection<AuditEventDoc>;
  readonly seats: Collection<SeatDoc>;
  readonly workspaces: Collection<WorkspaceDoc>;
  readonly accessRequests: Collection<AccessRequestDoc>;
  /** Resolves when the store answers; throws {@link StoreUnavailableError} otherwise. Used by `/readyz`. */
  ping(): Promise<void>;
  /** Flushes and closes; the store must not be used afterwards. */
  close(): Promise<void>;
}

/** A unique index was violated (MongoDB E11000 or the embedded equivalent). */
export class DuplicateKeyError extends Error {
  constructor(
    readonly collection: string,
    readonly index: string,
  ) {
    super(`duplicate key in ${collection} (${index})`);
    this.name = 'DuplicateKeyError';
  }
}

/** The store could not be reached or did not answer in time; the request may be retried later. */
export class StoreUnavailableError extends Error {
  constructor(message = 'store unavailable', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
