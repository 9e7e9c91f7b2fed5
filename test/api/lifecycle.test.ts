/**
 * The lifecycle stories of DESIGN.md §3–§4, end to end through HTTP: what the IdP does, what the person can then
 * still do (SSO login, enterprise content), and what the seat count says.
 */
import request from 'supertest';
import { makeTestApp, patchBody, userBody, ADMIN_TOKEN } from '../helpers/app';
import { assertion, unsignedAssertion, SSO_SECRET } from '../helpers/sso';

const LIFECYCLE = 'urn:ietf:params:scim:schemas:extension:lifecycle:2.0:User';

async function setup(env: Record<string, string> = {}) {
  const t = await makeTestApp({ SSO_BOOTSTRAP_SECRET: SSO_SECRET, ORG_SEATS: '10', ...env });
  const admin = {
    get: (path: string) => request(t.app).get(`/admin/api${path}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`),
    post: (path: string, body: object = {}) => request(t.app).post(`/admin/api${path}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`).send(body),
  };
  const login = async (email: string, token?: string) =>
    request(t.app).post(`/sso/${t.org.name}/login`).send({ assertion: token ?? (await assertion(email)) });
  const workspace = (id: string, session: string) => request(t.app).get(`/api/workspaces/${id}`).set('Authorization', `Bearer ${session}`);
  const seats = async () => (await admin.get('/seats').expect(200)).body as { seats: number; used: number; available: number };
  const createUser = async (userName: string, extra: Record<string, unknown> = {}) => (await t.scim.post('/Users', userBody(userName, extra)).expect(201)).body;
  const enterpriseWorkspace = async (admins: string[] = []) => (await admin.post('/workspaces', { name: 'Roadmap', enterprise: true, admins }).expect(201)).body.id as string;
  return { t, admin, login, workspace, seats, createUser, enterpriseWorkspace };
}

const deactivate = patchBody({ op: 'replace', value: { active: false } });
const reactivate = patchBody({ op: 'replace', value: { active: true } });

describe('deprovisioning a licensed user (ORG_DEPROVISION=account)', () => {
  test('deactivation frees the seat, ends the session, closes content and SSO; reactivation restores license, groups and access', async () => {
    const { t, login, workspace, seats, createUser, enterpriseWorkspace } = await setup();
    const user = await createUser('ada@example.com');
    expect(user[LIFECYCLE]).toMatchObject({ managed: true, accountStatus: 'active', license: 'licensed' });
    const { body: group } = await t.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Eng', members: [{ value: user.id }] }).expect(201);
    const ws = await enterpriseWorkspace();
    const first = await login('ada@example.com');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ accountId: user.id, enterpriseAccess: true });
    await workspace(ws, first.body.sessionToken).expect(200);
    expect((await seats()).used).toBe(1);

    const off = await t.scim.patch(`/Users/${user.id}`, deactivate).expect(200);
    expect(off.body.active).toBe(false);
    expect(off.body[LIFECYCLE]).toMatchObject({ accountStatus: 'deactivated', license: 'revoked', deactivatedBy: expect.stringMatching(/^directory:/) });
    expect((await seats()).used).toBe(0);
    const stale = await workspace(ws, first.body.sessionToken);
    expect([401, 403]).toContain(stale.status);
    const refused = await login('ada@example.com');
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/deactivated/);
    // The filter still finds the deactivated account, so the IdP re-links instead of creating a duplicate.
    expect((await t.scim.get('/Users').query({ filter: 'userName eq "ada@example.com"' })).body.totalResults).toBe(1);

    const on = await t.scim.patch(`/Users/${user.id}`, reactivate).expect(200);
    expect(on.body[LIFECYCLE]).toMatchObject({ accountStatus: 'active', license: 'licensed' });
    expect(on.body.groups.map((g: { value: string }) => g.value)).toEqual([group.id]);
    expect((await seats()).used).toBe(1);
    const again = await login('ada@example.com');
    expect(again.body.enterpriseAccess).toBe(true);
    await workspace(ws, again.body.sessionToken).expect(200);
  });

  test('Entra PUT and PATCH-with-path shapes deprovision the same way, and repeats release the seat only once', async () => {
    const { t, seats, createUser } = await setup();
    const a = await createUser('a@example.com');
    const b = await createUser('b@example.com');
    expect((await seats()).used).toBe(2);
    await t.scim.put(`/Users/${a.id}`, { ...a, active: false }).expect(200);
    await t.scim.patch(`/Users/${b.id}`, patchBody({ op: 'replace', path: 'active', value: false })).expect(200);
    await t.scim.patch(`/Users/${b.id}`, patchBody({ op: 'replace', path: 'active', value: false })).expect(200);
    await t.scim.put(`/Users/${a.id}`, { ...a, active: false }).expect(200);
    expect(await seats()).toEqual({ seats: 10, used: 0, available: 10 });
    const audit = await t.store.audit.find({ action: 'account.deactivated' });
    expect(audit.map((e) => e.subject.id).sort()).toEqual([a.id, b.id].sort());
  });

  test('DELETE unlinks and deactivates; a later POST of the same userName re-links and reactivates the same account', async () => {
    const { t, login, seats, createUser } = await setup();
    const user = await createUser('ada@example.com');
    await t.scim.delete(`/Users/${user.id}`).expect(204);
    expect((await seats()).used).toBe(0);
    expect((await login('ada@example.com')).status).toBe(403);
    const back = await t.scim.post('/Users', userBody('ada@example.com')).expect(201);
    expect(back.body.id).toBe(user.id);
    expect(back.body[LIFECYCLE]).toMatchObject({ accountStatus: 'active', license: 'licensed' });
  });
});

