/**
 * The operator CLI as operators run it: the compiled `scim-lifecycle` in a child process over a temporary DATA_DIR.
 * Each test asserts exit code and output, then opens the embedded store itself to check what was (not) written.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { cliFixture, inStore, runCli, type CliResult } from './cli-process';
import type { Store } from '../../src/store/port';
import type { OrganizationDoc, UserDoc } from '../../src/store/documents';
import { createApp } from '../../src/http/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { LOCK_FILE } from '../../src/store/embedded/lock';

jest.setTimeout(30_000);

const FIXTURES = path.join(__dirname, 'fixtures');
const USERS_20 = path.join(FIXTURES, 'users-20.csv');
const USERS_15 = path.join(FIXTURES, 'users-15.csv');
const BAD_ROWS = path.join(FIXTURES, 'bad-rows.csv');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A stack trace line: the CLI must never print one. */
const STACK = /\n\s+at .+:\d+/;

const fixture = cliFixture('scim-cli-data-');
const newDataDir = fixture.newDataDir;

function appOver(store: Store) {
  return createApp({ config: loadConfig({ LOG_LEVEL: 'silent' }), store, logger: createLogger('silent') });
}

function expectFailure(result: CliResult, code: number, message: RegExp) {
  expect(result.code).toBe(code);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(STACK);
}

