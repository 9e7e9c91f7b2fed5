/**
 * The store contract against MongoDB. Runs only in the `mongo` jest project (`npm run test:mongo`) and only when
 * MONGODB_URI points at a server; each run uses its own database, dropped afterwards.
 *
 * CI points MONGODB_URI at ../shared/tools/mongo-shim (a wire-protocol emulator, see .ci/mongo-shim.sh): a pass there
 * proves the mongoose code paths and driver errors, not behaviour on a real mongod.
 */
import mongoose from 'mongoose';
import { randomUUID } from 'node:crypto';
import { openMongoStore } from '../../src/store/mongo';
import { StoreUnavailableError } from '../../src/store/port';
import { describeStoreContract } from '../store/contract';

const baseUri = process.env.MONGODB_URI;

/** `baseUri` with its database path replaced by `dbName` (query string kept). */
function withDatabase(uri: string, dbName: string): string {
  const url = new URL(uri);
  url.pathname = `/${dbName}`;
  return url.toString();
}

if (!baseUri) {
  describe('MongoDB store contract', () => {
    // Deliberately visible as "skipped", never as a pass: nothing ran against MongoDB.
    test.skip('DID NOT RUN: MONGODB_URI is not set (start a server or .ci/mongo-shim.sh and set MONGODB_URI)', () => undefined);
  });
} else {
  const dbName = `scimtest_${Date.now()}_${randomUUID().slice(0, 8)}`;
  const uri = withDatabase(baseUri, dbName);

  describeStoreContract(
    `mongodb (${dbName})`,
    () => openMongoStore(uri, { serverSelectionTimeoutMS: 5000 }),
    async () => {
      const connection = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5000 }).asPromise();
      try {
        await connection.dropDatabase();
      } finally {
        await connection.close();
      }
    },
  );

  describe('MongoDB store specifics', () => {
    const specificsDb = `${dbName}_x`;
    const specificsUri = withDatabase(baseUri, specificsDb);

    afterAll(async () => {
      const connection = await mongoose.createConnection(specificsUri, { serverSelectionTimeoutMS: 5000 }).asPromise();
      try {
        await connection.dropDatabase();
      } finally {
        await connection.close();
      }
    });

    test('open builds the INDEXES on the server, unique flags included', async () => {
      const store = await openMongoStore(specificsUri);
      const connection = await mongoose.createConnection(specificsUri).asPromise();
      try {
        const users = await connection.db!.collection('users').indexes();
        expect(users).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ name: 'orgId_1_userNameKey_1', key: { orgId: 1, userNameKey: 1 }, unique: true }),
            expect.objectContaining({ name: 'orgId_1_scim.externalId_1' }),
            expect.objectContaining({ name: 'orgId_1_emailKeys_1' }),
          ]),
        );
        const groups = await connection.db!.collection('groups').indexes();
        expect(groups).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'orgId_1_connectionId_1_displayNameKey_1', unique: true })]));
        const audit = await connection.db!.collection('audit').indexes();
        expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ key: { orgId: 1, at: -1 } })]));
      } finally {
        await connection.close();
        await store.close();
      }
    });

    test('reopening over existing indexes is idempotent', async () => {
      const a = await openMongoStore(specificsUri);
      await a.close();
      const b = await openMongoStore(specificsUri);
      await expect(b.ping()).resolves.toBeUndefined();
      await b.close();
    });

    test('the unique group-name index of earlier versions is dropped at open, so two connections can both have "Sales"', async () => {
      const olderUri = withDatabase(baseUri, `${dbName}_old`);
      const setup = await mongoose.createConnection(olderUri, { serverSelectionTimeoutMS: 5000 }).asPromise();
      const groupsIndexes = () => setup.db!.collection('groups').indexes();
      try {
        await setup.db!.collection('groups').createIndex({ orgId: 1, displayNameKey: 1 }, { unique: true });
        const store = await openMongoStore(olderUri);
        try {
          expect((await groupsIndexes()).map((index) => index.name)).not.toContain('orgId_1_displayNameKey_1');
          const group = (id: string, connectionId: string) => ({
            _id: id, orgId: 'o1', connectionId, version: 1, created: new Date(0), lastModified: new Date(0), displayName: 'Sales', displayNameKey: 'sales',
          });
          await store.groups.insertOne(group('g1', 'c1'));
          await store.groups.insertOne(group('g2', 'c2'));
          expect(await store.groups.count({ orgId: 'o1', displayNameKey: 'sales' })).toBe(2);
        } finally {
          await store.close();
        }
        // An index of that key a DBA made without `unique` refuses nothing: it stays.
        await setup.db!.collection('groups').createIndex({ orgId: 1, displayNameKey: 1 });
        await (await openMongoStore(olderUri)).close();
        expect((await groupsIndexes()).map((index) => index.name)).toContain('orgId_1_displayNameKey_1');
      } finally {
        await setup.dropDatabase();
        await setup.close();
      }
    });

    test('an unreachable server fails fast with StoreUnavailableError', async () => {
      const started = Date.now();
      // Port 1 on loopback: nothing listens there, the connection is refused at once.
      await expect(openMongoStore('mongodb://127.0.0.1:1/unreachable', { serverSelectionTimeoutMS: 500 })).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
      expect(Date.now() - started).toBeLessThan(5000);
    });

    test('after close, operations and ping fail with StoreUnavailableError rather than hanging', async () => {
      const store = await openMongoStore(specificsUri, { serverSelectionTimeoutMS: 500 });
      await store.close();
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.users.findOne({})).rejects.toBeInstanceOf(StoreUnavailableError);
    });
  });
}
