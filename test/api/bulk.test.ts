import request from 'supertest';
import { makeTestApp, patchBody, userBody, type TestApp } from '../helpers/app';

const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const OTHER_TOKEN = 'other-org-token-0123456789abcdef';

const bulk = (Operations: object[], extra: Record<string, unknown> = {}) => ({ schemas: [BULK_REQUEST], Operations, ...extra });
const createUser = (bulkId: string, userName: string, extra: Record<string, unknown> = {}) => ({
  method: 'POST',
  path: '/Users',
  bulkId,
  data: userBody(userName, extra),
});

/** A second organization in the same store, with its own SCIM token (as in protocol.test.ts). */
async function secondOrg(t: TestApp) {
  const { ensureOrganization } = await import('../../src/services/organizations');
  const { storeToken } = await import('../../src/auth/tokens');
  const other = await ensureOrganization(t.store, { ...t.config.bootstrap.org, name: 'other' });
  await storeToken(t.store, OTHER_TOKEN, { orgId: other._id, kind: 'scim', connectionId: `${other._id}:c` });
  return {
    post: (path: string, body: object) =>
      request(t.app).post(`/scim/v2${path}`).set('Authorization', `Bearer ${OTHER_TOKEN}`).set('Content-Type', 'application/scim+json').send(body),
  };
}