describe('ORG_DEPROVISION=enterprise: the SSO rule', () => {
  test('deprovisioning revokes only the license; any number of SSO logins never bring enterprise access back; reactivation does', async () => {
    const { t, login, workspace, seats, createUser, enterpriseWorkspace } = await setup({ ORG_DEPROVISION: 'enterprise' });
    const user = await createUser('ada@example.com');
    const ws = await enterpriseWorkspace();
    const off = await t.scim.patch(`/Users/${user.id}`, patchBody({ op: 'Replace', path: 'active', value: false })).expect(200);
    expect(off.body[LIFECYCLE]).toMatchObject({ accountStatus: 'active', license: 'revoked' });
    expect((await seats()).used).toBe(0);
    for (let i = 0; i < 3; i++) {
      const session = await login('ada@example.com');
      expect(session.status).toBe(200);
      expect(session.body.enterpriseAccess).toBe(false);
      await workspace(ws, session.body.sessionToken).expect(403);
    }
    expect((await t.scim.get(`/Users/${user.id}`)).body[LIFECYCLE].license).toBe('revoked');
    await t.scim.patch(`/Users/${user.id}`, reactivate).expect(200);
    const session = await login('ada@example.com');
    expect(session.body.enterpriseAccess).toBe(true);
    await workspace(ws, session.body.sessionToken).expect(200);
  });
});

describe('seats', () => {
  test('when seats run out new accounts wait (pending_seat); a deactivation promotes the oldest waiter', async () => {
    const { t, seats, createUser } = await setup({ ORG_SEATS: '2' });
    const a = await createUser('a@example.com');
    await createUser('b@example.com');
    const c = await createUser('c@example.com');
    const d = await createUser('d@example.com');
    expect(c[LIFECYCLE].license).toBe('pending_seat');
    expect(d[LIFECYCLE].license).toBe('pending_seat');
    expect(await seats()).toEqual({ seats: 2, used: 2, available: 0 });
    await t.scim.patch(`/Users/${a.id}`, deactivate).expect(200);
    expect((await t.scim.get(`/Users/${c.id}`)).body[LIFECYCLE].license).toBe('licensed');
    expect((await t.scim.get(`/Users/${d.id}`)).body[LIFECYCLE].license).toBe('pending_seat');
    expect(await seats()).toEqual({ seats: 2, used: 2, available: 0 });
    // The reactivated account now waits behind d.
    await t.scim.patch(`/Users/${a.id}`, reactivate).expect(200);
    expect((await t.scim.get(`/Users/${a.id}`)).body[LIFECYCLE].license).toBe('pending_seat');
  });

  test('50 concurrent creates for 10 seats license exactly 10; the rest wait', async () => {
    const { t, seats } = await setup({ ORG_SEATS: '10' });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => t.scim.post('/Users', userBody(`u${i}@example.com`))));
    expect(results.every((r) => r.status === 201)).toBe(true);
    const licenses = results.map((r) => r.body[LIFECYCLE].license);
    expect(licenses.filter((l) => l === 'licensed')).toHaveLength(10);
    expect(licenses.filter((l) => l === 'pending_seat')).toHaveLength(40);
    expect(await seats()).toEqual({ seats: 10, used: 10, available: 0 });
  });
});

