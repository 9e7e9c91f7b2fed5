import fs, { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Datastore from '@seald-io/nedb';
import { openEmbeddedStore } from '../../src/store/embedded';
import { keepDataFileOpen, loadDataFile, type DataFile } from '../../src/store/embedded/append';
import type { Store } from '../../src/store/port';
import { describeStoreContract, makeOrg, makeUser } from './contract';

describeStoreContract('embedded (in memory)', () => openEmbeddedStore());

describe('embedded store on disk', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'scim-store-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('data written before close is found again after reopening the same dataDir, unique indexes still enforced', async () => {
    const first = await openEmbeddedStore({ dataDir: dir });
    await first.organizations.insertOne(makeOrg('o1', 3));
    await first.users.insertOne(makeUser('u1', { userNameKey: 'alice' }));
    await first.organizations.updateOne({ _id: 'o1' }, { $inc: { seats: -1 } });
    await first.users.deleteOne({ _id: 'nobody' });
    await first.close();

    const second = await openEmbeddedStore({ dataDir: dir });
    try {
      const user = await second.users.findOne({ userNameKey: 'alice' });
      expect(user).toEqual(makeUser('u1', { userNameKey: 'alice' }));
      expect(user!.created).toBeInstanceOf(Date);
      expect((await second.organizations.findOne({ _id: 'o1' }))?.seats).toBe(2);
      await expect(second.users.insertOne(makeUser('u2', { userNameKey: 'alice' }))).rejects.toMatchObject({ name: 'DuplicateKeyError' });
    } finally {
      await second.close();
    }
  });

  test('each collection reports when it is loaded, with its document count', async () => {
    const first = await openEmbeddedStore({ dataDir: dir });
    await first.users.insertMany([makeUser('u1', { userNameKey: 'a' }), makeUser('u2', { userNameKey: 'b' })]);
    await first.close();
    const loaded: Array<[string, number, number]> = [];
    const second = await openEmbeddedStore({ dataDir: dir, onLoaded: (name, documents, ms) => loaded.push([name, documents, ms]) });
    await second.close();
    expect(loaded.find(([name]) => name === 'users')?.[1]).toBe(2);
    expect(loaded.find(([name]) => name === 'groups')?.[1]).toBe(0);
    expect(loaded.every(([, , ms]) => ms >= 0)).toBe(true);
  });

  test('writes made before, during and after a compaction (the data file is replaced) are all on disk', async () => {
    type Compactable = { db: { compactDatafileAsync(): Promise<void> } };
    const first = await openEmbeddedStore({ dataDir: dir });
    await first.users.insertOne(makeUser('u1', { userNameKey: 'before' }));
    const compaction = (first.users as unknown as Compactable).db.compactDatafileAsync();
    const during = first.users.insertOne(makeUser('u2', { userNameKey: 'during' }));
    await Promise.all([compaction, during]);
    await first.users.insertOne(makeUser('u3', { userNameKey: 'after' }));
    await first.users.updateOne({ _id: 'u1' }, { $set: { userNameKey: 'before-renamed' } });
    await first.users.deleteOne({ _id: 'u2' });
    await first.close();

    const onDisk = readFileSync(path.join(dir, 'users.db'), 'utf8');
    expect(onDisk).toContain('"after"');
    const second = await openEmbeddedStore({ dataDir: dir });
    try {
      expect((await second.users.find({}, { sort: { _id: 1 } })).map((u) => [u._id, u.userNameKey])).toEqual([
        ['u1', 'before-renamed'],
        ['u3', 'after'],
      ]);
    } finally {
      await second.close();
    }
  });
});

