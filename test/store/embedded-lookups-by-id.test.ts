/**
 * A lookup by `_id` comes from the index's key map (src/store/embedded/key-map.ts): whatever changes the data —
 * inserts, removals, NeDB's own updates (which replace a document), updates in place, refused writes, which NeDB
 * undoes index by index — it must find what NeDB itself finds.
 */
import Datastore from '@seald-io/nedb';
import { patchIndexTrees } from '../../src/store/embedded/index-buckets';
import { updateById } from '../../src/store/embedded/write';
import { internals } from '../../src/store/embedded/nedb';
import { seededRandom } from '../../src/cli/demo';

type Doc = { _id: string; [k: string]: unknown };

async function dataset(patched: boolean): Promise<Datastore<Doc>> {
  const db = new Datastore<Doc>({ inMemoryOnly: true });
  await db.loadDatabaseAsync();
  await db.ensureIndexAsync({ fieldName: 'name', unique: true });
  await db.insertAsync(Array.from({ length: 200 }, (_, i) => ({ _id: `id-${i}`, name: `n${i}`, version: 1 })));
  if (patched) patchIndexTrees(db as Datastore<unknown>);
  return db;
}

const attempt = async (write: () => Promise<unknown>) => {
  try {
    await write();
    return 'ok';
  } catch (error) {
    return (error as { errorType?: string; message?: string }).errorType ?? (error as Error).message;
  }
};

describe('lookups by id', () => {
  test('find what NeDB finds after every kind of write, refused ones included', async () => {
    const patched = await dataset(true);
    const plain = await dataset(false);
    const random = seededRandom(11);
    const id = () => `id-${Math.floor(random.next() * 260)}`;
    const lookups = internals(patched as Datastore<unknown>).indexes._id;
    const writes: Array<(db: Datastore<Doc>, target: string, n: number) => Promise<unknown>> = [
      (db, target, n) => db.insertAsync({ _id: target, name: `new${n}`, version: 1 }), // a taken id is refused
      (db, target) => db.insertAsync({ _id: `${target}-x`, name: 'n1', version: 1 }), // a taken name is refused
      (db, target) => db.removeAsync({ _id: target }, {}),
      (db, target, n) => db.updateAsync({ _id: target }, { $set: { version: n } }, {}), // NeDB replaces the object
      (db, target, n) => db.updateAsync({ _id: target }, { name: `replaced${n}`, version: 0 }, {}),
      (db, target) => db.updateAsync({ _id: target }, { $set: { name: 'n2' } }, {}), // refused: taken name
      (db, _target, n) => db.updateAsync({ version: { $gt: 150 } }, { $inc: { version: n } }, { multi: true }),
      (db, target, n) =>
        db === patched ? updateById(db as Datastore<unknown>, target, {}, { $set: { version: n } }) : db.updateAsync({ _id: target }, { $set: { version: n } }, {}),
    ];
    let refused = 0;
    for (let n = 0; n < 600; n++) {
      const write = random.pick(writes);
      const target = id();
      const ours = await attempt(() => write(patched, target, n));
      expect(ours).toEqual(await attempt(() => write(plain, target, n)));
      if (ours !== 'ok') refused++;
      for (let k = 0; k < 6; k++) {
        const looked = random.next() < 0.5 ? target : id();
        expect([looked, lookups.getMatching(looked)]).toEqual([looked, await plain.findAsync({ _id: looked })]);
        expect(await patched.findAsync({ _id: looked })).toEqual(await plain.findAsync({ _id: looked }));
      }
    }
    expect(refused).toBeGreaterThan(30);
  });
});
