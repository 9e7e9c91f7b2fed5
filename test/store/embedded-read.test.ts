/**
 * The embedded store answers reads itself (src/store/embedded/read.ts) and removes index entries its own way
 * (index-buckets.ts): both must give exactly what NeDB itself gives.
 */
import Datastore from '@seald-io/nedb';
import { CHECKPOINT_EVERY, DatastoreReader } from '../../src/store/embedded/read';
import { patchIndexTrees } from '../../src/store/embedded/index-buckets';
import { installBulkIndexBuild } from '../../src/store/embedded/bulk-index';
import { updateById } from '../../src/store/embedded/write';
import { compareKeyValues, hasKey, internals, model, type TreeNode } from '../../src/store/embedded/nedb';
import { seededRandom } from '../../src/cli/demo';
import type { Query, Sort } from '../../src/store/port';

type Doc = { _id: string; [k: string]: unknown };

/** An empty in-memory datastore with these indexes. */
async function indexed(...indexes: Datastore.EnsureIndexOptions[]): Promise<Datastore<Doc>> {
  const db = new Datastore<Doc>({ inMemoryOnly: true });
  await db.loadDatabaseAsync();
  for (const index of indexes) await db.ensureIndexAsync(index);
  return db;
}

async function dataset(size = 400): Promise<Datastore<Doc>> {
  const db = await indexed({ fieldName: ['orgId', 'userNameKey'], unique: true }, { fieldName: ['orgId', 'value'] }, { fieldName: 'emailKeys' });
  const docs: Doc[] = [];
  for (let i = 0; i < size; i++) {
    docs.push({
      _id: `id-${String(size <= 1000 ? (i * 7919) % 1000 : i).padStart(6, '0')}`,
      orgId: i % 5 === 0 ? 'o2' : 'o1',
      userNameKey: `user${i}`,
      value: `u${i % 13}`,
      ...(i % 3 === 0 ? {} : { connectionId: i % 3 === 1 ? 'c1' : 'c2' }),
      ...(i % 17 === 0 ? { tags: ['c1', 'x'] } : {}),
      rank: i % 11,
      emailKeys: [`user${i}@example.com`],
      lifecycle: { license: i % 4 === 0 ? 'pending_seat' : 'free', pendingSince: new Date(1_700_000_000_000 + (i % 9) * 1000) },
    });
  }
  // An array-valued field under a plain equality: NeDB's "any element" rule applies.
  docs.push({ _id: 'id-arr', orgId: 'o1', userNameKey: 'arr', connectionId: ['c1', 'c9'], value: 'u1', rank: 3, emailKeys: [] });
  await db.insertAsync(docs);
  return db;
}

async function nedbFind(db: Datastore<Doc>, query: Query, sort?: Sort, skip?: number, limit?: number): Promise<Doc[]> {
  let cursor = db.findAsync(query);
  if (sort) cursor = cursor.sort(sort);
  if (skip) cursor = cursor.skip(skip);
  if (limit !== undefined) cursor = cursor.limit(limit);
  return cursor;
}

const queries: Query[] = [
  {},
  { orgId: 'o1' },
  { orgId: 'o1', connectionId: 'c1' },
  { orgId: 'o2', connectionId: 'c2' },
  { connectionId: 'c9' },
  { tags: 'c1' },
  { orgId: 'o1', rank: 3 },
  { orgId: 'o1', connectionId: { $exists: true } },
  { orgId: 'o1', 'lifecycle.license': 'pending_seat' },
  { orgId: 'o1', value: { $in: ['u1', 'u4', 'u4', 'u12', 'nope'] } },
  { orgId: 'o2', value: { $in: [] } },
  { orgId: 'o1', userNameKey: { $in: ['user1', 'user2', 'arr'] }, connectionId: 'c1' },
  { $or: [{ orgId: 'o2' }, { rank: 1 }] },
  // NeDB starts these from an index; the fast path must step aside.
  { _id: 'id-0007' },
  { orgId: 'o1', userNameKey: 'user1' },
  { emailKeys: 'user5@example.com' },
];
// The `userNameKey` sorts are read in order from the unique index {orgId, userNameKey} when the query fixes orgId.
const sorts: Array<Sort | undefined> = [
  undefined,
  { _id: 1 },
  { _id: -1 },
  { rank: 1, _id: 1 },
  { 'lifecycle.pendingSince': 1, _id: 1 },
  { rank: -1 },
  { userNameKey: 1, _id: 1 },
  { userNameKey: -1, _id: 1 },
  { userNameKey: -1 },
];
const pages: Array<[number | undefined, number | undefined]> = [
  [undefined, undefined],
  [0, 0],
  [0, 10],
  [5, 3],
  [150, 100],
  [1000, 10],
];

