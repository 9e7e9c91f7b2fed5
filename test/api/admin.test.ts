/**
 * The admin API through HTTP: organization settings, directory connections and tokens, account actions, access
 * requests, policies, exports and the audit log.
 */
import request from 'supertest';
import { parse } from 'csv-parse/sync';
import { makeTestApp, patchBody, userBody, ADMIN_TOKEN, SCIM_TOKEN } from '../helpers/app';
import { assertion, SSO_SECRET } from '../helpers/sso';

const LIFECYCLE = 'urn:ietf:params:scim:schemas:extension:lifecycle:2.0:User';
const DAY = 24 * 60 * 60 * 1000;

async function setup(env: Record<string, string> = {}) {
  const t = await makeTestApp({ SSO_BOOTSTRAP_SECRET: SSO_SECRET, ORG_SEATS: '3', ...env });
  const as = (token: string) => ({
    get: (path: string) => request(t.app).get(`/admin/api${path}`).set('Authorization', `Bearer ${token}`),
    post: (path: string, body: object = {}) => request(t.app).post(`/admin/api${path}`).set('Authorization', `Bearer ${token}`).send(body),
    patch: (path: string, body: object = {}) => request(t.app).patch(`/admin/api${path}`).set('Authorization', `Bearer ${token}`).send(body),
    delete: (path: string) => request(t.app).delete(`/admin/api${path}`).set('Authorization', `Bearer ${token}`),
  });
  const admin = as(ADMIN_TOKEN);
  const createUser = async (userName: string, extra: Record<string, unknown> = {}) => (await t.scim.post('/Users', userBody(userName, extra)).expect(201)).body;
  const login = async (email: string) => request(t.app).post(`/sso/${t.org.name}/login`).send({ assertion: await assertion(email) });
  const scimWith = (token: string) => request(t.app).get('/scim/v2/Users').set('Authorization', `Bearer ${token}`);
  return { t, admin, as, createUser, login, scimWith };
}

describe('admin API access', () => {
  test('only admin tokens open it; a SCIM token is 401', async () => {
    const { t, admin } = await setup();
    await admin.get('/seats').expect(200);
    const scim = await request(t.app).get('/admin/api/seats').set('Authorization', `Bearer ${SCIM_TOKEN}`);
    expect(scim.status).toBe(401);
    expect(scim.body).toEqual({ status: '401', detail: expect.any(String) });
  });
});

