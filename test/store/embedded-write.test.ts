/**
 * The embedded store updates a document in place and inserts without copying back (src/store/embedded/write.ts): the
 * result — documents, every index, the lines of the data file, errors — must be what NeDB itself gives. Writes skip
 * the datastore's queue when it is idle (src/store/embedded/queue.ts), and never overtake a task queued before them.
 */
import Datastore from '@seald-io/nedb';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { insertOne, updateById } from '../../src/store/embedded/write';
import { keepDataFileOpen } from '../../src/store/embedded/append';
import { trackQueue } from '../../src/store/embedded/queue';
import { patchIndexTrees } from '../../src/store/embedded/index-buckets';
import { DatastoreReader } from '../../src/store/embedded/read';
import { checkFieldNames, hasKey, internals, model, type TreeNode } from '../../src/store/embedded/nedb';
import { seededRandom } from '../../src/cli/demo';
import type { Query, Update } from '../../src/store/port';

type Doc = { _id: string; [k: string]: unknown };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'embedded-write-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A datastore with the kinds of indexes the store declares: compound unique, sparse, multikey, large shared keys. */
async function dataset(name: string, size = 300): Promise<Datastore<Doc>> {
  const db = new Datastore<Doc>({ filename: path.join(dir, `${name}.db`) });
  await db.loadDatabaseAsync();
  // Indexes are updated in this order: a unique violation comes after others took the new version.
  await db.ensureIndexAsync({ fieldName: 'license' });
  await db.ensureIndexAsync({ fieldName: 'emailKeys' });
  await db.ensureIndexAsync({ fieldName: ['orgId', 'userNameKey'], unique: true });
  await db.ensureIndexAsync({ fieldName: 'externalId', sparse: true });
  await db.ensureIndexAsync({ fieldName: 'lifecycle.license' });
  const docs: Doc[] = [];
  for (let i = 0; i < size; i++) {
    docs.push({
      _id: `id-${String(i).padStart(4, '0')}`,
      orgId: i % 4 === 0 ? 'o2' : 'o1',
      userNameKey: `user${i}`,
      ...(i % 3 === 0 ? {} : { externalId: `ext${i % 50}` }),
      emailKeys: i % 7 === 0 ? [] : [`user${i}@example.com`, ...(i % 5 === 0 ? [`alt${i}@example.com`] : [])],
      license: i % 9 === 0 ? 'pending_seat' : 'free',
      version: 1,
      scim: { userName: `user${i}`, name: { givenName: `G${i}` }, active: true },
      // A field named like an Object.prototype member is still the document's own.
      ...(i % 2 === 0 ? { constructor: 'own' } : {}),
    });
  }
  await db.insertAsync(docs);
  return db;
}

/** Every index as key → ids and documents, read from its tree. */
function indexContents(db: Datastore<Doc>): Record<string, Array<[unknown, Array<Doc>]>> {
  const out: Record<string, Array<[unknown, Array<Doc>]>> = {};
  for (const [name, index] of Object.entries(internals(db as Datastore<unknown>).indexes)) {
    const entries: Array<[unknown, Array<Doc>]> = [];
    const visit = (node: TreeNode | null | undefined) => {
      if (!node || !hasKey(node)) return;
      visit(node.left);
      entries.push([node.key, [...(node.data as Doc[])].sort((a, b) => a._id.localeCompare(b._id))]);
      visit(node.right);
    };
    visit(index.tree.tree);
    out[name] = entries;
  }
  return out;
}

