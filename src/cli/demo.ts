/**
 * `demo`: fills a new organization with a realistic, consistent population so a newcomer sees a living dashboard at
 * once. Everything goes through the real services (createUser, updateUser, createGroup, applyAccountAction,
 * requestAccess, createWorkspace), with the clock of each step set in the past, so accounts, seats, group
 * memberships, workspaces and the audit log agree with each other exactly as if months of provisioning had happened.
 * The only direct write is `lifecycle.lastActive`, which is what an SSO login writes.
 *
 * The demo refuses an organization that already has accounts: it never mixes invented people into real data, and a
 * second run is an error rather than a duplicate population.
 */
import { randomBytes } from 'node:crypto';
import type { Store } from '../store/port';
import type { OrganizationDoc, UserDoc } from '../store/documents';
import type { Config } from '../config';
import type { RequestContext } from '../services/context';
import { bootstrap } from '../services/organizations';
import { createUser, updateUser } from '../services/users';
import { createGroup } from '../services/groups';
import { applyAccountAction } from '../services/accounts';
import { requestAccess, denyAccessRequest } from '../services/access-requests';
import { createWorkspace } from '../services/workspaces';
import { seatUsage } from '../services/seats';
import { createOrganization } from './org';
import { issueToken } from './token';
import { CliError } from './errors';
import type { Output } from './runtime';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface DemoOptions {
  org: string;
  users: number;
  domain?: string;
  licenseMode: 'provision' | 'groups';
  /** Whether --org was given explicitly (it must then match ORG_NAME when bootstrap tokens are used). */
  orgGiven: boolean;
}

/** How many accounts end up in each state (exact in provision and groups mode alike). */
export interface DemoPlan {
  guests: number;
  freeManaged: number;
  provisioned: number;
  deactivated: number;
  pendingDeletion: number;
  revoked: number;
  waiters: number;
  seats: number;
}

export function demoPlan(users: number, seats?: number): DemoPlan {
  const guests = Math.max(2, Math.round(users * 0.1));
  const freeManaged = Math.max(1, Math.round(users * 0.07));
  const provisioned = users - guests - freeManaged;
  const deactivated = Math.max(2, Math.round(users * 0.08));
  const pendingDeletion = 1;
  const revoked = Math.max(1, Math.round(users * 0.03));
  const stillEntitled = provisioned - deactivated - pendingDeletion - revoked;
  const wanted = Math.max(2, Math.round(users * 0.07));
  const total = seats ?? stillEntitled - wanted;
  return { guests, freeManaged, provisioned, deactivated, pendingDeletion, revoked, waiters: Math.max(0, stillEntitled - total), seats: total };
}

export interface DemoResult {
  org: OrganizationDoc;
  plan: DemoPlan;
  adminToken: string;
  adminTokenSource: 'issued' | 'ADMIN_BOOTSTRAP_TOKEN';
  scimToken: string;
  scimTokenSource: 'issued' | 'SCIM_BOOTSTRAP_TOKEN';
  ssoSecret?: string;
  dashboardUrl: string;
  counts: Record<string, number>;
}

/** A small deterministic generator (mulberry32), so every demo has the same people (tests use it too). */
export function seededRandom(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)], between: (lo: number, hi: number) => lo + next() * (hi - lo) };
}