describe('organization settings', () => {
  test('adding seats promotes waiting accounts; settings are validated', async () => {
    const { admin, createUser } = await setup({ ORG_SEATS: '1' });
    await createUser('a@example.com');
    const b = await createUser('b@example.com');
    expect(b[LIFECYCLE].license).toBe('pending_seat');
    const res = await admin.patch('/organization', { seats: 2, policies: { inactivityDays: 90 } }).expect(200);
    expect(res.body).toMatchObject({ seats: 2, policies: { inactivityDays: 90 }, ssoConfigured: true });
    expect(res.body.ssoSecret).toBeUndefined();
    expect((await admin.get(`/accounts/${b.id}`)).body.license).toBe('licensed');
    const bad = await admin.patch('/organization', { seats: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toContain('seats');
    expect((await admin.patch('/organization', { unknownSetting: true })).status).toBe(400);
  });
});

describe('directory connections and tokens', () => {
  test('a new connection token works once shown; rotation keeps the old one during the overlap; revocation ends both', async () => {
    const { admin, scimWith } = await setup();
    const created = await admin.post('/connections', { label: 'Okta production' }).expect(201);
    expect(created.body.token).toEqual(expect.any(String));
    await scimWith(created.body.token).expect(200);
    const listed = await admin.get('/connections').expect(200);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);
    expect(listed.body.connections.find((c: { id: string }) => c.id === created.body.id).label).toBe('Okta production');

    const rotated = await admin.post(`/connections/${created.body.id}/rotate`, { overlapHours: 1 }).expect(201);
    await scimWith(rotated.body.token).expect(200);
    await scimWith(created.body.token).expect(200);
    const immediate = await admin.post(`/connections/${created.body.id}/rotate`, { overlapHours: 0 }).expect(201);
    await scimWith(immediate.body.token).expect(200);
    await scimWith(rotated.body.token).expect(401);

    await admin.delete(`/connections/${created.body.id}`).expect(204);
    await scimWith(immediate.body.token).expect(401);
  });

  test('admin tokens can be issued, listed without the secret, and revoked', async () => {
    const { admin, as } = await setup();
    const issued = await admin.post('/tokens', { label: 'dashboard' }).expect(201);
    const second = as(issued.body.token);
    await second.get('/seats').expect(200);
    const list = await admin.get('/tokens').expect(200);
    expect(list.body.tokens.map((t: { id: string }) => t.id)).toContain(issued.body.id);
    expect(JSON.stringify(list.body)).not.toContain(issued.body.token);
    await admin.delete(`/tokens/${issued.body.id}`).expect(204);
    await second.get('/seats').expect(401);
  });
});

describe('account listing and actions', () => {
  test('filters by status, license and managed, with paging', async () => {
    const { t, admin, createUser } = await setup({ ORG_SEATS: '2' });
    const users = [];
    for (const n of ['a', 'b', 'c', 'd']) users.push(await createUser(`${n}@example.com`));
    await createUser('guest@partner.test');
    await t.scim.patch(`/Users/${users[0].id}`, patchBody({ op: 'replace', value: { active: false } })).expect(200);
    const deactivated = await admin.get('/accounts?status=deactivated').expect(200);
    expect(deactivated.body.accounts.map((a: { userName: string }) => a.userName)).toEqual(['a@example.com']);
    const pending = await admin.get('/accounts?license=pending_seat').expect(200);
    expect(pending.body.totalResults).toBe(2);
    const guests = await admin.get('/accounts?managed=false').expect(200);
    expect(guests.body.accounts.map((a: { userName: string }) => a.userName)).toEqual(['guest@partner.test']);
    const page = await admin.get('/accounts?startIndex=2&count=2').expect(200);
    expect(page.body).toMatchObject({ totalResults: 5, startIndex: 2, itemsPerPage: 2 });
    // The last, short page and a page past the end still carry the true total; count=0 asks for the total only.
    expect((await admin.get('/accounts?startIndex=5&count=2').expect(200)).body).toMatchObject({ totalResults: 5, itemsPerPage: 1 });
    expect((await admin.get('/accounts?startIndex=9&count=2').expect(200)).body).toMatchObject({ totalResults: 5, itemsPerPage: 0 });
    expect((await admin.get('/accounts?count=0').expect(200)).body).toMatchObject({ totalResults: 5, itemsPerPage: 0, accounts: [] });
    expect((await admin.get('/accounts?status=bogus')).status).toBe(400);
  });

  test('the search box finds accounts by userName prefix, whatever the letter case or Unicode form typed', async () => {
    const { admin, createUser } = await setup();
    await createUser('Zoé.Martin@example.com'); // é precomposed (NFC), as IdPs send it
    await createUser('zoe.other@example.com');
    await createUser('bob@example.com');
    const found = async (q: string) =>
      (await admin.get(`/accounts?q=${encodeURIComponent(q)}`).expect(200)).body.accounts.map((a: { userName: string }) => a.userName);
    expect(await found('ZOÉ.')).toEqual(['Zoé.Martin@example.com']);
    // Typed on a keyboard that composes é from e and a combining accent (NFD).
    expect(await found('zoe\u0301.m')).toEqual(['Zoé.Martin@example.com']);
    expect(await found('zo')).toHaveLength(2);
    expect(await found('example')).toEqual([]);
  });

  test('grant is refused when no seat is free; revoking frees one; every action is audited with the admin as actor', async () => {
    const { admin, createUser } = await setup({ ORG_SEATS: '1', ORG_LICENSE_MODE: 'groups' });
    const a = await createUser('a@example.com');
    const b = await createUser('b@example.com');
    await admin.post(`/accounts/${a.id}/grant-license`).expect(200);
    const refused = await admin.post(`/accounts/${b.id}/grant-license`);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/no seat is free \(1 of 1 used\)/);
    expect((await admin.post(`/accounts/${a.id}/revoke-license`).expect(200)).body.license).toBe('revoked');
    expect((await admin.post(`/accounts/${b.id}/grant-license`).expect(200)).body.license).toBe('licensed');
    const audit = await admin.get(`/audit?actor=admin&subject=${a.id}`).expect(200);
    expect(audit.body.events.map((e: { action: string }) => e.action)).toEqual(['license.revoked', 'license.granted']);
    expect(audit.body.events[0].actor).toMatchObject({ kind: 'admin' });
  });

  test('suspend keeps groups and unsuspend restores the seat; remove drops groups and needs a new invitation, accepted by logging in', async () => {
    const { t, admin, createUser, login } = await setup();
    const a = await createUser('a@example.com');
    await t.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Eng', members: [{ value: a.id }] }).expect(201);
    expect((await admin.post(`/accounts/${a.id}/suspend`).expect(200)).body).toMatchObject({ siteAccess: 'suspended', license: 'revoked' });
    expect((await admin.get('/seats')).body.used).toBe(0);
    expect((await login('a@example.com')).body.enterpriseAccess).toBe(false);
    expect((await admin.post(`/accounts/${a.id}/unsuspend`).expect(200)).body).toMatchObject({ siteAccess: 'active', license: 'licensed' });
    expect((await t.scim.get(`/Users/${a.id}`)).body.groups).toHaveLength(1);
    expect((await admin.post(`/accounts/${a.id}/remove`).expect(200)).body.siteAccess).toBe('removed');
    expect((await t.scim.get(`/Users/${a.id}`)).body.groups).toHaveLength(0);
    expect((await admin.post(`/accounts/${a.id}/invite`).expect(200)).body.siteAccess).toBe('invited');
    await login('a@example.com');
    expect((await admin.get(`/accounts/${a.id}`)).body.siteAccess).toBe('active');
  });

  test('a scheduled deletion deactivates at once, can be cancelled, and once due the policy turns the account into "Former user"', async () => {
    const { t, admin, createUser, login } = await setup();
    const a = await createUser('a@example.com', { displayName: 'Ada' });
    const b = await createUser('b@example.com');
    const ws = (await admin.post('/workspaces', { name: 'Docs', enterprise: true, admins: [b.id], authors: [a.id] }).expect(201)).body.id;
    const scheduled = await admin.post(`/accounts/${a.id}/schedule-deletion`).expect(200);
    expect(scheduled.body.accountStatus).toBe('pending_deletion');
    expect(Date.parse(scheduled.body.deletionDue) - Date.now()).toBeGreaterThan(13 * DAY);
    expect((await login('a@example.com')).status).toBe(403);
    expect((await admin.post(`/accounts/${a.id}/cancel-deletion`).expect(200)).body.accountStatus).toBe('deactivated');
    await admin.post(`/accounts/${a.id}/schedule-deletion`, { graceDays: 0 }).expect(200);
    expect((await admin.post('/policies/deletions/run').expect(200)).body.changed).toBe(1);
    expect((await admin.get(`/accounts/${a.id}`)).body).toMatchObject({ accountStatus: 'deleted', userName: `former-user-${a.id}` });
    expect((await admin.get(`/workspaces/${ws}`)).body.authors[0].displayName).toBe('Former user');
    await t.scim.get(`/Users/${a.id}`).expect(404);
    expect((await admin.post('/policies/deletions/run').expect(200)).body.changed).toBe(0);
  });

  test('removing an account, or deleting it by policy, takes it out of its groups, which get a new version', async () => {
    const { t, admin, createUser } = await setup();
    const [a, b, c] = [await createUser('a@example.com'), await createUser('b@example.com'), await createUser('c@example.com')];
    const group = (await t.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'G', members: [a, b, c].map((u) => ({ value: u.id })) }).expect(201)).body;
    const members = async (etag: string) => {
      const res = await t.scim.get(`/Groups/${group.id}`).set('If-None-Match', etag).expect(200);
      return { etag: res.headers.etag as string, ids: res.body.members.map((m: { value: string }) => m.value).sort() };
    };
    await admin.post(`/accounts/${a.id}/remove`).expect(200);
    const afterRemove = await members(group.meta.version);
    expect(afterRemove.ids).toEqual([b.id, c.id].sort());
    await admin.post(`/accounts/${b.id}/schedule-deletion`, { graceDays: 0 }).expect(200);
    await admin.post('/policies/deletions/run').expect(200);
    expect((await members(afterRemove.etag)).ids).toEqual([c.id]);
  });

  test('the last active admin of a workspace cannot be removed from it', async () => {
    const { admin, createUser } = await setup();
    const a = await createUser('a@example.com');
    const b = await createUser('b@example.com');
    const ws = (await admin.post('/workspaces', { name: 'Ops', enterprise: false, admins: [a.id] }).expect(201)).body.id;
    const refused = await admin.patch(`/workspaces/${ws}/admins`, { remove: [a.id] });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain('Ops');
    expect((await admin.patch(`/workspaces/${ws}/admins`, { add: [b.id], remove: [a.id] }).expect(200)).body.admins).toEqual([b.id]);
    expect((await admin.post(`/accounts/${a.id}/remove`)).status).toBe(200);
    expect((await admin.post(`/accounts/${b.id}/remove`)).status).toBe(409);
  });
});

