/**
 * Hostile inputs and faults through HTTP (RELIABILITY.md §0 and §5): what an IdP, an attacker holding a valid token
 * or an operator watching the logs would notice.
 */
import request from 'supertest';
import { makeTestApp, patchBody, userBody, SCIM_TOKEN, type TestApp } from '../helpers/app';
import { ALL_METHODS, capturingLogger, faults, makeFaultyApp, WRITES, type FaultyApp } from '../helpers/faulty-store';
import { DuplicateKeyError, StoreUnavailableError } from '../../src/store/port';

const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
/** Generous: these inputs must be rejected in linear time, not within a benchmark budget. */
const QUICK_MS = 1000;

const protoNames = () => Object.getOwnPropertyNames(Object.prototype).sort();
const PROTO_BEFORE = protoNames();

/** The process is not polluted: no new property on Object.prototype, and `String({})` still works. */
function expectCleanPrototypes() {
  /* eslint-disable @typescript-eslint/no-explicit-any */
  expect(({} as any).polluted).toBeUndefined();
  expect(({} as any).x).toBeUndefined();
  expect(({} as any).y).toBeUndefined();
  /* eslint-enable @typescript-eslint/no-explicit-any */
  expect(String({})).toBe('[object Object]');
  expect(`${{}}`).toBe('[object Object]');
  expect(protoNames()).toEqual(PROTO_BEFORE);
  const keys: string[] = [];
  for (const k in {}) keys.push(k);
  expect(keys).toEqual([]);
}

/** A resource without the host part of its URLs (supertest listens on a new port for every request). */
const stable = (body: unknown) => JSON.parse(JSON.stringify(body).replace(/http:\/\/127\.0\.0\.1:\d+/g, 'http://host'));

