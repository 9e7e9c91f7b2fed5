/**
 * The storage-port contract, written once and run against every adapter (embedded store in the default suite, MongoDB
 * in the `mongo` suite). It pins down what shared code relies on: MongoDB query/update semantics, atomic conditional
 * writes, unique indexes per organization, and plain documents out.
 */
import type { GroupDoc, MembershipDoc, OrganizationDoc, UserDoc } from '../../src/store/documents';
import type { Store } from '../../src/store/port';
import { DuplicateKeyError } from '../../src/store/port';
import { TextPattern } from '../../src/store/text-pattern';
import { EVERY_RESOURCE, NO_RESOURCE } from '../../src/store/query';

const T0 = new Date('2024-01-01T00:00:00.000Z');
const day = (n: number) => new Date(T0.getTime() + n * 86_400_000);

/** A user document with sensible defaults; `overrides` wins. */
export function makeUser(id: string, overrides: Partial<UserDoc> = {}): UserDoc {
  const userName = overrides.scim?.userName ?? `${id}@example.com`;
  return {
    _id: id,
    orgId: 'org1',
    version: 1,
    created: T0,
    lastModified: T0,
    userNameKey: userName.toLowerCase(),
    emailKeys: [userName.toLowerCase()],
    scim: { userName, active: true },
    ...overrides,
  };
}

/** An organization document with `seats` seats, all available. */
export function makeOrg(id: string, seats = 10, overrides: Partial<OrganizationDoc> = {}): OrganizationDoc {
  return {
    _id: id,
    name: `Org ${id}`,
    domains: ['example.com'],
    seats,
    
    licenseMode: 'provision',
    licenseGroups: [],
    deprovision: 'account',
    created: T0,
    ...overrides,
  };
}

function makeGroup(id: string, displayName: string, orgId = 'org1'): GroupDoc {
  return { _id: id, orgId, connectionId: 'c1', version: 1, created: T0, lastModified: T0, displayName, displayNameKey: displayName.toLowerCase() };
}

function makeMembership(groupId: string, value: string): MembershipDoc {
  return { _id: `${groupId}:${value}`, orgId: 'org1', groupId, value, type: 'User', groupDisplay: `Group ${groupId}`, added: T0 };
}

/** True when `value` is a plain object all the way down (no class instances other than Date/RegExp, no arrays of such). */
function isPlain(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (value instanceof Date) return true;
  if (Array.isArray(value)) return value.every(isPlain);
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(value as Record<string, unknown>).every(isPlain);
}

/**
 * Registers the contract suite for one adapter. `open` is called once (before all tests); every collection is
 * emptied before each test; `cleanup` runs after the store is closed (e.g. to drop a test database).
 */
