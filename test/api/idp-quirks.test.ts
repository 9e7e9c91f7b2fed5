/**
 * IdP habits through HTTP, one test per checklist item of IDP-BEHAVIOR.md §E (named by E-number). The quirks layer
 * (`src/scim/quirks.ts`) is tested shape by shape in `test/scim/quirks.test.ts`; these prove the wiring.
 */
import request from 'supertest';
import { makeTestApp, patchBody, SCIM_TOKEN, userBody, type TestApp } from '../helpers/app';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ADSCIM_GROUP = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';

describe('IdP quirks through HTTP (IDP-BEHAVIOR.md §E)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeTestApp();
  });

  const createUser = async (userName: string, extra: Record<string, unknown> = {}) => (await t.scim.post('/Users', userBody(userName, extra)).expect(201)).body as { id: string };
  const getUser = async (id: string) => (await t.scim.get(`/Users/${id}`).expect(200)).body;

  test('E13: filter values with spaces, "+"-encoded spaces and a literal %2B', async () => {
    await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'EDU All personal' }).expect(201);
    await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'C+ developers' }).expect(201);
    const auth = { Authorization: `Bearer ${SCIM_TOKEN}` };
    const plus = await request(t.app).get('/scim/v2/Groups?excludedAttributes=members&filter=displayName+eq+%22EDU+All+personal%22').set(auth).expect(200);
    expect(plus.body.Resources.map((g: { displayName: string }) => g.displayName)).toEqual(['EDU All personal']);
    const literal = await request(t.app).get('/scim/v2/Groups?filter=displayName+eq+%22C%2B+developers%22').set(auth).expect(200);
    expect(literal.body.Resources.map((g: { displayName: string }) => g.displayName)).toEqual(['C+ developers']);
  });

  test('E11: unquoted filter values (Entra: externalId eq 0042, userName eq Test) and mixed-case attribute names', async () => {
    const user = await createUser('test@example.com', { externalId: '0042', displayName: 'BobIsAmazing' });
    for (const filter of ['externalId eq 0042', 'userName eq test@example.com', 'DisplayName eq "BobIsAmazing"', 'name.FamilyName eq Lovelace']) {
      const res = await t.scim.get('/Users').query({ filter }).expect(200);
      expect(res.body.Resources.map((u: { id: string }) => u.id)).toEqual([user.id]);
    }
  });

  test('E18: mixed-case attribute names in a POST body (UserName, Active, Emails[].Primary) are read as their attributes', async () => {
    const res = await t.scim
      .post('/Users', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        UserName: 'mixed@example.com',
        Active: 'True',
        Emails: [{ Primary: true, Type: 'work', Value: 'mixed@example.com' }],
        [ENTERPRISE]: { Department: 'bob', Manager: { Value: 'SuzzyQ' } },
      })
      .expect(201);
    expect(res.body).toMatchObject({ userName: 'mixed@example.com', active: true, emails: [{ value: 'mixed@example.com', type: 'work', primary: true }] });
    expect(res.body[ENTERPRISE]).toEqual({ department: 'bob', manager: { value: 'SuzzyQ' } });
  });

  test('E26: replacing emails[type eq "work"].value changes only the work entry', async () => {
    const user = await createUser('e26@example.com', {
      emails: [
        { value: 'e26@example.com', type: 'work', primary: true },
        { value: 'home@elsewhere.org', type: 'home' },
      ],
    });
    await t.scim.patch(`/Users/${user.id}`, patchBody({ op: 'Replace', path: 'emails[type eq "work"].value', value: 'new@example.com' })).expect(200);
    expect((await getUser(user.id)).emails).toEqual([
      { value: 'new@example.com', type: 'work', primary: true },
      { value: 'home@elsewhere.org', type: 'home' },
    ]);
  });

  test('E27: replacing emails[type eq "work"].value on a user without a work email creates the entry', async () => {
    const user = await createUser('e27@example.com', { emails: [{ value: 'home@elsewhere.org', type: 'home' }] });
    await t.scim.patch(`/Users/${user.id}`, patchBody({ op: 'Replace', path: 'emails[type eq "work"].value', value: 'new@example.com' })).expect(200);
    expect((await getUser(user.id)).emails).toEqual([
      { value: 'home@elsewhere.org', type: 'home' },
      { value: 'new@example.com', type: 'work' },
    ]);
  });

  test('E28: Add phoneNumbers[type eq "mobile"].value and addresses[type eq "work"].postalCode create the entries', async () => {
    const user = await createUser('e28@example.com');
    await t.scim
      .patch(
        `/Users/${user.id}`,
        patchBody(
          { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0100' },
          { op: 'Replace', path: 'addresses[type eq "work"].postalCode', value: '99265' },
        ),
      )
      .expect(200);
    const stored = await getUser(user.id);
    expect(stored.phoneNumbers).toEqual([{ value: '+1 555 0100', type: 'mobile' }]);
    expect(stored.addresses).toEqual([{ postalCode: '99265', type: 'work' }]);
  });

  test('E29: flag-style pathless PATCH with dotted and extension-URN keys updates all three', async () => {
    const user = await createUser('e29@example.com');
    await t.scim
      .patch(`/Users/${user.id}`, patchBody({ op: 'replace', value: { displayName: 'A', 'name.givenName': 'B', [`${ENTERPRISE}:employeeNumber`]: '7' } }))
      .expect(200);
    const stored = await getUser(user.id);
    expect(stored.displayName).toBe('A');
    expect(stored.name.givenName).toBe('B');
    expect(stored.name.familyName).toBe('Lovelace');
    expect(stored[ENTERPRISE].employeeNumber).toBe('7');
  });

  test('E30: Add manager as a bare string stores manager.value', async () => {
    const user = await createUser('e30@example.com');
    await t.scim.patch(`/Users/${user.id}`, patchBody({ op: 'Add', path: `${ENTERPRISE}:manager`, value: '271' })).expect(200);
    expect((await getUser(user.id))[ENTERPRISE].manager).toEqual({ value: '271' });
    await t.scim.patch(`/Users/${user.id}`, patchBody({ op: 'Replace', path: `${ENTERPRISE}:manager`, value: '272' })).expect(200);
    expect((await getUser(user.id))[ENTERPRISE].manager).toEqual({ value: '272' });
  });

  test('E31: Remove manager by URN path and by manager[value eq "271"] both clear it; another id leaves it', async () => {
    const withManager = { [ENTERPRISE]: { manager: { value: '271' }, department: 'R&D' } };
    const a = await createUser('e31a@example.com', withManager);
    await t.scim.patch(`/Users/${a.id}`, patchBody({ op: 'Remove', path: `${ENTERPRISE}:manager` })).expect(200);
    expect((await getUser(a.id))[ENTERPRISE]).toEqual({ department: 'R&D' });

    const b = await createUser('e31b@example.com', withManager);
    await t.scim.patch(`/Users/${b.id}`, patchBody({ op: 'Remove', path: 'manager[value eq "999"]' })).expect(200);
    expect((await getUser(b.id))[ENTERPRISE].manager).toEqual({ value: '271' });
    await t.scim.patch(`/Users/${b.id}`, patchBody({ op: 'Remove', path: 'manager[value eq "271"]' })).expect(200);
    expect((await getUser(b.id))[ENTERPRISE]).toEqual({ department: 'R&D' });
  });

  test('E33: op names Add/Replace/Remove/ADD are accepted', async () => {
    const user = await createUser('e33@example.com');
    await t.scim.patch(`/Users/${user.id}`, patchBody({ op: 'ADD', path: 'nickName', value: 'Babs' })).expect(200);
    await t.scim.patch(`/Users/${user.id}`, patchBody({ op: 'Replace', path: 'title', value: 'Eng' })).expect(200);
    await t.scim.patch(`/Users/${user.id}`, patchBody({ op: 'Remove', path: 'nickName' })).expect(200);
    const stored = await getUser(user.id);
    expect(stored.title).toBe('Eng');
    expect(stored.nickName).toBeUndefined();
  });

  test('attributes=emails[type eq "work"] (Entra reference collection) selects emails; a plain list is unchanged', async () => {
    const user = await createUser('attrs@example.com');
    const filtered = await t.scim.get('/Users').query({ attributes: 'emails[type eq "work"]' }).expect(200);
    expect(filtered.body.Resources).toEqual([{ id: user.id, schemas: expect.any(Array), emails: [{ value: 'attrs@example.com', type: 'work', primary: true }] }]);
    const plain = await t.scim.get(`/Users/${user.id}`).query({ attributes: 'userName' }).expect(200);
    expect(Object.keys(plain.body).sort()).toEqual(['id', 'schemas', 'userName']);
  });

  test('E25/E36: user PATCH answers 200 with the user by default, 204 with SCIM_USER_PATCH_RESPONSE=no-content', async () => {
    const user = await createUser('e25@example.com');
    const full = await t.scim.patch(`/Users/${user.id}`, patchBody({ op: 'Replace', path: 'name.familyName', value: 'X' })).expect(200);
    expect(full.body.name.familyName).toBe('X');

    const minimal = await makeTestApp({ SCIM_USER_PATCH_RESPONSE: 'no-content' });
    const other = (await minimal.scim.post('/Users', userBody('e25b@example.com')).expect(201)).body;
    const res = await minimal.scim.patch(`/Users/${other.id}`, patchBody({ op: 'Replace', path: 'name.familyName', value: 'X' })).expect(204);
    expect(res.headers.etag).toBe('W/"2"');
    expect((await minimal.scim.get(`/Users/${other.id}`).expect(200)).body.name.familyName).toBe('X');
    // Asking for attributes asks for the resource (RFC 7644 §3.5.2).
    const asked = await minimal.scim.patch(`/Users/${other.id}?attributes=active`, patchBody({ op: 'Replace', path: 'active', value: false })).expect(200);
    expect(asked.body.active).toBe(false);
  });

  test('E48: Entra group POST with the ADSCIM schema, externalId and meta is created', async () => {
    const res = await t.scim.post('/Groups', {
      schemas: [GROUP, ADSCIM_GROUP],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'Group1DisplayName',
      meta: { resourceType: 'Group' },
    });
    expect(res.status).toBe(201);
    expect(res.body.schemas).toEqual([GROUP]);
    expect(res.body.externalId).toBe('8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159');
  });

  describe('group members', () => {
    let group: string;
    let users: string[];
    beforeEach(async () => {
      users = [];
      for (const n of ['m1', 'm2', 'm3']) users.push((await createUser(`${n}@example.com`)).id);
      group = (await t.scim.post('/Groups', { schemas: [GROUP], displayName: 'G', members: users.map((value) => ({ value })) }).expect(201)).body.id;
    });
    const members = async () => ((await t.scim.get(`/Groups/${group}`).expect(200)).body.members ?? []).map((m: { value: string }) => m.value).sort();

    test('E51: Entra legacy Remove members with a value array removes only the listed members', async () => {
      await t.scim.patch(`/Groups/${group}`, patchBody({ op: 'Remove', path: 'members', value: [{ $ref: null, value: users[1] }] })).expect(204);
      expect(await members()).toEqual([users[0], users[2]].sort());
    });

    test('E52: members added as bare ids, in several ops of one request', async () => {
      await t.scim.patch(`/Groups/${group}`, patchBody({ op: 'Remove', path: 'members' })).expect(204);
      await t.scim.patch(`/Groups/${group}`, patchBody({ op: 'Add', path: 'members', value: users[0] }, { op: 'Add', path: 'members', value: [users[1], { $ref: null, value: users[2] }] })).expect(204);
      expect(await members()).toEqual([...users].sort());
    });

    test('E58: a bare id that is no user of the organization is still a 400 naming it, never a 500', async () => {
      const res = await t.scim.patch(`/Groups/${group}`, patchBody({ op: 'add', path: 'members', value: 'string id 1' }));
      expect(res.status).toBe(400);
      expect(res.body.detail).toContain('string id 1');
    });
  });
});