async function timed<T>(run: () => PromiseLike<T>): Promise<{ res: T; ms: number }> {
  const start = process.hrtime.bigint();
  const res = await run();
  return { res, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

describe('pathological inputs are answered 400 quickly and leave the process healthy (RELIABILITY §0.1, §0.2, §0.9)', () => {
  let t: TestApp;
  let userId: string;
  let groupId: string;
  beforeAll(async () => {
    t = await makeTestApp();
    userId = (await t.scim.post('/Users', userBody('ada@example.com')).expect(201)).body.id;
    groupId = (await t.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'eng', members: [{ value: userId }] }).expect(201)).body.id;
  });

  /** After each hostile request the app still answers a normal one correctly. */
  async function expectStillServing() {
    const res = await t.scim.get('/Users?filter=' + encodeURIComponent('userName eq "ada@example.com"'));
    expect(res.status).toBe(200);
    expect(res.body.totalResults).toBe(1);
    expect(res.body.Resources[0].id).toBe(userId);
  }

  const REDOS = 'userName eq "' + '\\a'.repeat(40);
  const filters: Array<[string, string]> = [
    ['ReDoS: unterminated quote + \\a×40', REDOS],
    ['ReDoS: unterminated quote + \\a×40, closed by a quote later', REDOS + ' or userName eq "x"'],
    ['__proto__ path', '__proto__.polluted eq "yes"'],
    ['__proto__.toString', '__proto__.toString eq "x"'],
    ['__PROTO__ in another case', '__PROTO__.polluted eq "yes"'],
    ['constructor.prototype', 'constructor.prototype.x eq "1"'],
    ['Constructor.prototype (scimmy lower-cases only the first letter)', 'Constructor.prototype.y eq 1'],
    ['__proto__ inside a value filter', 'emails[__proto__.x eq "a"]'],
    ['__proto__ after an extension URN', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:__proto__.x eq "a"'],
    ['__proto__ in the second branch', 'userName eq "ada@example.com" or __proto__.polluted eq "yes"'],
    ['$where', '$where eq "x"'],
    ['$where with sleep', '$where eq "sleep(5000)"'],
    ['userName.$ne', 'userName.$ne eq "x"'],
    ['$gt inside a value filter', 'emails[$gt eq ""]'],
    ['no comparison value', 'userName eq'],
    ['dangling and', 'userName eq "a" and'],
    ['unbalanced parenthesis', '(userName eq "a"'],
    ['unknown operator', 'userName regex "a"'],
    ['oversize (3000 characters)', 'userName eq "' + 'a'.repeat(3000) + '"'],
    ['oversize: many or terms', Array.from({ length: 200 }, (_, i) => `userName eq "u${i}@example.com"`).join(' or ')],
    ['NUL character', 'userName eq "a\u0000b"'],
    ['newline', 'userName eq "a\nb"'],
    ['escape character', 'userName eq "a\u001bb"'],
    ['C1 control character', 'userName eq "a\u0085b"'],
    ['line separator', 'userName eq "a\u2028b"'],
    ['unsupported escape', 'userName eq "a\\u0041"'],
  ];

  describe.each(['Users', 'Groups'])('/%s', (resource) => {
    test.each(filters)('GET ?filter= %s → 400 invalidFilter', async (_name, filter) => {
      const { res, ms } = await timed(() => t.scim.get(`/${resource}?filter=${encodeURIComponent(filter)}`));
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toContain('application/scim+json');
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidFilter' });
      // The detail names the problem, never echoes a long input back.
      expect(res.body.detail.length).toBeLessThan(300);
      expect(ms).toBeLessThan(QUICK_MS);
      expectCleanPrototypes();
      await expectStillServing();
    });

    test.each(filters)('POST /.search with filter %s → 400 invalidFilter', async (_name, filter) => {
      const { res, ms } = await timed(() => t.scim.post(`/${resource}/.search`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter }));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidFilter' });
      expect(ms).toBeLessThan(QUICK_MS);
      expectCleanPrototypes();
      await expectStillServing();
    });

    test.each([
      ['attributes', '__proto__.polluted'],
      ['attributes', '__proto__'],
      ['attributes', 'constructor.prototype.x'],
      ['attributes', 'name.__proto__'],
      ['attributes', 'userName,$where'],
      // A complete value filter is dropped by the quirks layer (README "IdP compatibility choices"); these stay invalid.
      ['attributes', 'emails[type eq "work"'],
      ['attributes', 'emails[type eq "work"].__proto__'],
      ['attributes', 'a'.repeat(3000)],
      ['attributes', 'userName\u0000'],
      ['excludedAttributes', '__proto__.polluted'],
      ['excludedAttributes', 'constructor.prototype.x'],
      ['excludedAttributes', 'urn:ietf:params:scim:schemas:core:2.0:User:__proto__'],
      ['sortBy', '__proto__'],
      ['sortBy', '__proto__.polluted'],
      ['sortBy', 'constructor.prototype.x'],
      ['sortBy', '$natural'],
      ['sortBy', 'userName.$ne'],
    ])(`GET ?%s=%s → 400 invalidValue`, async (param, value) => {
      for (const path of [`/${resource}`, `/${resource}/${resource === 'Users' ? userId : groupId}`]) {
        if (param === 'sortBy' && path !== `/${resource}`) continue;
        const { res, ms } = await timed(() => t.scim.get(`${path}?${param}=${encodeURIComponent(value)}`));
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidValue' });
        expect(ms).toBeLessThan(QUICK_MS);
        expectCleanPrototypes();
      }
      await expectStillServing();
    });
  });

  const patchPaths: Array<[string, string]> = [
    ['__proto__ in a value filter', 'emails[__proto__.x eq "a"].value'],
    ['__proto__ path', '__proto__.polluted'],
    ['constructor.prototype', 'constructor.prototype.x'],
    ['Constructor.Prototype', 'Constructor.Prototype.x'],
    ['$where in a value filter', 'emails[$where eq "x"].value'],
    ['ReDoS in a value filter', 'emails[value eq "' + '\\a'.repeat(40) + ']'],
    ['oversize', 'emails[value eq "' + 'a'.repeat(3000) + '"].value'],
    ['control character', 'displayName\u0000'],
  ];

  test.each(patchPaths)('PATCH /Users path %s → 400 invalidPath, user unchanged', async (_name, path) => {
    const before = (await t.scim.get(`/Users/${userId}`).expect(200)).body;
    for (const op of ['replace', 'add', 'remove']) {
      const { res, ms } = await timed(() => t.scim.patch(`/Users/${userId}`, patchBody({ op, path, value: 'yes' })));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidPath' });
      expect(ms).toBeLessThan(QUICK_MS);
      expectCleanPrototypes();
    }
    expect(stable((await t.scim.get(`/Users/${userId}`).expect(200)).body)).toEqual(stable(before));
    await expectStillServing();
  });

  test.each(patchPaths)('PATCH /Groups path %s → 400 invalidPath, group unchanged', async (_name, path) => {
    const before = (await t.scim.get(`/Groups/${groupId}`).expect(200)).body;
    for (const op of ['replace', 'add', 'remove']) {
      const { res, ms } = await timed(() => t.scim.patch(`/Groups/${groupId}`, patchBody({ op, path, value: 'yes' })));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidPath' });
      expect(ms).toBeLessThan(QUICK_MS);
      expectCleanPrototypes();
    }
    expect(stable((await t.scim.get(`/Groups/${groupId}`).expect(200)).body)).toEqual(stable(before));
    await expectStillServing();
  });

  test('a pathless PATCH value with a "__proto__.x" key does not pollute and leaves the user as it was', async () => {
    const before = (await t.scim.get(`/Users/${userId}`).expect(200)).body;
    const res = await t.scim.patch(`/Users/${userId}`, patchBody({ op: 'add', value: { '__proto__.polluted': 'yes', 'constructor.prototype.x': 'yes' } }));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: '400', scimType: 'invalidPath' });
    expectCleanPrototypes();
    const after = (await t.scim.get(`/Users/${userId}`).expect(200)).body;
    expect(JSON.stringify(after)).not.toContain('polluted');
    expect(stable(after)).toEqual(stable(before));
    await expectStillServing();
  });

  test('a JSON body with a "__proto__" key does not pollute', async () => {
    const body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"proto@example.com","__proto__":{"polluted":"yes"},"name":{"__proto__":{"x":"yes"}}}';
    const res = await request(t.app).post('/scim/v2/Users').set('Authorization', `Bearer ${SCIM_TOKEN}`).set('Content-Type', 'application/scim+json').send(body);
    expect(res.status).toBeLessThan(500);
    expectCleanPrototypes();
    await expectStillServing();
  });

  test('a burst of ReDoS filters does not block the event loop', async () => {
    const { res: all, ms } = await timed(() =>
      Promise.all(Array.from({ length: 20 }, () => t.scim.get('/Users?filter=' + encodeURIComponent(REDOS)).then((r) => r.status))),
    );
    expect(all).toEqual(Array(20).fill(400));
    expect(ms).toBeLessThan(QUICK_MS * 2);
    await expectStillServing();
  });
});

