import { makeTestApp, userBody, type TestApp } from '../helpers/app';

const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

const search = (params: Record<string, unknown> = {}) => ({ schemas: [SEARCH], ...params });
type Resource = { id: string; schemas: string[]; userName?: string; displayName?: string; meta?: { resourceType: string } };
const kinds = (resources: Resource[]) => resources.map((r) => r.meta?.resourceType);

describe('SCIM root /.search', () => {
  let t: TestApp;
  const userIds: string[] = [];
  const groupIds: string[] = [];
  beforeAll(async () => {
    t = await makeTestApp();
    for (let i = 0; i < 5; i++) {
      const { body } = await t.scim.post('/Users', userBody(`user${i}@example.com`, { displayName: i === 0 ? 'Engineering' : `User ${i}` })).expect(201);
      userIds.push(body.id);
    }
    for (const name of ['Engineering', 'Sales', 'Support']) {
      const { body } = await t.scim.post('/Groups', { schemas: [GROUP], displayName: name, members: [{ value: userIds[0] }] }).expect(201);
      groupIds.push(body.id);
    }
  });

  test('without a filter: Users then Groups, with the combined true total', async () => {
    const res = await t.scim.post('/.search', search()).expect(200);
    expect(res.headers['content-type']).toContain('application/scim+json');
    expect(res.body).toMatchObject({ schemas: [LIST], totalResults: 8, startIndex: 1, itemsPerPage: 8 });
    expect(kinds(res.body.Resources)).toEqual(['User', 'User', 'User', 'User', 'User', 'Group', 'Group', 'Group']);
    expect(res.body.Resources.map((r: Resource) => r.id).sort()).toEqual([...userIds, ...groupIds].sort());
  });

  test('paging windows span the Users/Groups boundary without gaps or overlap', async () => {
    const seen: string[] = [];
    for (const startIndex of [1, 4, 7]) {
      const res = await t.scim.post('/.search', search({ startIndex, count: 3 })).expect(200);
      expect(res.body).toMatchObject({ totalResults: 8, startIndex });
      seen.push(...res.body.Resources.map((r: Resource) => r.id));
      if (startIndex === 4) expect(kinds(res.body.Resources)).toEqual(['User', 'User', 'Group']);
      if (startIndex === 7) expect(res.body.itemsPerPage).toBe(2);
    }
    expect(seen).toHaveLength(8);
    expect(new Set(seen).size).toBe(8);
    const groupsOnly = await t.scim.post('/.search', search({ startIndex: 6, count: 10 })).expect(200);
    expect(kinds(groupsOnly.body.Resources)).toEqual(['Group', 'Group', 'Group']);
    const beyond = await t.scim.post('/.search', search({ startIndex: 20 })).expect(200);
    expect(beyond.body).toMatchObject({ totalResults: 8, itemsPerPage: 0, Resources: [] });
    const countOnly = await t.scim.post('/.search', search({ count: 0 })).expect(200);
    expect(countOnly.body).toMatchObject({ totalResults: 8, itemsPerPage: 0, Resources: [] });
  });

  test('a filter on displayName matches both Users and Groups', async () => {
    const res = await t.scim.post('/.search', search({ filter: 'displayName eq "Engineering"' })).expect(200);
    expect(res.body.totalResults).toBe(2);
    expect(res.body.Resources.map((r: Resource) => [r.meta?.resourceType, r.id])).toEqual([
      ['User', userIds[0]],
      ['Group', groupIds[0]],
    ]);
  });

  test('an attribute only one type has restricts the search to that type', async () => {
    const users = await t.scim.post('/.search', search({ filter: 'userName sw "user"' })).expect(200);
    expect(users.body.totalResults).toBe(5);
    expect(new Set(kinds(users.body.Resources))).toEqual(new Set(['User']));
    // `or` with a Group-only attribute does not widen it: a type lacking an attribute of the filter matches nothing.
    const mixed = await t.scim.post('/.search', search({ filter: 'userName eq "user1@example.com" or displayName eq "Sales"' })).expect(200);
    expect(mixed.body.totalResults).toBe(1);
    expect(mixed.body.Resources[0].userName).toBe('user1@example.com');
  });

  test('meta.resourceType and schemas restrict a search to a type (RFC 7644 §3.4.2.2, §3.4.3)', async () => {
    const found = async (filter: string) => kinds((await t.scim.post('/.search', search({ filter })).expect(200)).body.Resources);
    expect(await found('meta.resourceType eq "User"')).toEqual(['User', 'User', 'User', 'User', 'User']);
    expect(await found('meta.resourceType eq Group')).toEqual(['Group', 'Group', 'Group']);
    expect(await found('meta.resourceType ne "user" and displayName sw "eng"')).toEqual(['Group']);
    expect(await found('(meta.resourceType eq "User" and displayName eq "Engineering") or meta.resourceType eq "Group"')).toEqual(['User', 'Group', 'Group', 'Group']);
    expect(await found(`schemas eq "${GROUP}"`)).toEqual(['Group', 'Group', 'Group']);
    expect(await found('meta.resourceType eq "Schema"')).toEqual([]);
  });

  test('an attribute neither type has is 400 invalidFilter; a malformed filter too', async () => {
    for (const filter of ['favouriteColour eq "red"', 'displayName eq', 'userName eq "a" and shoeSize gt 3']) {
      const res = await t.scim.post('/.search', search({ filter }));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidFilter' });
    }
  });

  test('sortBy, attributes and excludedAttributes apply to each type', async () => {
    const sorted = await t.scim.post('/.search', search({ sortBy: 'displayName', sortOrder: 'descending' })).expect(200);
    const names = sorted.body.Resources.map((r: Resource) => r.displayName);
    expect(names).toEqual(['User 4', 'User 3', 'User 2', 'User 1', 'Engineering', 'Support', 'Sales', 'Engineering']);
    const onlyUsersSort = await t.scim.post('/.search', search({ sortBy: 'userName', sortOrder: 'descending' })).expect(200);
    expect(onlyUsersSort.body.Resources[0].userName).toBe('user4@example.com');
    expect(onlyUsersSort.body.totalResults).toBe(8);
    const badSort = await t.scim.post('/.search', search({ sortBy: 'shoeSize' }));
    expect(badSort.status).toBe(400);
    const picked = await t.scim.post('/.search', search({ attributes: ['displayName'] })).expect(200);
    for (const r of picked.body.Resources) expect(Object.keys(r).sort()).toEqual(['displayName', 'id', 'schemas']);
    const without = await t.scim.post('/.search', search({ excludedAttributes: 'members,groups,emails' })).expect(200);
    for (const r of without.body.Resources) {
      expect(r.members).toBeUndefined();
      expect(r.groups).toBeUndefined();
      expect(r.emails).toBeUndefined();
    }
  });

  test('a body without the SearchRequest schema is 400 invalidSyntax, here and on /Users/.search and /Groups/.search', async () => {
    for (const path of ['/.search', '/Users/.search', '/Groups/.search']) {
      const res = await t.scim.post(path, { filter: 'displayName eq "Engineering"' });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidSyntax' });
      await t.scim.post(path, search({ filter: 'displayName eq "Engineering"' })).expect(200);
    }
    const get = await t.scim.get('/.search');
    expect(get.status).toBe(405);
  });

  test('startIndex and count must be integers: true, [3], an object, blank and hex are 400 invalidValue', async () => {
    for (const count of [true, [3], { n: 3 }]) {
      const res = await t.scim.post('/Users/.search', search({ count }));
      expect(res.status).toBe(400);
      expect(res.body.scimType).toBe('invalidValue');
    }
    for (const query of [{ count: ' ' }, { count: '0x2' }, { startIndex: '1e1' }, { count: '2.5' }]) {
      const res = await t.scim.get('/Users').query(query);
      expect(res.status).toBe(400);
      expect(res.body.scimType).toBe('invalidValue');
    }
    expect((await t.scim.get('/Users').query({ count: '2', startIndex: '-1' }).expect(200)).body.itemsPerPage).toBe(2);
    expect((await t.scim.post('/Users/.search', search({ count: 2 })).expect(200)).body.itemsPerPage).toBe(2);
  });

  test('the search is scoped to the caller’s organization', async () => {
    const { ensureOrganization } = await import('../../src/services/organizations');
    const { storeToken } = await import('../../src/auth/tokens');
    const { scimClient } = await import('../helpers/app');
    const other = await ensureOrganization(t.store, { ...t.config.bootstrap.org, name: 'search-other' });
    await storeToken(t.store, 'search-other-token-0123456789abcd', { orgId: other._id, kind: 'scim', connectionId: `${other._id}:c` });
    const res = await scimClient(t.app, 'search-other-token-0123456789abcd').post('/.search', search()).expect(200);
    expect(res.body).toMatchObject({ totalResults: 0, Resources: [] });
  });
});
