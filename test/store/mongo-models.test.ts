/**
 * The mongoose models and the error mapper, checked without a server (default jest project): models are compiled on
 * an unopened dedicated connection, documents are built and validated in memory, filters are cast in memory.
 */
import mongoose from 'mongoose';
import type { Connection } from 'mongoose';
import { INDEXES } from '../../src/store/indexes';
import { COLLECTION_NAMES, createModels, duplicateKeyIndexName, isUnavailable, toStoreError } from '../../src/store/mongo';
import type { MongoModels } from '../../src/store/mongo';
import { DuplicateKeyError, StoreUnavailableError } from '../../src/store/port';

let connection: Connection;
let models: MongoModels;

beforeAll(() => {
  connection = mongoose.createConnection();
  models = createModels(connection);
});

afterAll(async () => {
  await connection.close();
});

/** Casts `filter` the way mongoose does right before sending a query, and returns what would be sent. */
function castFilter(filter: Record<string, unknown>): Record<string, unknown> {
  const query = models.users.find(filter).setOptions({ strictQuery: false, translateAliases: false });
  (query as unknown as { _castConditions(): void })._castConditions();
  const error = (query as unknown as { error(): unknown }).error();
  if (error) throw error;
  return query.getFilter() as Record<string, unknown>;
}

const baseUser = {
  _id: 'u1',
  orgId: 'org1',
  version: 1,
  created: new Date('2024-01-01T00:00:00Z'),
  lastModified: new Date('2024-01-01T00:00:00Z'),
  userNameKey: 'alice',
  emailKeys: ['alice@example.com'],
  scim: { userName: 'Alice' },
};

describe('mongoose models', () => {
  test('one model per collection, on the dedicated connection, with the collection name as is', () => {
    for (const name of COLLECTION_NAMES) {
      expect(models[name].collection.collectionName).toBe(name);
      expect(models[name].db).toBe(connection);
    }
    expect(mongoose.modelNames()).not.toContain('users');
  });

  test.each(COLLECTION_NAMES)('%s declares exactly the indexes of INDEXES, unique flags included', (name) => {
    const declared = models[name].schema.indexes().map(([fields, options]) => ({
      fields,
      unique: Boolean((options as { unique?: boolean }).unique),
      sparse: Boolean((options as { sparse?: boolean }).sparse),
    }));
    const expected = INDEXES[name].map((spec) => ({ fields: spec.fields, unique: Boolean(spec.unique), sparse: Boolean(spec.sparse) }));
    expect(declared).toEqual(expected);
  });

  test('the per-organization unique indexes are unique and compound', () => {
    const [userFields, userOptions] = models.users.schema.indexes()[0];
    expect(userFields).toEqual({ orgId: 1, userNameKey: 1 });
    expect(userOptions).toMatchObject({ unique: true });
    const [groupFields, groupOptions] = models.groups.schema.indexes()[0];
    expect(groupFields).toEqual({ orgId: 1, connectionId: 1, displayNameKey: 1 });
    expect(groupOptions).toMatchObject({ unique: true });
  });

  test('indexes are not built automatically, no version key, commands are not buffered', () => {
    for (const name of COLLECTION_NAMES) {
      const schema = models[name].schema as unknown as mongoose.Schema;
      expect(schema.get('autoIndex')).toBe(false);
      expect(schema.get('autoCreate')).toBe(false);
      expect(schema.get('versionKey')).toBe(false);
      expect(schema.get('bufferCommands')).toBe(false);
      expect(schema.get('strictQuery')).toBe(false);
      expect(schema.path('_id').instance).toBe('String');
    }
  });

  test('Date paths are cast from ISO strings, including in the lifecycle subdocument', async () => {
    const doc = new models.users({
      ...baseUser,
      created: '2024-02-03T04:05:06.000Z',
      lifecycle: { managed: true, accountStatus: 'active', siteAccess: 'active', license: 'free', lastActive: '2024-03-01T00:00:00Z' },
    });
    await expect(doc.validate()).resolves.toBeUndefined();
    const plain = doc.toObject();
    expect(plain.created).toBeInstanceOf(Date);
    expect(plain.created.toISOString()).toBe('2024-02-03T04:05:06.000Z');
    expect(plain.lifecycle?.lastActive).toBeInstanceOf(Date);
    expect(new models.audit({ _id: 'e', orgId: 'o', at: '2024-01-01', action: 'a', actor: { kind: 'admin', id: 'x' }, subject: { kind: 'user', id: 'u' } }).toObject().at).toBeInstanceOf(Date);
  });

  test('unknown nested SCIM attributes are kept verbatim (scim, enterprise, audit snapshots are Mixed)', () => {
    const scim = {
      userName: 'Alice',
      name: { givenName: 'A', 'x-nickname': 'Al' },
      emails: [{ value: 'a@example.com', type: 'work', primary: true, 'x-verified': { at: 'yesterday' } }],
      'x-custom': { deep: [1, { two: [2] }], nothing: null },
    };
    const enterprise = { employeeNumber: '42', manager: { value: 'm1', displayName: 'Boss' }, costCenter: { nested: true } };
    const plain = new models.users({ ...baseUser, scim, enterprise }).toObject();
    expect(plain.scim).toEqual(scim);
    expect(plain.enterprise).toEqual(enterprise);
    const after = { scim, anything: [{ at: 1 }] };
    const event = new models.audit({ _id: 'e', orgId: 'o', at: new Date(), action: 'a', actor: { kind: 'admin', id: 'x' }, subject: { kind: 'user', id: 'u' }, after });
    expect(event.toObject().after).toEqual(after);
  });

  test('an absent lifecycle stays absent and an empty enterprise object is kept (minimize off)', () => {
    const plain = new models.users({ ...baseUser, enterprise: {} }).toObject();
    expect(plain).not.toHaveProperty('lifecycle');
    expect(plain.enterprise).toEqual({});
  });

  test('a top-level field unknown to the schema is an error, not silently dropped', () => {
    expect(() => new models.users({ ...baseUser, notInSchema: 1 })).toThrow(/not in schema/);
  });

  test('required fields and enums from documents.ts are validated on insert', async () => {
    const missing = await new models.users({ ...baseUser, userNameKey: undefined }).validate().catch((e: mongoose.Error.ValidationError) => e);
    expect(missing?.errors.userNameKey).toBeDefined();
    const badEnum = await new models.memberships({ _id: 'g:u', orgId: 'o', groupId: 'g', value: 'u', type: 'Robot', groupDisplay: 'G', added: new Date() })
      .validate()
      .catch((e: mongoose.Error.ValidationError) => e);
    expect(badEnum?.errors.type).toBeDefined();
  });
});