describe('store failures are translated, never reported as 404 (RELIABILITY §0.3, §5 84–86, 92, 100)', () => {
  const unavailable = () => new StoreUnavailableError('MongoDB unavailable (users): connect ECONNREFUSED 10.0.0.7:27017');

  async function seeded(f: ReturnType<typeof faults>): Promise<FaultyApp & { userId: string }> {
    const a = await makeFaultyApp(f);
    f.active = false;
    const userId = (await a.scim.post('/Users', userBody('ada@example.com')).expect(201)).body.id;
    f.active = true;
    return { ...a, userId };
  }

  function expect503(res: request.Response) {
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.headers['content-type']).toContain('application/scim+json');
    expect(res.body).toEqual({ schemas: [ERROR], status: '503', detail: expect.any(String) });
    expect(res.body.detail).not.toContain('ECONNREFUSED');
    expect(res.body.detail).not.toContain('10.0.0.7');
  }

  describe.each([
    ['the users collection is down entirely', ALL_METHODS],
    ['users can be read but not written', WRITES],
  ])('%s → 503 with Retry-After', (_name, methods) => {
    let a: FaultyApp & { userId: string };
    beforeEach(async () => {
      a = await seeded(faults({ collections: { users: methods }, error: unavailable }));
    });

    test.each([
      ['GET /Users?filter=userName eq', (x: typeof a) => x.scim.get('/Users?filter=' + encodeURIComponent('userName eq "ada@example.com"')), true],
      ['GET /Users', (x: typeof a) => x.scim.get('/Users'), true],
      ['GET /Users/{id}', (x: typeof a) => x.scim.get(`/Users/${x.userId}`), true],
      ['POST /Users', (x: typeof a) => x.scim.post('/Users', userBody('grace@example.com')), false],
      ['PATCH active:false (Okta)', (x: typeof a) => x.scim.patch(`/Users/${x.userId}`, patchBody({ op: 'replace', value: { active: false } })), false],
      ['PATCH path active, value false', (x: typeof a) => x.scim.patch(`/Users/${x.userId}`, patchBody({ op: 'replace', path: 'active', value: false })), false],
      ['PUT /Users/{id}', (x: typeof a) => x.scim.put(`/Users/${x.userId}`, userBody('ada@example.com', { active: false })), false],
      ['DELETE /Users/{id}', (x: typeof a) => x.scim.delete(`/Users/${x.userId}`), false],
    ])('%s', async (_op, send, isRead) => {
      const res = await send(a);
      if (isRead && methods === WRITES) {
        // Reads still work when only writes fail.
        expect(res.status).toBe(200);
        return;
      }
      expect503(res);
      expect(a.faults.hits.length).toBeGreaterThan(0);
      // Nothing changed: the user is still there, active, at version 1.
      a.faults.active = false;
      const after = await a.scim.get(`/Users/${a.userId}`).expect(200);
      expect(after.body).toMatchObject({ active: true, meta: { version: 'W/"1"' } });
      expect((await a.inner.users.count({})) ?? 0).toBe(1);
    });
  });

  test('the deprovisioning is applied once the store is back (the IdP retry succeeds)', async () => {
    const a = await seeded(faults({ collections: { users: ALL_METHODS }, error: unavailable }));
    expect503(await a.scim.patch(`/Users/${a.userId}`, patchBody({ op: 'replace', path: 'active', value: false })));
    expect503(await a.scim.delete(`/Users/${a.userId}`));
    a.faults.active = false;
    const patched = await a.scim.patch(`/Users/${a.userId}`, patchBody({ op: 'replace', path: 'active', value: false }));
    expect(patched.status).toBe(200);
    expect(patched.body.active).toBe(false);
    await a.scim.delete(`/Users/${a.userId}`).expect(204);
    await a.scim.get(`/Users/${a.userId}`).expect(404);
  });

  test('groups: a store outage on GET, POST, PATCH members and DELETE is 503 too', async () => {
    const f = faults({ collections: { groups: ALL_METHODS, memberships: ALL_METHODS }, error: unavailable, active: false });
    const a = await makeFaultyApp(f);
    const userId = (await a.scim.post('/Users', userBody('ada@example.com')).expect(201)).body.id;
    const groupId = (await a.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'eng' }).expect(201)).body.id;
    f.active = true;
    expect503(await a.scim.get('/Groups?filter=' + encodeURIComponent('displayName eq "eng"')));
    expect503(await a.scim.get(`/Groups/${groupId}`));
    expect503(await a.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'ops' }));
    expect503(await a.scim.patch(`/Groups/${groupId}`, patchBody({ op: 'add', path: 'members', value: [{ value: userId }] })));
    expect503(await a.scim.delete(`/Groups/${groupId}`));
  });

  // BUG (src/scim/users-router.ts, PATCH handler; RELIABILITY.md 0.10 and §5 #46): Entra ID's default deactivation
  // sends the boolean as a string. It is answered 400 invalidValue ("expected value type 'boolean' but found type
  // 'string'") by scimmy's PatchOp, so a deprovisioning from Entra never happens (Entra does not retry a 400).
  // Expected: 200 with active false. Flip to `test` once "True"/"False" strings are normalised for boolean paths.
  test('Entra\'s string boolean deactivation {"op":"Replace","path":"active","value":"False"} deactivates', async () => {
    const a = await seeded(faults({ collections: {}, error: unavailable, active: false }));
    const res = await a.scim.patch(`/Users/${a.userId}`, patchBody({ op: 'Replace', path: 'active', value: 'False' }));
    expect(res.status).toBe(200);
    expect(res.body.active).toBe(false);
  });

  test('an unexpected store error is a 500 with a generic detail that does not leak the error message', async () => {
    const secret = 'E42 internal failure at /var/lib/db/users.db near key ada@example.com';
    const a = await seeded(faults({ collections: { users: ALL_METHODS }, error: () => new Error(secret) }));
    for (const res of [
      await a.scim.get('/Users'),
      await a.scim.get(`/Users/${a.userId}`),
      await a.scim.post('/Users', userBody('grace@example.com')),
      await a.scim.patch(`/Users/${a.userId}`, patchBody({ op: 'replace', path: 'active', value: false })),
      await a.scim.delete(`/Users/${a.userId}`),
    ]) {
      expect(res.status).toBe(500);
      expect(res.headers['content-type']).toContain('application/scim+json');
      expect(res.body).toEqual({ schemas: [ERROR], status: '500', detail: expect.any(String) });
      expect(res.text).not.toContain('E42');
      expect(res.text).not.toContain('/var/lib');
      expect(res.text).not.toContain('ada@example.com');
      expect(res.text).not.toMatch(/\bat .+\.(ts|js):\d+/); // no stack
    }
  });

  test('a TypeError (a bug in our code) is a 500, not a 400 or 404', async () => {
    const a = await seeded(faults({ collections: { users: ['findReadOnly'] }, error: () => new TypeError("Cannot read properties of undefined (reading 'scim')") }));
    const res = await a.scim.get(`/Users/${a.userId}`);
    expect(res.status).toBe(500);
    expect(res.text).not.toContain('Cannot read properties');
  });

  test('a DuplicateKeyError on insert (a racing create) is 409 uniqueness without index names', async () => {
    const a = await makeFaultyApp(
      faults({ collections: { users: ['insertOne'] }, error: () => new DuplicateKeyError('users', 'orgId_1_userNameKey_1') }),
    );
    const res = await a.scim.post('/Users', userBody('ada@example.com'));
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });
    expect(res.text).not.toContain('orgId_1_userNameKey_1');
    expect(a.faults.hits).toEqual(['users.insertOne']);
  });

  test('a DuplicateKeyError on a group insert is 409 uniqueness', async () => {
    const a = await makeFaultyApp(faults({ collections: { groups: ['insertOne'] }, error: () => new DuplicateKeyError('groups', 'orgId_1_displayNameKey_1') }));
    const res = await a.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'eng' });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
  });

  test('an outage of the token collection is 503 on authentication, not 401', async () => {
    const a = await makeFaultyApp(faults({ collections: { tokens: ALL_METHODS }, error: unavailable }));
    expect503(await a.scim.get('/Users'));
  });
});

