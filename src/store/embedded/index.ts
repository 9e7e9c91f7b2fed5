/**
 * The embedded store: one NeDB datastore per collection, persisted as append-only files under `DATA_DIR` (or kept in
 * memory when no directory is given, as the tests do). NeDB understands the MongoDB query dialect, so the queries built
 * by shared code run here unchanged; {@link toNedbQuery} covers the two places where the dialects differ.
 *
 * One process owns the files: NeDB serialises every operation of a datastore, which is what makes `updateOne` a
 * conditional, atomic write here. Several server processes need the MongoDB adapter.
 */
import Datastore from '@seald-io/nedb';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { INDEXES } from '../indexes';
import type { Collection, FindOptions, Query, Store, Update } from '../port';
import { DuplicateKeyError } from '../port';
import { patchIndexValueDeletes, scanCount, scanFind } from './scan';
import type { AccessRequestDoc, AuditEventDoc, GroupDoc, MembershipDoc, OrganizationDoc, SeatDoc, TokenDoc, UserDoc, WorkspaceDoc } from '../documents';

/** Compaction rewrites the append-only file so it does not grow without bound. */
const COMPACTION_INTERVAL_MS = 10 * 60 * 1000;
/** Documents removed per NeDB call in `deleteMany`. */
const DELETE_CHUNK = 1000;

/**
 * Rewrites the parts of a MongoDB query NeDB reads differently:
 * - `$nor: [a, b]` (MongoDB's top-level negation) becomes `$not: {$or: [a, b]}` (NeDB has no `$nor`);
 * - `{field: {$not: cond}}` (MongoDB's field-level negation) becomes `{$not: {field: cond}}`.
 */
export function toNedbQuery(query: Query): Query {
  const out: Query = {};
  for (const [key, value] of Object.entries(query)) {
    if (key === '$nor') {
      out.$and = [...((out.$and as Query[]) ?? []), { $not: { $or: (value as Query[]).map(toNedbQuery) } }];
    } else if (key === '$and' || key === '$or') {
      out[key] = [...((out[key] as Query[]) ?? []), ...(value as Query[]).map(toNedbQuery)];
    } else if (isOperatorObject(value) && '$not' in value) {
      const { $not: negated, ...rest } = value as Record<string, unknown>;
      out.$and = [...((out.$and as Query[]) ?? []), { $not: { [key]: negated } }];
      if (Object.keys(rest).length > 0) out[key] = convertElemMatch(rest);
    } else {
      out[key] = convertElemMatch(value);
    }
  }
  return out;
}

function convertElemMatch(value: unknown): unknown {
  if (isOperatorObject(value) && '$elemMatch' in value) {
    const { $elemMatch, ...rest } = value as Record<string, unknown>;
    return { ...rest, $elemMatch: toNedbQuery($elemMatch as Query) };
  }
  return value;
}

function isOperatorObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof RegExp || value instanceof Date) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

/** MongoDB's default name of an index on `fields` (`orgId_1_userNameKey_1`), so both adapters name indexes alike. */
function mongoIndexName(fields: Record<string, 1 | -1>): string {
  return Object.entries(fields)
    .map(([field, direction]) => `${field}_${direction}`)
    .join('_');
}

/**
 * The name of the unique index NeDB reports as violated. NeDB only gives the offending key: an object keyed by field
 * for a compound index, the bare value for a single-field one (`_id` or e.g. `organizations.name`).
 */
function violatedIndex(collection: string, key: unknown, inserted: readonly { _id: string }[]): string {
  const unique = (INDEXES[collection] ?? []).filter((spec) => spec.unique);
  if (key !== null && typeof key === 'object' && !(key instanceof Date) && !Array.isArray(key)) {
    const keyFields = Object.keys(key).sort().join(',');
    const spec = unique.find((s) => Object.keys(s.fields).sort().join(',') === keyFields);
    if (spec) return mongoIndexName(spec.fields);
  }
  if (inserted.some((doc) => doc._id === key)) return '_id_';
  const single = unique.filter((s) => Object.keys(s.fields).length === 1);
  return single.length === 1 ? mongoIndexName(single[0].fields) : '_id_';
}

class EmbeddedCollection<T extends { _id: string }> implements Collection<T> {
  constructor(
    private readonly name: string,
    readonly db: Datastore<T>,
  ) {}

  async findOne(query: Query, options: Pick<FindOptions, 'projection' | 'sort'> = {}): Promise<T | null> {
    const [doc] = await this.find(query, { ...options, limit: 1 });
    return doc ?? null;
  }

  async find(query: Query, options: FindOptions = {}): Promise<T[]> {
    const nedbQuery = toNedbQuery(query);
    if (!options.projection) {
      // Queries NeDB would answer by scanning every document run faster, with the same result (scan.ts).
      const scanned = await scanFind(this.db as Datastore<unknown>, nedbQuery, options);
      if (scanned) return scanned as unknown as T[];
    }
    let cursor = this.db.findAsync(nedbQuery);
    if (options.sort) cursor = cursor.sort(options.sort);
    if (options.skip) cursor = cursor.skip(options.skip);
    if (options.limit !== undefined) cursor = cursor.limit(options.limit);
    if (options.projection) cursor = cursor.projection(options.projection);
    return (await cursor) as T[];
  }

