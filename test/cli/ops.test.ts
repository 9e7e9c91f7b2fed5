/**
 * `export`, `policy run` and `demo` as operators run them: the compiled CLI in a child process over a temporary
 * DATA_DIR; each test then opens the embedded store itself (or the real app over it) to check the result.
 */
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { parse } from 'csv-parse/sync';
import { cliFixture, inStore, runCli, type CliResult } from './cli-process';
import type { Store } from '../../src/store/port';
import { createApp } from '../../src/http/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';

jest.setTimeout(30_000);

const DAY = 24 * 60 * 60 * 1000;
const STACK = /\n\s+at .+:\d+/;

const fixture = cliFixture('scim-cli-ops-');
const newDataDir = fixture.newDataDir;

const appOver = (store: Store) => createApp({ config: loadConfig({ LOG_LEVEL: 'silent' }), store, logger: createLogger('silent') });

function expectFailure(result: CliResult, message: RegExp) {
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(message);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).not.toMatch(STACK);
}

/** `KEY=value` lines of the demo's stdout. */
const printed = (stdout: string) => Object.fromEntries(stdout.trim().split('\n').map((l) => l.split('   #')[0].split(/=(.*)/s).slice(0, 2)));

type Row = Record<string, string>;
const csvRows = (text: string): Row[] => parse(text, { columns: true, skip_empty_lines: true });

