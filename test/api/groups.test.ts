import request from 'supertest';
import { ADMIN_TOKEN, makeTestApp, patchBody, scimClient, userBody, type TestApp } from '../helpers/app';
import { adoptUnscopedGroups } from '../../src/services/group-adoption';

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const groupBody = (displayName: string, members: object[] = [], extra: object = {}) => ({ schemas: [GROUP], displayName, members, ...extra });

describe('SCIM /Groups', () => {
  let t: TestApp;
  let ids: string[];
  beforeEach(async () => {
    t = await makeTestApp();
    ids = [];
    for (const n of ['u1', 'u2', 'u3']) ids.push((await t.scim.post('/Users', userBody(`${n}@example.com`, { displayName: n.toUpperCase() }))).body.id);
  });

  const memberValues = async (groupId: string) =>
    ((await t.scim.get(`/Groups/${groupId}`).expect(200)).body.members as Array<{ value: string }>).map((m) => m.value).sort();

  test('POST creates a group with members (value, display, $ref, type) and Location; duplicate displayName is 409', async () => {
    const res = await t.scim.post('/Groups', groupBody('Engineering', [{ value: ids[0] }]));
    expect(res.status).toBe(201);
    expect(res.headers.location).toMatch(new RegExp(`/scim/v2/Groups/${res.body.id}$`));
    expect(res.body.members).toEqual([{ value: ids[0], display: 'U1', $ref: expect.stringMatching(new RegExp(`/Users/${ids[0]}$`)), type: 'User' }]);
    const dup = await t.scim.post('/Groups', groupBody('engineering'));
    expect(dup.status).toBe(409);
    expect(dup.body.scimType).toBe('uniqueness');
  });

  test('the user shows the group in its read-only groups attribute', async () => {
    const { body: group } = await t.scim.post('/Groups', groupBody('Engineering', [{ value: ids[0] }]));
    const user = await t.scim.get(`/Users/${ids[0]}`).expect(200);
    expect(user.body.groups).toEqual([{ value: group.id, display: 'Engineering', $ref: expect.stringContaining(`/Groups/${group.id}`), type: 'direct' }]);
  });

  test('filter displayName eq with excludedAttributes=members returns no members', async () => {
    await t.scim.post('/Groups', groupBody('Test SCIMv2', [{ value: ids[0] }])).expect(201);
    const res = await t.scim.get('/Groups').query({ filter: 'displayName eq "test scimv2"', excludedAttributes: 'members' }).expect(200);
    expect(res.body.totalResults).toBe(1);
    expect(res.body.Resources[0].members).toBeUndefined();
    expect(res.body.Resources[0].displayName).toBe('Test SCIMv2');
  });

  test('PATCH removes members by value filter and adds new ones in one request (Okta)', async () => {
    const { body: group } = await t.scim.post('/Groups', groupBody('G', [{ value: ids[0] }, { value: ids[1] }]));
    const res = await t.scim.patch(
      `/Groups/${group.id}`,
      patchBody({ op: 'remove', path: `members[value eq "${ids[1]}"]` }, { op: 'add', path: 'members', value: [{ value: ids[2], display: 'three' }] }),
    );
    expect(res.status).toBe(204);
    expect(await memberValues(group.id)).toEqual([ids[0], ids[2]].sort());
  });

  test('Entra remove with a value array removes only the listed members; remove without value clears all', async () => {
    const { body: group } = await t.scim.post('/Groups', groupBody('G', ids.map((value) => ({ value }))));
    await t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'Remove', path: 'members', value: [{ $ref: null, value: ids[1] }] })).expect(204);
    expect(await memberValues(group.id)).toEqual([ids[0], ids[2]].sort());
    await t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'remove', path: 'members' })).expect(204);
    expect(await memberValues(group.id)).toEqual([]);
  });

  test('adding a member twice does not duplicate it; replace sets the exact membership', async () => {
    const { body: group } = await t.scim.post('/Groups', groupBody('G', [{ value: ids[0] }]));
    await t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'add', path: 'members', value: [{ value: ids[0] }, { value: ids[0] }] })).expect(204);
    expect(await memberValues(group.id)).toEqual([ids[0]]);
    await t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'replace', path: 'members', value: [{ value: ids[1] }, { value: ids[2] }] })).expect(204);
    expect(await memberValues(group.id)).toEqual([ids[1], ids[2]].sort());
  });

  test('adding an unknown user is 400 naming the id, and changes nothing', async () => {
    const { body: group } = await t.scim.post('/Groups', groupBody('G', [{ value: ids[0] }]));
    const res = await t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'add', path: 'members', value: [{ value: ids[1] }, { value: 'ghost' }] }));
    expect(res.status).toBe(400);
    expect(res.body.detail).toContain('ghost');
    expect(await memberValues(group.id)).toEqual([ids[0]]);
  });

  test('a PATCH is atomic: when a later operation fails, the member changes before it are not stored (RFC 7644 §3.5.2)', async () => {
    const { body: group } = await t.scim.post('/Groups', groupBody('G', [{ value: ids[0] }]));
    const etag = (await t.scim.get(`/Groups/${group.id}`)).headers.etag;
    const added = await t.scim.patch(
      `/Groups/${group.id}`,
      patchBody({ op: 'add', path: 'members', value: [{ value: ids[1] }] }, { op: 'add', path: 'members', value: [{ value: 'ghost' }] }),
    );
    expect(added.status).toBe(400);
    const cleared = await t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'remove', path: 'members' }, { op: 'replace', path: 'bogus', value: 'x' }));
    expect(cleared.status).toBe(400);
    const renamedAway = await t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'remove', path: 'members' }, { op: 'remove', path: 'displayName' }));
    expect(renamedAway.status).toBe(400);
    expect(await memberValues(group.id)).toEqual([ids[0]]);
    expect((await t.scim.get(`/Users/${ids[1]}`)).body.groups).toEqual([]);
    expect((await t.scim.get(`/Groups/${group.id}`)).headers.etag).toBe(etag);
  });

  test('a PUT naming an unknown member is refused before anything is written', async () => {
    const { body: group } = await t.scim.post('/Groups', groupBody('G', [{ value: ids[0] }]));
    const res = await t.scim.put(`/Groups/${group.id}`, groupBody('Renamed', [{ value: ids[1] }, { value: 'ghost' }]));
    expect(res.status).toBe(400);
    const after = (await t.scim.get(`/Groups/${group.id}`)).body;
    expect(after.displayName).toBe('G');
    expect(after.members.map((m: { value: string }) => m.value)).toEqual([ids[0]]);
  });

  test('a user deleted through SCIM, or provisioned through another connection, cannot become a member (400)', async () => {
    const { body: group } = await t.scim.post('/Groups', groupBody('G'));
    await t.scim.delete(`/Users/${ids[2]}`).expect(204);
    const readd = await t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'add', path: 'members', value: [{ value: ids[2] }] }));
    expect(readd.status).toBe(400);
    expect(readd.body.detail).toContain(ids[2]);
    expect((await t.scim.post('/Groups', groupBody('H', [{ value: ids[2] }]))).status).toBe(400);
    const connection = await request(t.app).post('/admin/api/connections').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ label: 'second IdP' }).expect(201);
    const other = scimClient(t.app, connection.body.token);
    const stranger = (await other.post('/Users', userBody('stranger@example.com')).expect(201)).body.id;
    expect((await t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'add', path: 'members', value: [{ value: stranger }] }))).status).toBe(400);
    expect(await memberValues(group.id)).toEqual([]);
  });

  test('rename by pathless PATCH with the same id, and by path; members keep the new group name', async () => {
    const { body: group } = await t.scim.post('/Groups', groupBody('Old', [{ value: ids[0] }]));
    await t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'replace', value: { id: group.id, displayName: 'New' } })).expect(204);
    expect((await t.scim.get(`/Groups/${group.id}`)).body.displayName).toBe('New');
    await t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'Replace', path: 'displayName', value: 'Newer' })).expect(204);
    expect((await t.scim.get(`/Users/${ids[0]}`)).body.groups[0].display).toBe('Newer');
  });

  test('PUT with a full member list twice is idempotent and bumps the version only when something changed', async () => {
    const { body: group } = await t.scim.post('/Groups', groupBody('G', [{ value: ids[0] }]));
    const body = groupBody('G', [{ value: ids[1] }, { value: ids[2] }]);
    const first = await t.scim.put(`/Groups/${group.id}`, body).expect(200);
    const second = await t.scim.put(`/Groups/${group.id}`, body).expect(200);
    expect(first.body.members.map((m: { value: string }) => m.value).sort()).toEqual([ids[1], ids[2]].sort());
    expect(second.body.members).toHaveLength(2);
    expect(first.headers.etag).not.toBe(group.meta.version);
    expect(second.headers.etag).toBe(first.headers.etag);
  });

  test('concurrent PATCHes adding different members all land', async () => {
    const { body: group } = await t.scim.post('/Groups', groupBody('G'));
    await Promise.all(ids.map((value) => t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'add', path: 'members', value: [{ value }] }))));
    expect(await memberValues(group.id)).toEqual([...ids].sort());
  });

  test('a group whose member is deleted (a user or a nested group) gets a new version: a stale ETag no longer matches', async () => {
    const { body: inner } = await t.scim.post('/Groups', groupBody('Inner')).expect(201);
    const { body: outer } = await t.scim.post('/Groups', groupBody('Outer', [{ value: ids[0] }, { value: inner.id }])).expect(201);
    const before = (await t.scim.get(`/Groups/${outer.id}`)).headers.etag;
    await t.scim.delete(`/Users/${ids[0]}`).expect(204);
    const afterUser = await t.scim.get(`/Groups/${outer.id}`).set('If-None-Match', before).expect(200);
    expect(afterUser.body.members.map((m: { value: string }) => m.value)).toEqual([inner.id]);
    await t.scim.delete(`/Groups/${inner.id}`).expect(204);
    const afterGroup = await t.scim.get(`/Groups/${outer.id}`).set('If-None-Match', afterUser.headers.etag).expect(200);
    expect(afterGroup.body.members).toEqual([]);
    expect((await t.scim.put(`/Groups/${outer.id}`, groupBody('Outer')).set('If-Match', before)).status).toBe(412);
  });

  test('PATCH and DELETE with a stale If-Match are 412 and change nothing; with the current ETag they apply', async () => {
    const { body: group, headers } = await t.scim.post('/Groups', groupBody('G', [{ value: ids[0] }])).expect(201);
    await t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'add', path: 'members', value: [{ value: ids[1] }] })).expect(204);
    const stale = headers.etag;
    const rename = patchBody({ op: 'replace', path: 'displayName', value: 'Renamed' });
    expect((await t.scim.patch(`/Groups/${group.id}`, rename).set('If-Match', stale)).status).toBe(412);
    expect((await t.scim.delete(`/Groups/${group.id}`).set('If-Match', stale)).status).toBe(412);
    const current = await t.scim.get(`/Groups/${group.id}`).expect(200);
    expect(current.body.displayName).toBe('G');
    await t.scim.patch(`/Groups/${group.id}`, rename).set('If-Match', `${stale}, ${current.headers.etag}`).expect(204);
    expect((await t.scim.get(`/Groups/${group.id}`)).body.displayName).toBe('Renamed');
    expect((await t.scim.patch(`/Groups/no-such-group`, rename).set('If-Match', stale)).status).toBe(404);
    await t.scim.delete(`/Groups/${group.id}`).set('If-Match', (await t.scim.get(`/Groups/${group.id}`)).headers.etag).expect(204);
  });

  test('a member renamed is shown by its new name, and the group gets a new version (display is the server’s, RFC 7643 §2.4)', async () => {
    const { body: group } = await t.scim.post('/Groups', groupBody('G', [{ value: ids[0] }, { value: ids[1] }])).expect(201);
    const before = (await t.scim.get(`/Groups/${group.id}`)).headers.etag;
    await t.scim.patch(`/Users/${ids[0]}`, patchBody({ op: 'replace', path: 'displayName', value: 'Augusta' })).expect(200);
    const after = await t.scim.get(`/Groups/${group.id}`).set('If-None-Match', before).expect(200);
    const display = Object.fromEntries(after.body.members.map((m: { value: string; display: string }) => [m.value, m.display]));
    expect(display).toEqual({ [ids[0]]: 'Augusta', [ids[1]]: 'U2' });
  });

  test('DELETE is 204, then 404; the user no longer lists the group', async () => {
    const { body: group } = await t.scim.post('/Groups', groupBody('G', [{ value: ids[0] }]));
    await t.scim.delete(`/Groups/${group.id}`).expect(204);
    await t.scim.get(`/Groups/${group.id}`).expect(404);
    await t.scim.delete(`/Groups/${group.id}`).expect(404);
    expect((await t.scim.get(`/Users/${ids[0]}`)).body.groups).toEqual([]);
  });
});