describe('SSO login', () => {
  test('forged, expired, unsigned (alg none) and wrongly signed assertions are refused', async () => {
    const { login, createUser } = await setup();
    await createUser('ada@example.com');
    const forged = await login('ada@example.com', await assertion('ada@example.com', { secret: 'another-secret-another-secret-another' }));
    expect(forged.status).toBe(403);
    const expired = await login('ada@example.com', await assertion('ada@example.com', { expiresIn: Math.floor(Date.now() / 1000) - 60 }));
    expect(expired.status).toBe(403);
    expect(expired.body.detail).toMatch(/expired/);
    const none = await login('ada@example.com', unsignedAssertion('ada@example.com'));
    expect(none.status).toBe(403);
    const hs512 = await login('ada@example.com', await assertion('ada@example.com', { alg: 'HS512' }));
    expect(hs512.status).toBe(403);
    const garbage = await login('ada@example.com', 'not-a-jwt');
    expect(garbage.status).toBe(403);
  });

  test('first login on a claimed domain creates a free managed account; SCIM POST then links it instead of duplicating', async () => {
    const { t, login, seats } = await setup();
    const first = await login('grace@example.com');
    expect(first.status).toBe(200);
    expect(first.body.enterpriseAccess).toBe(false);
    expect((await seats()).used).toBe(0);
    const unclaimed = await login('mallory@elsewhere.test');
    expect(unclaimed.status).toBe(403);
    // Not visible to SCIM until the directory links it.
    expect((await t.scim.get('/Users')).body.totalResults).toBe(0);
    const linked = await t.scim.post('/Users', userBody('grace@example.com')).expect(201);
    expect(linked.body.id).toBe(first.body.accountId);
    expect(linked.body[LIFECYCLE]).toMatchObject({ managed: true, license: 'licensed' });
    expect(await t.store.users.count({})).toBe(1);
    expect((await login('grace@example.com')).body.enterpriseAccess).toBe(true);
  });

  test('login updates lastActive and nothing else', async () => {
    const { t, login, createUser } = await setup();
    const user = await createUser('ada@example.com');
    await login('ada@example.com');
    const after = (await t.scim.get(`/Users/${user.id}`)).body;
    expect(Date.parse(after[LIFECYCLE].lastActive)).not.toBeNaN();
    expect(after[LIFECYCLE].license).toBe('licensed');
  });
});

describe('unmanaged accounts', () => {
  test('deprovisioning an unmanaged account suspends site access and revokes the license but leaves the account active', async () => {
    const { t, login, seats, createUser } = await setup();
    const guest = await createUser('guest@partner.test');
    expect(guest[LIFECYCLE]).toMatchObject({ managed: false, license: 'licensed' });
    const off = await t.scim.patch(`/Users/${guest.id}`, deactivate).expect(200);
    expect(off.body[LIFECYCLE]).toMatchObject({ accountStatus: 'active', siteAccess: 'suspended', license: 'revoked' });
    expect((await seats()).used).toBe(0);
    // SSO never logs in accounts on unclaimed domains it did not create; the account itself is untouched.
    expect((await login('guest@partner.test')).body.enterpriseAccess).not.toBe(true);
  });
});

