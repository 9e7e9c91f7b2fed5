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
import type { Collection, DeepReadonly, FindOptions, Query, Store, Update } from '../port';
import { DuplicateKeyError } from '../port';
import { DatastoreReader, type Change, type ReadOptions } from './read';
import { patchIndexTrees } from './index-buckets';
import { trackQueue } from './queue';
import { installBulkIndexBuild } from './bulk-index';
import { installFastLines, sharingDates } from './lines';
import { keepDataFileOpen, loadDataFile, type DataFile, type StoreHealth } from './append';
import { internals } from './nedb';
import { insertOne, updateById } from './write';
import type { AccessRequestDoc, AuditEventDoc, GroupDoc, MembershipDoc, OrganizationDoc, SeatDoc, TokenDoc, UserDoc, WorkspaceDoc } from '../documents';

/**
 * Compaction rewrites an append-only file so it does not grow without bound. It blocks the event loop while it
 * serialises every document (seconds at 1M users), so it runs when the file has grown by as many lines as it holds
 * live documents (at least `minAppends`): then a file is at most about twice its live size, and the cost of a rewrite
 * is paid by as many writes. Checked every `checkEveryMs`.
 */
const COMPACTION = { checkEveryMs: 60_000, minAppends: 10_000 };
/** What a single-document NeDB update changed, from its result. */
const updatedOne = (result: { affectedDocuments: unknown }): Change => {
  const doc = result.affectedDocuments as { _id: string } | null;
  return doc ? { updated: doc._id } : 'nothing';
};

