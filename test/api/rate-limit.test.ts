/**
 * Rate limits (README "Rate limits", src/http/rate-limit.ts): per organization on /scim/v2 and /admin/api, keyed by
 * the authenticated token's organization; refused SSO attempts per organization and client IP.
 *
 * A 429 names when to retry (`Retry-After`, whole seconds, and the detail), one tenant's burst never touches another's,
 * Entra's gallery pace (25 requests/second per tenant, several threads) never trips the default limit, and an
 * unauthenticated request is a 401, never a 429. Windows are one second, so the waits here are about a second.
 */
import request from 'supertest';
import { makeTestApp, userBody, ADMIN_TOKEN, SCIM_CONTENT_TYPE, type TestApp } from '../helpers/app';
import { loadConfig } from '../../src/config';
import { ensureOrganization } from '../../src/services/organizations';
import { storeToken } from '../../src/auth/tokens';
import { assertion, SSO_SECRET } from '../helpers/sso';
import { trustedProxies } from '../../src/http/trust-proxy';

const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
const OTHER_TOKEN = 'other-org-token-0123456789abcdef';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** 3 requests per second, 5 at once. */
const SMALL = { RATE_LIMIT_PER_SECOND: '3', RATE_LIMIT_BURST: '5' };

/** A second organization in the same app, with its own SCIM token (as in protocol.test.ts "tenant isolation"). */
async function secondOrganization(t: TestApp) {
  const other = await ensureOrganization(t.store, { ...t.config.bootstrap.org, name: 'other' });
  await storeToken(t.store, OTHER_TOKEN, { orgId: other._id, kind: 'scim', connectionId: `${other._id}:c` });
  return (path: string) => request(t.app).get(`/scim/v2${path}`).set('Authorization', `Bearer ${OTHER_TOKEN}`);
}

async function statuses(n: number, send: () => request.Test): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < n; i++) result.push((await send()).status);
  return result;
}

function expectTooMany(res: request.Response) {
  expect(res.status).toBe(429);
  expect(res.headers['content-type']).toContain(SCIM_CONTENT_TYPE);
  expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  expect(res.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '429' });
  expect(res.body.detail).toMatch(new RegExp(`retry after ${res.headers['retry-after']} seconds?`));
}

describe('SCIM rate limit per organization', () => {
  test('the request after the burst gets 429 with a SCIM error and Retry-After; after waiting that long requests pass', async () => {
    const t = await makeTestApp(SMALL);
    expect(await statuses(5, () => t.scim.get('/Users'))).toEqual([200, 200, 200, 200, 200]);
    const refused = await t.scim.post('/Users', userBody('ada@example.com'));
    expectTooMany(refused);
    // The refused request did nothing.
    expect((await t.store.users.find({ orgId: t.org._id })).length).toBe(0);

    await sleep(Number(refused.headers['retry-after']) * 1000 + 50);
    await t.scim.post('/Users', userBody('ada@example.com')).expect(201);
    await t.scim.get('/Users?filter=userName eq "ada@example.com"').expect(200);
  });

  test('organization B is unaffected while organization A is limited', async () => {
    const t = await makeTestApp(SMALL);
    const asB = await secondOrganization(t);
    await statuses(5, () => t.scim.get('/Users'));
    expectTooMany(await t.scim.get('/Users'));
    // B has its whole burst while A is refused, and A stays refused.
    expect(await statuses(5, () => asB('/Users'))).toEqual([200, 200, 200, 200, 200]);
    expectTooMany(await asB('/Users'));
    expectTooMany(await t.scim.get('/Users'));
  });

  test('unauthenticated requests get 401, never 429, and spend nothing of the organization’s budget', async () => {
    const t = await makeTestApp(SMALL);
    const none = () => request(t.app).get('/scim/v2/Users');
    const wrong = () => request(t.app).get('/scim/v2/Users').set('Authorization', 'Bearer not-a-token-0123456789abcdef');
    expect(await statuses(8, none)).toEqual(Array(8).fill(401));
    expect(await statuses(8, wrong)).toEqual(Array(8).fill(401));
    // The organization still has its full burst.
    expect(await statuses(5, () => t.scim.get('/Users'))).toEqual([200, 200, 200, 200, 200]);
    expectTooMany(await t.scim.get('/Users'));
    // Limited or not, a bad token is a 401.
    expect((await wrong()).status).toBe(401);
  });

  test('a Bulk request counts once: its operations are not limited one by one', async () => {
    const t = await makeTestApp(SMALL);
    const Operations = Array.from({ length: 10 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `u${i}`, data: userBody(`u${i}@example.com`) }));
    const res = await t.scim.post('/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations }).expect(200);
    expect(res.body.Operations.map((op: { status: string }) => op.status)).toEqual(Array(10).fill('201'));
  });

  test('the defaults (50/s, bursts of 100) never refuse Entra’s gallery pace: 25 requests/second for 2 s from 5 threads', async () => {
    const defaults = loadConfig({}).rateLimits!;
    expect(defaults.scim).toEqual({ perSecond: 50, burst: 100 });
    const t = await makeTestApp({ RATE_LIMIT_PER_SECOND: String(defaults.scim.perSecond), RATE_LIMIT_BURST: String(defaults.scim.burst) });
    const seen: number[] = [];
    const start = Date.now();
    // 10 ticks of 200 ms, each sending 5 requests at once (a lookup and a create per user, as Entra does): 50 in 2 s.
    for (let tick = 0; tick < 10; tick++) {
      const batch = Array.from({ length: 5 }, (_, i) => {
        const userName = `u${tick}-${i}@example.com`;
        return i % 2 === 0 ? t.scim.get(`/Users?filter=userName eq "${userName}"`) : t.scim.post('/Users', userBody(userName));
      });
      seen.push(...(await Promise.all(batch)).map((r) => r.status));
      await sleep(Math.max(0, start + (tick + 1) * 200 - Date.now()));
    }
    expect(seen).toHaveLength(50);
    expect(seen.filter((s) => s === 429)).toEqual([]);
  });
});