const FIRST = [
  'Ada', 'Alan', 'Grace', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Dennis', 'Frances', 'Ken', 'Radia', 'Linus', 'Hedy', 'Tim', 'Katherine', 'John',
  'Sophie', 'Niklaus', 'Annie', 'Claude', 'Mary', 'Guido', 'Shafi', 'Vint', 'Lynn', 'Bjarne', 'Evelyn', 'Leslie', 'Jean', 'Ivan', 'Karen', 'Whitfield',
  'Joan', 'Robin', 'Adele', 'Butler', 'Dorothy', 'Fernando', 'Ida', 'Yukihiro', 'Elena', 'Tomás', 'Priya', 'Kwame', 'Mei', 'Oluwaseun', 'Ingrid', 'Rafael',
] as const;
const LAST = [
  'Lovelace', 'Turing', 'Hopper', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Ritchie', 'Allen', 'Thompson', 'Perlman', 'Torvalds', 'Lamarr', 'Berners-Lee',
  'Johnson', 'McCarthy', 'Wilson', 'Wirth', 'Easley', 'Shannon', 'Kenneth', 'van Rossum', 'Goldwasser', 'Cerf', 'Conway', 'Stroustrup', 'Berezin', 'Lamport',
  'Bartik', 'Sutherland', 'Spärck Jones', 'Diffie', 'Clarke', 'Milner', 'Goldberg', 'Lampson', 'Vaughan', 'Corbató', 'Rhodes', 'Matsumoto', 'García', 'Nakamura',
] as const;
const DEPARTMENTS = [
  { name: 'Engineering', titles: ['Software Engineer', 'Senior Software Engineer', 'Engineering Manager', 'Site Reliability Engineer', 'QA Engineer'], weight: 5 },
  { name: 'Sales', titles: ['Account Executive', 'Sales Development Rep', 'Sales Manager'], weight: 3 },
  { name: 'Marketing', titles: ['Content Marketer', 'Product Marketing Manager', 'Designer'], weight: 2 },
  { name: 'Customer Success', titles: ['Support Engineer', 'Customer Success Manager'], weight: 2 },
  { name: 'Finance', titles: ['Controller', 'Financial Analyst'], weight: 1 },
  { name: 'People Ops', titles: ['Recruiter', 'People Partner'], weight: 1 },
] as const;
const GUEST_DOMAINS = ['gmail.com', 'contractor.dev', 'agency-partners.io', 'outlook.com', 'freelance.studio'] as const;
const REQUEST_MESSAGES = [
  'I moved teams and need the roadmap workspace again.',
  'Back from parental leave, could you restore my access?',
  'Waiting for a seat since my start date, please.',
  'Need Enterprise access for the Q3 planning.',
] as const;

interface Person {
  given: string;
  family: string;
  email: string;
  department: string;
  title: string;
  created: Date;
}

/** The demo organization's default claimed domain: `<org>.example` (RFC 2606, never a real address). */
export function demoDomain(org: string): string {
  const label = org.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'demo';
  return `${label.slice(0, 60)}.example`;
}

function titleCase(name: string): string {
  return name.replace(/\b\w/g, (c) => c.toUpperCase());
}

