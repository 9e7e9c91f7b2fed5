/** `sortBy`/`sortOrder` translation (RFC 7644 §3.4.2.3), checked on the embedded store. */
import { openEmbeddedStore } from '../../src/store/embedded';
import type { Store } from '../../src/store/port';
import type { UserDoc } from '../../src/store/documents';
import { translateSort } from '../../src/scim/sort';
import { ScimError } from '../../src/scim/errors';

const at = new Date('2024-01-01T00:00:00Z');
const user = (id: string, userName: string, title?: string, minutes = 0): UserDoc => ({
  _id: id,
  orgId: 'o',
  version: 1,
  created: at,
  lastModified: new Date(at.getTime() + minutes * 60_000),
  userNameKey: userName.toLowerCase(),
  emailKeys: [],
  scim: { userName, ...(title ? { title } : {}) },
});

let store: Store;
beforeAll(async () => {
  store = await openEmbeddedStore();
  await store.users.insertMany([user('c', 'bob', 'x', 2), user('a', 'Carol', 'x', 1), user('b', 'alice', 'y', 1)]);
});

const order = async (sortBy?: string, sortOrder?: string) =>
  (await store.users.find({ orgId: 'o' }, { sort: translateSort('User', sortBy, sortOrder) })).map((u) => u._id);

function expectInvalidValue(fn: () => unknown, detail: RegExp) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    expect((error as ScimError).status).toBe(400);
    expect((error as ScimError).scimType).toBe('invalidValue');
    expect((error as ScimError).detail).toMatch(detail);
    return;
  }
  throw new Error('expected a ScimError');
}

describe('translateSort', () => {
  it('defaults to _id ascending', async () => {
    expect(translateSort('User')).toEqual({ _id: 1 });
    expect(translateSort('User', '', 'descending')).toEqual({ _id: 1 });
    expect(await order()).toEqual(['a', 'b', 'c']);
  });

  it('sorts userName case-insensitively on the lower-cased copy, with an _id tiebreaker', async () => {
    const sort = translateSort('User', 'userName');
    expect(sort).toEqual({ userNameKey: 1, _id: 1 });
    expect(Object.keys(sort)).toEqual(['userNameKey', '_id']);
    expect(await order('userName')).toEqual(['b', 'c', 'a']);
    expect(await order('USERNAME', 'descending')).toEqual(['a', 'c', 'b']);
    expect(await order('urn:ietf:params:scim:schemas:core:2.0:User:userName', 'Ascending')).toEqual(['b', 'c', 'a']);
  });

  it('breaks ties on _id so pages are stable', async () => {
    expect(await order('title')).toEqual(['a', 'c', 'b']);
    expect(await order('meta.lastModified', 'descending')).toEqual(['c', 'a', 'b']);
    expect(translateSort('User', 'meta.lastModified', 'descending')).toEqual({ lastModified: -1, _id: 1 });
  });

  it('maps enterprise, name and group attributes to stored paths', () => {
    expect(translateSort('User', 'name.familyName')).toEqual({ 'scim.name.familyName': 1, _id: 1 });
    expect(translateSort('User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department')).toEqual({
      'enterprise.department': 1,
      _id: 1,
    });
    expect(translateSort('Group', 'displayName', 'descending')).toEqual({ displayNameKey: -1, _id: 1 });
    expect(translateSort('User', 'id', 'descending')).toEqual({ _id: -1 });
  });

  it.each([
    ['$natural', /not an attribute/],
    ['__proto__', /not an attribute/],
    ['orgId', /not an attribute/],
    ['userNameKey', /not an attribute/],
    ['emails.value', /multi-valued/],
    ['name', /complex/],
    ['password', /password/],
    ['members', /members/],
  ])('rejects sortBy %s with 400 invalidValue', (sortBy, detail) => {
    expectInvalidValue(() => translateSort(sortBy === 'members' ? 'Group' : 'User', sortBy), detail);
  });

  it('rejects an unknown sortOrder', () => {
    expectInvalidValue(() => translateSort('User', 'userName', 'sideways'), /sortOrder/);
  });
});