describe('demo', () => {
  let dataDir = '';
  let demo: CliResult;
  const cli = (...args: string[]) => runCli(fixture.entry(), args, { DATA_DIR: dataDir });

  beforeAll(async () => {
    dataDir = path.join(newDataDir(), 'data'); // a DATA_DIR that does not exist yet: the demo creates it
    demo = await cli('demo', '--users', '60');
  }, 60_000);

  test('fills a new organization with every state, through the services', async () => {
    expect(demo.code).toBe(0);
    expect(demo.stderr).toMatch(/60 accounts — 38 licensed, 4 waiting for a seat/);
    const out = printed(demo.stdout);
    expect(Object.keys(out)).toEqual(['ADMIN_TOKEN', 'SCIM_TOKEN', 'SSO_SECRET', 'DASHBOARD']);
    expect(out.DASHBOARD).toBe('http://localhost:3000/admin');
    await inStore(dataDir, async (store) => {
      const org = (await store.organizations.findOne({ name: 'demo' }))!;
      expect(org).toMatchObject({ domains: ['demo.example'], seats: 38, licenseMode: 'provision' });
      const count = (q: Record<string, unknown>) => store.users.count({ orgId: org._id, ...q });
      expect(await count({})).toBe(60);
      expect(await count({ 'lifecycle.managed': false })).toBe(6);
      expect(await count({ 'lifecycle.managed': false, emailKeys: { $regex: /@demo\.example$/ } })).toBe(0);
      expect(await count({ 'lifecycle.license': 'licensed' })).toBe(38);
      expect(await count({ 'lifecycle.license': 'pending_seat', 'lifecycle.accountStatus': 'active' })).toBe(4);
      expect(await count({ 'lifecycle.accountStatus': 'deactivated' })).toBe(5);
      expect(await count({ 'lifecycle.accountStatus': 'pending_deletion', 'lifecycle.deletionDue': { $gt: new Date() } })).toBe(1);
      expect(await count({ 'lifecycle.accountStatus': 'active', 'lifecycle.license': 'revoked', 'lifecycle.managed': true })).toBe(2);
      expect(await count({ 'lifecycle.managed': true, 'lifecycle.license': 'free', 'lifecycle.accountStatus': 'active' })).toBe(4);
      expect(await count({ 'lifecycle.siteAccess': 'invited' })).toBe(2);
      expect(await count({ 'lifecycle.siteAccess': 'suspended' })).toBe(1);
      expect(await store.seats.count({ orgId: org._id, holderKey: { $exists: true } })).toBe(38);
      // Seats and licenses agree: every licensed account holds exactly one seat.
      const holders = (await store.seats.find({ orgId: org._id, holderKey: { $exists: true } })).map((s) => s.holder).sort();
      const licensed = (await store.users.find({ orgId: org._id, 'lifecycle.license': 'licensed' })).map((u) => u._id).sort();
      expect(holders).toEqual(licensed);
      expect(await count({ 'lifecycle.pendingEffects': { $exists: true } })).toBe(0);
      expect(await store.groups.count({ orgId: org._id })).toBe(8);
      expect(await store.memberships.count({ orgId: org._id })).toBeGreaterThan(60);
      expect(await store.workspaces.count({ orgId: org._id })).toBe(5);
      expect(await store.accessRequests.count({ orgId: org._id, status: 'open' })).toBe(4);
      expect(await store.accessRequests.count({ orgId: org._id, status: 'denied' })).toBe(1);
      // lastActive spread over months; the audit log spans them too.
      const active = await store.users.find({ orgId: org._id, 'lifecycle.lastActive': { $exists: true } });
      const ages = active.map((u) => (Date.now() - u.lifecycle!.lastActive!.getTime()) / DAY);
      expect(Math.max(...ages)).toBeGreaterThan(90);
      expect(Math.min(...ages)).toBeLessThan(7);
      const audit = await store.audit.find({ orgId: org._id }, { sort: { at: 1 } });
      expect((Date.now() - audit[0].at.getTime()) / DAY).toBeGreaterThan(150);
      const actions = new Set(audit.map((e) => e.action));
      for (const a of ['account.created', 'account.deactivated', 'account.deletion_scheduled', 'license.revoked', 'license.granted', 'site.suspended', 'site.invited', 'access.requested', 'access.denied']) {
        expect(actions).toContain(a);
      }
    });
  });

  test('the printed tokens work against the app over the same store', async () => {
    const { ADMIN_TOKEN, SCIM_TOKEN } = printed(demo.stdout);
    await inStore(dataDir, async (store) => {
      const app = appOver(store);
      const seats = await request(app).get('/admin/api/seats').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
      expect(seats.status).toBe(200);
      expect(seats.body).toEqual({ seats: 38, used: 38, available: 0 });
      const users = await request(app).get('/scim/v2/Users?count=0').set('Authorization', `Bearer ${SCIM_TOKEN}`);
      expect(users.status).toBe(200);
      expect(users.body.totalResults).toBe(50);
      const requests = await request(app).get('/admin/api/access-requests').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
      expect(requests.body.totalResults).toBe(4);
    });
  });

  test('a second run refuses the organization that has accounts, and changes nothing', async () => {
    const before = await inStore(dataDir, (store) => store.users.count({}));
    expectFailure(await cli('demo'), /^error: organization "demo" already has accounts: the demo only fills a new \(or empty\) organization/);
    expect(await inStore(dataDir, (store) => store.users.count({}))).toBe(before);
    // Another name is another organization (with its own domain).
    const second = await cli('demo', '--org', 'demo-2', '--users', '20');
    expect(second.code).toBe(0);
    await inStore(dataDir, async (store) => {
      const org = (await store.organizations.findOne({ name: 'demo-2' }))!;
      expect(org.domains).toEqual(['demo-2.example']);
      expect(await store.users.count({ orgId: org._id })).toBe(20);
      expect(await store.users.count({ orgId: org._id, 'lifecycle.license': 'pending_seat' })).toBeGreaterThanOrEqual(1);
    });
  });

  test('--license-mode groups: the licensing group holds the licenses, with the same states', async () => {
    const dir = newDataDir();
    const result = await runCli(fixture.entry(), ['demo', '--license-mode', 'groups', '--users', '60'], { DATA_DIR: dir });
    expect(result.code).toBe(0);
    await inStore(dir, async (store) => {
      const org = (await store.organizations.findOne({ name: 'demo' }))!;
      expect(org).toMatchObject({ licenseMode: 'groups', licenseGroups: ['enterprise users'] });
      expect(await store.groups.count({ orgId: org._id, displayName: 'Enterprise Users' })).toBe(1);
      expect(await store.users.count({ orgId: org._id, 'lifecycle.license': 'licensed' })).toBe(38);
      expect(await store.users.count({ orgId: org._id, 'lifecycle.license': 'pending_seat' })).toBe(4);
      expect(await store.audit.count({ orgId: org._id, action: 'license.requested' })).toBeGreaterThan(0);
    });
  });

  test('with bootstrap tokens it fills the bootstrap organization and reuses them', async () => {
    const dir = newDataDir();
    const env = { DATA_DIR: dir, ADMIN_BOOTSTRAP_TOKEN: 'admin-token-0123456789abcdef', SCIM_BOOTSTRAP_TOKEN: 'scim-token-0123456789abcdef', ORG_DOMAINS: 'example.com', ORG_SEATS: '30' };
    const result = await runCli(fixture.entry(), ['demo', '--users', '40'], env);
    expect(result.code).toBe(0);
    const out = printed(result.stdout);
    expect(out.ADMIN_TOKEN).toBe('admin-token-0123456789abcdef');
    expect(out.SCIM_TOKEN).toBe('scim-token-0123456789abcdef');
    await inStore(dir, async (store) => {
      const org = (await store.organizations.findOne({ name: 'default' }))!;
      expect(org).toMatchObject({ domains: ['example.com'], seats: 30 });
      expect(await store.users.count({ orgId: org._id })).toBe(40);
      const res = await request(appOver(store)).get('/scim/v2/Users?count=0').set('Authorization', 'Bearer scim-token-0123456789abcdef');
      expect(res.body.totalResults).toBeGreaterThan(25);
    });
    expectFailure(await runCli(fixture.entry(), ['demo', '--org', 'other'], env), /--org other differs from ORG_NAME \(default\)/);
  });

  test('bad flags: one line, exit 1', async () => {
    expectFailure(await cli('demo', '--users', '5'), /--users <n>.*whole number from 20 to 5000/);
    expectFailure(await cli('demo', '--org', 'has space'), /letters, digits/);
    expectFailure(await cli('demo', '--license-mode', 'seats'), /--license-mode <mode>' argument 'seats' is invalid/);
  });
});

describe('export', () => {
  let dataDir = '';
  let orgId = '';
  const cli = (...args: string[]) => runCli(fixture.entry(), args, { DATA_DIR: dataDir });

  beforeAll(async () => {
    dataDir = newDataDir();
    const demo = await cli('demo', '--org', 'acme', '--users', '30');
    expect(demo.code).toBe(0);
    // One person whose name needs quoting.
    await inStore(dataDir, async (store) => {
      orgId = (await store.organizations.findOne({ name: 'acme' }))!._id;
      const res = await request(appOver(store))
        .post('/scim/v2/Users')
        .set('Authorization', `Bearer ${printed(demo.stdout).SCIM_TOKEN}`)
        .send({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'quote@acme.example', displayName: 'Hopper, Grace "Amazing"\nGrace' });
      expect(res.status).toBe(201);
    });
  }, 60_000);

  test('managed-accounts to stdout: one correct row per managed account', async () => {
    const result = await cli('export', '--org', 'acme', '--kind', 'managed-accounts');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(''); // no counter when stderr is not a terminal
    const rows = csvRows(result.stdout);
    expect(Object.keys(rows[0])).toEqual(['Name', 'Email', 'Last active', 'Status', 'Billable', 'License', 'Site access']);
    await inStore(dataDir, async (store) => {
      const managed = await store.users.find({ orgId, 'lifecycle.managed': true });
      expect(rows).toHaveLength(managed.length);
      expect(rows.map((r) => r.Email).sort()).toEqual(managed.map((u) => u.userNameKey).sort());
      for (const row of rows) {
        const u = managed.find((m) => m.userNameKey === row.Email)!;
        expect(row.Status).toBe(u.lifecycle!.accountStatus);
        expect(row.License).toBe(u.lifecycle!.license);
        expect(row.Billable).toBe(u.lifecycle!.license === 'licensed' ? 'Yes' : 'No');
        expect(row['Last active']).toBe(u.lifecycle!.lastActive?.toISOString() ?? 'Never');
      }
    });
    expect(rows.find((r) => r.Email === 'quote@acme.example')!.Name).toBe('Hopper, Grace "Amazing"\nGrace');
  });

  test('site-users with --out: the file holds everyone with site access, with groups', async () => {
    const file = path.join(newDataDir(), 'site-users.csv');
    const result = await cli('export', '--org', 'acme', '--kind', 'site-users', '--out', file);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    const rows = csvRows(readFileSync(file, 'utf8'));
    expect(result.stderr).toBe(`exported ${rows.length} site-users rows to ${file}\n`);
    expect(readdirSync(path.dirname(file))).toEqual(['site-users.csv']);
    await inStore(dataDir, async (store) => {
      expect(rows).toHaveLength(await store.users.count({ orgId, 'lifecycle.siteAccess': { $in: ['active', 'suspended', 'invited'] } }));
    });
    expect(rows.filter((r) => r.Managed === 'No').length).toBeGreaterThan(0);
    expect(rows.some((r) => r.Groups.split('; ').includes('All Staff'))).toBe(true);
  });

  test('bad flags and targets: one line, exit 1, no file', async () => {
    expectFailure(await cli('export', '--org', 'acme', '--kind', 'everyone'), /--kind <kind>' argument 'everyone' is invalid/);
    expectFailure(await cli('export', '--org', 'acme'), /required option '--kind <kind>' not specified/);
    expectFailure(await cli('export', '--org', 'nope', '--kind', 'site-users'), /^error: unknown organization "nope"/);
    const missing = path.join(newDataDir(), 'no', 'such', 'dir.csv');
    expectFailure(await cli('export', '--org', 'acme', '--kind', 'site-users', '--out', missing), /cannot write .*no such directory/);
    expect(existsSync(path.dirname(missing))).toBe(false);
  });
});

describe('policy run', () => {
  let dataDir = '';
  let orgId = '';
  const ids: string[] = [];
  const cli = (...args: string[]) => runCli(fixture.entry(), args, { DATA_DIR: dataDir });

  beforeAll(async () => {
    dataDir = newDataDir();
    expect((await cli('org', 'create', 'acme', '--domains', 'example.com', '--seats', '5')).code).toBe(0);
    const token = (await cli('token', 'issue', '--org', 'acme', '--kind', 'scim')).stdout.trim();
    await inStore(dataDir, async (store) => {
      const app = appOver(store);
      for (const userName of ['idle.one@example.com', 'idle.two@example.com', 'busy@example.com', 'guest@partner.org']) {
        const res = await request(app).post('/scim/v2/Users').set('Authorization', `Bearer ${token}`).send({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName });
        expect(res.status).toBe(201);
        ids.push(res.body.id);
      }
      const org = (await store.organizations.updateOne({ name: 'acme' }, { $set: { 'policies.inactivityDays': 90 } }))!;
      orgId = org._id;
      const old = new Date(Date.now() - 120 * DAY);
      await store.users.updateMany({ _id: { $in: [ids[0], ids[1], ids[3]] } }, { $set: { 'lifecycle.lastActive': old } });
      await store.users.updateOne({ _id: ids[2] }, { $set: { 'lifecycle.lastActive': new Date() } });
    });
  }, 60_000);

  test('inactivity deactivates the idle managed accounts and suspends the idle guest; a second run changes nothing', async () => {
    const result = await cli('policy', 'run', '--org', 'acme', '--policy', 'inactivity');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('inactivity: 3 accounts changed\n');
    const snapshot = () => inStore(dataDir, async (store) => (await store.users.find({ orgId }, { sort: { _id: 1 } })).map((u) => [u._id, u.version, u.lifecycle!.accountStatus, u.lifecycle!.siteAccess, u.lifecycle!.license]));
    const after = await snapshot();
    const state = (id: string) => after.find((u) => u[0] === id)!.slice(2);
    expect(state(ids[0])).toEqual(['deactivated', 'active', 'revoked']);
    expect(state(ids[1])).toEqual(['deactivated', 'active', 'revoked']);
    expect(state(ids[2])).toEqual(['active', 'active', 'licensed']);
    expect(state(ids[3])).toEqual(['active', 'suspended', 'revoked']);
    await inStore(dataDir, async (store) => {
      const events = await store.audit.find({ orgId, 'actor.kind': 'policy', 'actor.id': 'inactivity' });
      expect(events.map((e) => e.action).sort()).toEqual(['account.deactivated', 'account.deactivated', 'site.suspended']);
      // The lease is given back.
      expect((await store.organizations.findOne({ _id: orgId }))!.leases?.['policy-inactivity']).toBeUndefined();
    });
    const again = await cli('policy', 'run', '--org', 'acme', '--policy', 'inactivity');
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('inactivity: 0 accounts changed\n');
    expect(await snapshot()).toEqual(after);
  });

  test('all runs every policy and prints one line each', async () => {
    const result = await cli('policy', 'run', '--org', 'acme', '--policy', 'all');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('inactivity: 0 accounts changed\ndeletions: 0 accounts changed\ninvites: 0 accounts changed\n');
  });

  test('a job another process holds is "already running": exit 1, nothing changed', async () => {
    await inStore(dataDir, (store) => store.organizations.updateOne({ _id: orgId }, { $set: { 'leases.policy-deletions': { holder: 'process:1:server', until: new Date(Date.now() + 60_000) } } }));
    const result = await cli('policy', 'run', '--org', 'acme', '--policy', 'deletions');
    expectFailure(result, /^error: policy deletions is already running for organization "acme" \(another process holds its lease\); try again when it has finished\n$/);
    expect(result.stdout).toBe('');
    const all = await cli('policy', 'run', '--org', 'acme', '--policy', 'all');
    expect(all.code).toBe(1);
    expect(all.stdout).toBe('inactivity: 0 accounts changed\ninvites: 0 accounts changed\n');
    expect(all.stderr).toMatch(/policy deletions is already running/);
    await inStore(dataDir, (store) => store.organizations.updateOne({ _id: orgId }, { $unset: { 'leases.policy-deletions': true } }));
  });

  test('bad flags: one line, exit 1', async () => {
    expectFailure(await cli('policy', 'run', '--org', 'acme', '--policy', 'everything'), /--policy <name>' argument 'everything' is invalid\. Allowed choices are inactivity, deletions, invites, all/);
    expectFailure(await cli('policy', 'run', '--org', 'acme'), /required option '--policy <name>' not specified/);
    expectFailure(await cli('policy', 'run', '--policy', 'all'), /required option '--org <name>' not specified/);
    expectFailure(await cli('policy', 'run', '--org', 'nope', '--policy', 'all'), /^error: unknown organization "nope"/);
    expectFailure(await cli('policy', 'start', '--org', 'acme'), /unknown command 'start'/);
  });
});