describe('policies', () => {
  test('inactivity deactivates managed accounts idle past the limit (guests only when asked), audited with the policy as actor', async () => {
    const { t, admin, createUser } = await setup();
    const idle = await createUser('idle@example.com');
    const busy = await createUser('busy@example.com');
    const guest = await createUser('guest@partner.test');
    const old = new Date(Date.now() - 60 * DAY);
    await t.store.users.updateMany({ _id: { $in: [idle.id, guest.id] } }, { $set: { 'lifecycle.lastActive': old } });
    await t.store.users.updateOne({ _id: busy.id }, { $set: { 'lifecycle.lastActive': new Date() } });
    await admin.patch('/organization', { policies: { inactivityDays: 30, inactivityGuestsOnly: true } }).expect(200);
    expect((await admin.post('/policies/inactivity/run').expect(200)).body.changed).toBe(1);
    expect((await admin.get(`/accounts/${guest.id}`)).body.siteAccess).toBe('suspended');
    expect((await admin.get(`/accounts/${idle.id}`)).body.accountStatus).toBe('active');
    await admin.patch('/organization', { policies: { inactivityGuestsOnly: false } }).expect(200);
    expect((await admin.post('/policies/inactivity/run').expect(200)).body.changed).toBe(1);
    expect((await admin.get(`/accounts/${idle.id}`)).body.accountStatus).toBe('deactivated');
    expect((await admin.get(`/accounts/${busy.id}`)).body.accountStatus).toBe('active');
    const events = (await admin.get(`/audit?subject=${idle.id}&actor=policy`).expect(200)).body.events;
    expect(events[0]).toMatchObject({ action: 'account.deactivated', actor: { kind: 'policy', id: 'inactivity' } });
  });

  test('concurrent runs of one policy do the work once; an unknown policy is 404', async () => {
    const { t, admin, createUser } = await setup();
    for (const n of ['a', 'b', 'c']) await createUser(`${n}@example.com`);
    await t.store.users.updateMany({}, { $set: { 'lifecycle.lastActive': new Date(Date.now() - 90 * DAY) } });
    await admin.patch('/organization', { policies: { inactivityDays: 30 } }).expect(200);
    const runs = await Promise.all([admin.post('/policies/inactivity/run'), admin.post('/policies/inactivity/run')]);
    const changed = runs.filter((r) => r.status === 200).reduce((sum, r) => sum + r.body.changed, 0);
    expect(changed).toBe(3);
    expect(runs.every((r) => r.status === 200 || r.status === 409)).toBe(true);
    expect(await t.store.audit.count({ action: 'account.deactivated' })).toBe(3);
    expect((await admin.post('/policies/nope/run')).status).toBe(404);
  });

  test('invitations expire after 30 days', async () => {
    const { t, admin, createUser } = await setup();
    const a = await createUser('a@example.com');
    await admin.post(`/accounts/${a.id}/remove`).expect(200);
    await admin.post(`/accounts/${a.id}/invite`).expect(200);
    expect((await admin.post('/policies/invites/run').expect(200)).body.changed).toBe(0);
    await t.store.users.updateOne({ _id: a.id }, { $set: { 'lifecycle.invitedAt': new Date(Date.now() - 31 * DAY) } });
    expect((await admin.post('/policies/invites/run').expect(200)).body.changed).toBe(1);
    expect((await admin.get(`/accounts/${a.id}`)).body.siteAccess).toBe('removed');
  });
});

