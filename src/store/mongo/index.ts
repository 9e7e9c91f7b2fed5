/**
 * The MongoDB store: the storage port implemented with mongoose on a dedicated connection.
 *
 * The adapter is deliberately thin. Queries and updates arrive already in MongoDB's dialect (built by shared code from
 * allowlists), so they are handed to mongoose as they are; the adapter only chooses the right mongoose call, reads
 * plain objects (`.lean()`), and translates errors (see `./errors.ts`).
 *
 * Why the filters pass through unchanged:
 * - `sanitizeFilter` is forced off *on the connection*. Sanitising wraps every `$`-keyed object in `$eq`, which would
 *   turn the `$elemMatch`, `$nor`, `$gt`, `$regex` ... our own code builds into literal equality matches. Our filters
 *   never contain unvetted client objects (the SCIM filter is parsed and translated, never passed through), which is
 *   the case sanitising exists for. It is set on the connection because mongoose gives the connection's setting
 *   precedence over both the global `mongoose.set('sanitizeFilter')` and per-query options: nobody else's global
 *   setting can change what our queries mean.
 * - `strictQuery: false` on the schemas (see `./schemas.ts`): unknown paths are kept, never dropped from a filter.
 * - Mongoose still casts filter values by the schema type of the path (`version: '3'` becomes `3`, an ISO string on a
 *   Date path becomes a Date). For the values our code builds (numbers, strings, Dates, RegExps) this is the identity;
 *   paths under `scim`/`enterprise` are Mixed and not cast at all. A value that cannot be cast (a RegExp on a Number
 *   path) raises mongoose's `CastError`, which is rethrown as the programming error it is.
 */
import { isDeepStrictEqual } from 'node:util';
import mongoose from 'mongoose';
import type { Connection, Model, QueryFilter, UpdateQuery } from 'mongoose';
import type { Collection, DeepReadonly, FindOptions, Query, Store, Update } from '../port';
import { StoreUnavailableError } from '../port';
import { createModels } from './schemas';
import type { CollectionName, MongoModels } from './schemas';
import { toStoreError } from './errors';

export { createModels, buildSchemas, COLLECTION_NAMES } from './schemas';
export type { CollectionName, MongoModels } from './schemas';
export { toStoreError, isUnavailable, duplicateKeyIndexName } from './errors';

/** Server selection fails after this long by default: an unreachable server must fail a request fast (503). */
export const DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 5000;

/** Options of {@link openMongoStore}. */
export interface MongoStoreOptions {
  /** How long the driver looks for a usable server before an operation fails; default {@link DEFAULT_SERVER_SELECTION_TIMEOUT_MS}. */
  serverSelectionTimeoutMS?: number;
}

/**
 * Options applied to every query. `translateAliases: false` because no alias is declared and a filter must not be
 * rewritten; `strictQuery: false` repeats the schema option so a global default cannot change it.
 */
const QUERY_OPTIONS = { strictQuery: false, translateAliases: false } as const;


/** One collection of the port, backed by one mongoose model. */
class MongoCollection<T extends { _id: string }> implements Collection<T> {
  constructor(
    private readonly name: CollectionName,
    private readonly model: Model<T>,
  ) {}

  async findOne(query: Query, options: Pick<FindOptions, 'projection' | 'sort'> = {}): Promise<T | null> {
    return this.run(async () => {
      let q = this.model.findOne(query as QueryFilter<T>, options.projection ?? null).setOptions(QUERY_OPTIONS);
      if (options.sort) q = q.sort(options.sort);
      return (await q.lean().exec()) as unknown as T | null;
    });
  }

  async find(query: Query, options: FindOptions = {}): Promise<T[]> {
    return this.run(async () => {
      let q = this.model.find(query as QueryFilter<T>, options.projection ?? null).setOptions(QUERY_OPTIONS);
      if (options.sort) q = q.sort(options.sort);
      if (options.skip) q = q.skip(options.skip);
      if (options.limit !== undefined) q = q.limit(options.limit);
      return (await q.lean().exec()) as unknown as T[];
    });
  }

  /** Lean documents are the driver's fresh objects: nothing to share, so the same as `find`. */
  findReadOnly(query: Query, options: FindOptions = {}): Promise<ReadonlyArray<DeepReadonly<T>>> {
    return this.find(query, options) as Promise<unknown> as Promise<ReadonlyArray<DeepReadonly<T>>>;
  }

  async count(query: Query): Promise<number> {
    // countDocuments, not estimatedDocumentCount: the filter matters and the count must be exact.
    return this.run(() => this.model.countDocuments(query as QueryFilter<T>).setOptions(QUERY_OPTIONS).exec());
  }

  async insertOne(doc: T): Promise<void> {
    // `create` goes through the schema: casting, required fields, enums, strict mode.
    await this.run(() => this.model.create(doc));
  }

  async insertMany(docs: T[]): Promise<void> {
    if (docs.length === 0) return;
    // Ordered: stops at the first failure, which is what the port promises ("throws on the first violation"). Unlike
    // the embedded store, the documents before the failing one stay inserted (MongoDB has no all-or-nothing batch).
    await this.run(() => this.model.insertMany(docs, { ordered: true }));
  }

