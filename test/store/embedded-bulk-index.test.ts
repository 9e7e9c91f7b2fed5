/**
 * Indexes built in bulk (src/store/embedded/bulk-index.ts) equal the library's, built one insertion at a time: same
 * keys in the same order, same documents under each key in the same order, a valid AVL tree — for every kind of key
 * NeDB orders, and the library's own error when a unique index meets a duplicate.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildIndex, libraryInsertMultipleDocs } from '../../src/store/embedded/bulk-index';
import type { NedbIndex } from '../../src/store/embedded/nedb';
import { openEmbeddedStore } from '../../src/store/embedded';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Index = require('@seald-io/nedb/lib/indexes.js') as new (options: { fieldName: string; unique?: boolean; sparse?: boolean }) => NedbIndex & {
  tree: { checkIsAVLT(): void; executeOnEveryNode(fn: (node: { key: unknown; data: Array<{ _id: string }> }) => void): void };
};

type Doc = Record<string, unknown> & { _id: string };

/** In-order (key, ids) of an index's tree. */
function contents(index: InstanceType<typeof Index>): Array<[unknown, string[]]> {
  const out: Array<[unknown, string[]]> = [];
  index.tree.executeOnEveryNode((node) => {
    if (Object.prototype.hasOwnProperty.call(node, 'key')) out.push([node.key, node.data.map((d) => d._id)]);
  });
  return out;
}

function both(options: { fieldName: string; unique?: boolean; sparse?: boolean }, docs: Doc[]) {
  const library = new Index(options);
  libraryInsertMultipleDocs(library, docs);
  const bulk = new Index(options);
  expect(buildIndex(bulk, docs)).toBe(true);
  bulk.tree.checkIsAVLT();
  return { library: contents(library), bulk: contents(bulk) };
}

// A small deterministic generator, so a failure can be replayed.
function random(seed: number) {
  let s = seed;
  return (n: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return Math.floor(s / 65536) % n; // the high bits: an LCG's low bits cycle
  };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `id-${String(i).padStart(6, '0')}`);

describe('indexes built in bulk', () => {
  test('string keys with many duplicates and missing values: the library tree, documents in insertion order', () => {
    const r = random(1);
    const docs: Doc[] = ids(3000).map((_id) => ({ _id, license: ['free', 'licensed', 'pending_seat', undefined][r(4)], orgId: `org-${r(3)}` }));
    const { library, bulk } = both({ fieldName: 'license' }, docs);
    expect(bulk).toEqual(library);
    expect(bulk.length).toBe(4);
  });

  test('unique string keys (the _id index) in shuffled order', () => {
    const r = random(2);
    const docs: Doc[] = ids(5000).map((_id) => ({ _id }));
    for (let i = docs.length - 1; i > 0; i--) {
      const j = r(i + 1);
      [docs[i], docs[j]] = [docs[j], docs[i]];
    }
    const { library, bulk } = both({ fieldName: '_id', unique: true }, docs);
    expect(bulk).toEqual(library);
  });

  test('mixed types in one field follow NeDB type order (undefined, null, numbers, strings, booleans, dates, arrays, objects)', () => {
    const r = random(3);
    const values = [undefined, null, 3, -1.5, 'b', 'a', true, false, new Date(5), new Date(1), 'B', 10];
    const docs: Doc[] = ids(600).map((_id) => ({ _id, v: values[r(values.length)] }));
    const { library, bulk } = both({ fieldName: 'v' }, docs);
    expect(bulk).toEqual(library);
  });

  test('array values index each distinct element (a multikey field), empty arrays none', () => {
    const r = random(4);
    const docs: Doc[] = ids(800).map((_id) => ({ _id, emailKeys: Array.from({ length: r(4) }, () => `e${r(50)}@x.com`) }));
    const { library, bulk } = both({ fieldName: 'emailKeys' }, docs);
    expect(bulk).toEqual(library);
  });

  test('sparse indexes leave out documents without the field', () => {
    const r = random(5);
    const docs: Doc[] = ids(700).map((_id) => (r(3) === 0 ? { _id } : { _id, holderKey: `h${r(10_000)}` }));
    const unique = new Map<unknown, Doc>();
    for (const d of docs) unique.set(d.holderKey ?? d._id, d); // a unique sparse index needs distinct present keys
    const { library, bulk } = both({ fieldName: 'holderKey', unique: true, sparse: true }, [...unique.values()]);
    expect(bulk).toEqual(library);
  });

  test('compound keys order field by field, with missing fields first', () => {
    const r = random(6);
    const docs: Doc[] = ids(2000).map((_id) => ({ _id, orgId: `org-${r(3)}`, ...(r(5) ? { userNameKey: `u${r(400)}` } : {}) }));
    const { library, bulk } = both({ fieldName: 'orgId,userNameKey' }, docs);
    expect(bulk).toEqual(library);
  });

  test('dates (the audit log) and numbers', () => {
    const r = random(7);
    const docs: Doc[] = ids(1500).map((_id) => ({ _id, at: new Date(1_700_000_000_000 + r(500) * 1000), n: r(100) - 50 }));
    expect(both({ fieldName: 'at' }, docs).bulk).toEqual(both({ fieldName: 'at' }, docs).library);
    const numbers = both({ fieldName: 'n' }, docs);
    expect(numbers.bulk).toEqual(numbers.library);
  });

  test('a unique index meeting a duplicate is left to the library, which refuses it with its own error', () => {
    const docs: Doc[] = ids(400).map((_id, i) => ({ _id, name: `n${i % 399}` }));
    const index = new Index({ fieldName: 'name', unique: true });
    expect(buildIndex(index, docs)).toBe(false);
    expect(contents(index)).toEqual([]);
    expect(() => libraryInsertMultipleDocs(index, docs)).toThrow(expect.objectContaining({ errorType: 'uniqueViolated' }));
  });

  test('a store reopened from its files answers indexed queries as before, and refuses a duplicate userName', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bulk-index-'));
    try {
      const lines = ids(2000).map((_id, i) =>
        JSON.stringify({ _id, orgId: `org-${i % 2}`, userNameKey: `user${i}@example.com`, emailKeys: [`user${i}@example.com`], lifecycle: { license: i % 3 ? 'free' : 'licensed', accountStatus: 'active' }, scim: { externalId: i % 4 ? `ext-${i}` : undefined } }),
      );
      writeFileSync(path.join(dir, 'users.db'), `${lines.join('\n')}\n`);
      const store = await openEmbeddedStore({ dataDir: dir });
      try {
        expect(await store.users.count({ orgId: 'org-1', 'lifecycle.license': 'licensed' })).toBe(ids(2000).filter((_, i) => i % 2 === 1 && i % 3 === 0).length);
        expect((await store.users.findOne({ orgId: 'org-0', userNameKey: 'user1000@example.com' }))?._id).toBe('id-001000');
        expect((await store.users.find({ orgId: 'org-1', emailKeys: 'user1999@example.com' })).map((u) => u._id)).toEqual(['id-001999']);
        expect((await store.users.find({ orgId: 'org-0', 'scim.externalId': 'ext-2' })).map((u) => u._id)).toEqual(['id-000002']);
        await expect(store.users.insertOne({ _id: 'dup', orgId: 'org-0', userNameKey: 'user0@example.com' } as never)).rejects.toThrow();
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