const reader = (db: Datastore<Doc>) => new DatastoreReader(db as Datastore<unknown>);

describe('embedded reads', () => {
  it('find and count exactly as NeDB does, for every query, sort and page', async () => {
    const db = await dataset();
    const read = reader(db);
    let compared = 0;
    for (const query of queries) {
      expect(read.count(query)).toBe(await db.countAsync(query));
      for (const sort of sorts) {
        for (const [skip, limit] of pages) {
          expect(read.find(query, { sort, skip, limit })).toEqual(await nedbFind(db, query, sort, skip, limit));
          compared++;
        }
      }
    }
    expect(compared).toBe(queries.length * sorts.length * pages.length);
  });

  it('start deep pages from kept positions and still agree with NeDB, in both directions', async () => {
    const db = await dataset(3000);
    const read = reader(db);
    for (const query of [{ orgId: 'o1' }, { orgId: 'o1', connectionId: 'c1' }, {}]) {
      const total = await db.countAsync(query);
      const c = CHECKPOINT_EVERY;
      for (const skip of [c - 1, c, c + 1, 2 * c - 1, 2 * c, 8 * c + 3, 1500, total - 1, total, total + 5]) {
        for (const sort of [{ _id: 1 as const }, { _id: -1 as const }, undefined]) {
          expect(read.find(query, { sort, skip, limit: 100 })).toEqual(await nedbFind(db, query, sort, skip, 100));
        }
      }
    }
  });

  it('see every write once the write has been reported', async () => {
    const db = await dataset(3000);
    const read = reader(db);
    const query = { orgId: 'o1', connectionId: 'c1' };
    const before = read.count(query)!;
    const page = read.find(query, { sort: { _id: 1 }, skip: 600, limit: 5 })!;
    await db.removeAsync({ _id: page[0]._id }, {});
    await db.insertAsync({ _id: 'id-000000a', orgId: 'o1', connectionId: 'c1', userNameKey: 'new', value: 'u1', rank: 1, emailKeys: [] });
    read.written();
    expect(read.count(query)).toBe(before);
    expect(read.find(query, { sort: { _id: 1 }, skip: 600, limit: 5 })).toEqual(await nedbFind(db, query, { _id: 1 }, 600, 5));
    expect(read.find({ _id: 'id-000000a' })).toHaveLength(1);
  });

  it('keep deep pages and counts right through updates and appends reported one by one, and any other write', async () => {
    const db = await dataset(3000);
    const read = reader(db);
    const scopes = [{ orgId: 'o1', connectionId: 'c1' }, { orgId: 'o1' }, { orgId: 'o2', connectionId: 'c2' }];
    const agree = async (step: string) => {
      for (const query of scopes) {
        const total = await db.countAsync(query);
        expect([step, read.count(query)]).toEqual([step, total]);
        for (const skip of [0, 70, 640, 1500, 2350, total - 66, total - 3]) {
          for (const sort of [{ _id: 1 as const }, { _id: -1 as const }]) {
            expect([step, read.find(query, { sort, skip, limit: 7 })]).toEqual([step, await nedbFind(db, query, sort, skip, 7)]);
          }
        }
      }
    };
    await agree('kept positions built');
    const update = async (step: string, id: string, set: Record<string, unknown>) => {
      await db.updateAsync({ _id: id }, { $set: set }, {});
      read.written({ updated: id });
      await agree(step);
    };
    await update('an update inside the scope', 'id-001000', { rank: 77 });
    await update('an update that leaves a scope', 'id-001001', { connectionId: 'c9' });
    await update('an update that enters a scope', 'id-002999', { orgId: 'o1', connectionId: 'c1' });
    // In place (write.ts): the document kept in `_id` order is the updated one; the change says what it was.
    const inPlace = async (step: string, id: string, set: Record<string, unknown>) => {
      const written = await updateById(db as Datastore<unknown>, id, {}, { $set: set });
      read.written({ updated: id, before: written!.before });
      await agree(step);
    };
    await inPlace('an update in place that leaves a scope', 'id-001003', { connectionId: 'c9' });
    await inPlace('an update in place that enters a scope', 'id-002995', { orgId: 'o1' });
    // Appended in `_id` order (after every id of the data set, `id-arr` included), in and out of the scopes, past
    // more than one kept position.
    for (let n = 0; n < 150; n++) {
      const id = `id-z${String(n).padStart(5, '0')}`;
      const scope = [{ orgId: 'o1', connectionId: 'c1' }, { orgId: 'o2', connectionId: 'c2' }, { orgId: 'o3' }][n % 3 === 0 ? 1 : n % 7 === 0 ? 2 : 0];
      await db.insertAsync({ _id: id, ...scope, userNameKey: `appended${n}`, value: 'u1', rank: 1, emailKeys: [] });
      read.written({ inserted: id });
      if (n % 10 === 9) await agree(`appended ${id}`);
    }
    // Inserted before the end, then a removal and a multi-document update: reported without a change.
    await db.insertAsync({ _id: 'id-000500a', orgId: 'o1', connectionId: 'c1', userNameKey: 'middle', value: 'u1', rank: 1, emailKeys: [] });
    read.written({ inserted: 'id-000500a' });
    await agree('inserted in the middle');
    await db.removeAsync({ _id: 'id-000640' }, {});
    read.written();
    await agree('a removal');
    await db.updateAsync({ rank: 3 }, { $set: { connectionId: 'c1' } }, { multi: true });
    read.written();
    await agree('an update of many');
    read.written('nothing');
    await agree('a conditional write that matched nothing');
  });

  it('start from the smallest index a query offers, and find the same documents as NeDB', async () => {
    const db = await dataset(3000);
    await db.ensureIndexAsync({ fieldName: 'orgId' });
    await db.ensureIndexAsync({ fieldName: 'rank' });
    const read = reader(db);
    const ids = (docs: Doc[]) => docs.map((d) => d._id).sort();
    // NeDB's planner takes the last index it sees (orgId: ~2400 candidates); `value` offers ~230.
    for (const query of [{ rank: 3, orgId: 'o1', value: 'u4' }, { value: 'u4', orgId: 'o1' }, { orgId: 'o1', emailKeys: 'user7@example.com', rank: 7 }]) {
      expect(ids(read.find(query)!)).toEqual(ids(await nedbFind(db, query)));
      expect(read.count(query)).toBe(await db.countAsync(query));
    }
  });

  it('project top-level fields as NeDB does, and leave other projections to NeDB', async () => {
    const db = await dataset();
    const read = reader(db);
    const projections: Array<Record<string, 0 | 1>> = [{ value: 1 }, { value: 1, rank: 1, _id: 0 }, { lifecycle: 1, connectionId: 1 }];
    for (const projection of projections) {
      for (const query of [{ orgId: 'o1' }, { orgId: 'o1', value: { $in: ['u1', 'u4'] } }]) {
        expect(read.find(query, { projection, sort: { _id: 1 }, limit: 50 })).toEqual(await db.findAsync(query).sort({ _id: 1 }).limit(50).projection(projection));
      }
    }
    expect(read.find({ orgId: 'o1' }, { projection: { rank: 0 } })).toBeUndefined();
    expect(read.find({ orgId: 'o1' }, { projection: { 'lifecycle.license': 1 } })).toBeUndefined();
  });

  it('returns copies: changing a result does not change the store', async () => {
    const db = await dataset();
    const [first] = reader(db).find({ orgId: 'o1' }, { limit: 1 })!;
    (first as Doc).rank = 999;
    expect((await db.findOneAsync({ _id: first._id })).rank).not.toBe(999);
  });
});