/** One random update of a random document, with a query that sometimes does not match. */
function randomWrite(random: ReturnType<typeof seededRandom>, size: number): { id: string; query: Query; update: Update } {
  const i = Math.floor(random.next() * size);
  const id = `id-${String(i).padStart(4, '0')}`;
  const query: Query = random.next() < 0.15 ? { version: 999 } : random.next() < 0.5 ? { orgId: random.pick(['o1', 'o2']) } : {};
  const j = Math.floor(random.next() * size);
  const update = random.pick<() => Update>([
    // Nothing indexed changes.
    () => ({ $set: { 'scim.name.givenName': `N${j}` }, $inc: { version: 1 } }),
    () => ({ $set: { scim: { userName: `user${i}`, active: random.next() < 0.5 } }, $inc: { version: 1 } }),
    // One index's key changes, to a value others share or to one of its own; a taken userNameKey is refused.
    () => ({ $set: { license: random.pick(['free', 'licensed', 'pending_seat']) } }),
    () => ({ $set: { userNameKey: `user${j}` } }),
    () => ({ $set: { userNameKey: `renamed${j}`, orgId: random.pick(['o1', 'o2', 'o3']) } }),
    () => ({ $set: { externalId: `ext${j % 50}` } }),
    () => ({ $unset: { externalId: true } }),
    () => ({ $unset: { constructor: true }, $inc: { version: 1 } }),
    () => ({ $set: { emailKeys: [`user${j}@example.com`] } }),
    () => ({ $set: { emailKeys: [] } }),
    () => ({ $push: { emailKeys: `more${j}@example.com` } }),
    // Several at once, one of them unique.
    () => ({ $set: { userNameKey: `user${j}`, license: 'licensed', emailKeys: [`x${j}@example.com`, `x${j}@example.com`] }, $inc: { version: 1 } }),
    // Nested paths that create, replace or remove parts of a field, and new top-level fields.
    () => ({ $set: { 'lifecycle.license': random.pick(['free', 'licensed']), 'lifecycle.since': new Date(1_700_000_000_000 + j) } }),
    () => ({ $unset: { 'lifecycle.license': true, 'scim.name.givenName': true } }),
    () => ({ $set: { [`extra${j % 3}`]: { deep: { j } } }, $inc: { version: 1 } }),
    () => ({ $unset: { scim: true }, $set: { lastModified: new Date(j) } }),
    () => ({ $addToSet: { emailKeys: `user${j}@example.com` }, $inc: { 'counters.writes': 1 } }),
    () => ({ $pull: { emailKeys: `user${i}@example.com` } }),
    () => ({ $max: { version: j % 5 }, $min: { 'lifecycle.rank': j } }),
    // Paths written through nested objects, created, removed from missing parts, or through what is not an object.
    () => ({ $set: { 'scim.name.familyName': `F${j}`, 'scim.active': false }, $inc: { 'scim.name.count': 2, version: 1 } }),
    () => ({ $set: { 'lifecycle.pending': { audit: { id: `a${j}` } }, 'lifecycle.since': new Date(j) } }),
    () => ({ $unset: { 'lifecycle.pending': true, 'missing.deep.x': true, 'scim.name.none': true } }),
    () => ({ $set: { 'emailKeys.0': `first${j}@example.com` } }),
    () => ({ $set: { 'lifecycle.since.x': 1 } }),
    () => ({ $set: { 'license.sub': 1 }, $inc: { version: 1 } }),
    () => ({ $set: { 'constructor.x': j } }),
    () => ({ $inc: { 'scim.name.givenName': 1 } }),
    () => ({ $set: { 'scim.$bad': 1 } }),
    () => ({ $set: { 'scim.name': { 'a.b': 1 } } }),
    () => ({ $inc: { 'scim.$count': 1, version: 'one' } }),
    // A field both removed and written, and a whole replacement: NeDB's own order and result.
    () => ({ $unset: { scim: true }, $set: { scim: { userName: `user${i}`, active: false } } }),
    () => ({ $unset: { scim: true }, $set: { 'scim.active': true } }),
    () => ({ $set: { scim: { userName: `user${i}` }, license: 'free' }, $unset: { scim: true }, $inc: { license: 1 } }),
    () => ({ $set: { 'scim.active': false }, $unset: { 'scim.name': true } }),
    () => ({ orgId: 'o1', userNameKey: `replaced${j}`, license: 'free', emailKeys: [] }),
    // Refused by NeDB before anything changes.
    () => ({ $set: { _id: 'other' } }),
    () => ({ $set: { 'bad.$field': 1 } }),
    () => ({ $set: { license: 'x' }, plain: 1 }),
    () => ({ $rename: { license: 'l' } }),
    () => ({ $set: 5 }),
    () => ({ $set: null }),
    // A replacement whose first field is named like an Object.prototype member.
    () => ({ constructor: 'own', orgId: 'o1', userNameKey: `ctor${j}`, license: 'free', emailKeys: [] }),
    () => ({ $inc: { 'scim.userName': 1 } }),
  ])();
  return { id, query, update };
}

const outcome = async <R>(run: () => Promise<R>) => {
  try {
    return { result: await run() };
  } catch (error) {
    const e = error as { errorType?: string; message?: string };
    return { error: e.errorType ?? e.message };
  }
};