/** Documents removed per NeDB call in `deleteMany`. */
const DELETE_CHUNK = 1000;
/** Lookups before `updateOne`/`deleteOne` leave the choice of document to NeDB (only concurrent writes cause more than one). */
const PINNED_ATTEMPTS = 5;

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
  private readonly reader: DatastoreReader;

  constructor(
    private readonly name: string,
    readonly db: Datastore<T>,
    /** The data file NeDB appends to (append.ts). */
    readonly file: DataFile,
    /** Shared by the store's collections: set when an append to any of its files has failed. */
    private readonly health: StoreHealth = {},
  ) {
    this.reader = new DatastoreReader(db as Datastore<unknown>);
  }

  /**
   * Throws once an append has failed. Memory then holds a change the files lack: a read would answer from it (a retried
   * create would see its own failed attempt and get a 409), a write would build on it. A restart reloads the files.
   */
  private refuseIfFailed(): void {
    if (this.health.failure) throw this.health.failure;
  }

  async findOne(query: Query, options: Pick<FindOptions, 'projection' | 'sort'> = {}): Promise<T | null> {
    const [doc] = await this.find(query, { ...options, limit: 1 });
    return doc ?? null;
  }

  find(query: Query, options: FindOptions = {}): Promise<T[]> {
    return this.read(query, options, true);
  }

  findReadOnly(query: Query, options: FindOptions = {}): Promise<ReadonlyArray<DeepReadonly<T>>> {
    return this.read(query, options, false) as Promise<unknown> as Promise<ReadonlyArray<DeepReadonly<T>>>;
  }

  private async read(query: Query, options: FindOptions, copies: boolean): Promise<T[]> {
    this.refuseIfFailed();
    const nedbQuery = toNedbQuery(query);
    // Answered at once from memory, with NeDB's result (read.ts).
    const read = this.reader.find(nedbQuery, options as ReadOptions, copies);
    if (read) return read as unknown as T[];
    let cursor = this.db.findAsync(nedbQuery);
    if (options.sort) cursor = cursor.sort(options.sort);
    if (options.skip) cursor = cursor.skip(options.skip);
    if (options.limit !== undefined) cursor = cursor.limit(options.limit);
    if (options.projection) cursor = cursor.projection(options.projection);
    return (await cursor) as T[];
  }

  async count(query: Query): Promise<number> {
    this.refuseIfFailed();
    const nedbQuery = toNedbQuery(query);
    const counted = this.reader.count(nedbQuery);
    if (counted !== undefined) return counted;
    return (await this.db.countAsync(nedbQuery)) as unknown as number;
  }

  async insertOne(doc: T): Promise<void> {
    await this.guard(() => insertOne(this.db as Datastore<unknown>, doc), [doc], () => ({ inserted: doc._id }));
  }

  async insertMany(docs: T[]): Promise<void> {
    if (docs.length > 0) await this.guard(() => this.db.insertAsync(docs), docs);
  }

  /**
   * NeDB tests every candidate of the index it picks, even after the first match: claiming a seat tested every free
   * seat (~100 ms with 100k). So the document is found first (the reader picks the smallest index and stops at the
   * first match) and the write names it by `_id`, still under the whole query: when a write queued before this one
   * changed it meanwhile, nothing is written and the lookup runs again. The write updates the document in place,
   * touching only the indexes whose key changed (write.ts).
   */
  async updateOne(query: Query, update: Update): Promise<T | null> {
    const nedbQuery = toNedbQuery(query);
    for (let attempt = 0; attempt < PINNED_ATTEMPTS; attempt++) {
      const id = this.reader.firstId(nedbQuery);
      if (id === undefined) break;
      if (id === null) return null;
      const result = await this.guard(
        () => updateById(this.db as Datastore<unknown>, id, nedbQuery, update),
        [],
        (written) => (written ? { updated: id, before: written.before } : 'nothing'),
      );
      if (result) return result.doc as T;
    }
    const result = await this.guard(() => this.db.updateAsync(nedbQuery, update, { multi: false, returnUpdatedDocs: true }), [], updatedOne);
    return (result.affectedDocuments as T | null) ?? null;
  }

  async updateMany(query: Query, update: Update): Promise<number> {
    const result = await this.guard(() => this.db.updateAsync(toNedbQuery(query), update, { multi: true }));
    return result.numAffected;
  }

  /** Like `updateOne`: found first, then removed by `_id` under the whole query, and reported as removed. */
  async deleteOne(query: Query): Promise<T | null> {
    const nedbQuery = toNedbQuery(query);
    for (let attempt = 0; attempt < PINNED_ATTEMPTS; attempt++) {
      const found = this.reader.find(nedbQuery, { limit: 1 }) ?? [await this.db.findOneAsync(nedbQuery)];
      const doc = found[0];
      if (!doc) return null;
      const removed = await this.guard(() => this.db.removeAsync({ $and: [nedbQuery], _id: doc._id }, { multi: false }));
      if (removed === 1) return doc as T;
    }
    return null;
  }

  /**
   * Removes by id in chunks: NeDB's own multi-remove spreads every candidate into one function call, which overflows
   * the stack past ~120k candidates (seen with group memberships at 100k users).
   */
  async deleteMany(query: Query): Promise<number> {
    const nedbQuery = toNedbQuery(query);
    const ids = this.reader.ids(nedbQuery) ?? (await this.db.findAsync(nedbQuery).projection({ _id: 1 })).map((d) => d._id);
    let removed = 0;
    for (let i = 0; i < ids.length; i += DELETE_CHUNK) {
      removed += await this.guard(() => this.db.removeAsync({ _id: { $in: ids.slice(i, i + DELETE_CHUNK) } }, { multi: true }));
    }
    return removed;
  }

  /**
   * Runs every write: translates NeDB's unique violations and tells the reader the data changed — what changed when
   * `changed` can tell it from the result, otherwise (and whenever the write fails) that anything may have.
   * `inserted`: the documents being inserted, to tell an `_id` collision from a unique-field one.
   */
  private async guard<R>(write: () => Promise<R>, inserted: readonly T[] = [], changed?: (result: R) => Change): Promise<R> {
    this.refuseIfFailed();
    let result: R;
    try {
      result = await write();
    } catch (error) {
      this.reader.written();
      const e = error as { errorType?: string; key?: unknown };
      if (e.errorType === 'uniqueViolated') throw new DuplicateKeyError(this.name, violatedIndex(this.name, e.key, inserted));
      throw error;
    }
    this.reader.written(changed?.(result));
    return result;
  }
}

export interface EmbeddedStoreOptions {
  /** Directory for the data files; omit to keep everything in memory (tests). */
  dataDir?: string;
  /** When data files are rewritten (tests make it happen sooner). */
  compaction?: { checkEveryMs: number; minAppends: number };
  /** Called as each collection is ready, with its document count and how long loading it took. */
  onLoaded?: (collection: string, documents: number, ms: number) => void;
}

