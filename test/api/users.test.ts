import request from 'supertest';
import { makeTestApp, patchBody, userBody, SCIM_CONTENT_TYPE, SCIM_TOKEN, type TestApp } from '../helpers/app';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const LIFECYCLE = 'urn:ietf:params:scim:schemas:extension:lifecycle:2.0:User';

describe('SCIM /Users', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeTestApp();
  });

  test('POST creates a user: 201, Location, full meta, ETag, and a password is never returned', async () => {
    const res = await t.scim.post('/Users', userBody('ada@example.com', { password: 'S3cret!', externalId: 'ext-1' }));
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toContain(SCIM_CONTENT_TYPE);
    expect(res.headers.location).toMatch(new RegExp(`/scim/v2/Users/${res.body.id}$`));
    expect(res.body.meta).toMatchObject({ resourceType: 'User', location: res.headers.location, version: 'W/"1"' });
    expect(Date.parse(res.body.meta.created)).not.toBeNaN();
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.body.password).toBeUndefined();
    expect(res.body.externalId).toBe('ext-1');
    expect(res.body[LIFECYCLE]).toMatchObject({ managed: true, accountStatus: 'active' });
    const stored = await t.store.users.findOne({ _id: res.body.id });
    expect(JSON.stringify(stored)).not.toContain('S3cret!');
  });

  test('behind a reverse proxy on the same host, Location and meta.location carry the protocol and host it forwards', async () => {
    const behindProxy = (n: number, proto?: string) => {
      const post = t.scim.post('/Users', userBody(`proxied${n}@example.com`)).set('Host', 'scim.example.org');
      return proto ? post.set('X-Forwarded-Proto', proto) : post;
    };
    const cases = [['https', 'https'], [undefined, 'http'], ['https', 'https']] as const;
    for (const [n, [proto, expected]] of cases.entries()) {
      const res = await behindProxy(n, proto).expect(201);
      expect(res.headers.location).toBe(`${expected}://scim.example.org/scim/v2/Users/${res.body.id}`);
      expect(res.body.meta.location).toBe(res.headers.location);
    }
  });

  test('schemas and meta.resourceType filter as the representation reads: the enterprise URN only where it is listed', async () => {
    const withEnterprise = (await t.scim.post('/Users', userBody('ent@example.com', { schemas: [CORE_USER, ENTERPRISE], [ENTERPRISE]: { department: 'R&D' } })).expect(201)).body;
    const plain = (await t.scim.post('/Users', userBody('plain@example.com')).expect(201)).body;
    expect(withEnterprise.schemas).toContain(ENTERPRISE);
    expect(plain.schemas).not.toContain(ENTERPRISE);
    const found = async (filter: string) =>
      (await t.scim.get(`/Users?filter=${encodeURIComponent(filter)}`).expect(200)).body.Resources.map((r: { id: string }) => r.id).sort();
    const both = [withEnterprise.id, plain.id].sort();
    // RFC 7644 §3.4.2.2's own example.
    expect(await found(`schemas eq "${ENTERPRISE}"`)).toEqual([withEnterprise.id]);
    expect(await found(`schemas eq "${ENTERPRISE.toUpperCase()}"`)).toEqual([withEnterprise.id]);
    expect(await found(`not (schemas eq "${ENTERPRISE}")`)).toEqual([plain.id]);
    expect(await found(`schemas eq "${CORE_USER}" and schemas eq "${LIFECYCLE}"`)).toEqual(both);
    expect(await found('schemas co "enterprise" or userName eq "plain@example.com"')).toEqual(both);
    expect(await found('schemas ew ":Group"')).toEqual([]);
    expect(await found('schemas pr')).toEqual(both);
    expect(await found('schemas eq null')).toEqual([]);
    expect(await found('schemas ne null')).toEqual(both);
    expect(await found('meta.resourceType eq "User"')).toEqual(both);
    expect(await found('meta[resourceType eq "user"]')).toEqual(both);
    expect(await found('meta.resourceType eq "Group"')).toEqual([]);
    // A PATCH that removes the extension's data removes the URN from the representation and from the matches.
    const removed = await t.scim.patch(`/Users/${withEnterprise.id}`, patchBody({ op: 'remove', path: `${ENTERPRISE}:department` })).expect(200);
    expect(removed.body.schemas).not.toContain(ENTERPRISE);
    expect(await found(`schemas eq "${ENTERPRISE}"`)).toEqual([]);
    for (const sortBy of ['schemas', 'meta.resourceType']) {
      const res = await t.scim.get(`/Users?sortBy=${sortBy}`).expect(400);
      expect(res.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    }
    const res = await t.scim.get(`/Users?filter=${encodeURIComponent('schemas gt null')}`).expect(400);
    expect(res.body).toMatchObject({ scimType: 'invalidFilter' });
  });

  test('a second POST with the same userName in any case is 409 uniqueness', async () => {
    await t.scim.post('/Users', userBody('ada@example.com')).expect(201);
    const res = await t.scim.post('/Users', userBody('ADA@Example.com'));
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '409',
      scimType: 'uniqueness',
      detail: expect.stringContaining('ADA@Example.com'),
    });
  });

  test('POST without userName is 400 invalidValue; non-JSON is 400 invalidSyntax', async () => {
    const missing = await t.scim.post('/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], name: { givenName: 'x' } });
    expect(missing.status).toBe(400);
    expect(missing.body.scimType).toBe('invalidValue');
    const malformed = await t.scim.post('/Users').send('{"userName": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ status: '400', scimType: 'invalidSyntax' });
  });

  test('GET by id returns the user; unknown id is 404 with a SCIM error', async () => {
    const { body: created } = await t.scim.post('/Users', userBody('ada@example.com'));
    const res = await t.scim.get(`/Users/${created.id}`).expect(200);
    expect(res.body).toMatchObject({ id: created.id, userName: 'ada@example.com', groups: [] });
    const missing = await t.scim.get('/Users/does-not-exist');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ status: '404', detail: expect.stringContaining('does-not-exist') });
  });

  test('responses carry their exact byte length and charset; HEAD answers the same headers without a body', async () => {
    const { body: created } = await t.scim.post('/Users', userBody('zoë@example.com', { name: { givenName: 'Zoë' } }));
    const get = await t.scim.get(`/Users/${created.id}`).expect(200);
    expect(get.headers['content-type']).toBe('application/scim+json; charset=utf-8');
    expect(Number(get.headers['content-length'])).toBe(Buffer.byteLength(JSON.stringify(get.body)));
    const head = await request(t.app).head(`/scim/v2/Users/${created.id}`).set('Authorization', `Bearer ${SCIM_TOKEN}`).expect(200);
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.headers.etag).toBe(get.headers.etag);
    expect(head.text ?? '').toBe('');
    const list = await t.scim.get('/Users?filter=userName%20eq%20%22zo%C3%AB@example.com%22').expect(200);
    expect(list.body.totalResults).toBe(1);
    expect(Number(list.headers['content-length'])).toBe(Buffer.byteLength(JSON.stringify(list.body)));
  });

  test('query parameters are flat: bracketed names are not nested into objects, a repeated one is 400', async () => {
    await t.scim.post('/Users', userBody('ada@example.com'));
    const bracketed = await t.scim.get('/Users?filter[userName]=x&attributes[0]=userName').expect(200);
    expect(bracketed.body.totalResults).toBe(1);
    const repeated = await t.scim.get('/Users?filter=userName%20eq%20%22a%22&filter=userName%20eq%20%22b%22');
    expect(repeated.status).toBe(400);
    expect(repeated.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
  });

  test('If-None-Match with the current ETag answers 304; a stale one gets the resource', async () => {
    const { body: created } = await t.scim.post('/Users', userBody('ada@example.com'));
    await t.scim.get(`/Users/${created.id}`).set('If-None-Match', 'W/"1"').expect(304);
    await t.scim.get(`/Users/${created.id}`).set('If-None-Match', 'W/"0"').expect(200);
  });

  test('filter userName eq is case-insensitive and finds deactivated users too', async () => {
    const { body: created } = await t.scim.post('/Users', userBody('Test.User@example.com'));
    await t.scim.patch(`/Users/${created.id}`, patchBody({ op: 'replace', path: 'active', value: false })).expect(200);
    const res = await t.scim.get('/Users').query({ filter: 'userName eq "TEST.USER@EXAMPLE.COM"' }).expect(200);
    expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 1, startIndex: 1, itemsPerPage: 1 });
    expect(res.body.Resources[0]).toMatchObject({ id: created.id, active: false });
  });

  test('an accented userName is found however its accent is encoded (the IdP looks it up before creating it)', async () => {
    const decomposed = 'jose\u0301@example.com';
    const { body: created } = await t.scim.post('/Users', userBody(decomposed)).expect(201);
    for (const written of [decomposed, 'jos\u00e9@example.com', 'JOSE\u0301@EXAMPLE.COM']) {
      for (const filter of [`userName eq "${written}"`, `emails.value eq "${written}"`, `userName sw "${written.slice(0, 5)}"`]) {
        const res = await t.scim.get('/Users').query({ filter }).expect(200);
        expect(res.body.Resources.map((u: { id: string }) => u.id)).toEqual([created.id]);
      }
    }
    const group = await t.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Cafe\u0301 team' }).expect(201);
    const groups = await t.scim.get('/Groups').query({ filter: 'displayName eq "Cafe\u0301 team"' }).expect(200);
    expect(groups.body.Resources.map((g: { id: string }) => g.id)).toEqual([group.body.id]);
  });

  test('a date that is not on the calendar is 400 invalidFilter, not read as a later day', async () => {
    const res = await t.scim.get('/Users').query({ filter: 'meta.created lt "2027-02-31"' });
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidFilter');
    await t.scim.get('/Users').query({ filter: 'meta.created lt "2028-02-29"' }).expect(200);
  });

  test('a filter that matches nothing is 200 with totalResults 0; an unknown attribute is 400 invalidFilter', async () => {
    const none = await t.scim.get('/Users').query({ filter: 'userName eq "nobody@example.com"' }).expect(200);
    expect(none.body).toMatchObject({ totalResults: 0, Resources: [] });
    const bad = await t.scim.get('/Users').query({ filter: 'favouriteColour eq "red"' });
    expect(bad.status).toBe(400);
    expect(bad.body.scimType).toBe('invalidFilter');
    const garbage = await t.scim.get('/Users').query({ filter: 'RUNSCOPEUSER@EXAMPLE.COM' });
    expect(garbage.status).toBe(400);
    expect(garbage.body.scimType).toBe('invalidFilter');
  });

  test('pages have the true total, stable order and no overlap; count=0 returns the total only', async () => {
    for (let i = 0; i < 25; i++) await t.scim.post('/Users', userBody(`user${String(i).padStart(2, '0')}@example.com`)).expect(201);
    const seen = new Set<string>();
    for (const startIndex of [1, 11, 21]) {
      const res = await t.scim.get('/Users').query({ startIndex, count: 10 }).expect(200);
      expect(res.body.totalResults).toBe(25);
      expect(res.body.startIndex).toBe(startIndex);
      expect(res.body.Resources).toHaveLength(startIndex === 21 ? 5 : 10);
      for (const r of res.body.Resources) seen.add(r.id);
    }
    expect(seen.size).toBe(25);
    const beyond = await t.scim.get('/Users').query({ startIndex: 100 }).expect(200);
    expect(beyond.body).toMatchObject({ totalResults: 25, Resources: [] });
    const countOnly = await t.scim.get('/Users').query({ count: 0 }).expect(200);
    expect(countOnly.body).toMatchObject({ totalResults: 25, itemsPerPage: 0, Resources: [] });
    const clamped = await t.scim.get('/Users').query({ count: 100000 }).expect(200);
    expect(clamped.body.Resources.length).toBeLessThanOrEqual(200);
  });

  test('sortBy on an attribute some users lack puts them last ascending and first descending (RFC 7644 §3.4.2.3)', async () => {
    for (const [name, title] of [['b@example.com', 'Beta'], ['n@example.com', undefined], ['a@example.com', 'Alpha']] as const) {
      await t.scim.post('/Users', userBody(name, title ? { title } : {})).expect(201);
    }
    const order = async (sortOrder: string) =>
      ((await t.scim.get('/Users').query({ sortBy: 'title', sortOrder }).expect(200)).body.Resources as Array<{ userName: string }>).map((u) => u.userName);
    expect(await order('ascending')).toEqual(['a@example.com', 'b@example.com', 'n@example.com']);
    expect(await order('descending')).toEqual(['n@example.com', 'b@example.com', 'a@example.com']);
  });

  test('sortBy userName descending orders the page', async () => {
    for (const n of ['b', 'a', 'c']) await t.scim.post('/Users', userBody(`${n}@example.com`)).expect(201);
    const res = await t.scim.get('/Users').query({ sortBy: 'userName', sortOrder: 'descending' }).expect(200);
    expect(res.body.Resources.map((r: { userName: string }) => r.userName)).toEqual(['c@example.com', 'b@example.com', 'a@example.com']);
  });

  test('attributes and excludedAttributes shape the response; id and schemas always come back', async () => {
    await t.scim.post('/Users', userBody('ada@example.com', { title: 'Engineer' })).expect(201);
    const only = await t.scim.get('/Users').query({ attributes: 'userName,name.givenName' }).expect(200);
    expect(Object.keys(only.body.Resources[0]).sort()).toEqual(['id', 'name', 'schemas', 'userName']);
    expect(only.body.Resources[0].name).toEqual({ givenName: 'Ada' });
    const without = await t.scim.get('/Users').query({ excludedAttributes: 'emails,title' }).expect(200);
    expect(without.body.Resources[0].emails).toBeUndefined();
    expect(without.body.Resources[0].title).toBeUndefined();
    expect(without.body.Resources[0].userName).toBe('ada@example.com');
    // A selected sub-attribute without a value leaves no empty object behind; an excluded last one neither.
    const empty = await t.scim.get('/Users').query({ attributes: 'name.middleName,emails.display' }).expect(200);
    expect(Object.keys(empty.body.Resources[0]).sort()).toEqual(['id', 'schemas']);
    const noName = await t.scim.get('/Users').query({ excludedAttributes: 'name.givenName,name.familyName' }).expect(200);
    expect(noName.body.Resources[0].name).toBeUndefined();
  });

  test('a list rendered from the stored users (attributes, excludedAttributes, .search) leaves them as they were', async () => {
    const { body: created } = await t.scim.post('/Users', userBody('ada@example.com', { title: 'Engineer', [ENTERPRISE]: { department: 'R&D', costCenter: 'C1' } })).expect(201);
    // supertest listens on a new port for each request: meta.location differs by its port only.
    const withoutLocation = (user: { meta: object }) => ({ ...user, meta: { ...user.meta, location: undefined } });
    const full = withoutLocation((await t.scim.get(`/Users/${created.id}`).expect(200)).body);
    await t.scim.get('/Users').query({ attributes: 'name.givenName,emails.value' }).expect(200);
    await t.scim.get('/Users').query({ excludedAttributes: `name.familyName,emails.type,${ENTERPRISE}:department` }).expect(200);
    await t.scim.post('/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], excludedAttributes: ['name.givenName', 'title'] }).expect(200);
    const listed = (await t.scim.get('/Users').expect(200)).body.Resources[0];
    expect(withoutLocation(listed)).toEqual(full);
    expect(withoutLocation((await t.scim.get(`/Users/${created.id}`).expect(200)).body)).toEqual(full);
  });

  test('PUT replaces the user (id unchanged, version bumped); PUT on an unknown id is 404 and creates nothing', async () => {
    const { body: created } = await t.scim.post('/Users', userBody('ada@example.com', { title: 'Engineer' }));
    const res = await t.scim.put(`/Users/${created.id}`, { ...created, name: { givenName: 'Ada', middleName: 'King', familyName: 'Lovelace' }, title: undefined }).expect(200);
    expect(res.body.id).toBe(created.id);
    expect(res.body.name.middleName).toBe('King');
    expect(res.body.title).toBeUndefined();
    expect(res.body.meta.version).toBe('W/"2"');
    const unknown = await t.scim.put('/Users/11111111-2222-3333-4444-555555555555', userBody('new@example.com'));
    expect(unknown.status).toBe(404);
    expect(await t.store.users.count({})).toBe(1);
  });

  test('a PUT of the user as read, a PATCH of the password and a remove of active change nothing: same ETag and lastModified', async () => {
    const { body: created } = await t.scim.post('/Users', userBody('same@example.com', { title: 'Engineer' })).expect(201);
    const { meta, ...asRead } = (await t.scim.get(`/Users/${created.id}`).expect(200)).body;
    const put = await t.scim.put(`/Users/${created.id}`, { ...asRead, meta }).expect(200);
    expect(put.headers.etag).toBe(meta.version);
    expect(put.body.meta.lastModified).toBe(meta.lastModified);
    for (const operation of [{ op: 'replace', path: 'password', value: 'n3w-Secret' }, { op: 'remove', path: 'active' }]) {
      const patched = await t.scim.patch(`/Users/${created.id}`, patchBody(operation)).expect(200);
      expect(patched.headers.etag).toBe(meta.version);
    }
    // A real change still moves it.
    const changed = await t.scim.put(`/Users/${created.id}`, { ...asRead, title: 'Manager' }).expect(200);
    expect(changed.headers.etag).not.toBe(meta.version);
  });

  test('If-Match with a stale version is 412 and changes nothing; with the current version it succeeds', async () => {
    const { body: created } = await t.scim.post('/Users', userBody('ada@example.com'));
    const stale = await t.scim.patch(`/Users/${created.id}`, patchBody({ op: 'replace', path: 'title', value: 'X' })).set('If-Match', 'W/"7"');
    expect(stale.status).toBe(412);
    expect(stale.body.status).toBe('412');
    const fresh = await t.scim.patch(`/Users/${created.id}`, patchBody({ op: 'replace', path: 'title', value: 'X' })).set('If-Match', 'W/"1"');
    expect(fresh.status).toBe(200);
    expect(fresh.body.title).toBe('X');
  });

  test('If-Match may list several ETags (RFC 7232 §3.1): it passes when one is current', async () => {
    const { body: created } = await t.scim.post('/Users', userBody('ada@example.com'));
    const title = (value: string, ifMatch: string) => t.scim.patch(`/Users/${created.id}`, patchBody({ op: 'replace', path: 'title', value })).set('If-Match', ifMatch);
    expect((await title('X', 'W/"7", W/"8"')).status).toBe(412);
    expect((await title('X', '"unknown", W/"9"')).status).toBe(412);
    expect((await title('X', 'W/"7", W/"1"')).status).toBe(200);
    expect((await t.scim.delete(`/Users/${created.id}`).set('If-Match', 'W/"1", W/"3"')).status).toBe(412);
    expect((await t.scim.delete(`/Users/${created.id}`).set('If-Match', 'W/"1", W/"2"')).status).toBe(204);
  });

  test('PATCH add/replace/remove with and without path, value filters and extension URNs', async () => {
    const { body: created } = await t.scim.post(
      '/Users',
      userBody('ada@example.com', { emails: [{ value: 'ada@example.com', type: 'work' }, { value: 'ada@home.test', type: 'home' }] }),
    );
    const res = await t.scim
      .patch(
        `/Users/${created.id}`,
        patchBody(
          { op: 'replace', path: 'name.familyName', value: 'Byron' },
          { op: 'replace', path: 'emails[type eq "work"].value', value: 'ada.byron@example.com' },
          { op: 'add', path: `${ENTERPRISE}:department`, value: 'Engineering' },
          { op: 'replace', value: { displayName: 'Ada B', title: 'Countess' } },
          { op: 'remove', path: 'emails[type eq "home"]' },
        ),
      )
      .expect(200);
    expect(res.body.name.familyName).toBe('Byron');
    expect(res.body.emails).toEqual([{ value: 'ada.byron@example.com', type: 'work' }]);
    expect(res.body[ENTERPRISE]).toEqual({ department: 'Engineering' });
    expect(res.body).toMatchObject({ displayName: 'Ada B', title: 'Countess' });
    // The renamed email is what filters find now.
    const found = await t.scim.get('/Users').query({ filter: 'emails.value eq "ADA.BYRON@example.com"' }).expect(200);
    expect(found.body.totalResults).toBe(1);
  });

  test('PATCH of groups on a user is refused as read-only; an unknown path is 400 invalidPath', async () => {
    const { body: created } = await t.scim.post('/Users', userBody('ada@example.com'));
    const groups = await t.scim.patch(`/Users/${created.id}`, patchBody({ op: 'add', path: 'groups', value: [{ value: 'g1' }] }));
    expect(groups.status).toBe(400);
    expect(groups.body.scimType).toBe('mutability');
    const unknown = await t.scim.patch(`/Users/${created.id}`, patchBody({ op: 'replace', path: 'shoeSize', value: 4 }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.scimType).toBe('invalidPath');
  });

  test('PATCH without the PatchOp schema is 400 invalidSyntax', async () => {
    const { body: created } = await t.scim.post('/Users', userBody('ada@example.com'));
    const res = await t.scim.patch(`/Users/${created.id}`, { Operations: [{ op: 'replace', path: 'title', value: 'x' }] });
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidSyntax');
  });

  test('two concurrent PATCHes of different attributes both land (no lost update)', async () => {
    const { body: created } = await t.scim.post('/Users', userBody('ada@example.com'));
    await Promise.all([
      t.scim.patch(`/Users/${created.id}`, patchBody({ op: 'replace', path: 'title', value: 'T' })),
      t.scim.patch(`/Users/${created.id}`, patchBody({ op: 'replace', path: 'nickName', value: 'N' })),
    ]);
    const res = await t.scim.get(`/Users/${created.id}`).expect(200);
    expect(res.body).toMatchObject({ title: 'T', nickName: 'N', meta: { version: 'W/"3"' } });
  });

  test('DELETE answers 204, then GET and a second DELETE are 404; a new POST re-links the same account', async () => {
    const { body: created } = await t.scim.post('/Users', userBody('ada@example.com'));
    await t.scim.delete(`/Users/${created.id}`).expect(204);
    await t.scim.get(`/Users/${created.id}`).expect(404);
    await t.scim.delete(`/Users/${created.id}`).expect(404);
    const again = await t.scim.post('/Users', userBody('ada@example.com')).expect(201);
    expect(again.body.id).toBe(created.id);
  });

  test('a PATCH that only sets active gives the same user as one that goes through the general PATCH path', async () => {
    const full = (userName: string) =>
      userBody(userName, {
        externalId: `ext-${userName}`,
        displayName: 'Ada Lovelace',
        title: 'Engineer',
        phoneNumbers: [{ value: '+1 555 0100', type: 'work' }],
        addresses: [{ type: 'work', streetAddress: '1 Main St', locality: 'London', country: 'GB', primary: true }],
        [ENTERPRISE]: { employeeNumber: '42', department: 'R&D', manager: { value: 'boss-1' } },
      });
    // Everything but what differs by construction: ids, names, times.
    const strip = ({ id: _i, meta: _m, userName: _u, externalId: _e, emails: _em, [LIFECYCLE]: lifecycle, ...rest }: Record<string, unknown>) => {
      const { deactivatedAt: _d, ...state } = lifecycle as Record<string, unknown>;
      return { ...rest, state };
    };
    const shapes: Array<[object[], object[]]> = [
      // Okta: no path; Entra: path and a string value; plain path.
      [[{ op: 'replace', value: { active: false } }], [{ op: 'replace', value: { active: false, title: 'Engineer' } }]],
      [[{ op: 'Replace', path: 'active', value: 'False' }], [{ op: 'Replace', path: 'active', value: 'False' }, { op: 'replace', path: 'title', value: 'Engineer' }]],
      [[{ op: 'add', path: 'urn:ietf:params:scim:schemas:core:2.0:User:active', value: false }], [{ op: 'add', path: 'active', value: false }, { op: 'add', path: 'title', value: 'Engineer' }]],
    ];
    let n = 0;
    for (const [fast, general] of shapes) {
      const a = (await t.scim.post('/Users', full(`a${n}@example.com`)).expect(201)).body;
      const b = (await t.scim.post('/Users', full(`b${n++}@example.com`)).expect(201)).body;
      const patchedA = (await t.scim.patch(`/Users/${a.id}`, patchBody(...fast)).expect(200)).body;
      const patchedB = (await t.scim.patch(`/Users/${b.id}`, patchBody(...general)).expect(200)).body;
      expect(patchedA.active).toBe(false);
      expect(patchedA[LIFECYCLE]).toMatchObject({ accountStatus: 'deactivated' });
      expect(strip(patchedA)).toEqual(strip(patchedB));
      expect(strip((await t.scim.get(`/Users/${a.id}`).expect(200)).body)).toEqual(strip((await t.scim.get(`/Users/${b.id}`).expect(200)).body));
      // And back: reactivation through the short path restores the account.
      const back = (await t.scim.patch(`/Users/${a.id}`, patchBody({ op: 'replace', path: 'active', value: true })).expect(200)).body;
      expect(back.active).toBe(true);
      expect(back[LIFECYCLE]).toMatchObject({ accountStatus: 'active' });
    }
    // Repeating a deactivation changes nothing, on either path: same version, same lastModified.
    const d = (await t.scim.post('/Users', full('d@example.com')).expect(201)).body;
    const off = await t.scim.patch(`/Users/${d.id}`, patchBody({ op: 'replace', path: 'active', value: false })).expect(200);
    for (const repeat of [{ op: 'replace', value: { active: false } }, { op: 'Replace', path: 'active', value: 'False' }, { op: 'replace', path: 'title', value: 'Engineer' }]) {
      const again = await t.scim.patch(`/Users/${d.id}`, patchBody(repeat)).expect(200);
      expect(again.headers.etag).toBe(off.headers.etag);
      expect(again.body.meta.lastModified).toBe(off.body.meta.lastModified);
      expect(again.body.active).toBe(false);
    }
    // A value that is not a boolean is still refused, as by the general path.
    const c = (await t.scim.post('/Users', full('c@example.com')).expect(201)).body;
    await t.scim.patch(`/Users/${c.id}`, patchBody({ op: 'replace', path: 'active', value: 'maybe' })).expect(400);
  });

  test('a body whose schemas do not name the resource schema is 400 invalidSyntax, for Users and Groups, and nothing is stored', async () => {
    const user = await t.scim.post('/Users', userBody('ada@example.com', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'] }));
    expect(user.status).toBe(400);
    expect(user.body).toMatchObject({ status: '400', scimType: 'invalidSyntax' });
    const group = await t.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], displayName: 'Admins' });
    expect(group.status).toBe(400);
    expect(group.body).toMatchObject({ status: '400', scimType: 'invalidSyntax' });
    expect((await t.scim.get('/Users').expect(200)).body.totalResults).toBe(0);
    expect((await t.scim.get('/Groups').expect(200)).body.totalResults).toBe(0);
    // A body without schemas is read as the resource's own (as scimmy does); the password is never kept.
    const plain = await t.scim.post('/Users', { userName: 'bob@example.com', password: 'secret' }).expect(201);
    expect(plain.body.password).toBeUndefined();
  });
});
