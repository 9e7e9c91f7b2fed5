/**
 * PATCH details of RFC 7644 §3.5.2 and RFC 7643 that the IdPs' everyday shapes do not reach: attribute names in any
 * letter case, value filters on case-insensitive attributes, partial replacement of complex attributes, values the
 * schema refuses.
 */
import { makeTestApp, patchBody, userBody, type TestApp } from '../helpers/app';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

describe('PATCH /Users details', () => {
  let t: TestApp;
  let id: string;
  beforeEach(async () => {
    t = await makeTestApp();
    const body = userBody('ada@example.com', {
      title: 'Engineer',
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      emails: [
        { value: 'ada@example.com', type: 'work', primary: true },
        { value: 'Ada@Home.test', type: 'home' },
      ],
    });
    id = (await t.scim.post('/Users', body).expect(201)).body.id;
  });
  /** The user as stored (`meta.location` names the test server's port, which changes between requests). */
  const user = async () => {
    const { meta, ...rest } = (await t.scim.get(`/Users/${id}`).expect(200)).body;
    return { ...rest, version: meta.version, lastModified: meta.lastModified };
  };

  test('an error names the operation as the request sent it (its op and place), whatever the server rewrote', async () => {
    const res = await t.scim.patch(`/Users/${id}`, patchBody({ op: 'Replace', path: 'title', value: 'T' }, { op: 'Replace', path: 'displayName', value: 42 }));
    expect(res.status).toBe(400);
    expect(res.body.detail).toContain("for 'replace' op of operation 2");
    const group = (await t.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'G' }).expect(201)).body;
    const bad = await t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'add', path: 'members', value: [] }, { op: 'replace', path: 'displayName', value: 42 }));
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toContain('operation 2');
  });

  test('a value the schema refuses in a filtered path is 400 invalidValue, never 500, and nothing changes', async () => {
    const before = await user();
    for (const path of ['emails[type eq "personal"].value', 'phoneNumbers[type eq "satellite"].value', 'addresses[type eq "office"].locality']) {
      const res = await t.scim.patch(`/Users/${id}`, patchBody({ op: 'replace', path, value: 'x@example.com' }));
      expect(res.status).toBe(400);
      expect(res.body.scimType).toBe('invalidValue');
    }
    expect(await user()).toEqual(before);
  });

  test('attribute names in paths, filters and pathless values are matched in any letter case (RFC 7643 §2.1)', async () => {
    const patch = (...operations: object[]) => t.scim.patch(`/Users/${id}`, patchBody(...operations)).expect(200);
    await patch({ op: 'replace', path: 'TITLE', value: 'Manager' }, { op: 'replace', path: 'name.GivenName', value: 'Augusta' });
    await patch({ op: 'replace', path: 'Emails[Type eq "home"].Value', value: 'augusta@home.test' });
    await patch({ op: 'replace', value: { NickName: 'Gus', NAME: { FamilyName: 'King' } } });
    const after = await user();
    expect(after).toMatchObject({ title: 'Manager', nickName: 'Gus', name: { givenName: 'Augusta', familyName: 'King' } });
    expect(after.emails).toEqual([
      { value: 'ada@example.com', type: 'work', primary: true },
      { value: 'augusta@home.test', type: 'home' },
    ]);
  });

  test('a replace through a value filter that matches nothing is 400 noTarget and changes nothing (RFC 7644 §3.5.2.3)', async () => {
    const before = await user();
    const res = await t.scim.patch(
      `/Users/${id}`,
      patchBody({ op: 'replace', path: 'title', value: 'Lead' }, { op: 'replace', path: 'emails[value eq "nobody@example.com"]', value: { value: 'new@example.com', type: 'other' } }),
    );
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ scimType: 'noTarget' });
    expect(res.body.detail).toContain('operation 2');
    expect(await user()).toEqual(before); // the title of operation 1 was not kept either
    // A filter that matches replaces the values it matched with the new one.
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'emails[type eq "home"]', value: { value: 'ada@new-home.test', type: 'home' } })).expect(200);
    expect((await user()).emails).toEqual([
      { value: 'ada@example.com', type: 'work', primary: true },
      { value: 'ada@new-home.test', type: 'home' },
    ]);
  });

  test('a replace through a value filter sees the values the operations before it added', async () => {
    const res = await t.scim.patch(
      `/Users/${id}`,
      patchBody(
        { op: 'add', path: 'emails', value: [{ value: 'ada@other.test', type: 'other' }] },
        { op: 'replace', path: 'emails[value eq "ada@other.test"]', value: { value: 'ada@third.test', type: 'other' } },
        { op: 'replace', path: 'title', value: 'Lead' },
      ),
    );
    expect(res.status).toBe(200);
    expect(res.body.emails.map((e: { value: string }) => e.value)).toEqual(['ada@example.com', 'Ada@Home.test', 'ada@third.test']);
    expect(res.body.title).toBe('Lead');
    // An error after such a replace is numbered as the request numbered it.
    const bad = await t.scim.patch(
      `/Users/${id}`,
      patchBody(
        { op: 'replace', path: 'title', value: 'Chief' },
        { op: 'replace', path: 'emails[type eq "home"]', value: { value: 'a@h.test', type: 'home' } },
        { op: 'replace', path: 'displayName', value: 42 },
      ),
    );
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toContain("for 'replace' op of operation 3");
  });

  test('value filters compare case-insensitive sub-attributes without regard to case (emails value and type)', async () => {
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'emails[type eq "WORK"].value', value: 'ada@work.test' })).expect(200);
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'remove', path: 'emails[value eq "ADA@HOME.TEST"]' })).expect(200);
    expect((await user()).emails).toEqual([{ value: 'ada@work.test', type: 'work', primary: true }]);
  });

  test('remove with a list of values removes exactly those: a quote in a value cannot widen it, case is ignored where the schema says', async () => {
    const remove = (value: object[]) => t.scim.patch(`/Users/${id}`, patchBody({ op: 'remove', path: 'emails', value })).expect(200);
    await remove([{ value: 'zz" or type pr or value eq "yy' }]);
    expect((await user()).emails).toHaveLength(2);
    await remove([{ value: 'ADA@HOME.TEST' }]);
    expect((await user()).emails).toEqual([{ value: 'ada@example.com', type: 'work', primary: true }]);
    await remove([{ value: 'ada@example.com', type: 'home' }]);
    expect((await user()).emails).toHaveLength(1);
    await remove([{ value: 'ada@example.com', type: 'work' }]);
    expect((await user()).emails).toBeUndefined();
  });

  test('an operation on a read-only attribute (meta, the lifecycle extension) is 400 mutability, and nothing changes', async () => {
    const LIFECYCLE = 'urn:ietf:params:scim:schemas:extension:lifecycle:2.0:User';
    const before = await user();
    for (const operation of [
      { op: 'replace', path: 'meta.created', value: '2020-01-01T00:00:00Z' },
      { op: 'replace', path: `${CORE}:meta.lastModified`, value: '2020-01-01T00:00:00Z' },
      { op: 'replace', path: `${LIFECYCLE}:license`, value: 'licensed' },
      { op: 'remove', path: LIFECYCLE },
      { op: 'replace', value: { [LIFECYCLE]: { accountStatus: 'active' } } },
      { op: 'replace', value: { title: 'Boss', meta: { created: '2020-01-01T00:00:00Z' } } },
    ]) {
      const res = await t.scim.patch(`/Users/${id}`, patchBody(operation));
      expect(res.status).toBe(400);
      expect(res.body.scimType).toBe('mutability');
    }
    expect(await user()).toEqual(before);
  });

  test('a pathless replace replaces each attribute it names (RFC 7644 §3.5.2.3): a collection is replaced, not appended to', async () => {
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'replace', value: { emails: [{ value: 'babs@example.com', type: 'work', primary: true }], nickName: 'Babs', schemas: [CORE], id } })).expect(200);
    const after = await user();
    expect(after.emails).toEqual([{ value: 'babs@example.com', type: 'work', primary: true }]);
    expect(after.nickName).toBe('Babs');
    // Keys in any spelling, URN-qualified ones included.
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'add', value: { [`${CORE}:displayName`]: 'Ada L', [`${ENTERPRISE.toLowerCase()}:Department`]: 'R&D' } })).expect(200);
    expect(await user()).toMatchObject({ displayName: 'Ada L', [ENTERPRISE]: { department: 'R&D' } });
  });

  test('URN-qualified paths: core sub-attributes, extension sub-attributes, and the whole extension removed', async () => {
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'add', path: `${ENTERPRISE}:manager`, value: { value: 'm1' } }, { op: 'add', path: `${ENTERPRISE}:department`, value: 'R&D' })).expect(200);
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'replace', path: `${ENTERPRISE}:manager.value`, value: 'm2' }, { op: 'replace', path: `${CORE}:name.familyName`, value: 'Byron' })).expect(200);
    const patched = await user();
    expect(patched[ENTERPRISE]).toEqual({ department: 'R&D', manager: { value: 'm2' } });
    expect(patched.name).toEqual({ givenName: 'Ada', familyName: 'Byron' });
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'remove', path: ENTERPRISE })).expect(200);
    expect((await user())[ENTERPRISE]).toBeUndefined();
  });

  test('a value made primary takes primary from the others (RFC 7644 §3.5.2); a POST or PUT with two is 400', async () => {
    const primaries = async () => (await user()).emails.filter((e: { primary?: boolean }) => e.primary).map((e: { value: string }) => e.value);
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'emails[type eq "home"].primary', value: true })).expect(200);
    expect(await primaries()).toEqual(['Ada@Home.test']);
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'add', path: 'emails', value: [{ value: 'ada@other.test', type: 'other', primary: true }] })).expect(200);
    expect(await primaries()).toEqual(['ada@other.test']);
    // The old primary changed in the same PATCH (Entra sends several filtered operations at once) is still the old one.
    await t.scim.patch(`/Users/${id}`, patchBody(
      { op: 'Replace', path: 'emails[type eq "other"].value', value: 'ada@elsewhere.test' },
      { op: 'Replace', path: 'emails[type eq "work"].primary', value: 'True' },
    )).expect(200);
    expect(await primaries()).toEqual(['ada@example.com']);
    const two = [
      { value: 'a@example.com', primary: true },
      { value: 'b@example.com', primary: true },
    ];
    const post = await t.scim.post('/Users', userBody('two@example.com', { emails: two }));
    expect(post.status).toBe(400);
    expect(post.body.scimType).toBe('invalidValue');
    expect((await t.scim.put(`/Users/${id}`, userBody('ada@example.com', { emails: two }))).status).toBe(400);
  });

  test('adding a value that is already there changes nothing: one copy, same version (RFC 7644 §3.5.2.1)', async () => {
    const before = await user();
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'add', path: 'emails', value: [{ value: 'ada@example.com', type: 'work', primary: true }] })).expect(200);
    expect(await user()).toEqual(before);
  });

  test('replace of a complex attribute by path keeps the sub-attributes the value leaves out (RFC 7644 §3.5.2.3); a new manager replaces the old whole', async () => {
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'add', path: `${ENTERPRISE}:manager`, value: { value: 'm1', displayName: 'Grace' } })).expect(200);
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'name', value: { givenName: 'Augusta' } }, { op: 'replace', path: `${ENTERPRISE}:manager`, value: { value: 'm2' } })).expect(200);
    const after = await user();
    expect(after.name).toEqual({ givenName: 'Augusta', familyName: 'Lovelace' });
    // The manager's displayName named the old manager: a new value replaces it whole; without a value, it merges.
    expect(after[ENTERPRISE].manager).toEqual({ value: 'm2' });
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'replace', path: `${ENTERPRISE}:manager`, value: { displayName: 'Hopper' } })).expect(200);
    expect((await user())[ENTERPRISE].manager).toEqual({ value: 'm2', displayName: 'Hopper' });
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'add', path: `${ENTERPRISE}:manager`, value: '271' })).expect(200);
    expect((await user())[ENTERPRISE].manager).toEqual({ value: '271' });
  });

  test('remove of listed values: a real quote in a value is matched; replace or add with null unassigns (no 500)', async () => {
    const quoted = 'a"b@example.com';
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'add', path: 'emails', value: [{ value: quoted, type: 'other' }] })).expect(200);
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'remove', path: 'emails', value: [{ value: quoted.toUpperCase() }] })).expect(200);
    expect((await user()).emails.map((e: { value: string }) => e.value)).toEqual(['ada@example.com', 'Ada@Home.test']);
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'emails', value: null })).expect(200);
    expect((await user()).emails).toBeUndefined();
    await t.scim.patch(`/Users/${id}`, patchBody({ op: 'remove', path: ENTERPRISE })).expect(200);
  });
});