describe('org, token and seats commands', () => {
  let dataDir = '';
  let orgId = '';
  let scimToken = '';
  let adminToken = '';
  const cli = (...args: string[]) => runCli(fixture.entry(), args, { DATA_DIR: dataDir });

  beforeAll(() => {
    dataDir = newDataDir();
  });

  test('org create prints the new id; the organization has its settings and seat slots', async () => {
    const result = await cli('org', 'create', 'acme', '--domains', 'example.com,Example.ORG', '--seats', '3', '--deprovision', 'enterprise');
    expect(result.code).toBe(0);
    orgId = result.stdout.trim();
    expect(orgId).toMatch(UUID);
    expect(result.stderr).toMatch(/created organization "acme"/);
    await inStore(dataDir, async (store) => {
      const org = (await store.organizations.findOne({ name: 'acme' }))!;
      expect(org).toMatchObject({ _id: orgId, domains: ['example.com', 'example.org'], seats: 3, licenseMode: 'provision', licenseGroups: [], deprovision: 'enterprise' });
      expect(await store.seats.count({ orgId })).toBe(3);
    });
  });

  test('org create with an existing name is refused and changes nothing', async () => {
    expectFailure(await cli('org', 'create', 'acme', '--domains', 'other.com', '--seats', '9'), 1, /^error: organization "acme" already exists\n$/);
    await inStore(dataDir, async (store) => {
      expect(await store.organizations.count({})).toBe(1);
      expect((await store.organizations.findOne({ name: 'acme' }))!.seats).toBe(3);
    });
  });

  test('token issue prints a token once and stores only its hash', async () => {
    const scim = await cli('token', 'issue', '--org', 'acme', '--kind', 'scim', '--label', 'Okta production');
    const admin = await cli('token', 'issue', '--org', 'acme', '--kind', 'admin');
    expect([scim.code, admin.code]).toEqual([0, 0]);
    scimToken = scim.stdout.trim();
    adminToken = admin.stdout.trim();
    expect(scimToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(scim.stderr).toMatch(/shown only this once/);
    await inStore(dataDir, async (store) => {
      const scimDoc = (await store.tokens.findOne({ _id: createHash('sha256').update(scimToken).digest('hex') }))!;
      expect(scimDoc).toMatchObject({ orgId, kind: 'scim', label: 'Okta production' });
      expect(scimDoc.connectionId).toMatch(new RegExp(`^${orgId}:[0-9a-f-]{36}$`));
      const adminDoc = (await store.tokens.findOne({ _id: createHash('sha256').update(adminToken).digest('hex') }))!;
      expect(adminDoc).toMatchObject({ orgId, kind: 'admin' });
      expect(adminDoc.connectionId).toBeUndefined();
    });
    const files = ['tokens.db', 'organizations.db'].map((f) => readFileSync(path.join(dataDir, f), 'utf8')).join('');
    expect(files).not.toContain(scimToken);
    expect(files).not.toContain(adminToken);
  });

  test('the issued tokens work against the real app over the same store', async () => {
    await inStore(dataDir, async (store) => {
      const app = appOver(store);
      const users = await request(app).get('/scim/v2/Users').set('Authorization', `Bearer ${scimToken}`);
      expect(users.status).toBe(200);
      expect(users.body.totalResults).toBe(0);
      const seats = await request(app).get('/admin/api/seats').set('Authorization', `Bearer ${adminToken}`);
      expect(seats.status).toBe(200);
      expect(seats.body).toEqual({ seats: 3, used: 0, available: 3 });
    });
  });

  test('token list shows ids, kinds, labels and creation times, never a token', async () => {
    const result = await cli('token', 'list', '--org', 'acme');
    expect(result.code).toBe(0);
    const scimId = createHash('sha256').update(scimToken).digest('hex').slice(0, 12);
    const adminId = createHash('sha256').update(adminToken).digest('hex').slice(0, 12);
    expect(result.stdout).toMatch(/^ID\s+KIND\s+LABEL\s+CREATED\s+CONNECTION/);
    expect(result.stdout).toMatch(new RegExp(`${scimId}\\s+scim\\s+Okta production\\s+\\d{4}-\\d\\d-\\d\\dT`));
    expect(result.stdout).toMatch(new RegExp(`${adminId}\\s+admin\\s+-\\s+\\d{4}-`));
    expect(result.stdout).not.toContain(scimToken);
    expect(result.stdout).not.toContain(adminToken);
    const json = await cli('token', 'list', '--org', 'acme', '--json');
    expect(JSON.parse(json.stdout).map((t: { id: string; kind: string }) => [t.id, t.kind])).toEqual([
      [scimId, 'scim'],
      [adminId, 'admin'],
    ]);
  });

  test('token revoke: the token is refused afterwards (401); revoking it again is an error', async () => {
    const id = createHash('sha256').update(scimToken).digest('hex').slice(0, 12);
    const result = await cli('token', 'revoke', '--org', 'acme', '--id', id);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`revoked scim token ${id}\n`);
    await inStore(dataDir, async (store) => {
      const users = await request(appOver(store)).get('/scim/v2/Users').set('Authorization', `Bearer ${scimToken}`);
      expect(users.status).toBe(401);
    });
    expectFailure(await cli('token', 'revoke', '--org', 'acme', '--id', id), 1, /no token with id/);
  });

  test('seats prints used / total / available', async () => {
    const text = await cli('seats', '--org', 'acme');
    expect(text.code).toBe(0);
    expect(text.stdout).toBe('used 0 / total 3 / available 3\n');
    const json = await cli('seats', '--org', 'acme', '--json');
    expect(JSON.parse(json.stdout)).toEqual({ seats: 3, used: 0, available: 3 });
  });

  test('bad input is one line on stderr and a non-zero exit, never a stack trace', async () => {
    expectFailure(await cli('seats', '--org', 'nope'), 1, /^error: unknown organization "nope" \(known: acme\)\n$/);
    expectFailure(await cli('token', 'issue', '--org', 'acme', '--kind', 'session'), 1, /^error: option '--kind <kind>' argument 'session' is invalid/);
    expectFailure(await cli('token', 'issue', '--org', 'acme'), 1, /required option '--kind <kind>' not specified/);
    expectFailure(await cli('token', 'revoke', '--org', 'acme', '--id', 'xyz'), 1, /--id <id>.*12-hex-digit id/);
    expectFailure(await cli('org', 'create', 'b', '--seats', 'ten'), 1, /--seats <n>.*whole number/);
    expectFailure(await cli('org', 'create', 'has space', '--seats', '1'), 1, /letters, digits/);
    expectFailure(await cli('org', 'create', 'b', '--seats', '1', '--domains', 'not a domain'), 1, /is not a domain name/);
    expectFailure(await cli('org', 'create', 'b', '--seats', '1', '--license-groups', 'Ops'), 1, /--license-groups needs --license-mode groups/);
    expectFailure(await cli('bogus'), 1, /unknown command 'bogus'/);
    const nowhere = path.join(dataDir, 'not-here');
    expectFailure(await runCli(fixture.entry(), ['seats', '--org', 'acme'], { DATA_DIR: nowhere }), 1, /^error: DATA_DIR .*not-here does not exist: set DATA_DIR/);
    expect(existsSync(nowhere)).toBe(false);
    const badConfig = await runCli(fixture.entry(), ['seats', '--org', 'acme'], { DATA_DIR: dataDir, LOG_LEVEL: 'loud' });
    expectFailure(badConfig, 1, /invalid configuration: LOG_LEVEL/);
    await inStore(dataDir, async (store) => expect(await store.organizations.count({})).toBe(1));
  });

  test('the DATA_DIR lock: a live holder is refused with a clear message, a stale one is taken over', async () => {
    const lock = path.join(dataDir, LOCK_FILE);
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), command: 'scim-lifecycle server', since: new Date().toISOString() }));
    expectFailure(await cli('seats', '--org', 'acme'), 1, /DATA_DIR .* is in use by "scim-lifecycle server" \(pid \d+.*stop the server/);
    expect(existsSync(lock)).toBe(true);
    // A lock whose process is gone (a crash) is stale.
    writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 1, host: os.hostname(), command: 'crashed', since: new Date().toISOString() }));
    const result = await cli('seats', '--org', 'acme');
    expect(result.code).toBe(0);
    expect(existsSync(lock)).toBe(false);
  });
});