describe('health endpoints', () => {
  test('/healthz is 200; /readyz is 200 with a working store', async () => {
    const t = await makeTestApp();
    const health = await request(t.app).get('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await request(t.app).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', store: 'embedded' });
  });

  test.each([
    ['StoreUnavailableError', () => new StoreUnavailableError('down')],
    ['a plain Error', () => new Error('ping exploded')],
  ])('/readyz is 503 with Retry-After when ping throws %s; /healthz stays 200; recovers when the store does', async (_name, error) => {
    const a = await makeFaultyApp(faults({ collections: {}, ping: true, error }));
    const ready = await request(a.app).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.headers['retry-after']).toMatch(/^\d+$/);
    expect(ready.body).toMatchObject({ status: 'unavailable' });
    expect(ready.text).not.toContain('exploded');
    await request(a.app).get('/healthz').expect(200);
    a.faults.active = false;
    await request(a.app).get('/readyz').expect(200);
  });

  test('health endpoints need no token and leak no SCIM data', async () => {
    const t = await makeTestApp();
    await t.scim.post('/Users', userBody('ada@example.com')).expect(201);
    const res = await request(t.app).get('/readyz').expect(200);
    expect(res.text).not.toContain('ada');
  });
});

describe('logs never contain the bearer token, a userName or an email (RELIABILITY §2 H, §5 99–100)', () => {
  const EMAIL = 'zq.unique-person.7731@example.com';
  const USERNAME = 'zq-unique-login-7731@example.com';
  const WRONG_TOKEN = 'wrong-token-zq-0123456789abcdef-7731';

  function expectNoSecrets(text: string) {
    expect(text).not.toContain(SCIM_TOKEN);
    expect(text).not.toContain(WRONG_TOKEN);
    expect(text.toLowerCase()).not.toContain('zq.unique-person');
    expect(text.toLowerCase()).not.toContain('zq-unique-login');
    // Not even URL-encoded (filters travel in query strings).
    expect(text).not.toContain(encodeURIComponent(USERNAME));
    expect(text).not.toContain(encodeURIComponent(EMAIL));
  }

  async function settle() {
    // pino-http logs on the response's `finish`; let it run before reading.
    await new Promise((resolve) => setImmediate(resolve));
  }

  test('a create, a PATCH, a filter, a bad token and a 4xx leave only ids, methods, paths and statuses', async () => {
    const capture = capturingLogger('info');
    const a = await makeFaultyApp(faults({ collections: {}, error: () => new Error('unused'), active: false }), capture.logger);
    const created = await a.scim
      .post('/Users', userBody(USERNAME, { emails: [{ value: EMAIL, type: 'work', primary: true }], password: 'S3cret-7731!' }))
      .set('X-Request-Id', 'req-create-1');
    expect(created.status).toBe(201);
    const id = created.body.id;
    await a.scim.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'emails[type eq "work"].value', value: EMAIL })).set('X-Request-Id', 'req-patch-1').expect(200);
    await a.scim.get('/Users?filter=' + encodeURIComponent(`userName eq "${USERNAME}"`)).set('X-Request-Id', 'req-filter-1').expect(200);
    await a.scim.get('/Users?filter=' + encodeURIComponent(`emails[value eq "${EMAIL}"]`)).expect(200);
    await a.scim.post('/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: `userName eq "${USERNAME}"` }).expect(200);
    // 409 with the userName in the response detail: still not in the log.
    await a.scim.post('/Users', userBody(USERNAME)).set('X-Request-Id', 'req-dup-1').expect(409);
    // 400s whose detail could quote the input.
    await a.scim.get('/Users?filter=' + encodeURIComponent(`userName zz "${USERNAME}"`)).expect(400);
    await a.scim.patch(`/Users/${id}`, patchBody({ op: 'replace', path: `emails[value eq "${EMAIL}"`, value: 'x' })).expect(400);
    await request(a.app).get('/scim/v2/Users').set('Authorization', `Bearer ${WRONG_TOKEN}`).set('X-Request-Id', 'req-badtoken-1').expect(401);
    await request(a.app).get(`/scim/v2/Users?access_token=${WRONG_TOKEN}`).expect(401);
    await settle();

    const text = capture.text();
    const entries = capture.lines.map((l) => JSON.parse(l));
    // The log is useful: every request above is there with its id and status.
    for (const [reqId, status] of [['req-create-1', 201], ['req-patch-1', 200], ['req-filter-1', 200], ['req-dup-1', 409], ['req-badtoken-1', 401]] as const) {
      const entry = entries.find((e) => e.req?.id === reqId);
      expect(entry).toBeDefined();
      expect(entry.res.statusCode).toBe(status);
      expect(entry.req.method).toBeDefined();
    }
    expect(entries.filter((e) => e.res?.statusCode).length).toBe(10);
    expectNoSecrets(text);
    expect(text).not.toContain('S3cret');
    expect(text.toLowerCase()).not.toContain('authorization');
    expect(text).not.toContain('filter=');
  });

  test('a 500 and a 503 are logged as errors with the request id, still without the token, userName or email', async () => {
    const capture = capturingLogger('info');
    const f = faults({ collections: { users: WRITES }, error: () => new Error('store exploded'), active: false });
    const a = await makeFaultyApp(f, capture.logger);
    const { body: user } = await a.scim.post('/Users', userBody(USERNAME, { emails: [{ value: EMAIL, type: 'work' }] })).expect(201);
    f.active = true;
    await a.scim.patch(`/Users/${user.id}`, patchBody({ op: 'replace', path: 'active', value: false })).set('X-Request-Id', 'req-500-1').expect(500);
    f.error = () => new StoreUnavailableError('MongoDB unavailable (users): connection closed');
    await a.scim.delete(`/Users/${user.id}`).set('X-Request-Id', 'req-503-1').expect(503);
    await settle();

    const entries = capture.lines.map((l) => JSON.parse(l));
    for (const [reqId, status] of [['req-500-1', 500], ['req-503-1', 503]] as const) {
      const mine = entries.filter((e) => e.req?.id === reqId);
      expect(mine.some((e) => e.level >= 50)).toBe(true);
      expect(mine.some((e) => e.res?.statusCode === status)).toBe(true);
    }
    // The operator can see what failed and where: the error's class and stack frames, and an outage's cause.
    const failed500 = entries.find((e) => e.req?.id === 'req-500-1' && e.msg === 'request failed');
    expect(failed500).toMatchObject({ status: 500, error: { type: 'Error' } });
    expect(failed500.error.stack).toMatch(/^\s+at /);
    const failed503 = entries.find((e) => e.req?.id === 'req-503-1' && e.msg === 'request failed');
    expect(failed503).toMatchObject({ status: 503, error: { type: 'StoreUnavailableError', message: expect.stringContaining('connection closed') } });
    expectNoSecrets(capture.text());
  });

  test('a store error whose message quotes the document (as driver errors do) does not put it in the log', async () => {
    const capture = capturingLogger('info');
    const f = faults({
      collections: { users: ['insertOne'] },
      // What a MongoDB document-validation failure (code 121) or a mongoose cast error carries: the offending values.
      error: () =>
        Object.assign(new Error(`Document failed validation: { userName: "${USERNAME}", emails: [ { value: "${EMAIL}" } ] }`), {
          code: 121,
          errInfo: { details: { userName: USERNAME, email: EMAIL } },
        }),
    });
    const a = await makeFaultyApp(f, capture.logger);
    const res = await a.scim.post('/Users', userBody(USERNAME, { emails: [{ value: EMAIL, type: 'work' }] })).set('X-Request-Id', 'req-500-doc');
    expect(res.status).toBe(500);
    expect(res.text).not.toContain('zq-unique-login');
    await settle();
    const entries = capture.lines.map((l) => JSON.parse(l));
    expect(entries.some((e) => e.req?.id === 'req-500-doc' && e.level >= 50)).toBe(true);
    expectNoSecrets(capture.text());
  });
});