describe('nulls in collections', () => {
  test('a null among the values of a collection is no value: POST is 201 (not 500) and nothing null is stored', async () => {
    const t = await makeTestApp();
    const res = await t.scim.post('/Users', userBody('ada@example.com', { emails: [null], phoneNumbers: [null, { value: '+1 555 0100', type: 'work' }] }));
    expect(res.status).toBe(201);
    expect(res.body.emails).toBeUndefined();
    expect(res.body.phoneNumbers).toEqual([{ value: '+1 555 0100', type: 'work' }]);
  });
});

describe('the enterprise manager', () => {
  test('a manager sent with $ref is stored by its value (a stored key cannot begin with "$"): 201, not 500', async () => {
    const t = await makeTestApp();
    const manager = { value: 'm1', $ref: 'https://example.com/scim/v2/Users/m1', displayName: 'Grace' };
    const created = await t.scim.post('/Users', userBody('ada@example.com', { schemas: [CORE, ENTERPRISE], [ENTERPRISE]: { manager } }));
    expect(created.status).toBe(201);
    expect(created.body[ENTERPRISE].manager).toEqual({ value: 'm1', displayName: 'Grace' });
    const put = await t.scim.put(`/Users/${created.body.id}`, userBody('ada@example.com', { schemas: [CORE, ENTERPRISE], [ENTERPRISE]: { manager: { ...manager, value: 'm2' } } }));
    expect(put.status).toBe(200);
    expect(put.body[ENTERPRISE].manager.value).toBe('m2');
  });
});

describe('PATCH /Groups details', () => {
  test('displayName is matched in any letter case, by path and in a pathless value', async () => {
    const t = await makeTestApp();
    const { body: group } = await t.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Eng' }).expect(201);
    await t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'replace', path: 'DisplayName', value: 'Engineering' })).expect(204);
    expect((await t.scim.get(`/Groups/${group.id}`)).body.displayName).toBe('Engineering');
    await t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'replace', value: { DISPLAYNAME: 'R&D' } })).expect(204);
    expect((await t.scim.get(`/Groups/${group.id}`)).body.displayName).toBe('R&D');
    const meta = await t.scim.patch(`/Groups/${group.id}`, patchBody({ op: 'replace', path: 'meta.created', value: '2020-01-01T00:00:00Z' }));
    expect(meta.status).toBe(400);
    expect(meta.body.scimType).toBe('mutability');
  });
});