describe('access requests', () => {
  test('a deactivated person asks from the refused login; the admin approves and access comes back', async () => {
    const { t, admin, createUser, login } = await setup();
    const a = await createUser('a@example.com');
    await t.scim.patch(`/Users/${a.id}`, patchBody({ op: 'replace', value: { active: false } })).expect(200);
    const refused = await login('a@example.com');
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toContain('access-requests');
    const asked = await request(t.app).post(`/sso/${t.org.name}/access-requests`).send({ assertion: await assertion('a@example.com'), message: 'back from leave' }).expect(201);
    const again = await request(t.app).post(`/sso/${t.org.name}/access-requests`).send({ assertion: await assertion('a@example.com') }).expect(201);
    expect(again.body.id).toBe(asked.body.id);
    const open = await admin.get('/access-requests').expect(200);
    expect(open.body.requests).toEqual([expect.objectContaining({ id: asked.body.id, message: 'back from leave', account: expect.objectContaining({ accountStatus: 'deactivated' }) })]);
    await admin.post(`/access-requests/${asked.body.id}/approve`).expect(200);
    expect((await admin.get(`/accounts/${a.id}`)).body).toMatchObject({ accountStatus: 'active', license: 'licensed' });
    expect((await login('a@example.com')).body.enterpriseAccess).toBe(true);
    expect((await admin.post(`/access-requests/${asked.body.id}/deny`)).status).toBe(409);
  });

  test('an account removed from the site cannot ask; a denied request stays denied', async () => {
    const { t, admin, createUser } = await setup();
    const a = await createUser('a@example.com');
    const b = await createUser('b@example.com');
    await admin.post(`/accounts/${a.id}/remove`).expect(200);
    const removed = await request(t.app).post(`/sso/${t.org.name}/access-requests`).send({ assertion: await assertion('a@example.com') });
    expect(removed.status).toBe(403);
    expect(removed.body.detail).toMatch(/removed/);
    await admin.post(`/accounts/${b.id}/deactivate`).expect(200);
    const asked = await request(t.app).post(`/sso/${t.org.name}/access-requests`).send({ assertion: await assertion('b@example.com') }).expect(201);
    await admin.post(`/access-requests/${asked.body.id}/deny`).expect(200);
    expect((await admin.get('/access-requests?status=denied')).body.totalResults).toBe(1);
    expect((await admin.get(`/accounts/${b.id}`)).body.accountStatus).toBe('deactivated');
  });
});