describe('X-Request-Id', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  test.each(['abc-123', 'Okta.req_42', 'a'.repeat(64)])('a safe inbound id %s is echoed', async (id) => {
    const res = await t.scim.get('/Users').set('X-Request-Id', id).expect(200);
    expect(res.headers['x-request-id']).toBe(id);
  });

  test.each([
    ['spaces', 'id with spaces'],
    ['a tab', 'id\twith-tab'],
    ['header-injection text', 'x; Set-Cookie: a=b'],
    ['markup', '<script>alert(1)</script>'],
    ['65 characters', 'a'.repeat(65)],
    ['a log-forging JSON fragment', '","level":60,"msg":"forged'],
    ['an empty value', ''],
  ])('an unsafe inbound id (%s) is replaced by a generated one', async (_name, id) => {
    const res = await t.scim.get('/Users').set('X-Request-Id', id).expect(200);
    expect(res.headers['x-request-id']).not.toBe(id);
    expect(res.headers['x-request-id']).toMatch(UUID);
  });

  test('an id is generated when none is sent, unique per request, on errors and health checks too', async () => {
    const ids = await Promise.all([
      t.scim.get('/Users').then((r) => r.headers['x-request-id']),
      t.scim.get('/Users/nope').then((r) => r.headers['x-request-id']),
      request(t.app).get('/scim/v2/Users').then((r) => r.headers['x-request-id']),
      request(t.app).get('/healthz').then((r) => r.headers['x-request-id']),
    ]);
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