describe('groups belong to the directory connection that provisioned them', () => {
  test('another connection of the organization neither sees nor changes them, and may use the same names', async () => {
    const t = await makeTestApp();
    const alice = (await t.scim.post('/Users', userBody('alice@example.com')).expect(201)).body.id;
    const { body: group } = await t.scim.post('/Groups', groupBody('Admins', [{ value: alice }])).expect(201);
    const connection = await request(t.app).post('/admin/api/connections').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ label: 'second IdP' }).expect(201);
    const other = scimClient(t.app, connection.body.token);
    expect((await other.get('/Groups').expect(200)).body.totalResults).toBe(0);
    expect((await other.get('/Groups').query({ filter: 'displayName eq "Admins"' }).expect(200)).body.totalResults).toBe(0);
    await other.get(`/Groups/${group.id}`).expect(404);
    await other.patch(`/Groups/${group.id}`, patchBody({ op: 'remove', path: 'members' })).expect(404);
    await other.put(`/Groups/${group.id}`, groupBody('Admins')).expect(404);
    await other.delete(`/Groups/${group.id}`).expect(404);
    const search = await request(t.app).post('/scim/v2/.search').set('Authorization', `Bearer ${connection.body.token}`).send({ schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'] });
    expect(search.body.totalResults).toBe(0);
    // Its own group of the same name, which cannot take the first connection's group as a member either.
    const { body: own } = await other.post('/Groups', groupBody('Admins')).expect(201);
    expect((await other.post('/Groups', groupBody('Outer', [{ value: group.id }]))).status).toBe(400);
    await other.post('/Groups', groupBody('ADMINS')).expect(409);
    expect((await t.scim.get(`/Groups/${group.id}`).expect(200)).body.members.map((m: { value: string }) => m.value)).toEqual([alice]);
    expect(own.id).not.toBe(group.id);
  });

  test('groups stored before connections owned groups go, at start-up, to the connection of their members', async () => {
    const t = await makeTestApp();
    const connection = await request(t.app).post('/admin/api/connections').set('Authorization', `Bearer ${ADMIN_TOKEN}`).send({ label: 'second IdP' }).expect(201);
    const other = scimClient(t.app, connection.body.token);
    const alice = (await t.scim.post('/Users', userBody('alice@example.com')).expect(201)).body.id;
    const bob = (await other.post('/Users', userBody('bob@example.com')).expect(201)).body.id;
    await t.scim.post('/Groups', groupBody('Taken')).expect(201);
    const now = new Date();
    const legacy = async (_id: string, displayName: string, members: string[]) => {
      await t.store.groups.insertOne({ _id, orgId: t.org._id, version: 1, created: now, lastModified: now, displayName, displayNameKey: displayName.toLowerCase() } as never);
      for (const value of members) await t.store.memberships.insertOne({ _id: `${_id}:${value}`, orgId: t.org._id, groupId: _id, value, type: 'User', groupDisplay: displayName, added: now });
    };
    await legacy('sales', 'Sales', [bob]);
    await legacy('mixed', 'Mixed', [alice, bob]);
    await legacy('empty', 'Empty', []);
    await legacy('clash', 'Taken', [alice]);
    await other.get('/Groups/sales').expect(404);
    const ctx = { orgId: t.org._id, actor: { kind: 'policy' as const, id: 'startup' }, now };
    const adoption = await adoptUnscopedGroups(t.store, ctx, t.org);
    expect(adoption).toEqual({ adopted: 3, left: ['clash'], droppedMemberships: 1 });
    // Bob's group goes to his connection, which sees it with him; the bootstrap connection does not.
    expect((await other.get('/Groups/sales').expect(200)).body.members.map((m: { value: string }) => m.value)).toEqual([bob]);
    await t.scim.get('/Groups/sales').expect(404);
    // A group of both goes where most of its members are (a tie: the first); the other connection's user leaves it.
    const mixed = await t.scim.get('/Groups/mixed').expect(200);
    expect(mixed.body.members.map((m: { value: string }) => m.value)).toEqual([alice]);
    // No members: the bootstrap connection among several. A name already taken there: left, reported.
    await t.scim.get('/Groups/empty').expect(200);
    await t.scim.get('/Groups/clash').expect(404);
    expect((await adoptUnscopedGroups(t.store, ctx, t.org)).left).toEqual(['clash']);
  });
});