export async function runDemo(store: Store, config: Config, options: DemoOptions, io: Output, now = new Date()): Promise<DemoResult> {
  const rnd = seededRandom(20260501 + options.users);
  const ago = (days: number) => new Date(now.getTime() - days * DAY_MS);
  const { adminToken: envAdmin, scimToken: envScim } = config.bootstrap;
  const useBootstrap = Boolean(envAdmin || envScim);

  // --- the organization and its tokens ------------------------------------------------------------------------
  let org: OrganizationDoc;
  let plan: DemoPlan;
  let scimToken: string;
  let adminToken: string;
  let connectionId: string;
  let ssoSecret: string | undefined;
  if (useBootstrap) {
    // The server will bootstrap ORG_NAME with these settings on every start: fill exactly that organization, so the
    // start changes nothing and the tokens open the demo.
    const settings = config.bootstrap.org;
    if (options.orgGiven && options.org !== settings.name) {
      throw new CliError(`--org ${options.org} differs from ORG_NAME (${settings.name}): with ADMIN_BOOTSTRAP_TOKEN or SCIM_BOOTSTRAP_TOKEN set, the demo fills the bootstrap organization`);
    }
    if (settings.domains.length === 0) throw new CliError('ORG_DOMAINS is empty: the demo needs a claimed domain for its managed accounts (or unset the bootstrap tokens)');
    await refuseExisting(store, settings.name);
    plan = demoPlan(options.users, settings.seats);
    org = (await bootstrap(store, config))!;
    const issuedAdmin = envAdmin ? undefined : (await issueToken(store, org, 'admin', 'demo', now)).token;
    const issuedScim = envScim ? undefined : await issueToken(store, org, 'scim', 'demo directory', now);
    adminToken = envAdmin ?? issuedAdmin!;
    scimToken = envScim ?? issuedScim!.token;
    connectionId = envScim ? `${org._id}:bootstrap` : issuedScim!.doc.connectionId!;
    ssoSecret = config.bootstrap.ssoSecret ? undefined : await setSsoSecret(store, org);
  } else {
    await refuseExisting(store, options.org);
    plan = demoPlan(options.users);
    const licenseGroups = options.licenseMode === 'groups' ? ['enterprise users'] : [];
    org = await createOrganization(
      store,
      options.org,
      { domains: [options.domain ?? demoDomain(options.org)], seats: plan.seats, licenseMode: options.licenseMode, licenseGroups, deprovision: 'account' },
      ago(200),
    );
    const admin = await issueToken(store, org, 'admin', 'demo', now);
    const scim = await issueToken(store, org, 'scim', 'demo directory', ago(200));
    adminToken = admin.token;
    scimToken = scim.token;
    connectionId = scim.doc.connectionId!;
    ssoSecret = await setSsoSecret(store, org);
  }
  org = (await store.organizations.findOne({ _id: org._id }))!;
  const domain = org.domains[0];
  const directory = (at: Date): RequestContext => ({ orgId: org._id, connectionId, actor: { kind: 'directory', id: connectionId }, requestId: 'demo', now: at });
  const admin = (at: Date): RequestContext => ({ orgId: org._id, actor: { kind: 'admin', id: 'demo' }, requestId: 'demo', now: at });
  const sso = (at: Date, id: string): RequestContext => ({ orgId: org._id, actor: { kind: 'sso', id }, requestId: 'demo', now: at });

  // --- people ---------------------------------------------------------------------------------------------------
  const used = new Set<string>();
  const weighted = DEPARTMENTS.flatMap((d) => Array<(typeof DEPARTMENTS)[number]>(d.weight).fill(d));
  const person = (mailDomain: string, created: Date): Person => {
    for (;;) {
      const given = rnd.pick(FIRST);
      const family = rnd.pick(LAST);
      const local = `${given}.${family}`.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z.]+/g, '');
      let email = `${local}@${mailDomain}`;
      for (let n = 2; used.has(email); n++) email = `${local}${n}@${mailDomain}`;
      used.add(email);
      const department = rnd.pick(weighted);
      return { given, family, email, department: department.name, title: rnd.pick(department.titles), created };
    }
  };
  // Creation dates spread over six months, oldest first, so seats go to the earliest hires.
  const creationDays = Array.from({ length: options.users }, () => rnd.between(25, 190)).sort((a, b) => b - a);
  let day = 0;
  const people = {
    provisioned: [] as Person[],
    guests: [] as Person[],
    free: [] as Person[],
  };
  // Interleave the kinds over time: every tenth person a guest, every fourteenth a free (SSO first login) account.
  for (let i = 0; i < options.users; i++) {
    const created = ago(creationDays[day++]);
    const wantGuest = people.guests.length < plan.guests && (i % 10 === 5 || options.users - i <= plan.guests - people.guests.length);
    const wantFree = !wantGuest && people.free.length < plan.freeManaged && (i % 14 === 9 || options.users - i <= plan.guests - people.guests.length + plan.freeManaged - people.free.length);
    if (wantGuest) people.guests.push(person(rnd.pick(GUEST_DOMAINS), created));
    else if (wantFree) people.free.push(person(domain, created));
    else people.provisioned.push(person(domain, created));
  }

  const attributes = (p: Person, n: number) => ({
    scim: {
      userName: p.email,
      externalId: `EMP${String(1000 + n)}`,
      name: { givenName: p.given, familyName: p.family, formatted: `${p.given} ${p.family}` },
      displayName: `${p.given} ${p.family}`,
      title: p.title,
      emails: [{ value: p.email, type: 'work', primary: true }],
      active: true,
    },
    enterprise: { department: p.department, employeeNumber: String(1000 + n) },
  });

  io.err(`demo: creating ${options.users} accounts in organization "${org.name}" (${domain}) …`);
  const all: Array<{ kind: 'provisioned' | 'guest' | 'free'; person: Person; account: UserDoc }> = [];
  const timeline = [
    ...people.provisioned.map((p) => ({ kind: 'provisioned' as const, p })),
    ...people.guests.map((p) => ({ kind: 'guest' as const, p })),
    ...people.free.map((p) => ({ kind: 'free' as const, p })),
  ].sort((a, b) => a.p.created.getTime() - b.p.created.getTime());
  let n = 0;
  for (const { kind, p } of timeline) {
    n++;
    let account: UserDoc;
    if (kind === 'provisioned') {
      account = await createUser(store, directory(p.created), org, attributes(p, n));
    } else if (kind === 'guest') {
      // An external collaborator an admin added to the site: unmanaged, no directory link, no seat.
      const name = { givenName: p.given, familyName: p.family, formatted: `${p.given} ${p.family}` };
      const scim = { userName: p.email, name, displayName: name.formatted, title: 'External collaborator', emails: [{ value: p.email, type: 'work', primary: true }], active: true };
      account = await createUser(store, admin(p.created), org, { scim });
    } else {
      // A colleague who signed in through SSO before the IdP provisioned them: managed, free.
      account = await createUser(store, sso(p.created, org._id), org, { scim: { userName: p.email, emails: [{ value: p.email, type: 'work', primary: true }], active: true } });
    }
    all.push({ kind, person: p, account });
  }
  const provisioned = all.filter((a) => a.kind === 'provisioned');
  const guests = all.filter((a) => a.kind === 'guest');

  // --- groups ---------------------------------------------------------------------------------------------------
  io.err('demo: groups and workspaces …');
  const groupsAt = ago(24);
  const licensing = org.licenseMode === 'groups' ? (org.licenseGroups[0] ?? 'enterprise users') : undefined;
  const members = (filter: (p: Person) => boolean) => provisioned.filter((a) => filter(a.person)).map((a) => ({ value: a.account._id }));
  await createGroup(store, directory(groupsAt), { displayName: licensing ? titleCase(licensing) : 'All Staff', externalId: 'grp-all' }, members(() => true));
  for (const d of DEPARTMENTS) {
    await createGroup(store, directory(groupsAt), { displayName: d.name, externalId: `grp-${d.name.toLowerCase().replace(/\s+/g, '-')}` }, members((p) => p.department === d.name));
  }
  await createGroup(store, directory(groupsAt), { displayName: 'Managers', externalId: 'grp-managers' }, members((p) => /Manager|Controller/.test(p.title)));

  // Who changes state later: taken among the earliest (licensed) hires, so each change frees a real seat.
  const early = provisioned.slice(0, plan.deactivated + plan.pendingDeletion + plan.revoked + 4);
  const admins = early.slice(-4);
  const toDeactivate = early.slice(0, plan.deactivated);
  const toDelete = early.slice(plan.deactivated, plan.deactivated + plan.pendingDeletion);
  const toRevoke = early.slice(plan.deactivated + plan.pendingDeletion, plan.deactivated + plan.pendingDeletion + plan.revoked);
  const others = provisioned.slice(early.length);
  const authors = (k: number, offset: number) => others.filter((_, i) => i % k === offset % k).slice(0, 6).map((a) => a.account._id);

  // --- workspaces -------------------------------------------------------------------------------------------------
  const wsAt = ago(22);
  const workspaces = [
    { name: 'Product Roadmap', enterprise: true, admins: [admins[0]], authors: [...authors(5, 0), toDeactivate[0].account._id], guests: [guests[0]] },
    { name: 'Engineering Handbook', enterprise: true, admins: [admins[1], admins[2]], authors: [...authors(4, 1), toDeactivate[1].account._id, toDelete[0].account._id], guests: [] },
    { name: 'Sales Playbook', enterprise: true, admins: [admins[3]], authors: authors(6, 2), guests: [] },
    { name: 'Company Wiki', enterprise: false, admins: [admins[0], admins[3]], authors: authors(3, 0), guests: guests.slice(0, 2) },
    { name: 'Partner Portal', enterprise: false, admins: [admins[2]], authors: authors(7, 3), guests },
  ];
  for (const ws of workspaces) {
    await createWorkspace(store, admin(wsAt), {
      name: ws.name,
      enterprise: ws.enterprise,
      admins: ws.admins.map((a) => a.account._id),
      authors: [...new Set(ws.authors)],
      guests: ws.guests.map((a) => a.account._id),
    });
  }

  // --- what happened since: leavers, revocations, a deletion, guests -------------------------------------------
  io.err('demo: deactivations, revocations, a pending deletion, invitations and access requests …');
  const lastActive = new Map<string, Date>();
  for (const [i, a] of toDeactivate.entries()) {
    const at = ago(20 - i * 2);
    lastActive.set(a.account._id, new Date(at.getTime() - rnd.between(1, 10) * DAY_MS));
    if (i % 2 === 0) {
      // The IdP deprovisions a leaver (Okta's PATCH active=false).
      await updateUser(store, directory(at), org, a.account._id, (current) => ({ scim: { ...current.scim, active: false }, enterprise: current.enterprise }));
    } else {
      await applyAccountAction(store, admin(at), org, a.account._id, 'deactivate');
    }
  }
  for (const a of toDelete) {
    await applyAccountAction(store, admin(ago(12)), org, a.account._id, 'deactivate');
    await applyAccountAction(store, admin(ago(5)), org, a.account._id, 'schedule-deletion', { graceDays: 14 });
    lastActive.set(a.account._id, ago(40));
  }
  for (const [i, a] of toRevoke.entries()) await applyAccountAction(store, admin(ago(9 - i)), org, a.account._id, 'revoke-license');
  // Guests: one suspended, one invited back recently, one whose invitation is overdue (the invites policy expires it).
  if (guests[guests.length - 1]) await applyAccountAction(store, admin(ago(15)), org, guests[guests.length - 1].account._id, 'suspend');
  for (const [g, removedDaysAgo, invitedDaysAgo] of [
    [guests[1], 50, 45],
    [guests[2], 8, 6],
  ] as const) {
    if (!g || g === guests[guests.length - 1]) continue;
    await applyAccountAction(store, admin(ago(removedDaysAgo)), org, g.account._id, 'remove');
    await applyAccountAction(store, admin(ago(invitedDaysAgo)), org, g.account._id, 'invite');
  }

  // --- access requests -------------------------------------------------------------------------------------------
  const fresh = async (id: string) => (await store.users.findOne({ _id: id, orgId: org._id }))!;
  const waiting = (await store.users.find({ orgId: org._id, 'lifecycle.license': 'pending_seat' }, { sort: { 'lifecycle.pendingSince': 1 } })).map((u) => u._id);
  const askers = [toDeactivate[1]?.account._id, toRevoke[0]?.account._id, waiting[0], toDeactivate[2]?.account._id].filter((id): id is string => Boolean(id));
  for (const [i, id] of askers.entries()) {
    await requestAccess(store, sso(ago(4 - i), id), await fresh(id), REQUEST_MESSAGES[i % REQUEST_MESSAGES.length]);
  }
  // One request already decided, for the history.
  if (toDeactivate[3]) {
    const denied = await requestAccess(store, sso(ago(11), toDeactivate[3].account._id), await fresh(toDeactivate[3].account._id), 'Can I keep read access?');
    await denyAccessRequest(store, admin(ago(10)), org, denied._id);
  }

  // --- last activity (what SSO logins write) ---------------------------------------------------------------------
  for (const a of all) {
    const account = await fresh(a.account._id);
    const state = account.lifecycle!;
    let at = lastActive.get(account._id);
    if (!at) {
      if (state.siteAccess === 'invited') continue; // never signed in since the invitation
      const sinceCreated = (now.getTime() - a.person.created.getTime()) / DAY_MS;
      // About one in eight active people has been idle for more than three months (the inactivity policy's prey).
      const idle = rnd.next() < 0.12 && sinceCreated > 100;
      const daysAgo = a.kind === 'free' ? sinceCreated : idle ? rnd.between(95, Math.min(170, sinceCreated)) : rnd.between(0.05, Math.min(30, sinceCreated));
      at = ago(daysAgo);
    }
    await store.users.updateOne({ _id: account._id, orgId: org._id }, { $set: { 'lifecycle.lastActive': at } });
  }

  const counts = await countStates(store, org._id);
  return {
    org,
    plan,
    adminToken,
    adminTokenSource: envAdmin ? 'ADMIN_BOOTSTRAP_TOKEN' : 'issued',
    scimToken,
    scimTokenSource: envScim ? 'SCIM_BOOTSTRAP_TOKEN' : 'issued',
    ssoSecret,
    dashboardUrl: `${config.publicUrl ?? `http://localhost:${config.port}`}/admin`,
    counts: { ...counts, ...(await seatUsage(store, org)) },
  };
}