describe('sync', () => {
  let dataDir = '';
  let org: OrganizationDoc;
  let connectionId = '';
  const cli = (...args: string[]) => runCli(fixture.entry(), args, { DATA_DIR: dataDir });
  const sync = (file: string, ...flags: string[]) => cli('sync', '--org', 'acme', '--file', file, ...flags);

  /** Everything a sync could change, to prove that a run changed nothing. */
  async function snapshot() {
    return inStore(dataDir, async (store) => ({
      users: (await store.users.find({}, { sort: { _id: 1 } })).map((u) => [u._id, u.version, u.lifecycle?.accountStatus, u.lifecycle?.license]),
      groups: (await store.groups.find({}, { sort: { _id: 1 } })).map((g) => [g._id, g.version]),
      memberships: (await store.memberships.find({}, { sort: { _id: 1 } })).map((m) => m._id),
      audit: await store.audit.count({}),
      seats: (await store.seats.find({}, { sort: { _id: 1 } })).map((s) => [s._id, s.holder ?? null]),
    }));
  }

  beforeAll(async () => {
    dataDir = newDataDir();
    const created = await cli('org', 'create', 'acme', '--domains', 'example.com', '--seats', '20');
    expect(created.code).toBe(0);
    org = await inStore(dataDir, async (store) => (await store.organizations.findOne({ name: 'acme' }))!);
    connectionId = `${org._id}:cli-sync`;
  }, 60_000);

  test('--dry-run prints the plan and changes nothing', async () => {
    const before = await snapshot();
    const result = await sync(USERS_20, '--dry-run');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/20 rows, 0 with errors, 0 unchanged/);
    expect(result.stdout).toMatch(/ {2}create +20\n/);
    expect(result.stdout).toMatch(/ {2}group adds +23\n/);
    expect(result.stdout).toMatch(/ {2}new groups +3\n/);
    expect(result.stdout).toContain('+ create      ada.lovelace@example.com (row 2)');
    expect(result.stdout).toContain('+ group add   edsger.dijkstra@example.com → Research');
    expect(result.stdout).toMatch(/Dry run: nothing was changed/);
    expect(await snapshot()).toEqual(before);
  });

  test('creates 20 users through the services, linked to the CLI sync connection, with groups and seats', async () => {
    const result = await sync(USERS_20);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Applied 20 of 20 user changes and 3 new groups; 0 rows failed/);
    // stderr is not a terminal here: plain progress lines, no bar.
    expect(result.stderr).toMatch(/^sync: 23\/23 changes applied$/m);
    expect(result.stderr).not.toContain('\r');
    expect(result.stderr).not.toContain(String.fromCharCode(27));
    await inStore(dataDir, async (store) => {
      const users = await store.users.find({ orgId: org._id });
      expect(users).toHaveLength(20);
      for (const u of users) {
        expect(u.connectionId).toBe(connectionId);
        expect(u.lifecycle).toMatchObject({ managed: true, accountStatus: 'active', siteAccess: 'active', license: 'licensed' });
      }
      const shannon = users.find((u) => u.userNameKey === 'claude.shannon@example.com')!;
      expect(shannon.scim).toMatchObject({
        displayName: 'Claude Elwood Shannon',
        name: { formatted: 'Claude Elwood Shannon', givenName: 'Claude', familyName: 'Elwood Shannon' },
        emails: [{ value: 'claude.shannon@example.com', type: 'work', primary: true }],
        externalId: 'EMP1019',
        active: true,
      });
      const groups = await store.groups.find({ orgId: org._id }, { sort: { displayName: 1 } });
      expect(groups.map((g) => g.displayName)).toEqual(['Engineering', 'Research', 'Sales']);
      const count = async (name: string) => store.memberships.count({ orgId: org._id, groupId: groups.find((g) => g.displayName === name)!._id });
      expect([await count('Engineering'), await count('Research'), await count('Sales')]).toEqual([13, 3, 7]);
      const audit = await store.audit.find({ orgId: org._id, action: 'account.created' });
      expect(audit).toHaveLength(20);
      expect(audit.every((e) => e.actor.kind === 'admin' && e.actor.id === 'cli-sync' && /^cli-sync-/.test(e.requestId ?? ''))).toBe(true);
    });
    expect((await cli('seats', '--org', 'acme')).stdout).toBe('used 20 / total 20 / available 0\n');
  });

  test('a second run with the same file plans nothing and changes nothing', async () => {
    const before = await snapshot();
    const result = await sync(USERS_20);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/20 rows, 0 with errors, 20 unchanged/);
    expect(result.stdout).toMatch(/No changes\.\n$/);
    expect(result.stderr).toBe('');
    expect(await snapshot()).toEqual(before);
  });

  test('dropping 5 of 20 users is refused above --max-deactivate-share (exit 2) and changes nothing', async () => {
    const before = await snapshot();
    const result = await sync(USERS_15);
    expectFailure(result, 2, /refusing to deactivate 5 of 20 active accounts \(25%, more than --max-deactivate-share 0\.1\); check the file, or pass --force/);
    expect(result.stdout).toContain('- deactivate  claude.shannon@example.com (not in the file)');
    const dry = await sync(USERS_15, '--dry-run');
    expectFailure(dry, 2, /sync would refuse/);
    const allowed = await sync(USERS_15, '--dry-run', '--max-deactivate-share', '0.25');
    expect(allowed.code).toBe(0);
    expect(await snapshot()).toEqual(before);
  });

  test('with --force the 5 are deactivated (not deleted): seats freed, groups and links kept', async () => {
    const result = await sync(USERS_15, '--force', '--batch', '2');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Applied 5 of 5 user changes; 0 rows failed/);
    // Batches of 2: progress after each.
    expect(result.stderr.trim().split('\n')).toEqual(['sync: 2/5 changes applied', 'sync: 4/5 changes applied', 'sync: 5/5 changes applied']);
    await inStore(dataDir, async (store) => {
      const users = await store.users.find({ orgId: org._id });
      expect(users).toHaveLength(20);
      const gone = users.filter((u) => u.lifecycle!.accountStatus === 'deactivated').map((u) => u.userNameKey).sort();
      expect(gone).toEqual(['annie.easley@example.com', 'claude.shannon@example.com', 'linus.torvalds@example.com', 'niklaus.wirth@example.com', 'sophie.wilson@example.com']);
      for (const u of users.filter((x) => gone.includes(x.userNameKey))) {
        expect(u.connectionId).toBe(connectionId);
        expect(u.scim.active).toBe(false);
        expect(u.lifecycle).toMatchObject({ license: 'revoked', deactivatedBy: 'admin:cli-sync' });
        expect(await store.memberships.count({ orgId: org._id, value: u._id })).toBeGreaterThan(0);
      }
      expect(await store.audit.count({ orgId: org._id, action: 'account.deactivated' })).toBe(5);
    });
    expect((await cli('seats', '--org', 'acme')).stdout).toBe('used 15 / total 20 / available 5\n');
    // And the same file again is a no-op.
    const again = await sync(USERS_15);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/No changes\./);
  });

  test('updates, reactivations and group changes; a userName of another directory connection is left alone', async () => {
    // An IdP provisions one user of its own through SCIM.
    const token = (await cli('token', 'issue', '--org', 'acme', '--kind', 'scim')).stdout.trim();
    await inStore(dataDir, async (store) => {
      const created = await request(appOver(store))
        .post('/scim/v2/Users')
        .set('Authorization', `Bearer ${token}`)
        .set('Content-Type', 'application/scim+json')
        .send({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'okta.user@example.com', active: true });
      expect(created.status).toBe(201);
    });
    const csv = readFileSync(USERS_20, 'utf8')
      .replace('ada.lovelace@example.com,Ada Lovelace,', 'ada.lovelace@example.com,Ada King Lovelace,')
      .replace('grace.hopper@example.com,EMP1001,true,Sales', 'grace.hopper@example.com,EMP1001,true,Engineering')
      .concat('okta.user@example.com,Okta User,okta.user@example.com,X1,true,\n');
    const file = path.join(newDataDir(), 'changes.csv');
    writeFileSync(file, csv);

    const result = await sync(file);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('~ update      ada.lovelace@example.com (row 2: displayName, name)');
    expect(result.stdout).toContain('+ group add   grace.hopper@example.com → Engineering');
    expect(result.stdout).toContain('- group remove grace.hopper@example.com ✕ Sales');
    expect(result.stdout).toMatch(/ {2}reactivate +5\n/);
    expect(result.stderr).toMatch(/^row 22 \(okta\.user@example\.com\): this userName is provisioned by another directory connection/m);
    expect(result.stdout).toMatch(/Applied 7 of 7 user changes; 1 rows failed/);
    await inStore(dataDir, async (store) => {
      const users = await store.users.find({ orgId: org._id, connectionId });
      expect(users).toHaveLength(20);
      expect(users.every((u) => u.lifecycle!.accountStatus === 'active')).toBe(true);
      const ada = users.find((u) => u.userNameKey === 'ada.lovelace@example.com')!;
      expect(ada.scim.name).toEqual({ formatted: 'Ada King Lovelace', givenName: 'Ada', familyName: 'King Lovelace' });
      const grace = users.find((u) => u.userNameKey === 'grace.hopper@example.com')!;
      expect((await store.memberships.find({ value: grace._id })).map((m) => m.groupDisplay)).toEqual(['Engineering']);
      const okta = (await store.users.findOne({ orgId: org._id, userNameKey: 'okta.user@example.com' })) as UserDoc;
      expect(okta.connectionId).not.toBe(connectionId);
      expect(okta.version).toBe(1);
    });
    // The SCIM user of the other connection is not deactivated as "absent" by a file that lacks it either.
    const back = await sync(USERS_20, '--dry-run');
    expect(back.stdout).not.toMatch(/okta\.user/);
  });

  test('rows that cannot be applied are reported with their row number; the others are applied; exit 1', async () => {
    expect((await cli('org', 'create', 'beta', '--domains', 'beta.example', '--seats', '3')).code).toBe(0);
    const result = await cli('sync', '--org', 'beta', '--file', BAD_ROWS);
    expect(result.code).toBe(1);
    const errors = result.stderr.split('\n').filter((l) => l.startsWith('row '));
    expect(errors).toEqual([
      'row 3 (not.an.email@beta.example): invalid email "not-an-email"',
      'row 5 (VALID.ONE@beta.example): duplicate userName "VALID.ONE@beta.example" (first on row 2; that row is the one applied)',
      'row 6: userName is empty',
      'row 7 (maybe@beta.example): invalid active "perhaps" (expected true or false)',
      'row 8 (short.row@beta.example): expected 6 fields, found 2',
    ]);
    expect(result.stdout).toMatch(/Applied 3 of 3 user changes and 2 new groups; 5 rows failed/);
    await inStore(dataDir, async (store) => {
      const beta = (await store.organizations.findOne({ name: 'beta' }))!;
      const users = await store.users.find({ orgId: beta._id }, { sort: { userNameKey: 1 } });
      expect(users.map((u) => [u.userNameKey, u.lifecycle!.accountStatus])).toEqual([
        ['valid.one@beta.example', 'active'],
        ['valid.three@beta.example', 'deactivated'],
        ['valid.two@beta.example', 'active'],
      ]);
      expect(users[1].scim.displayName).toBe('Three, Valid');
      // Nothing leaked into the other organization.
      expect(await store.users.count({ orgId: org._id })).toBe(21);
    });
  });

  test('bad files and flags: one line on stderr, non-zero exit, nothing changed', async () => {
    const before = await snapshot();
    expectFailure(await sync(path.join(FIXTURES, 'missing.csv')), 1, /^error: cannot read .*missing\.csv: no such file\n$/);
    expectFailure(await sync(USERS_20, '--max-deactivate-share', '2'), 1, /--max-deactivate-share <fraction>.*fraction from 0 to 1/);
    expectFailure(await sync(USERS_20, '--batch', '0'), 1, /--batch <n>.*whole number from 1/);
    expectFailure(await cli('sync', '--org', 'nope', '--file', USERS_20), 1, /^error: unknown organization "nope"/);
    expectFailure(await cli('sync', '--org', 'acme'), 1, /required option '--file <path>' not specified/);
    const dir = newDataDir();
    const header = path.join(dir, 'header.csv');
    writeFileSync(header, 'userName,mail\nx@example.com,x@example.com\n');
    expectFailure(await sync(header), 1, /unknown column "mail" in the header/);
    const quotes = path.join(dir, 'quotes.csv');
    writeFileSync(quotes, 'userName,name\n"x@example.com,unterminated\n');
    expectFailure(await sync(quotes), 1, /is not valid CSV/);
    expectFailure(await sync(dir), 1, /cannot read .*: it is a directory/);
    expect(await snapshot()).toEqual(before);
  });
});