export function describeStoreContract(name: string, open: () => Promise<Store>, cleanup?: () => Promise<void>): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;

    beforeAll(async () => {
      store = await open();
    });

    afterAll(async () => {
      await store?.close();
      await cleanup?.();
    });

    beforeEach(async () => {
      await Promise.all([
        store.organizations.deleteMany({}),
        store.tokens.deleteMany({}),
        store.users.deleteMany({}),
        store.groups.deleteMany({}),
        store.memberships.deleteMany({}),
        store.audit.deleteMany({}),
        store.seats.deleteMany({}),
        store.workspaces.deleteMany({}),
        store.accessRequests.deleteMany({}),
      ]);
    });

    test('ping answers', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describe('reads', () => {
      beforeEach(async () => {
        await store.users.insertMany([
          makeUser('u1', { scim: { userName: 'alice', active: true, name: { givenName: 'Alice', familyName: 'Zed' } }, userNameKey: 'alice', created: day(1) }),
          makeUser('u2', { scim: { userName: 'bob', active: false, title: 'Eng' }, userNameKey: 'bob', created: day(2) }),
          makeUser('u3', { scim: { userName: 'carol', active: true, title: 'Eng' }, userNameKey: 'carol', created: day(3) }),
          makeUser('u4', { scim: { userName: 'dave', active: true, title: 'Ops' }, userNameKey: 'dave', created: day(4) }),
          makeUser('u5', { orgId: 'org2', scim: { userName: 'erin', active: true }, userNameKey: 'erin', created: day(5) }),
        ]);
      });

      test('findOne returns the stored document as a plain object with real Dates, nested attributes intact', async () => {
        const doc = await store.users.findOne({ _id: 'u1' });
        expect(doc).toEqual(
          makeUser('u1', { scim: { userName: 'alice', active: true, name: { givenName: 'Alice', familyName: 'Zed' } }, userNameKey: 'alice', created: day(1) }),
        );
        expect(doc!.created).toBeInstanceOf(Date);
        expect(doc!.created.getTime()).toBe(day(1).getTime());
        expect(isPlain(doc)).toBe(true);
        expect(typeof (doc as unknown as { toObject?: unknown }).toObject).toBe('undefined');
      });

      test('findOne returns null when nothing matches', async () => {
        await expect(store.users.findOne({ _id: 'nope' })).resolves.toBeNull();
      });

      test('findOne honours sort', async () => {
        const latest = await store.users.findOne({ orgId: 'org1' }, { sort: { created: -1 } });
        expect(latest?._id).toBe('u4');
      });

      test('find filters, sorts on several keys in order, skips and limits', async () => {
        const all = await store.users.find({ orgId: 'org1' }, { sort: { 'scim.active': 1, userNameKey: -1 } });
        expect(all.map((u) => u._id)).toEqual(['u2', 'u4', 'u3', 'u1']);
        const page = await store.users.find({ orgId: 'org1' }, { sort: { userNameKey: 1 }, skip: 1, limit: 2 });
        expect(page.map((u) => u._id)).toEqual(['u2', 'u3']);
        const rest = await store.users.find({ orgId: 'org1' }, { sort: { userNameKey: 1 }, skip: 3, limit: 10 });
        expect(rest.map((u) => u._id)).toEqual(['u4']);
        expect(await store.users.find({ orgId: 'org3' })).toEqual([]);
      });

      test('findReadOnly answers what find answers, in the same order', async () => {
        const options = { sort: { userNameKey: -1 as const }, skip: 1, limit: 2 };
        expect(await store.users.findReadOnly({ orgId: 'org1' }, options)).toEqual(await store.users.find({ orgId: 'org1' }, options));
        expect(await store.users.findReadOnly({ orgId: 'org1', 'scim.title': 'Eng' })).toEqual(await store.users.find({ orgId: 'org1', 'scim.title': 'Eng' }));
      });

      test('a document read with findReadOnly is not changed by later writes, which later reads see', async () => {
        const [before] = await store.users.findReadOnly({ _id: 'u1' });
        const snapshot = structuredClone(before);
        await store.users.updateOne(
          { _id: 'u1' },
          { $set: { 'scim.name.givenName': 'Alicia', 'scim.emails': [{ value: 'a@example.com' }] }, $unset: { 'scim.title': true }, $inc: { version: 1 } },
        );
        await store.users.updateMany({ orgId: 'org1' }, { $push: { emailKeys: 'x@example.com' } });
        expect(before).toEqual(snapshot);
        const [after] = await store.users.findReadOnly({ _id: 'u1' });
        expect(after.scim.name).toEqual({ givenName: 'Alicia', familyName: 'Zed' });
        expect(after.emailKeys).toEqual(['alice', 'x@example.com']);
        await store.users.deleteOne({ _id: 'u1' });
        expect(before).toEqual(snapshot);
        expect(await store.users.findReadOnly({ _id: 'u1' })).toEqual([]);
      });

      test('find with an inclusion projection returns only _id and the listed fields', async () => {
        const docs = await store.users.find({ _id: 'u2' }, { projection: { userNameKey: 1, 'scim.title': 1 } });
        expect(docs).toEqual([{ _id: 'u2', userNameKey: 'bob', scim: { title: 'Eng' } }]);
      });

      test('find with an exclusion projection drops the listed fields', async () => {
        const [doc] = await store.users.find({ _id: 'u2' }, { projection: { scim: 0, emailKeys: 0 } });
        expect(doc).toBeDefined();
        expect(doc).not.toHaveProperty('scim');
        expect(doc).not.toHaveProperty('emailKeys');
        expect(doc.userNameKey).toBe('bob');
      });

      test('count counts matches only', async () => {
        expect(await store.users.count({ orgId: 'org1' })).toBe(4);
        expect(await store.users.count({ orgId: 'org1', 'scim.title': 'Eng' })).toBe(2);
        expect(await store.users.count({ orgId: 'nope' })).toBe(0);
        expect(await store.users.count({})).toBe(5);
      });

      test('RegExp values match (anchored, case-insensitive, on nested paths)', async () => {
        const starts = await store.users.find({ orgId: 'org1', userNameKey: /^ca/ });
        expect(starts.map((u) => u._id)).toEqual(['u3']);
        const ci = await store.users.find({ 'scim.name.givenName': /^ALI/i });
        expect(ci.map((u) => u._id)).toEqual(['u1']);
        const viaOperator = await store.users.find({ 'scim.title': { $regex: /^e/i } }, { sort: { _id: 1 } });
        expect(viaOperator.map((u) => u._id)).toEqual(['u2', 'u3']);
      });

      test('the shared queries for every and no document match so, and running them leaves them as they were', async () => {
        const all = await store.users.count({});
        expect(await store.users.count(EVERY_RESOURCE)).toBe(all);
        expect(await store.users.find({ $and: [EVERY_RESOURCE, { orgId: 'org1' }] })).toHaveLength(await store.users.count({ orgId: 'org1' }));
        expect(await store.users.find(NO_RESOURCE)).toEqual([]);
        expect(await store.users.count({ orgId: 'org1', $or: [NO_RESOURCE, { 'scim.title': 'Eng' }] })).toBe(2);
        expect(EVERY_RESOURCE).toEqual({ _id: { $exists: true } });
        expect(NO_RESOURCE).toEqual({ _id: { $exists: false } });
      });

      test('text patterns (the RegExps filters build) match as their expressions', async () => {
        const ids = async (query: Record<string, unknown>) => (await store.users.find(query, { sort: { _id: 1 } })).map((u) => u._id);
        expect(await ids({ 'scim.name.givenName': new TextPattern('sw', 'ALI', true) })).toEqual(['u1']);
        expect(await ids({ 'scim.title': new TextPattern('eq', 'eng', true) })).toEqual(await ids({ 'scim.title': /^eng(?![\s\S])/i }));
        expect(await ids({ 'scim.title': new TextPattern('co', 'N', true) })).toEqual(['u2', 'u3']);
        expect(await ids({ 'scim.title': new TextPattern('co', 'N', false) })).toEqual([]);
        expect(await ids({ orgId: 'org1', 'scim.title': { $not: new TextPattern('sw', 'E', true) } })).toEqual(
          await ids({ orgId: 'org1', 'scim.title': { $not: /^E/i } }),
        );
      });

      test('$nor negates a disjunction, also combined with other conditions', async () => {
        const docs = await store.users.find(
          { orgId: 'org1', $nor: [{ 'scim.title': 'Eng' }, { 'scim.active': false }] },
          { sort: { _id: 1 } },
        );
        expect(docs.map((u) => u._id)).toEqual(['u1', 'u4']);
        // A document without the field is not matched by the negated clause, so it is kept.
        const noTitle = await store.users.find({ orgId: 'org1', $nor: [{ 'scim.title': { $exists: true } }] });
        expect(noTitle.map((u) => u._id)).toEqual(['u1']);
      });

      test('field-level $not negates an operator or RegExp and keeps documents without the field', async () => {
        const docs = await store.users.find({ orgId: 'org1', 'scim.title': { $not: /^e/i } }, { sort: { _id: 1 } });
        expect(docs.map((u) => u._id)).toEqual(['u1', 'u4']);
        const notAfter = await store.users.find({ orgId: 'org1', created: { $not: { $gt: day(2) } } }, { sort: { _id: 1 } });
        expect(notAfter.map((u) => u._id)).toEqual(['u1', 'u2']);
      });

      test('$and / $or / $in / $ne / $exists compose', async () => {
        const docs = await store.users.find(
          { $and: [{ orgId: 'org1' }, { $or: [{ userNameKey: { $in: ['alice', 'dave'] } }, { 'scim.title': { $ne: 'Eng', $exists: true } }] }] },
          { sort: { _id: 1 } },
        );
        expect(docs.map((u) => u._id)).toEqual(['u1', 'u4']);
      });

      test('Date range queries compare instants', async () => {
        const docs = await store.users.find({ created: { $gt: day(1), $lte: day(3) } }, { sort: { created: 1 } });
        expect(docs.map((u) => u._id)).toEqual(['u2', 'u3']);
        expect(await store.users.count({ created: { $lt: day(1) } })).toBe(0);
        expect(await store.users.count({ created: { $gte: day(5) } })).toBe(1);
      });
    });

    describe('$elemMatch and arrays', () => {
      beforeEach(async () => {
        await store.users.insertMany([
          makeUser('a', {
            emailKeys: ['a@example.com', 'a@corp.example'],
            scim: {
              userName: 'a',
              emails: [
                { value: 'a@example.com', type: 'work', primary: true },
                { value: 'a@corp.example', type: 'home' },
              ],
            },
            userNameKey: 'a',
          }),
          makeUser('b', {
            emailKeys: ['b@example.com'],
            scim: { userName: 'b', emails: [{ value: 'b@example.com', type: 'home', primary: true }] },
            userNameKey: 'b',
          }),
        ]);
      });

      test('$elemMatch requires one element to satisfy every condition', async () => {
        const work = await store.users.find({ 'scim.emails': { $elemMatch: { type: 'work', primary: true } } });
        expect(work.map((u) => u._id)).toEqual(['a']);
        const homePrimary = await store.users.find({ 'scim.emails': { $elemMatch: { type: 'home', primary: true } } });
        expect(homePrimary.map((u) => u._id)).toEqual(['b']);
        const regex = await store.users.find({ 'scim.emails': { $elemMatch: { value: /@corp\./, type: 'home' } } });
        expect(regex.map((u) => u._id)).toEqual(['a']);
      });

      test('a value or RegExp on an array field matches any element', async () => {
        expect((await store.users.find({ emailKeys: 'a@corp.example' })).map((u) => u._id)).toEqual(['a']);
        expect((await store.users.find({ emailKeys: /@example\.com$/ }, { sort: { _id: 1 } })).map((u) => u._id)).toEqual(['a', 'b']);
      });

      test('$addToSet adds once, $pull removes, $push appends', async () => {
        let doc = await store.users.updateOne({ _id: 'b' }, { $addToSet: { emailKeys: 'b2@example.com' } });
        expect(doc?.emailKeys).toEqual(['b@example.com', 'b2@example.com']);
        doc = await store.users.updateOne({ _id: 'b' }, { $addToSet: { emailKeys: 'b2@example.com' } });
        expect(doc?.emailKeys).toEqual(['b@example.com', 'b2@example.com']);
        doc = await store.users.updateOne({ _id: 'b' }, { $pull: { emailKeys: 'b@example.com' } });
        expect(doc?.emailKeys).toEqual(['b2@example.com']);
        doc = await store.users.updateOne({ _id: 'b' }, { $push: { emailKeys: 'b3@example.com' } });
        expect(doc?.emailKeys).toEqual(['b2@example.com', 'b3@example.com']);
        doc = await store.users.updateOne({ _id: 'b' }, { $pull: { emailKeys: { $in: ['b2@example.com', 'b3@example.com'] } } });
        expect(doc?.emailKeys).toEqual([]);
      });
    });

    describe('writes', () => {
      test('insertOne then updateOne with $set/$unset/$inc on nested and top-level paths returns the document after', async () => {
        await store.users.insertOne(makeUser('u1', { enterprise: { department: 'R&D', manager: { value: 'm1' } } }));
        const after = await store.users.updateOne(
          { _id: 'u1', version: 1 },
          {
            $set: { 'scim.name': { givenName: 'Al' }, 'scim.x-custom': { deep: [1, { two: 2 }] }, lastModified: day(9) },
            $unset: { 'enterprise.department': '' },
            $inc: { version: 1 },
          },
        );
        expect(after).toMatchObject({
          _id: 'u1',
          version: 2,
          scim: { userName: 'u1@example.com', active: true, name: { givenName: 'Al' }, 'x-custom': { deep: [1, { two: 2 }] } },
          enterprise: { manager: { value: 'm1' } },
        });
        expect(after!.enterprise).not.toHaveProperty('department');
        expect(after!.lastModified).toBeInstanceOf(Date);
        expect(after!.lastModified.getTime()).toBe(day(9).getTime());
        expect(isPlain(after)).toBe(true);
        expect(await store.users.findOne({ _id: 'u1' })).toEqual(after);
      });

      test('lifecycle dates survive a round trip', async () => {
        await store.users.insertOne(
          makeUser('u1', { lifecycle: { managed: true, accountStatus: 'active', siteAccess: 'active', license: 'licensed', lastActive: day(2) } }),
        );
        await store.users.updateOne({ _id: 'u1' }, { $set: { 'lifecycle.accountStatus': 'deactivated', 'lifecycle.deactivatedAt': day(3) } });
        const doc = await store.users.findOne({ 'lifecycle.deactivatedAt': { $gte: day(3) } });
        expect(doc?.lifecycle?.deactivatedAt).toBeInstanceOf(Date);
        expect(doc?.lifecycle?.lastActive?.getTime()).toBe(day(2).getTime());
        expect(doc?.lifecycle?.accountStatus).toBe('deactivated');
      });

      test('updateOne is conditional: a stale version matches nothing and returns null', async () => {
        await store.users.insertOne(makeUser('u1'));
        await expect(store.users.updateOne({ _id: 'u1', version: 2 }, { $set: { 'scim.title': 'x' }, $inc: { version: 1 } })).resolves.toBeNull();
        expect((await store.users.findOne({ _id: 'u1' }))?.scim).not.toHaveProperty('title');
        await expect(store.users.updateOne({ _id: 'missing' }, { $set: { 'scim.title': 'x' } })).resolves.toBeNull();
      });

      test('two concurrent updates on the same version: exactly one wins', async () => {
        await store.users.insertOne(makeUser('u1'));
        const results = await Promise.all(
          ['first', 'second'].map((title) =>
            store.users.updateOne({ _id: 'u1', version: 1 }, { $set: { 'scim.title': title }, $inc: { version: 1 } }),
          ),
        );
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        const stored = await store.users.findOne({ _id: 'u1' });
        expect(stored?.version).toBe(2);
        expect(stored?.scim.title).toBe(winners[0]!.scim.title);
      });

      test('seat slots: 50 concurrent claims of a free slot against 10 slots, exactly 10 succeed; a release frees once', async () => {
        await store.seats.insertMany(Array.from({ length: 10 }, (_, slot) => ({ _id: `o1:${slot}`, orgId: 'o1', slot })));
        const claims = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.seats.updateOne({ orgId: 'o1', holderKey: { $exists: false } }, { $set: { holder: `u${i}`, holderKey: `o1:u${i}` } }),
          ),
        );
        const winners = claims.filter((c) => c !== null);
        expect(winners).toHaveLength(10);
        expect(new Set(winners.map((w) => w!.slot)).size).toBe(10);
        expect(await store.seats.count({ orgId: 'o1', holderKey: { $exists: true } })).toBe(10);
        const holder = winners[0]!.holderKey!;
        const releases = await Promise.all([1, 2, 3].map(() => store.seats.updateOne({ holderKey: holder }, { $unset: { holder: true, holderKey: true } })));
        expect(releases.filter((r) => r !== null)).toHaveLength(1);
        expect(await store.seats.count({ orgId: 'o1', holderKey: { $exists: true } })).toBe(9);
      });

      test('seat slots: the sparse unique holderKey refuses a second seat for the same holder', async () => {
        await store.seats.insertMany([0, 1].map((slot) => ({ _id: `o1:${slot}`, orgId: 'o1', slot })));
        await store.seats.updateOne({ _id: 'o1:0' }, { $set: { holder: 'u1', holderKey: 'o1:u1' } });
        await expect(store.seats.updateOne({ _id: 'o1:1' }, { $set: { holder: 'u1', holderKey: 'o1:u1' } })).rejects.toBeInstanceOf(DuplicateKeyError);
      });

      test('equality on an element of an indexed array field (emailKeys) finds the document', async () => {
        await store.users.insertOne(makeUser('u1', { emailKeys: ['a@example.com', 'b@example.com'] }));
        expect((await store.users.find({ orgId: 'org1', emailKeys: 'b@example.com' })).map((u) => u._id)).toEqual(['u1']);
        await store.users.updateOne({ _id: 'u1' }, { $set: { emailKeys: ['c@example.com'] } });
        expect(await store.users.count({ orgId: 'org1', emailKeys: 'b@example.com' })).toBe(0);
        expect(await store.users.count({ orgId: 'org1', emailKeys: 'c@example.com' })).toBe(1);
      });

      test('unique {orgId, userNameKey}: DuplicateKeyError within an organization, allowed across organizations', async () => {
        await store.users.insertOne(makeUser('u1', { userNameKey: 'same' }));
        const error = await store.users.insertOne(makeUser('u2', { userNameKey: 'same' })).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DuplicateKeyError);
        expect((error as DuplicateKeyError).collection).toBe('users');
        expect((error as DuplicateKeyError).index).toBe('orgId_1_userNameKey_1');
        await expect(store.users.insertOne(makeUser('u3', { orgId: 'org2', userNameKey: 'same' }))).resolves.toBeUndefined();
        expect(await store.users.count({ userNameKey: 'same' })).toBe(2);
      });

      test('an update that would create a duplicate userNameKey throws DuplicateKeyError and changes nothing', async () => {
        await store.users.insertMany([makeUser('u1', { userNameKey: 'one' }), makeUser('u2', { userNameKey: 'two' })]);
        await expect(store.users.updateOne({ _id: 'u2' }, { $set: { userNameKey: 'one' } })).rejects.toBeInstanceOf(DuplicateKeyError);
        expect((await store.users.findOne({ _id: 'u2' }))?.userNameKey).toBe('two');
      });

      test('unique {orgId, connectionId, displayNameKey} on groups, and a duplicate _id, both raise DuplicateKeyError', async () => {
        await store.groups.insertOne(makeGroup('g1', 'Admins'));
        const byName = await store.groups.insertOne(makeGroup('g2', 'ADMINS')).catch((e: unknown) => e);
        expect(byName).toBeInstanceOf(DuplicateKeyError);
        expect(byName).toMatchObject({ collection: 'groups', index: 'orgId_1_connectionId_1_displayNameKey_1' });
        await expect(store.groups.insertOne(makeGroup('g3', 'Admins', 'org2'))).resolves.toBeUndefined();
        await expect(store.groups.insertOne({ ...makeGroup('g4', 'Admins'), connectionId: 'c2' })).resolves.toBeUndefined();
        const byId = await store.groups.insertOne(makeGroup('g1', 'Other')).catch((e: unknown) => e);
        expect(byId).toBeInstanceOf(DuplicateKeyError);
        expect(byId).toMatchObject({ collection: 'groups', index: '_id_' });
      });

      test('insertMany raises DuplicateKeyError on a violation inside the batch', async () => {
        await expect(
          store.users.insertMany([makeUser('u1', { userNameKey: 'x' }), makeUser('u2', { userNameKey: 'x' })]),
        ).rejects.toBeInstanceOf(DuplicateKeyError);
        // Whether u1 stays inserted differs (MongoDB ordered inserts keep it, the embedded store is all-or-nothing);
        // the contract only promises the error and that the duplicate is not stored.
        expect(await store.users.count({ _id: 'u2' })).toBe(0);
      });

      test('insertMany of nothing is a no-op', async () => {
        await expect(store.users.insertMany([])).resolves.toBeUndefined();
      });

      test('updateMany returns how many matched and applies to all of them', async () => {
        await store.memberships.insertMany([makeMembership('g1', 'u1'), makeMembership('g1', 'u2'), makeMembership('g2', 'u1')]);
        expect(await store.memberships.updateMany({ value: 'u1' }, { $set: { display: 'User One' } })).toBe(2);
        expect(await store.memberships.count({ display: 'User One' })).toBe(2);
        expect(await store.memberships.updateMany({ value: 'nobody' }, { $set: { display: 'x' } })).toBe(0);
      });

      test('deleteOne returns the deleted document, then null', async () => {
        await store.users.insertOne(makeUser('u1'));
        const deleted = await store.users.deleteOne({ _id: 'u1' });
        expect(deleted).toEqual(makeUser('u1'));
        expect(deleted!.created).toBeInstanceOf(Date);
        expect(isPlain(deleted)).toBe(true);
        await expect(store.users.deleteOne({ _id: 'u1' })).resolves.toBeNull();
        expect(await store.users.count({})).toBe(0);
      });

      test('deleteMany returns how many were deleted', async () => {
        await store.memberships.insertMany([makeMembership('g1', 'u1'), makeMembership('g1', 'u2'), makeMembership('g2', 'u1')]);
        expect(await store.memberships.deleteMany({ groupId: 'g1' })).toBe(2);
        expect(await store.memberships.deleteMany({ groupId: 'g1' })).toBe(0);
        expect(await store.memberships.count({})).toBe(1);
      });

      test('audit events keep before/after snapshots verbatim and sort by time', async () => {
        await store.audit.insertMany([
          { _id: 'e1', orgId: 'org1', at: day(1), actor: { kind: 'directory', id: 'c1' }, action: 'user.create', subject: { kind: 'user', id: 'u1' }, after: { scim: { userName: 'a', 'weird-attr': [{ x: null }] } } },
          { _id: 'e2', orgId: 'org1', at: day(2), actor: { kind: 'admin', id: 'a1' }, action: 'user.deactivate', subject: { kind: 'user', id: 'u1' }, before: { active: true }, after: { active: false }, requestId: 'r1' },
        ]);
        const events = await store.audit.find({ orgId: 'org1', at: { $gte: day(1) } }, { sort: { at: -1 } });
        expect(events.map((e) => e._id)).toEqual(['e2', 'e1']);
        expect(events[1].after).toEqual({ scim: { userName: 'a', 'weird-attr': [{ x: null }] } });
        expect(events[0].actor).toEqual({ kind: 'admin', id: 'a1' });
      });
    });
  });
}