describe('query filters pass through mongoose unchanged', () => {
  const filter = () => ({
    orgId: 'org1',
    $nor: [{ 'scim.title': 'Eng' }, { 'scim.active': false }],
    $or: [{ userNameKey: /^al/i }, { emailKeys: { $elemMatch: { $regex: /@example\.com$/ } } }],
    'scim.emails': { $elemMatch: { value: /a@/i, type: 'work' } },
    created: { $gte: new Date('2024-01-01T00:00:00Z'), $lt: new Date('2025-01-01T00:00:00Z') },
    'lifecycle.accountStatus': { $in: ['active', 'deactivated'] },
    notAField: { $exists: false },
  });

  test('$nor, $or, $elemMatch, RegExps, Dates and unknown paths survive casting', () => {
    expect(castFilter(filter())).toEqual(filter());
    const cast = castFilter(filter());
    expect((cast.$or as Array<Record<string, unknown>>)[0].userNameKey).toBeInstanceOf(RegExp);
  });

  test('a global mongoose.set("sanitizeFilter", true) does not apply to the store connection', async () => {
    const previous = mongoose.get('sanitizeFilter');
    mongoose.set('sanitizeFilter', true);
    try {
      expect(castFilter(filter())).toEqual(filter());
      // Control: on a connection without our setting, the same global option would have rewritten the operators.
      const other = mongoose.createConnection();
      const plain = other.model<{ a: unknown }>('probe', new mongoose.Schema({ a: mongoose.Schema.Types.Mixed }, { strictQuery: false }));
      const query = plain.find({ a: { $gt: 1 } });
      (query as unknown as { _castConditions(): void })._castConditions();
      expect(query.getFilter()).toEqual({ a: { $eq: { $gt: 1 } } });
      await other.close();
    } finally {
      mongoose.set('sanitizeFilter', previous);
    }
  });
});