describe('admin API rate limit per organization', () => {
  test('the request after the burst gets 429 with a JSON error and Retry-After', async () => {
    const t = await makeTestApp({ ADMIN_RATE_LIMIT_PER_SECOND: '2', ADMIN_RATE_LIMIT_BURST: '3' });
    const seats = () => request(t.app).get('/admin/api/seats').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    expect(await statuses(3, seats)).toEqual([200, 200, 200]);
    const refused = await seats();
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(refused.body).toMatchObject({ status: '429', detail: expect.stringMatching(/retry after \d+ seconds?/) });
    // Without a token: 401, not 429; and SCIM has a budget of its own (off in this app).
    await request(t.app).get('/admin/api/seats').expect(401);
    await t.scim.get('/Users').expect(200);
  });
});

describe('SSO: refused attempts per organization and client IP', () => {
  test('after 3 refused attempts a 4th is 429, from that address only; successful logins never count', async () => {
    const t = await makeTestApp({ SSO_BOOTSTRAP_SECRET: SSO_SECRET, SSO_FAILED_LOGINS_PER_MINUTE: '3' });
    const login = async (token: string, ip = '203.0.113.7') =>
      request(t.app).post(`/sso/${t.org.name}/login`).set('X-Forwarded-For', ip).send({ assertion: token });
    // Successful logins: any number.
    for (let i = 0; i < 5; i++) expect((await login(await assertion('ada@example.com'))).status).toBe(200);
    const forged = await assertion('ada@example.com', { secret: 'another-secret-another-secret-another' });
    for (let i = 0; i < 3; i++) expect((await login(forged)).status).toBe(403);
    const refused = await login(await assertion('ada@example.com'));
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(refused.body).toMatchObject({ status: '429' });
    // Another address is not affected.
    expect((await login(await assertion('ada@example.com'), '198.51.100.9')).status).toBe(200);
  });
});

describe('configuration', () => {
  test('0 turns a limit off; a burst below the per-second rate is refused at start-up', () => {
    expect(loadConfig({ RATE_LIMIT_PER_SECOND: '0' }).rateLimits!.scim.perSecond).toBe(0);
    expect(loadConfig({ RATE_LIMIT_PER_SECOND: '200' }).rateLimits!.scim).toEqual({ perSecond: 200, burst: 400 });
    expect(() => loadConfig({ RATE_LIMIT_PER_SECOND: '50', RATE_LIMIT_BURST: '10' })).toThrow(/RATE_LIMIT_BURST/);
    expect(loadConfig({}).rateLimits).toMatchObject({ admin: { perSecond: 20, burst: 40 }, ssoFailuresPerMinute: 10 });
  });
});

describe('trusted proxies', () => {
  test('only loopback peers may forward a client address or protocol, however often and however many peers ask', () => {
    const trusts = trustedProxies();
    const cases: Array<[string, boolean]> = [
      ['127.0.0.1', true],
      ['127.8.9.10', true],
      ['::1', true],
      ['::ffff:127.0.0.1', true],
      ['203.0.113.7', false],
      ['::ffff:203.0.113.7', false],
      ['2001:db8::1', false],
      ['not an address', false],
    ];
    for (let round = 0; round < 2; round++) for (const [address, trusted] of cases) expect([address, trusts(address, 0)]).toEqual([address, trusted]);
    // A flood of distinct peers (the kept answers are dropped past a bound) changes no answer.
    for (let i = 0; i < 10_000; i++) expect(trusts(`198.51.${i >> 8}.${i & 255}`, 0)).toBe(false);
    for (const [address, trusted] of cases) expect([address, trusts(address, 1)]).toEqual([address, trusted]);
  });
});
