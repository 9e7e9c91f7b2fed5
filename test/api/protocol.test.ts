import request from 'supertest';
import { makeTestApp, userBody, SCIM_TOKEN, ADMIN_TOKEN, type TestApp } from '../helpers/app';

const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

describe('authentication', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });

  test.each([
    ['no Authorization header', undefined],
    ['a wrong token', 'Bearer not-the-token-at-all-000000'],
    ['an admin token on the SCIM API', `Bearer ${ADMIN_TOKEN}`],
    ['a Basic credential', 'Basic dXNlcjpwYXNz'],
  ])('%s → 401 SCIM error with WWW-Authenticate and a fixed detail', async (_name, header) => {
    const req = request(t.app).get('/scim/v2/Users');
    const res = await (header ? req.set('Authorization', header) : req);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.headers['content-type']).toContain('application/scim+json');
    expect(res.body).toEqual({ schemas: [ERROR], status: '401', detail: 'authentication required: send a valid bearer token' });
  });

  test('the scheme is case-insensitive and may be followed by several spaces (RFC 6750 §2.1)', async () => {
    for (const header of [`bearer ${SCIM_TOKEN}`, `Bearer  ${SCIM_TOKEN}`, `BEARER   ${SCIM_TOKEN}`]) {
      await request(t.app).get('/scim/v2/Users').set('Authorization', header).expect(200);
    }
  });

  test('a token in the query string is refused even when it is valid', async () => {
    const res = await request(t.app).get('/scim/v2/Users').query({ access_token: SCIM_TOKEN });
    expect(res.status).toBe(401);
    const objectToken = await request(t.app).get('/scim/v2/Users?access_token[$ne]=x');
    expect(objectToken.status).toBe(401);
  });

  test('a token in the body is refused', async () => {
    const res = await request(t.app).post('/scim/v2/Users').set('Authorization', `Bearer ${SCIM_TOKEN}`).send({ ...userBody('a@example.com'), access_token: SCIM_TOKEN });
    expect(res.status).toBe(400);
  });

  test('an unauthenticated large body is refused without being parsed', async () => {
    const res = await request(t.app).post('/scim/v2/Users').set('Content-Type', 'application/scim+json').send('{"x":"' + 'a'.repeat(2_000_000) + '"}');
    expect(res.status).toBe(401);
  });

  test('tokens are stored only as hashes', async () => {
    const tokens = await t.store.tokens.find({});
    expect(tokens.length).toBeGreaterThan(0);
    expect(JSON.stringify(tokens)).not.toContain(SCIM_TOKEN);
  });
});

describe('tenant isolation', () => {
  test('a second organization sees none of the first one’s users, by list, filter or id', async () => {
    const a = await makeTestApp();
    const { body: user } = await a.scim.post('/Users', userBody('ada@example.com'));
    // A second organization in the same store, with its own token.
    const { ensureOrganization } = await import('../../src/services/organizations');
    const { storeToken } = await import('../../src/auth/tokens');
    const other = await ensureOrganization(a.store, { ...a.config.bootstrap.org, name: 'other' });
    await storeToken(a.store, 'other-org-token-0123456789abcdef', { orgId: other._id, kind: 'scim', connectionId: `${other._id}:c` });
    const as = (path: string) => request(a.app).get(`/scim/v2${path}`).set('Authorization', 'Bearer other-org-token-0123456789abcdef');
    expect((await as('/Users')).body.totalResults).toBe(0);
    expect((await as('/Users?filter=userName eq "ada@example.com"')).body.totalResults).toBe(0);
    expect((await as(`/Users/${user.id}`)).status).toBe(404);
  });
});

