/**
 * Deprovisioning is durable: when the store fails part-way, the IdP gets a 5xx (never 2xx or 404), and a retry —
 * or the start-up reconciliation — completes the seat release, session revocation and audit event.
 */
import request from 'supertest';
import fs, { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp } from '../../src/http/app';
import { createLogger } from '../../src/logger';
import { loadConfig } from '../../src/config';
import { bootstrap } from '../../src/services/organizations';
import { completeEffects, reconcileOrganization } from '../../src/services/lifecycle';
import { openEmbeddedStore } from '../../src/store/embedded';
import { StoreUnavailableError, type Store } from '../../src/store/port';
import { patchBody, userBody, SCIM_TOKEN, ADMIN_TOKEN } from '../helpers/app';
import { assertion, SSO_SECRET } from '../helpers/sso';

const LIFECYCLE = 'urn:ietf:params:scim:schemas:extension:lifecycle:2.0:User';
const env = { SCIM_BOOTSTRAP_TOKEN: SCIM_TOKEN, ADMIN_BOOTSTRAP_TOKEN: ADMIN_TOKEN, SSO_BOOTSTRAP_SECRET: SSO_SECRET, ORG_DOMAINS: 'example.com', ORG_SEATS: '1', LOG_LEVEL: 'silent' };

/** A store whose `tokens.deleteMany` (session revocation) fails while `failing.on` is true. */
function flakyStore(store: Store, failing: { on: boolean }): Store {
  const tokens = new Proxy(store.tokens, {
    get(target, prop, receiver) {
      if (prop === 'deleteMany' && failing.on) return async () => Promise.reject(new StoreUnavailableError('connection reset'));
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return new Proxy(store, { get: (target, prop, receiver) => (prop === 'tokens' ? tokens : Reflect.get(target, prop, receiver)) });
}

async function setup(store: Store, failing = { on: false }) {
  const config = loadConfig(env);
  const org = (await bootstrap(store, config))!;
  const app = createApp({ config, store: flakyStore(store, failing), logger: createLogger('silent') });
  const auth = (r: request.Test) => r.set('Authorization', `Bearer ${SCIM_TOKEN}`).set('Content-Type', 'application/scim+json');
  return {
    app,
    org,
    failing,
    post: (p: string, body: object) => auth(request(app).post(`/scim/v2${p}`)).send(body),
    patch: (p: string, body: object) => auth(request(app).patch(`/scim/v2${p}`)).send(body),
    get: (p: string) => auth(request(app).get(`/scim/v2${p}`)),
    seats: async () => (await request(app).get('/admin/api/seats').set('Authorization', `Bearer ${ADMIN_TOKEN}`)).body,
    login: async (email: string) => request(app).post(`/sso/${org.name}/login`).send({ assertion: await assertion(email) }),
  };
}

describe('durability of deprovisioning', () => {
  test('a store failure mid-deactivation answers 503 with Retry-After; the retry completes every effect exactly once', async () => {
    const store = await openEmbeddedStore();
    const s = await setup(store);
    const { body: user } = await s.post('/Users', userBody('ada@example.com')).expect(201);
    const session = await s.login('ada@example.com');
    expect(session.status).toBe(200);

    s.failing.on = true;
    const failed = await s.patch(`/Users/${user.id}`, patchBody({ op: 'replace', path: 'active', value: false }));
    expect(failed.status).toBe(503);
    expect(failed.headers['retry-after']).toBeDefined();
    expect(failed.body).toMatchObject({ status: '503' });

    s.failing.on = false;
    const retried = await s.patch(`/Users/${user.id}`, patchBody({ op: 'replace', path: 'active', value: false }));
    expect(retried.status).toBe(200);
    expect(retried.body[LIFECYCLE]).toMatchObject({ accountStatus: 'deactivated', license: 'revoked' });
    expect(await s.seats()).toEqual({ seats: 1, used: 0, available: 1 });
    expect(await store.tokens.count({ kind: 'session' })).toBe(0);
    expect(await store.audit.count({ action: 'account.deactivated', 'subject.id': user.id })).toBe(1);
    expect((await store.users.findOne({ _id: user.id }))!.lifecycle!.pendingEffects).toBeUndefined();
  });

  test('a crash after the state change is finished by the start-up reconciliation, and the freed seat goes to the waiter', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'scim-durability-'));
    try {
      const store = await openEmbeddedStore({ dataDir: dir });
      const s = await setup(store);
      const { body: ada } = await s.post('/Users', userBody('ada@example.com')).expect(201);
      const { body: bob } = await s.post('/Users', userBody('bob@example.com')).expect(201);
      expect(bob[LIFECYCLE].license).toBe('pending_seat');
      s.failing.on = true;
      expect((await s.patch(`/Users/${ada.id}`, patchBody({ op: 'replace', path: 'active', value: false }))).status).toBe(503);
      await store.close();

      // "Restart": a new process opens the same files and reconciles before serving.
      const reopened = await openEmbeddedStore({ dataDir: dir });
      const org = (await reopened.organizations.findOne({ name: 'default' }))!;
      await reconcileOrganization(reopened, { orgId: org._id, actor: { kind: 'policy', id: 'startup' }, now: new Date() }, org);
      const after = await setup(reopened);
      expect((await after.get(`/Users/${ada.id}`)).body[LIFECYCLE]).toMatchObject({ accountStatus: 'deactivated', license: 'revoked' });
      expect((await after.get(`/Users/${bob.id}`)).body[LIFECYCLE].license).toBe('licensed');
      expect(await after.seats()).toEqual({ seats: 1, used: 1, available: 0 });
      expect(await reopened.audit.count({ action: 'account.deactivated' })).toBe(1);
      await reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('all lifecycle state survives a restart on the same data directory', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'scim-restart-'));
    try {
      const store = await openEmbeddedStore({ dataDir: dir });
      const s = await setup(store);
      const created = await Promise.all(['a', 'b', 'c'].map((n) => s.post('/Users', userBody(`${n}@example.com`))));
      const before = await Promise.all(created.map((r) => s.get(`/Users/${r.body.id}`)));
      await store.close();
      const reopened = await openEmbeddedStore({ dataDir: dir });
      const after = await setup(reopened);
      // Everything but the URL (the restarted server listens elsewhere) is as it was.
      const withoutLocation = (r: { meta: { location?: string } }) => ({ ...r, meta: { ...r.meta, location: undefined } });
      for (const b of before) expect(withoutLocation((await after.get(`/Users/${b.body.id}`)).body)).toEqual(withoutLocation(b.body));
      expect(await after.seats()).toEqual({ seats: 1, used: 1, available: 0 });
      await reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a seat freed by one request goes to the waiter even when another request clears the pending marker first', async () => {
    const store = await openEmbeddedStore();
    const s = await setup(store);
    const ada = (await s.post('/Users', userBody('ada@example.com')).expect(201)).body;
    const bob = (await s.post('/Users', userBody('bob@example.com')).expect(201)).body;
    expect([ada[LIFECYCLE].license, bob[LIFECYCLE].license]).toEqual(['licensed', 'pending_seat']);
    // Ada's deactivation is written, its seat not yet released (as right after the conditional write).
    const written = await store.users.updateOne(
      { _id: ada.id },
      {
        $set: { 'scim.active': false, 'lifecycle.accountStatus': 'deactivated', 'lifecycle.license': 'revoked', 'lifecycle.pendingEffects': { wantSeat: false, releaseSeat: true, revokeSessions: false } },
        $inc: { version: 1 },
      },
    );
    // Right after this request frees the seat, a concurrent retry of the same change writes Ada again and clears the
    // marker: it found the seat already free, so it promotes nobody.
    const seats = new Proxy(store.seats, {
      get(target, prop, receiver) {
        if (prop !== 'updateOne') return Reflect.get(target, prop, receiver);
        return async (query: Record<string, unknown>, update: Record<string, unknown>) => {
          const result = await target.updateOne(query, update);
          if (result && 'holderKey' in query && String(query.holderKey).endsWith(ada.id)) {
            await store.users.updateOne({ _id: ada.id }, { $unset: { 'lifecycle.pendingEffects': true }, $inc: { version: 1 } });
          }
          return result;
        };
      },
    });
    const racing = new Proxy(store, { get: (target, prop, receiver) => (prop === 'seats' ? seats : Reflect.get(target, prop, receiver)) });
    const ctx = { orgId: s.org._id, connectionId: written!.connectionId, actor: { kind: 'directory' as const, id: 'test' }, requestId: 'r1', now: new Date() };
    await completeEffects(racing, ctx, s.org, written!);
    expect((await s.get(`/Users/${bob.id}`).expect(200)).body[LIFECYCLE].license).toBe('licensed');
    expect(await s.seats()).toEqual({ seats: 1, used: 1, available: 0 });
  });
});

describe('a full disk', () => {
  test('a create the disk refuses is 503 with Retry-After, /readyz turns 503, and after a restart the user is not half there', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'scim-diskfull-'));
    try {
      const store = await openEmbeddedStore({ dataDir: dir });
      const s = await setup(store);
      await s.post('/Users', userBody('kept@example.com')).expect(201);
      jest.spyOn(fs, 'writeSync').mockImplementation(() => {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      });
      const refused = await s.post('/Users', userBody('refused@example.com'));
      jest.restoreAllMocks();
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBeDefined();
      expect(refused.body).toMatchObject({ status: '503' });
      expect((await request(s.app).get('/readyz')).status).toBe(503);
      // The IdP's retry is refused the same way until the server restarts; it never sees a 409 for a user the disk lacks.
      expect((await s.post('/Users', userBody('refused@example.com'))).status).toBe(503);
      await store.close();

      const reopened = await openEmbeddedStore({ dataDir: dir });
      const after = await setup(reopened);
      expect((await request(after.app).get('/readyz')).status).toBe(200);
      const list = await after.get('/Users?filter=userName%20eq%20%22refused@example.com%22').expect(200);
      expect(list.body.totalResults).toBe(0);
      await after.post('/Users', userBody('refused@example.com')).expect(201);
      await reopened.close();
    } finally {
      jest.restoreAllMocks();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