describe('error mapping', () => {
  const { MongoServerError, MongoNetworkError, MongoServerSelectionError, MongoBulkWriteError, MongoNetworkTimeoutError, MongoNotConnectedError } =
    mongoose.mongo;
  const e11000 = 'E11000 duplicate key error collection: scim.users index: orgId_1_userNameKey_1 dup key: { orgId: "org1", userNameKey: "alice" }';

  test('E11000 MongoServerError becomes DuplicateKeyError with the collection and index name', () => {
    const error = new MongoServerError({ ok: 0, code: 11000, codeName: 'DuplicateKey', errmsg: e11000, keyPattern: { orgId: 1, userNameKey: 1 }, keyValue: { orgId: 'org1', userNameKey: 'alice' } });
    const mapped = toStoreError('users', error);
    expect(mapped).toBeInstanceOf(DuplicateKeyError);
    expect(mapped).toMatchObject({ collection: 'users', index: 'orgId_1_userNameKey_1' });
  });

  test('E11000 inside a bulk insert (insertMany) becomes DuplicateKeyError', () => {
    const error = new MongoBulkWriteError(
      { message: e11000, code: 11000, writeErrors: [{ index: 1, code: 11000, errmsg: e11000 }] } as never,
      { insertedCount: 1 } as never,
    );
    expect(toStoreError('users', error)).toMatchObject({ name: 'DuplicateKeyError', index: 'orgId_1_userNameKey_1' });
  });

  test('the index name falls back to keyPattern when the message has none', () => {
    expect(duplicateKeyIndexName('E11000 duplicate key error', { orgId: 1, displayNameKey: 1 })).toBe('orgId_1_displayNameKey_1');
    const error = new MongoServerError({ ok: 0, code: 11000, errmsg: 'E11000 duplicate key error', keyPattern: { name: 1 } });
    expect(toStoreError('organizations', error)).toMatchObject({ collection: 'organizations', index: 'name_1' });
  });

  test.each([
    ['MongoNetworkError', () => new MongoNetworkError('connect ECONNREFUSED 127.0.0.1:27017')],
    ['MongoNetworkTimeoutError', () => new MongoNetworkTimeoutError('connection timed out')],
    ['MongoServerSelectionError', () => new MongoServerSelectionError('Server selection timed out after 500 ms', {} as never)],
    ['MongoNotConnectedError', () => new MongoNotConnectedError('client must be connected')],
    ['NotWritablePrimary (10107)', () => new MongoServerError({ ok: 0, code: 10107, codeName: 'NotWritablePrimary', errmsg: 'not primary' })],
    ['RetryableWriteError label', () => new MongoServerError({ ok: 0, code: 999999, errmsg: 'x', errorLabels: ['RetryableWriteError'] })],
    ['TransientTransactionError label', () => new MongoServerError({ ok: 0, code: 251, errmsg: 'x', errorLabels: ['TransientTransactionError'] })],
    ['MongooseServerSelectionError', () => Object.assign(new Error('Could not connect'), { name: 'MongooseServerSelectionError' })],
  ])('%s becomes StoreUnavailableError, keeping the cause', (_label, make) => {
    const error = make();
    expect(isUnavailable(error)).toBe(true);
    const mapped = toStoreError('users', error);
    expect(mapped).toBeInstanceOf(StoreUnavailableError);
    expect((mapped as StoreUnavailableError).cause).toBe(error);
  });

  test('other errors are rethrown unchanged', () => {
    const badValue = new MongoServerError({ ok: 0, code: 2, codeName: 'BadValue', errmsg: 'unknown operator: $foo' });
    expect(toStoreError('users', badValue)).toBe(badValue);
    const cast = new mongoose.Error.CastError('Number', 'abc', 'version');
    expect(toStoreError('users', cast)).toBe(cast);
    const plain = new TypeError('bug');
    expect(toStoreError('users', plain)).toBe(plain);
    expect(toStoreError('users', 'string')).toBe('string');
  });
});
