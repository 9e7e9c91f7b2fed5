/**
 * Loading a data file (src/store/embedded/append.ts) gives what NeDB's own loading gives: the same live documents in
 * the same order (the order they are indexed in), the same indexes, and the library's refusal of a corrupt file.
 */
import Datastore from '@seald-io/nedb';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadDataFile } from '../../src/store/embedded/append';
import { openEmbeddedStore } from '../../src/store/embedded';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'scim-load-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

type Internals = { indexes: Record<string, { fieldName: unknown; unique: boolean; sparse: boolean; getMatching(key: unknown): Array<{ _id: string }> }> };

/** Loads `lines` both ways (the library rewrites its file, so each gets a copy). */
async function loadBoth(lines: string[], eol = '\n') {
  const file = path.join(dir, 'ours.db');
  writeFileSync(file, lines.join(eol));
  copyFileSync(file, path.join(dir, 'library.db'));
  const ours = new Datastore<Record<string, unknown>>({ filename: file });
  const library = new Datastore<Record<string, unknown>>({ filename: path.join(dir, 'library.db') });
  const counted = await loadDataFile(ours as Datastore<unknown>);
  await library.loadDatabaseAsync();
  return { ours, library, counted };
}

const indexesOf = (db: Datastore<Record<string, unknown>>) =>
  Object.entries((db as unknown as Internals).indexes).map(([name, i]) => [name, i.fieldName, i.unique, i.sparse]);
/** The documents under one key of a non-unique index, in the order they were indexed: the order of the loaded data. */
const indexedOrder = (db: Datastore<Record<string, unknown>>) => (db as unknown as Internals).indexes.k.getMatching('same').map((d) => d._id);

test('live documents in the library\'s order: array-index ids first, updates in place, deletions, re-insertions', async () => {
  const line = (doc: Record<string, unknown>) => JSON.stringify(doc._id && !doc.$$deleted ? { ...doc, k: 'same' } : doc);
  const lines = [
    line({ _id: 'b', v: 1 }),
    line({ _id: '10', v: 1 }),
    line({ _id: 'a', v: 1 }),
    line({ _id: '2', v: 1 }),
    line({ _id: '007', v: 1 }),
    line({ _id: '-1', v: 1 }),
    line({ _id: '4294967295', v: 1 }),
    line({ _id: '4294967294', v: 1 }),
    line({ _id: 'b', v: 2 }),
    line({ _id: 'a', $$deleted: true }),
    line({ _id: 'a', v: 3 }),
    line({ _id: '10', $$deleted: true }),
    line({ _id: 'c', when: { $$date: 5 } }),
    '',
    line({ $$indexCreated: { fieldName: 'v', unique: false, sparse: true } }),
    line({ $$indexCreated: { fieldName: 'k' } }),
    line({ $$indexCreated: { fieldName: 'w' } }),
    line({ $$indexRemoved: 'w' }),
    line({ _id: 'd', v: 4 }),
  ];
  for (const eol of ['\n', '\r\n']) {
    const { ours, library, counted } = await loadBoth(lines, eol);
    expect(indexedOrder(ours)).toEqual(['2', '4294967294', 'b', '007', '-1', '4294967295', 'a', 'c', 'd']);
    expect(indexedOrder(ours)).toEqual(indexedOrder(library));
    expect(ours.getAllData()).toEqual(library.getAllData());
    expect(indexesOf(ours)).toEqual(indexesOf(library));
    expect(counted).toBe(lines.length - 1);
  }
});

test('a few unreadable lines are skipped; too many refuse the file with the library\'s error', async () => {
  const good = Array.from({ length: 19 }, (_, i) => JSON.stringify({ _id: `id${i}` }));
  const { ours, library } = await loadBoth([...good, '{"_id": "broken'], '\n');
  expect(ours.getAllData()).toEqual(library.getAllData());
  expect(ours.getAllData()).toHaveLength(19);

  const file = path.join(dir, 'corrupt.db');
  writeFileSync(file, [...good.slice(0, 5), 'not json', '{"a":', 'nor this'].join('\n'));
  copyFileSync(file, path.join(dir, 'corrupt-library.db'));
  const refused = (promise: Promise<unknown>) => promise.then(() => undefined, (e: Error & Record<string, unknown>) => ({ ...e, message: e.message }));
  const ourError = await refused(loadDataFile(new Datastore({ filename: file }) as Datastore<unknown>));
  const libraryError = await refused(new Datastore({ filename: path.join(dir, 'corrupt-library.db') }).loadDatabaseAsync());
  expect(ourError).toMatchObject({ corruptItems: 3, dataLength: 8 });
  expect(ourError).toEqual(libraryError);
});

test('a reopened store holds one Date per instant: a user\'s dates and its audit event share it, with exact values', async () => {
  // A Date takes 96 bytes of heap; sharing one per instant took the heap at 100k users from 397 to 353 MB (lines.ts).
  const at = new Date('2026-01-02T03:04:05.678Z');
  const later = new Date(at.getTime() + 1);
  const first = await openEmbeddedStore({ dataDir: dir });
  await first.users.insertOne({ _id: 'u1', orgId: 'o1', userNameKey: 'a', created: new Date(at), lastModified: new Date(at) } as never);
  await first.users.insertOne({ _id: 'u2', orgId: 'o1', userNameKey: 'b', created: new Date(at), lastModified: new Date(later) } as never);
  await first.audit.insertOne({ _id: 'e1', orgId: 'o1', at: new Date(at) } as never);
  await first.close();

  const store = await openEmbeddedStore({ dataDir: dir });
  try {
    const [u1] = await store.users.findReadOnly({ _id: 'u1' });
    const [u2] = await store.users.findReadOnly({ _id: 'u2' });
    const [event] = await store.audit.findReadOnly({ _id: 'e1' });
    expect(u1.lastModified).toBe(u1.created);
    expect(u2.created).toBe(u1.created);
    expect(event.at).toBe(u1.created);
    expect(u2.lastModified).not.toBe(u2.created);
    expect([u1.created.toISOString(), u2.lastModified.toISOString()]).toEqual([at.toISOString(), later.toISOString()]);
    expect((await store.users.find({ lastModified: { $gt: at } })).map((u) => u._id)).toEqual(['u2']);
  } finally {
    await store.close();
  }
});