describe('group-based licensing (ORG_LICENSE_MODE=groups)', () => {
  test('adding to a licensing group grants; removing from the last licensing group revokes and frees the seat', async () => {
    const { t, seats, createUser } = await setup({ ORG_LICENSE_MODE: 'groups', ORG_LICENSE_GROUPS: 'Enterprise Users,Contractors' });
    const user = await createUser('ada@example.com');
    expect(user[LIFECYCLE].license).toBe('free');
    const group = (displayName: string) => t.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName, members: [{ value: user.id }] }).expect(201);
    const { body: licensed } = await group('Enterprise Users');
    expect((await t.scim.get(`/Users/${user.id}`)).body[LIFECYCLE].license).toBe('licensed');
    const { body: other } = await group('Contractors');
    await t.scim.patch(`/Groups/${licensed.id}`, patchBody({ op: 'remove', path: `members[value eq "${user.id}"]` })).expect(204);
    expect((await t.scim.get(`/Users/${user.id}`)).body[LIFECYCLE].license).toBe('licensed');
    await t.scim.delete(`/Groups/${other.id}`).expect(204);
    expect((await t.scim.get(`/Users/${user.id}`)).body[LIFECYCLE].license).toBe('revoked');
    expect((await seats()).used).toBe(0);
    // A plain group grants nothing.
    await group('Book club');
    expect((await t.scim.get(`/Users/${user.id}`)).body[LIFECYCLE].license).toBe('revoked');
  });

  test('a user deleted through SCIM cannot get a license back by being added to a licensing group', async () => {
    const { t, seats, createUser } = await setup({ ORG_LICENSE_MODE: 'groups', ORG_LICENSE_GROUPS: 'Licensed', ORG_DEPROVISION: 'enterprise' });
    const user = await createUser('ada@example.com');
    const { body: licensed } = await t.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Licensed', members: [{ value: user.id }] }).expect(201);
    expect((await seats()).used).toBe(1);
    await t.scim.delete(`/Users/${user.id}`).expect(204);
    expect((await seats()).used).toBe(0);
    const res = await t.scim.patch(`/Groups/${licensed.id}`, patchBody({ op: 'add', path: 'members', value: [{ value: user.id }] }));
    expect(res.status).toBe(400);
    expect((await seats()).used).toBe(0);
  });
});

describe('the lifecycle extension is read-only for the IdP', () => {
  test('writes to it by POST and PUT are ignored (resources are sent back as read); a PATCH of it is 400 mutability', async () => {
    const { t, createUser } = await setup({ ORG_SEATS: '0' });
    const user = await createUser('ada@example.com', { [LIFECYCLE]: { license: 'licensed', accountStatus: 'active' } });
    expect(user[LIFECYCLE].license).toBe('pending_seat');
    await t.scim.put(`/Users/${user.id}`, { ...user, [LIFECYCLE]: { license: 'licensed' } }).expect(200);
    await t.scim.patch(`/Users/${user.id}`, patchBody({ op: 'replace', path: `${LIFECYCLE}:license`, value: 'licensed' })).expect(400);
    expect((await t.scim.get(`/Users/${user.id}`)).body[LIFECYCLE].license).toBe('pending_seat');
  });
});

describe('content and workspace admins', () => {
  test('the last active admin of a workspace cannot be deactivated by an admin unless another admin is named', async () => {
    const { admin, createUser, enterpriseWorkspace } = await setup();
    const ada = await createUser('ada@example.com');
    const bob = await createUser('bob@example.com');
    const ws = await enterpriseWorkspace([ada.id]);
    const refused = await admin.post(`/accounts/${ada.id}/deactivate`);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain('Roadmap');
    expect(refused.body.detail).toContain(ws);
    const done = await admin.post(`/accounts/${ada.id}/deactivate`, { newAdmin: bob.id });
    expect(done.status).toBe(200);
    expect(done.body.accountStatus).toBe('deactivated');
  });

  test('authors who were deactivated stay attributed and are shown as deactivated, not assignable', async () => {
    const { t, admin, login, workspace, createUser } = await setup();
    const ada = await createUser('ada@example.com', { displayName: 'Ada' });
    const bob = await createUser('bob@example.com', { displayName: 'Bob' });
    const { body } = await admin.post('/workspaces', { name: 'Docs', enterprise: true, admins: [ada.id], authors: [ada.id, bob.id] }).expect(201);
    await t.scim.patch(`/Users/${bob.id}`, deactivate).expect(200);
    const session = await login('ada@example.com');
    const res = await workspace(body.id, session.body.sessionToken).expect(200);
    expect(res.body.authors).toEqual([
      { id: ada.id, displayName: 'Ada', deactivated: false, assignable: true },
      { id: bob.id, displayName: 'Bob', deactivated: true, assignable: false },
    ]);
  });
});