async function refuseExisting(store: Store, name: string): Promise<void> {
  const existing = await store.organizations.findOne({ name });
  if (existing && (await store.users.count({ orgId: existing._id })) > 0) {
    throw new CliError(`organization "${name}" already has accounts: the demo only fills a new (or empty) organization; use --org <another name> or a fresh DATA_DIR`);
  }
}

/** A random SSO secret for the demo organization, so SSO logins can be tried (printed once). */
async function setSsoSecret(store: Store, org: OrganizationDoc): Promise<string> {
  const secret = randomBytes(32).toString('base64url');
  await store.organizations.updateOne({ _id: org._id }, { $set: { ssoSecret: secret } });
  return secret;
}

export async function countStates(store: Store, orgId: string): Promise<Record<string, number>> {
  const c = (query: Record<string, unknown>) => store.users.count({ orgId, ...query });
  return {
    accounts: await c({}),
    managed: await c({ 'lifecycle.managed': true }),
    guests: await c({ 'lifecycle.managed': false }),
    licensed: await c({ 'lifecycle.license': 'licensed' }),
    pendingSeat: await c({ 'lifecycle.license': 'pending_seat' }),
    revoked: await c({ 'lifecycle.license': 'revoked', 'lifecycle.accountStatus': 'active', 'lifecycle.siteAccess': 'active' }),
    free: await c({ 'lifecycle.license': 'free', 'lifecycle.managed': true, 'lifecycle.accountStatus': 'active' }),
    deactivated: await c({ 'lifecycle.accountStatus': 'deactivated' }),
    pendingDeletion: await c({ 'lifecycle.accountStatus': 'pending_deletion' }),
    invited: await c({ 'lifecycle.siteAccess': 'invited' }),
    suspended: await c({ 'lifecycle.siteAccess': 'suspended' }),
    groups: await store.groups.count({ orgId }),
    workspaces: await store.workspaces.count({ orgId }),
    openAccessRequests: await store.accessRequests.count({ orgId, status: 'open' }),
    auditEvents: await store.audit.count({ orgId }),
  };
}