describe('SCIM_UNKNOWN_MEMBERS=ignore', () => {
  test('unknown member ids are skipped and the known ones land', async () => {
    const t = await makeTestApp({ SCIM_UNKNOWN_MEMBERS: 'ignore' });
    const { body: user } = await t.scim.post('/Users', userBody('u1@example.com')).expect(201);
    const { body: group } = await t.scim.post('/Groups', groupBody('G', [{ value: 'ghost-1' }])).expect(201);
    await t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'add', path: 'members', value: [{ value: user.id }, { value: 'ghost-2' }] })).expect(204);
    const members = (await t.scim.get(`/Groups/${group.id}`).expect(200)).body.members as Array<{ value: string }>;
    expect(members.map((m) => m.value)).toEqual([user.id]);
  });
});

describe('large groups (E67)', () => {
  test('a full PUT of a 12,000-member group (a body over 1 MB) is accepted and stored exactly', async () => {
    const t = await makeTestApp();
    const now = new Date();
    const ids = Array.from({ length: 12_000 }, (_, i) => `big-${String(i).padStart(5, '0')}`);
    await t.store.users.insertMany(
      ids.map((id, i) => ({
        _id: id,
        orgId: t.org._id,
        version: 1,
        created: now,
        lastModified: now,
        connectionId: `${t.org._id}:bootstrap`,
        userNameKey: `big${i}@example.com`,
        emailKeys: [`big${i}@example.com`],
        scim: { userName: `big${i}@example.com`, active: true },
        lifecycle: { managed: true, accountStatus: 'active' as const, siteAccess: 'active' as const, license: 'free' as const },
      })),
    );
    const { body: group } = await t.scim.post('/Groups', groupBody('Everyone')).expect(201);
    const body = groupBody('Everyone', ids.map((value, i) => ({ value, display: `Member number ${i} of the whole company`, type: 'User' })));
    expect(JSON.stringify(body).length).toBeGreaterThan(1024 * 1024);
    await t.scim.put(`/Groups/${group.id}`, body).expect(200);
    expect(await t.store.memberships.count({ groupId: group.id })).toBe(12_000);
    const page = await t.scim.get(`/Groups/${group.id}`).query({ excludedAttributes: 'members' }).expect(200);
    expect(page.body.members).toBeUndefined();
  }, 60_000);
});