  async updateOne(query: Query, update: Update): Promise<T | null> {
    // findOneAndUpdate is a single atomic findAndModify on the server: the precondition in `query` (version, seat
    // counter) and the update cannot be separated by another writer.
    return this.run(
      async () =>
        (await this.model
          .findOneAndUpdate(query as QueryFilter<T>, update as UpdateQuery<T>, { returnDocument: 'after', upsert: false })
          .setOptions(QUERY_OPTIONS)
          .lean()
          .exec()) as unknown as T | null,
    );
  }

  async updateMany(query: Query, update: Update): Promise<number> {
    return this.run(async () => {
      const result = await this.model.updateMany(query as QueryFilter<T>, update as UpdateQuery<T>).setOptions(QUERY_OPTIONS).exec();
      return result.matchedCount;
    });
  }

  async deleteOne(query: Query): Promise<T | null> {
    return this.run(
      async () => (await this.model.findOneAndDelete(query as QueryFilter<T>).setOptions(QUERY_OPTIONS).lean().exec()) as unknown as T | null,
    );
  }

  async deleteMany(query: Query): Promise<number> {
    return this.run(async () => (await this.model.deleteMany(query as QueryFilter<T>).setOptions(QUERY_OPTIONS).exec()).deletedCount);
  }

  private async run<R>(operation: () => Promise<R>): Promise<R> {
    try {
      return await operation();
    } catch (error) {
      throw toStoreError(this.name, error);
    }
  }
}

/**
 * Indexes earlier versions of the server built and that now refuse valid writes, by collection: group names were
 * unique per organization before groups belonged to a directory connection (now per connection), so two connections
 * could not both have a group "Sales". Named with their key, as mongoose names them; dropped only when that name
 * still has exactly that key and is unique, so an index a DBA created under another definition stays.
 */
const OBSOLETE_INDEXES: Partial<Record<CollectionName, Array<{ name: string; key: Record<string, 1 | -1> }>>> = {
  groups: [{ name: 'orgId_1_displayNameKey_1', key: { orgId: 1, displayNameKey: 1 } }],
};

async function dropObsoleteIndexes(name: CollectionName, model: Model<unknown>): Promise<void> {
  const obsolete = OBSOLETE_INDEXES[name] ?? [];
  if (obsolete.length === 0) return;
  const existing = await model.collection.indexes().catch((error: { codeName?: string }) => {
    if (error.codeName === 'NamespaceNotFound') return [];
    throw error;
  });
  for (const { name: indexName, key } of obsolete) {
    const found = existing.find((index) => index.name === indexName);
    if (found?.unique && isDeepStrictEqual({ ...found.key }, key)) await model.collection.dropIndex(indexName);
  }
}

/**
 * Builds every index of `INDEXES` (declared on the schemas) on the server. `createIndexes`, not `syncIndexes`: it only
 * ever adds, so an index a DBA created by hand is not dropped at start-up (only `OBSOLETE_INDEXES`, ours, are). A
 * changed definition under the same name fails (IndexOptionsConflict / IndexKeySpecsConflict) and stops the start
 * instead of being silently replaced.
 */
async function ensureIndexes(models: MongoModels): Promise<void> {
  for (const [name, model] of Object.entries(models) as Array<[CollectionName, Model<unknown>]>) {
    try {
      await dropObsoleteIndexes(name, model);
      await model.createIndexes();
    } catch (error) {
      throw toStoreError(name, error);
    }
  }
}

/**
 * Connects to MongoDB at `uri` on a dedicated mongoose connection, builds the indexes and returns the store.
 * Throws {@link StoreUnavailableError} when no server answers within `serverSelectionTimeoutMS`.
 */
export async function openMongoStore(uri: string, options: MongoStoreOptions = {}): Promise<Store> {
  const connection: Connection = mongoose.createConnection(uri, {
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? DEFAULT_SERVER_SELECTION_TIMEOUT_MS,
    // Fail fast instead of queueing operations while disconnected.
    bufferCommands: false,
    // Indexes are built explicitly below; collections are created implicitly by the first write / index build.
    autoIndex: false,
    autoCreate: false,
    // Takes precedence over the global setting and per-query options; see the module comment.
    sanitizeFilter: false,
  });
  try {
    await connection.asPromise();
  } catch (error) {
    await connection.close(true).catch(() => undefined);
    throw new StoreUnavailableError(`cannot connect to MongoDB: ${(error as Error).message}`, { cause: error });
  }

  const models = createModels(connection);
  try {
    await ensureIndexes(models);
  } catch (error) {
    await connection.close(true).catch(() => undefined);
    throw error;
  }

  return {
    kind: 'mongodb',
    organizations: new MongoCollection('organizations', models.organizations),
    tokens: new MongoCollection('tokens', models.tokens),
    users: new MongoCollection('users', models.users),
    groups: new MongoCollection('groups', models.groups),
    memberships: new MongoCollection('memberships', models.memberships),
    audit: new MongoCollection('audit', models.audit),
    seats: new MongoCollection('seats', models.seats),
    workspaces: new MongoCollection('workspaces', models.workspaces),
    accessRequests: new MongoCollection('accessRequests', models.accessRequests),
    async ping() {
      try {
        const db = connection.db;
        if (!db) throw new Error('not connected');
        await db.admin().command({ ping: 1 });
      } catch (error) {
        // Whatever the reason, a failed ping means "not ready": /readyz must answer 503, never 500.
        throw error instanceof StoreUnavailableError
          ? error
          : new StoreUnavailableError(`MongoDB ping failed: ${(error as Error).message}`, { cause: error });
      }
    },
    async close() {
      await connection.close();
    },
  };
}