describe('embedded store indexes', () => {
  test('a data file that lists indexes no longer declared is opened without them', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'scim-store-'));
    try {
      const first = await openEmbeddedStore({ dataDir: dir });
      type Indexed = { db: { ensureIndexAsync(o: object): Promise<void>; indexes: Record<string, unknown> } };
      await (first.users as unknown as Indexed).db.ensureIndexAsync({ fieldName: ['orgId', 'lifecycle.accountStatus'] });
      await first.close();
      const second = await openEmbeddedStore({ dataDir: dir });
      const names = Object.keys((second.users as unknown as Indexed).db.indexes);
      await second.close();
      expect(names).not.toContain('orgId,lifecycle.accountStatus');
      expect(names).toEqual(expect.arrayContaining(['_id', 'orgId,userNameKey', 'lifecycle.accountStatus', 'emailKeys']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('embedded store compaction', () => {
  test('a data file is rewritten once it has grown by as many lines as it holds documents, and not before', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'scim-store-'));
    const store = await openEmbeddedStore({ dataDir: dir, compaction: { checkEveryMs: 20, minAppends: 50 } });
    const lines = () => readFileSync(path.join(dir, 'users.db'), 'utf8').split('\n').filter(Boolean).length;
    try {
      for (let i = 0; i < 40; i++) await store.users.insertOne(makeUser(`u${i}`, { userNameKey: `user${i}` }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const before = lines();
      expect(before).toBeGreaterThanOrEqual(40); // 40 appends: below the 50 of minAppends, no rewrite yet
      for (let i = 0; i < 60; i++) await store.users.updateOne({ _id: 'u1' }, { $inc: { version: 1 } });
      await new Promise((resolve) => setTimeout(resolve, 200));
      // 100 appends for 40 live documents: rewritten to the documents (and the index declarations).
      expect(lines()).toBeLessThanOrEqual(before); // the 60 appended versions are gone
      expect((await store.users.findOne({ _id: 'u1' }))?.version).toBe(61);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('start-up leaves a data file as it is, unless it holds more superseded lines than documents: then it is compacted', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'scim-store-'));
    const file = path.join(dir, 'users.db');
    const never = { checkEveryMs: 3_600_000, minAppends: 1e9 };
    const lines = () => readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
    try {
      const first = await openEmbeddedStore({ dataDir: dir, compaction: never });
      for (let i = 0; i < 30; i++) await first.users.insertOne(makeUser(`u${i}`, { userNameKey: `user${i}` }));
      for (let i = 0; i < 70; i++) await first.users.updateOne({ _id: 'u1' }, { $inc: { version: 1 } });
      await first.close();
      const written = readFileSync(file, 'utf8');

      const second = await openEmbeddedStore({ dataDir: dir, compaction: never });
      expect(readFileSync(file, 'utf8')).toBe(written); // NeDB alone would have rewritten it to 30 lines here
      expect((await second.users.findOne({ _id: 'u1' }))?.version).toBe(71);
      await second.close();

      const third = await openEmbeddedStore({ dataDir: dir, compaction: { checkEveryMs: 3_600_000, minAppends: 50 } });
      expect(lines()).toBeLessThan(40); // rewritten before the store is handed out: 30 documents and the index declarations
      expect((await third.users.findOne({ _id: 'u1' }))?.version).toBe(71);
      await third.close();
      const fourth = await openEmbeddedStore({ dataDir: dir, compaction: never });
      expect(await fourth.users.count({})).toBe(30);
      await fourth.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('embedded store rewrite of a data file, while serving', () => {
  const never = { checkEveryMs: 3_600_000, minAppends: 1e9 };
  const fileOf = (store: Store) => (store.users as unknown as { file: DataFile }).file;
  // ~1 KB a user: 2000 users are several chunks of the rewrite, so it yields between them.
  const padded = (i: number) => makeUser(`u${String(i).padStart(4, '0')}`, { userNameKey: `user${i}`, scim: { userName: `user${i}`, title: 'x'.repeat(1000) } });
  const everything = async (store: Store) => (await store.users.find({}, { sort: { _id: 1 } })).map((u) => [u._id, u.userNameKey, u.version]);
  let dir: string;
  let file: string;
  const lines = () => readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'scim-store-'));
    file = path.join(dir, 'users.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Opens the data directory again and checks it holds `expected`; `more` checks the reopened store further. */
  async function expectOnReopen(expected: unknown[], more?: (reopened: Store) => Promise<void>): Promise<void> {
    const reopened = await openEmbeddedStore({ dataDir: dir, compaction: never });
    try {
      expect(await everything(reopened)).toEqual(expected);
      await more?.(reopened);
    } finally {
      await reopened.close();
    }
  }

  async function filled(): Promise<Store> {
    const store = await openEmbeddedStore({ dataDir: dir, compaction: never });
    await store.users.insertMany(Array.from({ length: 2000 }, (_, i) => padded(i)));
    for (let i = 0; i < 2000; i += 2) await store.users.updateOne({ _id: padded(i)._id }, { $inc: { version: 1 } });
    return store;
  }

  test('reads and writes go on during a rewrite, and the rewritten file holds every one of those writes', async () => {
    const store = await filled();
    const before = lines();
    let finished = false;
    const rewrite = fileOf(store).compact().then(() => {
      finished = true;
    });
    let duringRewrite = 0;
    for (let i = 0; !finished; i++) {
      await store.users.insertOne(padded(5000 + i));
      await store.users.updateOne({ _id: padded(i)._id }, { $set: { userNameKey: `renamed${i}` }, $inc: { version: 1 } });
      await store.users.deleteOne({ _id: padded(1999 - i)._id });
      expect(await store.users.findOne({ _id: padded(5000 + i)._id })).not.toBeNull();
      if (!finished) duringRewrite++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await rewrite;
    expect(duringRewrite).toBeGreaterThan(0);
    await store.users.insertOne(padded(9999));
    const expected = await everything(store);
    await store.close();
    expect(lines()).toBeLessThan(before); // the superseded versions are gone
    expect(existsSync(`${file}~`)).toBe(false);
    await expectOnReopen(expected, async (reopened) => {
      // Unique keys still hold after the reload: the index declarations were written too.
      await expect(reopened.users.insertOne(makeUser('again', { userNameKey: 'renamed0' }))).rejects.toMatchObject({ name: 'DuplicateKeyError' });
    });
  });

  test('a rewrite that fails leaves the data file whole, writes go on, and the next rewrite succeeds', async () => {
    const store = await filled();
    mkdirSync(`${file}~`); // the temporary file cannot be created
    await expect(fileOf(store).compact()).rejects.toThrow();
    await store.users.updateOne({ _id: padded(1)._id }, { $set: { userNameKey: 'after-failure' } });
    rmSync(`${file}~`, { recursive: true });
    const expected = await everything(store);
    await fileOf(store).compact();
    expect(lines()).toBe(2000 + 5); // the documents and the index declarations
    await store.close();
    await expectOnReopen(expected);
  });

  test('closing the store during a rewrite abandons it: no temporary file is left, the data file is whole', async () => {
    const store = await filled();
    const expected = await everything(store);
    const rewrite = fileOf(store).compact();
    await store.close();
    await rewrite.catch(() => undefined);
    expect(existsSync(`${file}~`)).toBe(false);
    await expectOnReopen(expected);
  });

  test("the rewritten file is, line for line, what NeDB's own compaction writes", async () => {
    const library = new Datastore<Record<string, unknown>>({ filename: path.join(dir, 'library.db') });
    await library.loadDatabaseAsync();
    await library.ensureIndexAsync({ fieldName: ['orgId', 'userNameKey'], unique: true });
    await library.ensureIndexAsync({ fieldName: 'emailKeys' });
    for (let i = 0; i < 300; i++) await library.insertAsync({ ...padded(i), at: new Date(1_700_000_000_000 + i), tags: [i, `t${i}`] });
    for (let i = 0; i < 300; i += 3) await library.updateAsync({ _id: padded(i)._id }, { $set: { 'scim.title': `v${i}` } });
    for (let i = 1; i < 300; i += 7) await library.removeAsync({ _id: padded(i)._id }, {});
    copyFileSync(path.join(dir, 'library.db'), path.join(dir, 'ours.db'));
    await library.compactDatafileAsync();

    const ours = new Datastore<unknown>({ filename: path.join(dir, 'ours.db') });
    const count = await loadDataFile(ours);
    await keepDataFileOpen(ours, count).compact();
    expect(readFileSync(path.join(dir, 'ours.db'), 'utf8')).toBe(readFileSync(path.join(dir, 'library.db'), 'utf8'));
  });
});

describe('embedded store when the disk refuses an append', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'scim-store-'));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The next append writes part of its bytes, then the disk is full. */
  function diskFullAfterPart(): void {
    const write = fs.writeSync;
    let calls = 0;
    jest.spyOn(fs, 'writeSync').mockImplementation(((fd: number, buffer: Buffer, offset: number) => {
      if (calls++ === 0) return write(fd, buffer, offset, Math.ceil((buffer.length - offset) / 2));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }) as typeof fs.writeSync);
  }

  test('a rewrite under way when an append fails is abandoned: the refused change never becomes durable', async () => {
    const store = await openEmbeddedStore({ dataDir: dir, compaction: { checkEveryMs: 3_600_000, minAppends: 1e9 } });
    await store.users.insertMany(Array.from({ length: 2000 }, (_, i) => makeUser(`u${i}`, { userNameKey: `user${i}`, scim: { userName: `user${i}`, title: 'x'.repeat(1000) } })));
    const rewrite = (store.users as unknown as { file: DataFile }).file.compact();
    // The refused update changes the stored document in memory first, after the rewrite took its snapshot.
    jest.spyOn(fs, 'writeSync').mockImplementation(() => {
      throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    });
    await expect(store.users.updateOne({ _id: 'u1' }, { $set: { userNameKey: 'refused' } })).rejects.toMatchObject({ name: 'StoreUnavailableError' });
    jest.restoreAllMocks();
    await expect(rewrite).rejects.toThrow('an append failed');
    await store.close();
    expect(existsSync(path.join(dir, 'users.db~'))).toBe(false);
    const reopened = await openEmbeddedStore({ dataDir: dir });
    try {
      expect((await reopened.users.findOne({ _id: 'u1' }))?.userNameKey).toBe('user1');
      expect(await reopened.users.count({})).toBe(2000);
    } finally {
      await reopened.close();
    }
  });

  test('the write fails as store-unavailable, the file keeps no partial line, and nothing is read or written until a restart', async () => {
    const store = await openEmbeddedStore({ dataDir: dir });
    await store.users.insertOne(makeUser('u1', { userNameKey: 'kept' }));
    const file = path.join(dir, 'users.db');
    const before = readFileSync(file, 'utf8');
    diskFullAfterPart();
    await expect(store.users.insertOne(makeUser('u2', { userNameKey: 'refused' }))).rejects.toMatchObject({ name: 'StoreUnavailableError' });
    jest.restoreAllMocks();
    expect(readFileSync(file, 'utf8')).toBe(before);
    // Memory may be ahead of the files now: every collection refuses reads and writes, and the store reports itself
    // unready.
    await expect(store.users.findOne({ _id: 'u2' })).rejects.toMatchObject({ name: 'StoreUnavailableError' });
    await expect(store.users.count({})).rejects.toMatchObject({ name: 'StoreUnavailableError' });
    await expect(store.users.updateOne({ _id: 'u1' }, { $set: { userNameKey: 'changed' } })).rejects.toMatchObject({ name: 'StoreUnavailableError' });
    await expect(store.audit.insertOne({ _id: 'e1' } as never)).rejects.toMatchObject({ name: 'StoreUnavailableError' });
    await expect(store.ping()).rejects.toMatchObject({ name: 'StoreUnavailableError', message: expect.stringContaining('ENOSPC') });
    expect(readFileSync(file, 'utf8')).toBe(before);
    await store.close();

    const reopened = await openEmbeddedStore({ dataDir: dir });
    try {
      expect((await reopened.users.find({})).map((u) => u.userNameKey)).toEqual(['kept']);
      await reopened.ping();
      await reopened.users.insertOne(makeUser('u3', { userNameKey: 'after-restart' }));
      expect(await reopened.users.count({})).toBe(2);
    } finally {
      await reopened.close();
    }
  });
});