describe('field names', () => {
  test('are refused as NeDB refuses them: the same first error, its own markers allowed, at any depth', () => {
    const refusal = (check: () => void) => {
      try {
        check();
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    };
    const values: unknown[] = [
      { a: 1, b: { c: [1, { d: new Date(3) }] } },
      { $$date: 5 },
      { $$date: 'x' },
      { a: { $$deleted: true } },
      { a: { $$deleted: 1 } },
      { $$indexCreated: { fieldName: 'a' } },
      { $$indexRemoved: 'a' },
      { a: [{ b: 1 }, { $c: 1 }] },
      { a: [[{ 'b.c': 1 }]] },
      { a: { 'b.c': 1, $d: 2 } },
      { a: { $d: 2, 'b.c': 1 } },
      { 10: 'x', 'y.z': 1 },
      { a: 'with $ and . inside a value' },
      [{ ok: 1 }, { $no: 1 }],
      'text',
      null,
      { a: null, b: undefined, c: new Date(Number.NaN) },
    ];
    let refused = 0;
    for (const value of values) {
      const expected = refusal(() => model.checkObject(value));
      if (expected) refused++;
      expect([value, refusal(() => checkFieldNames(value))]).toEqual([value, expected]);
    }
    expect(refused).toBeGreaterThanOrEqual(8);
  });
});

describe('embedded writes in place', () => {
  it('give the documents, indexes, data-file lines and errors NeDB gives, for 1500 random updates', async () => {
    const size = 300;
    const patched = await dataset('patched', size);
    const plain = await dataset('plain', size);
    patchIndexTrees(patched as Datastore<unknown>);
    const random = seededRandom(7);
    let refused = 0;
    let unmatched = 0;
    for (let n = 0; n < 1500; n++) {
      const { id, query, update } = randomWrite(random, size);
      const ours = await outcome(() => updateById(patched as Datastore<unknown>, id, query, update));
      const theirs = await outcome(() => plain.updateAsync({ $and: [query], _id: id }, update, { multi: false, returnUpdatedDocs: true }));
      expect(ours.error).toEqual(theirs.error);
      if (ours.error) {
        refused++;
        continue;
      }
      const doc = (theirs.result as { affectedDocuments?: Doc }).affectedDocuments ?? null;
      expect(ours.result?.doc ?? null).toEqual(doc);
      if (!doc) unmatched++;
    }
    // The sequence exercised every path.
    expect(refused).toBeGreaterThan(20);
    expect(unmatched).toBeGreaterThan(20);
    expect(await patched.findAsync({}).sort({ _id: 1 })).toEqual(await plain.findAsync({}).sort({ _id: 1 }));
    expect(indexContents(patched)).toEqual(indexContents(plain));
    expect(readFileSync(path.join(dir, 'patched.db'), 'utf8')).toBe(readFileSync(path.join(dir, 'plain.db'), 'utf8'));
  });

  it('leave every index as it was when a unique key refuses the new version', async () => {
    const db = await dataset('refused', 50);
    patchIndexTrees(db as Datastore<unknown>);
    const before = indexContents(db);
    const taken = { $set: { license: 'licensed', userNameKey: 'user5', emailKeys: ['new@example.com'] } };
    await expect(updateById(db as Datastore<unknown>, 'id-0001', {}, taken)).rejects.toMatchObject({ errorType: 'uniqueViolated' });
    expect(indexContents(db)).toEqual(before);
    expect(await db.findAsync({ license: 'licensed' })).toEqual([]);
    expect(await db.findAsync({ emailKeys: 'user1@example.com' })).toHaveLength(1);
  });

  it('leave a snapshot read before the write at the version it was read at', async () => {
    const db = await dataset('snapshot', 20);
    const reader = new DatastoreReader(db as Datastore<unknown>);
    const [snapshot] = reader.find({ _id: 'id-0002' }, {}, false)!;
    const copy = structuredClone(snapshot);
    await updateById(db as Datastore<unknown>, 'id-0002', {}, { $set: { 'scim.name.givenName': 'New', license: 'licensed' }, $unset: { externalId: true } });
    expect(snapshot).toEqual(copy);
    expect(reader.find({ _id: 'id-0002' }, {}, false)![0]).toMatchObject({ license: 'licensed', scim: { name: { givenName: 'New' } } });
  });

  it('insert as NeDB inserts, and refuse a taken unique key with its error, leaving the indexes as they were', async () => {
    const patched = await dataset('ins-patched', 30);
    const plain = await dataset('ins-plain', 30);
    const fresh: Doc = { _id: 'new', orgId: 'o1', userNameKey: 'fresh', externalId: 'ext1', emailKeys: ['f@example.com', 'g@example.com'], license: 'free' };
    await insertOne(patched as Datastore<unknown>, fresh);
    await plain.insertAsync(fresh);
    fresh.userNameKey = 'changed by the caller afterwards';
    const taken: Doc = { _id: 'dup', orgId: 'o1', userNameKey: 'user1', emailKeys: ['h@example.com'], license: 'free' };
    const before = indexContents(patched);
    await expect(insertOne(patched as Datastore<unknown>, taken)).rejects.toMatchObject({ errorType: 'uniqueViolated' });
    await expect(plain.insertAsync(taken)).rejects.toMatchObject({ errorType: 'uniqueViolated' });
    expect(indexContents(patched)).toEqual(before);
    await expect(insertOne(patched as Datastore<unknown>, { _id: 'bad', 'a.b': 1 })).rejects.toThrow(/Field names cannot contain a \./);
    expect(await patched.findAsync({}).sort({ _id: 1 })).toEqual(await plain.findAsync({}).sort({ _id: 1 }));
    expect(indexContents(patched)).toEqual(indexContents(plain));
    expect(readFileSync(path.join(dir, 'ins-patched.db'), 'utf8')).toBe(readFileSync(path.join(dir, 'ins-plain.db'), 'utf8'));
  });
});

describe('the queue of writes', () => {
  /** A datastore as the store opens one: synchronous appends, its queue tracked. */
  async function tracked(name: string): Promise<Datastore<Doc>> {
    const db = await dataset(name, 40);
    patchIndexTrees(db as Datastore<unknown>);
    keepDataFileOpen(db as Datastore<unknown>, db.getAllData().length);
    trackQueue(db as Datastore<unknown>);
    return db;
  }
  const licenseOf = (db: Datastore<Doc>, id: string) => db.getAllData().find((d) => d._id === id)?.license;

  it('lets a write run at once when nothing is queued, and makes it wait behind a queued task', async () => {
    const db = await tracked('queue-order');
    const written = updateById(db as Datastore<unknown>, 'id-0001', {}, { $set: { license: 'at-once' } });
    expect(licenseOf(db, 'id-0001')).toBe('at-once'); // before the promise is even awaited
    await written;

    let release!: () => void;
    const held = internals(db as Datastore<unknown>).executor.pushAsync(() => new Promise<void>((resolve) => (release = resolve)));
    const waiting = updateById(db as Datastore<unknown>, 'id-0001', {}, { $set: { license: 'queued' } });
    const inserting = insertOne(db as Datastore<unknown>, { _id: 'late', orgId: 'o1', userNameKey: 'late', emailKeys: [], license: 'free' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(licenseOf(db, 'id-0001')).toBe('at-once');
    expect(licenseOf(db, 'late')).toBeUndefined();
    release();
    await Promise.all([held, waiting, inserting]);
    expect(licenseOf(db, 'id-0001')).toBe('queued');
    expect(licenseOf(db, 'late')).toBe('free');
    // Once the queue has drained, writes run at once again.
    const again = updateById(db as Datastore<unknown>, 'id-0002', {}, { $set: { license: 'again' } });
    expect(licenseOf(db, 'id-0002')).toBe('again');
    await again;
  });

  it('refuses a taken unique key the same way at once as queued, leaving the indexes as they were', async () => {
    const db = await tracked('queue-refused');
    const before = indexContents(db);
    const taken: Doc = { _id: 'dup', orgId: 'o1', userNameKey: 'user1', emailKeys: [], license: 'free' };
    await expect(insertOne(db as Datastore<unknown>, taken)).rejects.toMatchObject({ errorType: 'uniqueViolated' });
    await expect(updateById(db as Datastore<unknown>, 'id-0002', {}, { $set: { userNameKey: 'user1' } })).rejects.toMatchObject({ errorType: 'uniqueViolated' });
    expect(indexContents(db)).toEqual(before);
    // The queue is not left blocked by the refusals.
    await updateById(db as Datastore<unknown>, 'id-0002', {}, { $set: { license: 'after' } });
    expect(licenseOf(db, 'id-0002')).toBe('after');
  });

  it('keeps every write of a burst around a rewrite of the data file, in order, in the file', async () => {
    const db = await tracked('queue-compaction');
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      if (i === 10) writes.push(db.compactDatafileAsync());
      // Some writes come while the rewrite is under way (it waits on the file system): they must wait for it.
      if (i >= 10) await new Promise((resolve) => setImmediate(resolve));
      writes.push(updateById(db as Datastore<unknown>, `id-${String(i % 5).padStart(4, '0')}`, {}, { $set: { license: `v${i}` } }));
      writes.push(insertOne(db as Datastore<unknown>, { _id: `burst-${i}`, orgId: 'o1', userNameKey: `burst${i}`, emailKeys: [], license: 'free' }));
    }
    await Promise.all(writes);
    const reloaded = new Datastore<Doc>({ filename: path.join(dir, 'queue-compaction.db') });
    await reloaded.loadDatabaseAsync();
    const byId = (docs: Doc[]) => [...docs].sort((a, b) => a._id.localeCompare(b._id));
    expect(byId(reloaded.getAllData())).toEqual(byId(db.getAllData()));
    expect(licenseOf(reloaded, 'id-0004')).toBe('v29');
  });
});