  async count(query: Query): Promise<number> {
    const nedbQuery = toNedbQuery(query);
    const scanned = await scanCount(this.db as Datastore<unknown>, nedbQuery);
    if (scanned !== undefined) return scanned;
    return (await this.db.countAsync(nedbQuery)) as unknown as number;
  }

  async insertOne(doc: T): Promise<void> {
    await this.guard(() => this.db.insertAsync(doc), [doc]);
  }

  async insertMany(docs: T[]): Promise<void> {
    if (docs.length > 0) await this.guard(() => this.db.insertAsync(docs), docs);
  }

  async updateOne(query: Query, update: Update): Promise<T | null> {
    const result = await this.guard(() =>
      this.db.updateAsync(toNedbQuery(query), update, { multi: false, returnUpdatedDocs: true }),
    );
    return (result.affectedDocuments as T | null) ?? null;
  }

  async updateMany(query: Query, update: Update): Promise<number> {
    const result = await this.guard(() => this.db.updateAsync(toNedbQuery(query), update, { multi: true }));
    return result.numAffected;
  }

  async deleteOne(query: Query): Promise<T | null> {
    const doc = await this.db.findOneAsync(toNedbQuery(query));
    if (!doc) return null;
    // NeDB serialises operations per datastore, but findOne and remove are two of them: remove by id and report
    // what was actually removed.
    const removed = await this.db.removeAsync({ _id: doc._id }, { multi: false });
    return removed === 1 ? (doc as T) : null;
  }

  /**
   * Removes by id in chunks: NeDB's own multi-remove spreads every candidate into one function call, which overflows
   * the stack past ~120k candidates (seen with group memberships at 100k users).
   */
  async deleteMany(query: Query): Promise<number> {
    const ids = (await this.db.findAsync(toNedbQuery(query)).projection({ _id: 1 })).map((d) => d._id);
    let removed = 0;
    for (let i = 0; i < ids.length; i += DELETE_CHUNK) {
      removed += await this.db.removeAsync({ _id: { $in: ids.slice(i, i + DELETE_CHUNK) } }, { multi: true });
    }
    return removed;
  }

  /** `inserted`: the documents being inserted, to tell an `_id` collision from a unique-field one. */
  private async guard<R>(write: () => Promise<R>, inserted: readonly T[] = []): Promise<R> {
    try {
      return await write();
    } catch (error) {
      const e = error as { errorType?: string; key?: unknown };
      if (e.errorType === 'uniqueViolated') throw new DuplicateKeyError(this.name, violatedIndex(this.name, e.key, inserted));
      throw error;
    }
  }
}

export interface EmbeddedStoreOptions {
  /** Directory for the data files; omit to keep everything in memory (tests). */
  dataDir?: string;
}

/** Opens (and creates when missing) the embedded store. */
export async function openEmbeddedStore(options: EmbeddedStoreOptions = {}): Promise<Store> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const collections = new Map<string, EmbeddedCollection<{ _id: string }>>();

  async function open<T extends { _id: string }>(name: string): Promise<EmbeddedCollection<T>> {
    const db = new Datastore<T>(
      options.dataDir ? { filename: path.join(options.dataDir, `${name}.db`) } : { inMemoryOnly: true },
    );
    await db.loadDatabaseAsync();
    for (const spec of INDEXES[name] ?? []) {
      let fields = Object.keys(spec.fields).filter((f) => f !== '_id');
      if (spec.multikey) fields = fields.slice(-1);
      if (fields.length === 0) continue;
      await db.ensureIndexAsync({
        fieldName: fields.length === 1 ? fields[0] : fields,
        unique: spec.unique ?? false,
        sparse: spec.sparse ?? false,
      });
    }
    patchIndexValueDeletes(db as Datastore<unknown>);
    if (options.dataDir) db.setAutocompactionInterval(COMPACTION_INTERVAL_MS);
    const collection = new EmbeddedCollection<T>(name, db);
    collections.set(name, collection as unknown as EmbeddedCollection<{ _id: string }>);
    return collection;
  }

  const store: Store = {
    kind: 'embedded',
    organizations: await open<OrganizationDoc>('organizations'),
    tokens: await open<TokenDoc>('tokens'),
    users: await open<UserDoc>('users'),
    groups: await open<GroupDoc>('groups'),
    memberships: await open<MembershipDoc>('memberships'),
    audit: await open<AuditEventDoc>('audit'),
    seats: await open<SeatDoc>('seats'),
    workspaces: await open<WorkspaceDoc>('workspaces'),
    accessRequests: await open<AccessRequestDoc>('accessRequests'),
    async ping() {
      /* an embedded store is reachable while the process runs */
    },
    /**
     * Waits for every queued operation to finish; does not compact. Every write is already appended to its file when
     * it resolves, and NeDB compacts each file whenever it loads it (the next start) and every
     * COMPACTION_INTERVAL_MS while running. Compacting here rewrote ~190 MB at 100k users and took longer than the
     * server's shutdown grace (main.ts), which then exited non-zero in the middle of it (safe — NeDB writes a temporary
     * file and renames it — but slow and reported as a failure).
     */
    async close() {
      for (const collection of collections.values()) {
        collection.db.stopAutocompaction();
        await (collection.db as unknown as { executor: { pushAsync(task: () => Promise<void>): Promise<void> } }).executor.pushAsync(async () => {});
      }
    },
  };
  return store;
}