describe('exports', () => {
  test('managed accounts CSV: the columns admins expect, correct quoting, unmanaged accounts left out', async () => {
    const { t, admin, createUser } = await setup({ ORG_SEATS: '1' });
    await createUser('a@example.com', { displayName: 'Lovelace, Ada "Countess"' });
    const b = await createUser('b@example.com', { displayName: 'Bob' });
    await createUser('guest@partner.test');
    await t.scim.patch(`/Users/${b.id}`, patchBody({ op: 'replace', value: { active: false } })).expect(200);
    const res = await admin.get('/exports/managed-accounts.csv').expect(200);
    expect(res.headers['content-type']).toContain('text/csv');
    const rows = parse(res.text, { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(rows[0])).toEqual(['Name', 'Email', 'Last active', 'Status', 'Billable', 'License', 'Site access']);
    expect(rows).toEqual([
      { Name: 'Lovelace, Ada "Countess"', Email: 'a@example.com', 'Last active': 'Never', Status: 'active', Billable: 'Yes', License: 'licensed', 'Site access': 'active' },
      { Name: 'Bob', Email: 'b@example.com', 'Last active': 'Never', Status: 'deactivated', Billable: 'No', License: 'free', 'Site access': 'active' },
    ]);
  });

  test('site users CSV includes unmanaged accounts and groups, across more than one page', async () => {
    const { t, admin, createUser } = await setup({ ORG_LICENSE_MODE: 'groups' });
    const ids = Array.from({ length: 520 }, (_, i) => i);
    const guest = await createUser('guest@partner.test');
    await t.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Partners', members: [{ value: guest.id }] }).expect(201);
    const docs = ids.map((i) => ({
      _id: `bulk-${String(i).padStart(4, '0')}`,
      orgId: t.org._id,
      version: 1,
      created: new Date(),
      lastModified: new Date(),
      userNameKey: `u${i}@example.com`,
      emailKeys: [`u${i}@example.com`],
      scim: { userName: `u${i}@example.com`, active: true },
      lifecycle: { managed: true, accountStatus: 'active' as const, siteAccess: 'active' as const, license: 'free' as const },
    }));
    await t.store.users.insertMany(docs);
    const rows = parse((await admin.get('/exports/site-users.csv').expect(200)).text, { columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(521);
    expect(rows.find((r) => r.Email === 'guest@partner.test')).toMatchObject({ Managed: 'No', Groups: 'Partners' });
  });
});