/** An index's tree node for node: key, height and the ids under the key, left and right. */
function shapeOf(node: TreeNode | null | undefined): unknown {
  if (!node || !hasKey(node)) return null;
  return [node.key, node.height, node.data.map((d) => (d as Doc)._id), shapeOf(node.left), shapeOf(node.right)];
}

describe('patched index trees', () => {
  it('insert, look up and remove keys leaving every tree node for node as the unpatched library does', async () => {
    const make = () => indexed({ fieldName: ['orgId', 'userNameKey'], unique: true }, { fieldName: 'rank' }, { fieldName: 'emailKeys' });
    const patched = await make();
    const plain = await make();
    patchIndexTrees(patched as Datastore<unknown>);
    const { next } = seededRandom(11);
    const int = (n: number) => Math.floor(next() * n);
    let refused = 0;
    for (let n = 0; n < 3000; n++) {
      const roll = next();
      if (roll < 0.6) {
        // Ascending ids (as uuidv7 gives) and random ones; user names that repeat, to meet the unique constraint.
        const doc: Doc = { _id: roll < 0.3 ? `a-${String(n).padStart(5, '0')}` : `r-${int(1e6)}`, orgId: `o${int(3)}`, userNameKey: `u${int(900)}`, rank: int(40), emailKeys: [`e${int(500)}`, `e${int(500)}`] };
        const outcome = async (db: Datastore<Doc>) => db.insertAsync(doc).then(() => 'ok', (e: { errorType?: string; message: string }) => `${e.errorType}: ${e.message}`);
        const ours = await outcome(patched);
        expect(ours).toBe(await outcome(plain));
        if (ours !== 'ok') refused++;
      } else {
        const query = roll < 0.8 ? { rank: int(40) } : { emailKeys: `e${int(500)}` };
        const options = { multi: roll < 0.7 };
        expect(await patched.removeAsync(query, options)).toBe(await plain.removeAsync(query, options));
      }
      if (n % 100 === 0) {
        for (const [name, index] of Object.entries(internals(patched as Datastore<unknown>).indexes)) {
          expect(shapeOf(index.tree.tree)).toEqual(shapeOf(internals(plain as Datastore<unknown>).indexes[name].tree.tree));
        }
      }
    }
    expect(refused).toBeGreaterThan(50);
    for (const [name, index] of Object.entries(internals(patched as Datastore<unknown>).indexes)) {
      const plainIndex = internals(plain as Datastore<unknown>).indexes[name];
      expect(shapeOf(index.tree.tree)).toEqual(shapeOf(plainIndex.tree.tree));
      (index.tree as unknown as { checkIsAVLT(): void }).checkIsAVLT();
    }
    for (let k = 0; k < 300; k++) {
      const key = { orgId: `o${int(3)}`, userNameKey: `u${int(900)}` };
      const ids = (db: Datastore<Doc>, index: string, value: unknown) => internals(db as Datastore<unknown>).indexes[index].getMatching(value).map((d) => d._id);
      expect(ids(patched, 'orgId,userNameKey', key)).toEqual(ids(plain, 'orgId,userNameKey', key));
      const rank = int(45);
      expect(ids(patched, 'rank', rank)).toEqual(ids(plain, 'rank', rank));
    }
  });

  it('find every key\'s documents as the unpatched library does, through inserts, updates and removals that move keys', async () => {
    // Lookups go through a hash map of the tree's arrays (key-map.ts): a key the tree lost, an array the tree replaced
    // or a key never recorded would answer differently from the library. Keys of other types are left to the tree.
    const make = () =>
      indexed(
        { fieldName: ['orgId', 'userNameKey'], unique: true },
        { fieldName: 'team' },
        { fieldName: 'emailKeys' },
        { fieldName: ['orgId', 'badge'], unique: true, sparse: true },
      );
    const patched = await make();
    const plain = await make();
    patchIndexTrees(patched as Datastore<unknown>);
    const { next } = seededRandom(29);
    const int = (n: number) => Math.floor(next() * n);
    // Strings, and now and then a number or no value at all, in the same field; ~70 documents a team at most.
    const team = () => (next() < 0.1 ? int(5) : next() < 0.05 ? undefined : `t${int(40)}`);
    const orgId = () => (next() < 0.05 ? 7 : `o${int(3)}`);
    const outcome = (p: Promise<unknown>) => p.then((r) => JSON.stringify(r), (e: { errorType?: string; message: string }) => `${e.errorType}: ${e.message}`);
    let n = 0;
    const both = async (write: (db: Datastore<Doc>) => Promise<unknown>) => expect(await outcome(write(patched))).toBe(await outcome(write(plain)));
    for (let step = 0; step < 4000; step++) {
      const roll = next();
      const id = `d${int(600)}`;
      if (roll < 0.45) {
        const doc: Doc = { _id: `d${n++ % 600 === 0 ? int(600) : 600 + n}`, orgId: orgId(), userNameKey: `u${int(700)}`, team: team(), emailKeys: [`e${int(300)}`, `e${int(300)}`] };
        if (next() < 0.3) doc.badge = `b${int(200)}`;
        await both((db) => db.insertAsync(doc));
      } else if (roll < 0.75) {
        const $set = next() < 0.5 ? { team: team() } : next() < 0.5 ? { userNameKey: `u${int(700)}` } : { emailKeys: [`e${int(300)}`], badge: `b${int(200)}` };
        const query = next() < 0.8 ? { _id: id } : { team: `t${int(40)}` };
        await both((db) => db.updateAsync(query, { $set }, { multi: true }));
      } else if (roll < 0.9) {
        const query = next() < 0.7 ? { _id: id } : { team: `t${int(40)}` };
        await both((db) => db.removeAsync(query, { multi: true }));
      } else {
        await both((db) => db.updateAsync({ _id: id }, { $set: { rank: step } }, {}));
      }
    }
    const ids = (db: Datastore<Doc>, index: string, key: unknown) =>
      internals(db as Datastore<unknown>)
        .indexes[index].getMatching(key)
        .map((d) => `${d._id}:${String(d.rank)}`)
        .sort();
    const keys: Array<[string, unknown]> = [];
    for (let i = 0; i < 5; i++) keys.push(['team', i], ['orgId,userNameKey', { orgId: 7, userNameKey: `u${i}` }]);
    for (let i = 0; i < 40; i++) keys.push(['team', `t${i}`], ['team', undefined]);
    for (let i = 0; i < 300; i++) keys.push(['emailKeys', `e${i}`], ['badge,orgId', { orgId: `o${i % 3}`, badge: `b${i % 200}` }]);
    for (let i = 0; i < 700; i++) keys.push(['orgId,userNameKey', { orgId: `o${i % 3}`, userNameKey: `u${i}` }], ['_id', `d${i}`]);
    let found = 0;
    for (const [index, key] of keys) {
      const ours = ids(patched, index, key);
      expect([index, key, ours]).toEqual([index, key, ids(plain, index, key)]);
      if (ours.length > 0) found++;
    }
    expect(found).toBeGreaterThan(300);
  });

  it('keep a tree\'s constants once, on its nodes\' class: trees built in bulk, by the library\'s inserts, and grown after', async () => {
    // unique, compareKeys and checkValueEquality on every node were ~200 MB of a 1M-user store (tree-nodes.ts).
    installBulkIndexBuild();
    const docs = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ _id: `id-${from + i}`, orgId: 'o1', userNameKey: `u${from + i}`, rank: (from + i) % 7 }));
    const bulk = await indexed();
    await bulk.insertAsync(docs(0, 400));
    await bulk.ensureIndexAsync({ fieldName: ['orgId', 'userNameKey'], unique: true }); // over 400 documents: in bulk
    const inserted = await indexed({ fieldName: 'rank' });
    await inserted.insertAsync(docs(0, 20));
    const empty = await indexed({ fieldName: 'rank' });
    for (const db of [bulk, inserted, empty]) {
      patchIndexTrees(db as Datastore<unknown>);
      await db.insertAsync(docs(1000, 50));
      for (const index of Object.values(internals(db as Datastore<unknown>).indexes)) {
        const nodes: TreeNode[] = [];
        for (const stack = [index.tree.tree]; stack.length > 0; ) {
          const node = stack.pop()!;
          nodes.push(node);
          for (const child of [node.left, node.right]) if (child) stack.push(child);
        }
        expect(nodes.length).toBeGreaterThan(6);
        for (const node of nodes) {
          expect(Object.keys(node).sort()).toEqual(['data', 'height', 'key', 'left', 'parent', 'right']);
          expect([node.unique, node.compareKeys, node.checkValueEquality]).toEqual([index.unique, nodes[0].compareKeys, nodes[0].checkValueEquality]);
        }
      }
    }
  });

  it('compare keys in the order of NeDB\'s comparator, for every pair of key types', () => {
    const tagged = Object.assign(new Date(7), { [Symbol.toStringTag]: 'Other' });
    class Later extends Date {}
    const dates = [new Date(0), new Date(5), new Date(5), new Date(NaN), tagged, new Later(3), { [Symbol.toStringTag]: 'Date', getTime: () => 1 }];
    const values: unknown[] = [undefined, null, -1, 0, 2.5, '', 'a', 'B', 'b', 'ab', 'é', '10', '9', false, true, ...dates, [], ['a'], ['a', 1], {}, { a: 1 }];
    const sign = (n: number) => Math.sign(n);
    for (const a of values) for (const b of values) expect([a, b, sign(compareKeyValues(a, b))]).toEqual([a, b, sign(model.compareThings(a, b))]);
  });

  it('updates and removals leave every index as the unpatched library does', async () => {
    const patched = await dataset();
    const plain = await dataset();
    await patched.ensureIndexAsync({ fieldName: 'orgId' });
    await plain.ensureIndexAsync({ fieldName: 'orgId' });
    patchIndexTrees(patched as Datastore<unknown>);
    for (const db of [patched, plain]) {
      // One at a time too: each moves one document out of the large keys {orgId: 'o1'} and {orgId: 'o1', value}.
      for (const doc of await db.findAsync({ orgId: 'o1', rank: 4 })) await db.updateAsync({ _id: doc._id }, { $set: { orgId: 'o4' } }, {});
      await db.updateAsync({ orgId: 'o1', rank: { $lt: 4 } }, { $set: { orgId: 'o3' } }, { multi: true });
      await db.updateAsync({ value: 'u1' }, { $set: { value: 'u2' } }, { multi: true });
      await db.removeAsync({ value: 'u5' }, { multi: true });
      await db.removeAsync({ orgId: 'o2' }, { multi: true });
      await db.removeAsync({ _id: 'id-arr' }, {});
      // Updates that change no indexed value: the new versions take the old ones' places in every index.
      await db.updateAsync({ orgId: 'o1' }, { $set: { rank: 99 } }, { multi: true });
      for (const doc of await db.findAsync({ orgId: 'o3' }).sort({ _id: 1 }).limit(20)) await db.updateAsync({ _id: doc._id }, { $set: { rank: 42 } }, {});
    }
    for (const query of [{ orgId: 'o1' }, { orgId: 'o2' }, { orgId: 'o3' }, { orgId: 'o4' }, { orgId: 'o3', value: 'u2' }, { orgId: 'o1', value: 'u1' }, { emailKeys: 'user7@example.com' }]) {
      expect(await patched.findAsync(query).sort({ _id: 1 })).toEqual(await plain.findAsync(query).sort({ _id: 1 }));
    }
    expect(await patched.countAsync({})).toBe(await plain.countAsync({}));
    // Every index serves the latest version of each document (a stale one would still have its old rank).
    for (const query of [{ orgId: 'o1' }, { orgId: 'o3' }, { emailKeys: 'user7@example.com' }, { orgId: 'o1', userNameKey: 'user7' }, { _id: 'id-0007' }]) {
      const fromIndex = (await patched.findAsync(query)).map((d) => [d._id, d.rank]).sort();
      expect(fromIndex).toEqual((await plain.findAsync(query)).map((d) => [d._id, d.rank]).sort());
    }
    expect((await patched.findAsync({ orgId: 'o1' })).every((d) => d.rank === 99)).toBe(true);
    // The compound unique index still finds and refuses by its whole key.
    const [someone] = await plain.findAsync({ orgId: 'o1' }).sort({ _id: 1 }).limit(1);
    await expect(patched.insertAsync({ _id: 'dup', orgId: 'o1', userNameKey: someone.userNameKey })).rejects.toMatchObject({ errorType: 'uniqueViolated' });
    await expect(patched.insertAsync({ _id: 'ok', orgId: 'o9', userNameKey: someone.userNameKey })).resolves.toBeDefined();
    for (const db of [patched, plain]) await db.insertAsync({ _id: 'ok2', orgId: 'o9', userNameKey: 'zzz' });
    for (const query of [{ orgId: 'o9', userNameKey: 'zzz' }, { orgId: 'o1', userNameKey: someone.userNameKey }]) {
      expect(await patched.findAsync(query)).toEqual(await plain.findAsync(query));
    }
    // The index on orgId really serves the query (no scan) and holds only live documents.
    const index = (patched as unknown as { indexes: Record<string, { getMatching(v: unknown): Doc[] }> }).indexes.orgId;
    expect(index.getMatching('o2')).toHaveLength(0);
    expect(index.getMatching('o1').map((d) => d._id).sort()).toEqual((await plain.findAsync({ orgId: 'o1' })).map((d) => d._id).sort());
  });
});