describe('SCIM /Bulk', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeTestApp();
  });

  test('ServiceProviderConfig advertises exactly the enforced bulk limits', async () => {
    const res = await t.scim.get('/ServiceProviderConfig').expect(200);
    expect(res.body.bulk).toEqual({ supported: true, maxOperations: 100, maxPayloadSize: 1048576 });
  });

  test('creates a user and a group that references it by bulkId; the member value is the created id', async () => {
    const res = await t.scim.post(
      '/Bulk',
      bulk([
        createUser('u1', 'ada@example.com'),
        { method: 'POST', path: '/Groups', bulkId: 'g1', data: { schemas: [GROUP], displayName: 'Engineers', members: [{ value: 'bulkId:u1', type: 'User' }] } },
        createUser('u2', 'grace@example.com'),
        { method: 'PATCH', path: '/Groups/bulkId:g1', data: patchBody({ op: 'add', path: 'members', value: [{ value: 'bulkId:u2' }] }) },
      ]),
    );
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/scim+json');
    expect(res.body.schemas).toEqual([BULK_RESPONSE]);
    const [user, group, user2, patch] = res.body.Operations;
    expect(user2.status).toBe('201');
    expect(patch).toMatchObject({ method: 'PATCH', status: '204', location: group.location, version: expect.stringMatching(/^W\/"\d+"$/) });
    expect(user).toEqual({ method: 'POST', bulkId: 'u1', version: expect.stringMatching(/^W\/"\d+"$/), location: expect.stringMatching(/\/scim\/v2\/Users\/[^/]+$/), status: '201' });
    expect(group).toMatchObject({ method: 'POST', bulkId: 'g1', status: '201', location: expect.stringMatching(/\/scim\/v2\/Groups\/[^/]+$/) });
    const userId = user.location.split('/').pop();
    const fetched = await t.scim.get(`/Groups/${group.location.split('/').pop()}`).expect(200);
    expect(fetched.body.members.map((m: { value: string }) => m.value)).toEqual([userId, user2.location.split('/').pop()]);
    // The Location is the one the ordinary endpoint gives.
    const direct = await t.scim.get(`/Users/${userId}`).expect(200);
    expect(new URL(direct.body.meta.location).pathname).toBe(new URL(user.location).pathname);
    expect(direct.headers.etag).toBe(user.version);
    expect(direct.body.groups).toEqual([expect.objectContaining({ value: fetched.body.id })]);
  });

  test('PATCH, PUT and DELETE in bulk, with a bulkId path and version as If-Match', async () => {
    const created = await t.scim.post('/Users', userBody('grace@example.com')).expect(201);
    const existing = created.body;
    const res = await t.scim.post(
      '/Bulk',
      bulk([
        createUser('u1', 'ada@example.com'),
        { method: 'PATCH', path: '/Users/bulkId:u1', data: patchBody({ op: 'replace', path: 'title', value: 'Countess' }) },
        { method: 'PATCH', path: `/Users/${existing.id}`, version: created.headers.etag, data: patchBody({ op: 'replace', path: 'title', value: 'Rear Admiral' }) },
        { method: 'PUT', path: `/Users/${existing.id}`, version: created.headers.etag, data: userBody('grace@example.com', { title: 'stale' }) },
        { method: 'DELETE', path: `/Users/${existing.id}` },
      ]),
    ).expect(200);
    const ops = res.body.Operations;
    expect(ops.map((o: { status: string }) => o.status)).toEqual(['201', '200', '200', '412', '204']);
    const adaId = ops[0].location.split('/').pop();
    const ada = await t.scim.get(`/Users/${adaId}`).expect(200);
    expect(ada.body.title).toBe('Countess');
    expect(ops[1]).toMatchObject({ method: 'PATCH', version: ada.headers.etag, location: ops[0].location });
    expect(ops[2].version).not.toBe(created.headers.etag);
    expect(ops[3]).toMatchObject({ method: 'PUT', response: { schemas: [ERROR], status: '412' } });
    expect(ops[4]).toEqual({ method: 'DELETE', location: expect.stringContaining(`/Users/${existing.id}`), status: '204' });
    await t.scim.get(`/Users/${existing.id}`).expect(404);
  });

  test('a failed operation carries the SCIM error as its response and later operations still run', async () => {
    await t.scim.post('/Users', userBody('ada@example.com')).expect(201);
    const res = await t.scim.post('/Bulk', bulk([createUser('dup', 'ADA@example.com'), createUser('ok', 'grace@example.com')])).expect(200);
    const [dup, ok] = res.body.Operations;
    expect(dup).toEqual({ method: 'POST', bulkId: 'dup', status: '409', response: { schemas: [ERROR], status: '409', scimType: 'uniqueness', detail: expect.any(String) } });
    expect(ok.status).toBe('201');
  });

  test('failOnErrors=1 stops after the first failure: later operations are absent and not executed', async () => {
    const res = await t.scim
      .post(
        '/Bulk',
        bulk(
          [
            createUser('a', 'a@example.com'),
            { method: 'POST', path: '/Users', bulkId: 'bad', data: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'] } },
            createUser('c', 'c@example.com'),
          ],
          { failOnErrors: 1 },
        ),
      )
      .expect(200);
    expect(res.body.Operations.map((o: { bulkId: string; status: string }) => [o.bulkId, o.status])).toEqual([
      ['a', '201'],
      ['bad', '400'],
    ]);
    expect(res.body.Operations[1].response).toMatchObject({ status: '400', scimType: 'invalidValue' });
    expect((await t.scim.get('/Users').query({ filter: 'userName eq "c@example.com"' })).body.totalResults).toBe(0);
  });

  test('failOnErrors=2 tolerates one failure', async () => {
    const ops = [
      { method: 'DELETE', path: '/Users/nope-1' },
      createUser('a', 'a@example.com'),
      { method: 'DELETE', path: '/Users/nope-2' },
      createUser('b', 'b@example.com'),
    ];
    const res = await t.scim.post('/Bulk', bulk(ops, { failOnErrors: 2 })).expect(200);
    expect(res.body.Operations.map((o: { status: string }) => o.status)).toEqual(['404', '201', '404']);
    const bad = await t.scim.post('/Bulk', bulk(ops, { failOnErrors: 0 }));
    expect(bad.status).toBe(400);
    expect(bad.body.scimType).toBe('invalidValue');
  });

  test('an unknown, forward or failed bulkId reference is 409 for that operation only', async () => {
    await t.scim.post('/Users', userBody('taken@example.com')).expect(201);
    const res = await t.scim
      .post(
        '/Bulk',
        bulk([
          { method: 'POST', path: '/Groups', bulkId: 'g0', data: { schemas: [GROUP], displayName: 'Forward', members: [{ value: 'bulkId:later' }] } },
          { method: 'PATCH', path: '/Users/bulkId:nope', data: patchBody({ op: 'replace', path: 'title', value: 'x' }) },
          createUser('failed', 'taken@example.com'),
          { method: 'POST', path: '/Groups', bulkId: 'g1', data: { schemas: [GROUP], displayName: 'Broken', members: [{ value: 'bulkId:failed' }] } },
          createUser('later', 'later@example.com'),
        ]),
      )
      .expect(200);
    expect(res.body.Operations.map((o: { status: string }) => o.status)).toEqual(['409', '409', '409', '409', '201']);
    expect(res.body.Operations[0].response).toMatchObject({ schemas: [ERROR], status: '409', detail: expect.stringContaining('"later"') });
    expect(res.body.Operations[1].response.detail).toContain('"nope"');
    expect((await t.scim.get('/Groups')).body.totalResults).toBe(0);
  });

  test('circular references do not loop: the first operation fails with 409', async () => {
    const res = await t.scim
      .post(
        '/Bulk',
        bulk([
          { method: 'POST', path: '/Groups', bulkId: 'A', data: { schemas: [GROUP], displayName: 'A', members: [{ value: 'bulkId:B', type: 'Group' }] } },
          { method: 'POST', path: '/Groups', bulkId: 'B', data: { schemas: [GROUP], displayName: 'B', members: [{ value: 'bulkId:A', type: 'Group' }] } },
        ]),
      )
      .expect(200);
    expect(res.body.Operations.map((o: { status: string }) => o.status)).toEqual(['409', '409']);
  });

  test('an operation on /Bulk is 400 for that operation; invalid operations are reported per operation', async () => {
    const res = await t.scim
      .post(
        '/Bulk',
        bulk([
          { method: 'POST', path: '/Bulk', bulkId: 'x', data: bulk([createUser('y', 'y@example.com')]) },
          { method: 'POST', path: '/Users', data: userBody('nobulkid@example.com') },
          { method: 'GET', path: '/Users' },
          { method: 'POST', path: '/Schemas', bulkId: 's', data: {} },
          { method: 'PUT', path: '/Users', data: userBody('z@example.com') },
          { method: 'POST', path: '/Users', bulkId: 'ok', data: userBody('ok@example.com') },
        ]),
      )
      .expect(200);
    const ops = res.body.Operations;
    expect(ops.map((o: { status: string }) => o.status)).toEqual(['400', '400', '400', '400', '400', '201']);
    expect(ops[0]).toMatchObject({ method: 'POST', bulkId: 'x', response: { schemas: [ERROR], status: '400', detail: expect.stringContaining('/Bulk') } });
    expect(ops[1].response.detail).toContain('bulkId is required');
    expect(ops[2]).toMatchObject({ method: 'GET', response: { status: '400' } });
    expect((await t.scim.get('/Users')).body.totalResults).toBe(1);
  });

  test('more than 100 operations is 413 and runs nothing', async () => {
    const ops = Array.from({ length: 101 }, (_, i) => createUser(`u${i}`, `u${i}@example.com`));
    const res = await t.scim.post('/Bulk', bulk(ops));
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '413', detail: expect.stringContaining('100') });
    expect((await t.scim.get('/Users')).body.totalResults).toBe(0);
  });

  test('a body over maxPayloadSize is 413 although the SCIM body limit is larger', async () => {
    const res = await t.scim.post('/Bulk', bulk([createUser('big', 'big@example.com', { title: 'x'.repeat(1024 * 1024) })]));
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '413', detail: expect.stringContaining('1048576') });
    expect((await t.scim.get('/Users')).body.totalResults).toBe(0);
  });

  test('a body without the BulkRequest schema or without Operations is 400 invalidSyntax', async () => {
    const wrong = await t.scim.post('/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [createUser('a', 'a@example.com')] });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidSyntax' });
    const none = await t.scim.post('/Bulk', { schemas: [BULK_REQUEST] });
    expect(none.status).toBe(400);
    expect(none.body.scimType).toBe('invalidSyntax');
    expect((await t.scim.get('/Users')).body.totalResults).toBe(0);
    const get = await t.scim.get('/Bulk');
    expect(get.status).toBe(405);
  });

  test('Bulk requires authentication', async () => {
    const res = await request(t.app).post('/scim/v2/Bulk').send(bulk([createUser('a', 'a@example.com')]));
    expect(res.status).toBe(401);
  });

  test('a second concurrent Bulk of the same organization is 429 with Retry-After; another organization is not blocked', async () => {
    const other = await secondOrg(t);
    const many = Array.from({ length: 60 }, (_, i) => createUser(`u${i}`, `user${i}@example.com`));
    const first = t.scim.post('/Bulk', bulk(many)).then((r) => r);
    // Wait until the first Bulk is demonstrably running (its first user exists), then send the second.
    while ((await t.store.users.count({})) === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    const [second, otherOrg] = await Promise.all([
      t.scim.post('/Bulk', bulk([createUser('x', 'x@example.com')])),
      other.post('/Bulk', bulk([createUser('o', 'o@example.com')])),
    ]);
    expect(second.status).toBe(429);
    expect(second.headers['retry-after']).toMatch(/^\d+$/);
    expect(second.body).toMatchObject({ schemas: [ERROR], status: '429' });
    expect(otherOrg.status).toBe(200);
    expect(otherOrg.body.Operations[0].status).toBe('201');
    const done = await first;
    expect(done.status).toBe(200);
    expect(done.body.Operations.every((o: { status: string }) => o.status === '201')).toBe(true);
    // The lock is released: the next Bulk runs.
    expect((await t.scim.post('/Bulk', bulk([createUser('x', 'x@example.com')]))).body.Operations[0].status).toBe('201');
  });

  test('bulk operations are tenant-scoped: another organization cannot touch this one’s users', async () => {
    const { body: ada } = await t.scim.post('/Users', userBody('ada@example.com', { title: 'Countess' })).expect(201);
    const before = await t.scim.get(`/Users/${ada.id}`).expect(200);
    const other = await secondOrg(t);
    const res = await other
      .post(
        '/Bulk',
        bulk([
          { method: 'PATCH', path: `/Users/${ada.id}`, data: patchBody({ op: 'replace', path: 'title', value: 'pwned' }) },
          { method: 'PUT', path: `/Users/${ada.id}`, data: userBody('ada@example.com', { title: 'pwned' }) },
          { method: 'DELETE', path: `/Users/${ada.id}` },
          { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP], displayName: 'Steal', members: [{ value: ada.id }] } },
        ]),
      )
      .expect(200);
    expect(res.body.Operations.map((o: { status: string }) => o.status)).toEqual(['404', '404', '404', '400']);
    const after = await t.scim.get(`/Users/${ada.id}`).expect(200);
    const withoutHost = (body: { meta: Record<string, unknown> }) => ({ ...body, meta: { ...body.meta, location: undefined } });
    expect(withoutHost(after.body)).toEqual(withoutHost(before.body));
    expect(after.body).toMatchObject({ title: 'Countess', active: true, groups: [] });
  });
});