/** Opens (and creates when missing) the embedded store. */
export async function openEmbeddedStore(options: EmbeddedStoreOptions = {}): Promise<Store> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  installBulkIndexBuild();
  installFastLines();
  const collections = new Map<string, EmbeddedCollection<{ _id: string }>>();
  const compaction = options.compaction ?? COMPACTION;
  // An append that failed leaves memory ahead of the files: no collection answers again until a restart reloads them.
  const health: StoreHealth = {};
  const needsCompaction = (file: DataFile) => {
    const { appended, live } = file.growth();
    return appended >= Math.max(live, compaction.minAppends);
  };

  async function open<T extends { _id: string }>(name: string): Promise<EmbeddedCollection<T>> {
    const started = performance.now();
    const db = new Datastore<T>(
      options.dataDir ? { filename: path.join(options.dataDir, `${name}.db`) } : { inMemoryOnly: true },
    );
    const linesInFile = await loadDataFile(db as Datastore<unknown>);
    const declared = new Set(['_id']);
    for (const spec of INDEXES[name] ?? []) {
      let fields = Object.keys(spec.fields).filter((f) => f !== '_id');
      // A compound key costs NeDB an object comparison (two key sorts) at every step of its tree walks, on every
      // write. Only a unique constraint needs the whole key; otherwise the last field, the selective one, finds the
      // candidates and the query checks the rest (the reader picks the smallest candidate set). NeDB indexes array
      // elements only in single-field indexes, so multikey specs are single-field anyway.
      if (spec.multikey || !spec.unique) fields = fields.slice(-1);
      if (fields.length === 0) continue;
      await db.ensureIndexAsync({
        fieldName: fields.length === 1 ? fields[0] : fields,
        unique: spec.unique ?? false,
        sparse: spec.sparse ?? false,
      });
      declared.add([...fields].sort().join(',')); // NeDB's name for the index
    }
    // NeDB recreates at load every index its file lists: drop those an earlier version declared.
    for (const indexName of Object.keys(internals(db as Datastore<unknown>).indexes)) {
      if (!declared.has(indexName)) await db.removeIndexAsync(indexName);
    }
    patchIndexTrees(db as Datastore<unknown>);
    const collection = new EmbeddedCollection<T>(name, db, keepDataFileOpen(db as Datastore<unknown>, linesInFile, health), health);
    // Appends are synchronous from here on (append.ts): the adapter's writes may skip an idle queue.
    trackQueue(db as Datastore<unknown>);
    // A file that has doubled is rewritten now, before the server listens, rather than by the first check while it
    // serves (a rewrite costs ~1 s of CPU per 100k users; it no longer stops the store, but it slows what it serves).
    if (needsCompaction(collection.file)) await collection.file.compact();
    options.onLoaded?.(name, collection.file.growth().live, Math.round(performance.now() - started));
    collections.set(name, collection as unknown as EmbeddedCollection<{ _id: string }>);
    return collection;
  }

  const opened = await sharingDates(async () => ({
    organizations: await open<OrganizationDoc>('organizations'),
    tokens: await open<TokenDoc>('tokens'),
    users: await open<UserDoc>('users'),
    groups: await open<GroupDoc>('groups'),
    memberships: await open<MembershipDoc>('memberships'),
    audit: await open<AuditEventDoc>('audit'),
    seats: await open<SeatDoc>('seats'),
    workspaces: await open<WorkspaceDoc>('workspaces'),
    accessRequests: await open<AccessRequestDoc>('accessRequests'),
  }));
  const store: Store = {
    kind: 'embedded',
    ...opened,
    /** Reachable while the process runs, unless an append has failed (then `/readyz` says so until a restart). */
    async ping() {
      if (health.failure) throw health.failure;
    },
    /**
     * Waits for every queued operation to finish; does not compact. Every write is already appended to its file when
     * it resolves, and a file is compacted once it has grown enough (COMPACTION): at start-up, counting the lines it
     * already holds beyond its live documents (append.ts), and while running. Compacting here rewrote ~190 MB at 100k
     * users and took longer than the server's shutdown grace (main.ts), which then exited non-zero in the middle of it
     * (safe — NeDB writes a temporary file and renames it — but slow and reported as a failure). A rewrite under way
     * is abandoned: its temporary file is removed, and the data file it would have replaced is whole.
     */
    async close() {
      if (compactionTimer) clearInterval(compactionTimer);
      for (const collection of collections.values()) {
        await internals(collection.db as Datastore<unknown>).executor.pushAsync(async () => {});
      }
      await Promise.all([...collections.values()].map(({ file }) => file.close()));
    },
  };
  const compactionTimer = options.dataDir
    ? setInterval(() => {
        for (const { file } of collections.values()) {
          // A failed rewrite leaves the old file whole (a new file is renamed over it at the end): the next check retries.
          if (needsCompaction(file)) void file.compact().catch(() => undefined);
        }
      }, compaction.checkEveryMs)
    : undefined;
  compactionTimer?.unref();
  return store;
}