describe('discovery and protocol', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });

  test('ServiceProviderConfig advertises what the server does', async () => {
    const res = await t.scim.get('/ServiceProviderConfig').expect(200);
    expect(res.headers['content-type']).toContain('application/scim+json');
    expect(res.body).toMatchObject({
      patch: { supported: true },
      filter: { supported: true, maxResults: 200 },
      sort: { supported: true },
      etag: { supported: true },
      changePassword: { supported: false },
    });
    expect(res.body.authenticationSchemes[0]).toMatchObject({ type: 'oauthbearertoken' });
    expect(res.body.bulk).toHaveProperty('supported');
  });

  test('ResourceTypes and Schemas list User (with enterprise and lifecycle extensions) and Group', async () => {
    const types = await t.scim.get('/ResourceTypes').expect(200);
    const user = types.body.Resources.find((r: { name: string }) => r.name === 'User');
    expect(user).toMatchObject({ endpoint: '/Users', schema: 'urn:ietf:params:scim:schemas:core:2.0:User' });
    expect(user.schemaExtensions.map((e: { schema: string }) => e.schema)).toEqual(
      expect.arrayContaining(['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', 'urn:ietf:params:scim:schemas:extension:lifecycle:2.0:User']),
    );
    const schemas = await t.scim.get('/Schemas').expect(200);
    const ids = schemas.body.Resources.map((s: { id: string }) => s.id);
    expect(ids).toEqual(expect.arrayContaining(['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:core:2.0:Group']));
  });

  test.each(['/ServiceProviderConfig', '/ResourceTypes', '/Schemas'])('POST %s is 405 with a SCIM error', async (path) => {
    const res = await t.scim.post(path, {});
    expect(res.status).toBe(405);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '405' });
  });

  test('/Me is 501; an unknown endpoint is a SCIM 404', async () => {
    const me = await t.scim.get('/Me');
    expect(me.status).toBe(501);
    expect(me.body.status).toBe('501');
    const nowhere = await t.scim.get('/Nowhere');
    expect(nowhere.status).toBe(404);
    expect(nowhere.body.schemas).toEqual([ERROR]);
  });

  test('a non-JSON content type is 415; no content type and application/json are accepted', async () => {
    const xml = await t.scim.post('/Users').set('Content-Type', 'application/xml').send('<user/>');
    expect(xml.status).toBe(415);
    expect(xml.body.status).toBe('415');
    const plainJson = await request(t.app).post('/scim/v2/Users').set('Authorization', `Bearer ${SCIM_TOKEN}`).set('Content-Type', 'application/json').send(JSON.stringify(userBody('json@example.com')));
    expect(plainJson.status).toBe(201);
    const post = (type: string, userName: string) =>
      request(t.app).post('/scim/v2/Users').set('Authorization', `Bearer ${SCIM_TOKEN}`).set('Content-Type', type).send(JSON.stringify(userBody(userName)));
    // Media types that only begin like JSON's are others.
    for (const type of ['application/json-patch+json', 'application/json-seq', 'application/scim+json-foo']) expect((await post(type, 'x@example.com')).status).toBe(415);
    expect((await post('Application/SCIM+JSON ; charset=utf-8', 'cased@example.com')).status).toBe(201);
  });

  test('a body over the limit is 413; deeply nested JSON is 400 invalidSyntax', async () => {
    const big = await t.scim.post('/Users', userBody('big@example.com', { title: 'x'.repeat(5 * 1024 * 1024) }));
    expect(big.status).toBe(413);
    expect(big.body.status).toBe('413');
    let nested: object = {};
    for (let i = 0; i < 100; i++) nested = { a: nested };
    const deep = await t.scim.post('/Users', userBody('deep@example.com', { title: nested }));
    expect(deep.status).toBe(400);
    expect(deep.body.scimType).toBe('invalidSyntax');
  });

  test('an unsupported method on a resource is 405', async () => {
    const res = await t.scim.put('/Users', {});
    expect(res.status).toBe(405);
    expect(res.headers.allow).toContain('GET');
  });
});

describe('ServiceProviderConfig across apps', () => {
  test('building several apps in one process still advertises exactly one authentication scheme', async () => {
    await makeTestApp();
    const t = await makeTestApp();
    const res = await t.scim.get('/ServiceProviderConfig').expect(200);
    expect(res.body.authenticationSchemes).toHaveLength(1);
    expect(res.body.authenticationSchemes[0]).toMatchObject({ type: 'oauthbearertoken', specUri: 'https://www.rfc-editor.org/info/rfc6750' });
  });
});
