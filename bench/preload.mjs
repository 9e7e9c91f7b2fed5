// Builds (or reuses) the preloaded data directory for the benchmark: N users, N/100 groups and three large groups,
// written through the store port (openEmbeddedStore + insertMany), never over HTTP (PERFORMANCE.md §4).
//
// Run by run.mjs as a child process (so the loader's heap never shares a process with the load generator):
//   node bench/preload.mjs            env: N, BENCH_REBUILD=1, BENCH_DIR (default .bench)
// Prints one JSON line on stdout: {dir, manifest, reused, preload}.
//
// Documents are built here directly (calling createUser 100k times would take minutes), so before anything is
// written the builders are checked against the server's own code on an in-memory store: coerceUser + createUser for
// users, createGroup for groups and memberships. A difference in content stops the build with both documents shown;
// the shape of those reference documents is also part of the cache stamp, so a change in services/users.ts that
// changes what is stored invalidates cached directories by itself.
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DATASET_VERSION,
  groupCount,
  groupDisplayName,
  groupExternalId,
  groupSizes,
  largeGroups,
  makeUser,
  prng,
  userAttributes,
} from './data.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const dist = (p) => require(path.join(ROOT, 'dist', 'src', p));

export const BENCH_TOKEN = 'bench-scim-token-0123456789abcdef';
/** The bootstrap environment of the preloaded organization; the server is started with the same values. */
// Licensing by groups with no licensing group configured: users are managed (example.com is claimed) but never want
// a seat, so neither the preload nor POST depends on seat slots (one document per seat, created at bootstrap).
export const ORG_ENV = { SCIM_BOOTSTRAP_TOKEN: BENCH_TOKEN, ORG_NAME: 'bench', ORG_DOMAINS: 'example.com', ORG_LICENSE_MODE: 'groups' };

const USER_BATCH = 5_000;
const MEMBERSHIP_BATCH = 10_000;

function log(msg) {
  process.stderr.write(`[preload] ${msg}\n`);
}

/** JSON with keys sorted at every level: content comparison that ignores key order. */
function canonical(value) {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
      : v,
  );
}

/** Compares a built document with the server's; throws on different content, warns on different key order. */
function sameDoc(what, built, real) {
  if (canonical(built) !== canonical(real)) {
    throw new Error(
      `bench/preload.mjs builds ${what} differently from the server; update bench/data.mjs or bench/preload.mjs.\n` +
        `  server: ${JSON.stringify(real)}\n  bench:  ${JSON.stringify(built)}`,
    );
  }
  if (JSON.stringify(built) !== JSON.stringify(real)) log(`warning: ${what} has the server's content but a different key order`);
}

/** The shape of a document (key paths and value types), for the cache stamp. */
function shapeOf(value) {
  if (value instanceof Date) return 'date';
  if (Array.isArray(value)) return value.map(shapeOf);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v)]));
  return typeof value;
}

function loadServerModules() {
  const schema = dist('scim/schema.js');
  schema.declareScimSchemas();
  return {
    coerceUser: dist('scim/users-router.js').coerceUser,
    users: dist('services/users.js'),
    groups: dist('services/groups.js'),
    openEmbeddedStore: dist('store/embedded/index.js').openEmbeddedStore,
    bootstrap: dist('services/organizations.js').bootstrap,
    loadConfig: dist('config.js').loadConfig,
    hashToken: dist('auth/tokens.js').hashToken,
  };
}

/** The directory connection of the bench token and the organization, after bootstrap. */
async function bootstrapOrg(m, store, dataDir) {
  const config = m.loadConfig({ ...ORG_ENV, DATA_DIR: dataDir ?? './unused' });
  const org = await m.bootstrap(store, config);
  const token = await store.tokens.findOne({ _id: m.hashToken(BENCH_TOKEN) });
  if (!org || !token?.connectionId) throw new Error('bootstrap() did not create the organization and its SCIM token');
  return { org, connectionId: token.connectionId };
}

/** Deep copy of `value` with every occurrence of each `[from, to]` string replaced inside string values. */
function subst(value, pairs) {
  if (typeof value === 'string') return pairs.reduce((s, [from, to]) => (s.includes(from) ? s.split(from).join(to) : s), value);
  if (value instanceof Date) return new Date(value.getTime());
  if (Array.isArray(value)) return value.map((v) => subst(v, pairs));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, subst(v, pairs)]));
  return value;
}

/** `doc` with every date in it (at any depth) replaced by a copy of `at`: each document holds its own Date objects. */
function datedAt(doc, at) {
  const copy = (v) => (v instanceof Date ? new Date(at.getTime()) : Array.isArray(v) ? v.map(copy) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copy(x)])) : v);
  return copy(doc);
}

/** `template` with its top-level keys replaced by `over` where both have them (key order stays the template's). */
function overlay(template, over) {
  const out = {};
  for (const k of Object.keys(template)) out[k] = k in over ? over[k] : template[k];
  return out;
}

/** Collections other than the primary ones, where a create may leave side documents (audit events today). */
const PRIMARY = new Set(['organizations', 'tokens', 'users', 'groups', 'memberships']);
const sideCollections = (store) => Object.keys(store).filter((k) => !PRIMARY.has(k) && typeof store[k]?.find === 'function');

async function idsOf(store) {
  const out = {};
  for (const c of sideCollections(store)) out[c] = new Set((await store[c].find({}, { projection: { _id: 1 } })).map((d) => d._id));
  return out;
}

/** Documents inserted into side collections since `before` (from idsOf). */
async function sideDocsSince(store, before) {
  const out = [];
  for (const c of sideCollections(store)) {
    for (const doc of await store[c].find({})) if (!before[c]?.has(doc._id)) out.push({ collection: c, doc });
  }
  return out;
}

/**
 * Builders for the stored documents. They do not restate what services/users.ts and services/groups.ts store: they
 * copy documents the server itself produced for a template user and group (on an in-memory store) and replace the
 * per-user / per-group fields, so the lifecycle state, version, audit events etc. are whatever the server writes.
 * checkBuilders() verifies them against more documents made by the server.
 */
function builders(m, tpl) {
  const userOver = (i) => {
    const attrs = userAttributes(i);
    return { scim: attrs.scim, enterprise: attrs.enterprise, userNameKey: m.users.caseKey(attrs.scim.userName), emailKeys: attrs.scim.emails.map((e) => m.users.caseKey(e.value)) };
  };
  return {
    /** The user document and its side documents (audit events). `sideIds` gives the _ids of the side documents. */
    user(i, id, sideIds) {
      const pairs = [[tpl.user._id, id]];
      const doc = overlay(subst(tpl.user, pairs), userOver(i));
      const side = tpl.userSide.map((s, k) => ({ collection: s.collection, doc: { ...subst(s.doc, [...pairs, [s.doc._id, sideIds[k]]]), _id: sideIds[k] } }));
      return { doc, side };
    },
    group(id, displayName, externalId, sideIds) {
      const pairs = [[tpl.group._id, id]];
      const doc = overlay(subst(tpl.group, pairs), { displayName, displayNameKey: m.users.caseKey(displayName), externalId });
      if (externalId === undefined) delete doc.externalId;
      const side = tpl.groupSide.map((s, k) => ({ collection: s.collection, doc: { ...subst(s.doc, [...pairs, [s.doc._id, sideIds[k]]]), _id: sideIds[k] } }));
      return { doc, side };
    },
    membership(group, userId, i) {
      return overlay(subst(tpl.membership, [[tpl.group._id, group._id], [tpl.user._id, userId]]), {
        display: `Given${i} Family${i}`,
        groupDisplay: group.displayName,
      });
    },
  };
}

/**
 * Runs the server's own create paths (coerceUser + createUser, createGroup) on an in-memory store: the first user
 * and group are the templates of the builders, further ones check them. Returns the templates.
 */
async function checkBuilders(m, n) {
  const store = await m.openEmbeddedStore();
  const { org, connectionId } = await bootstrapOrg(m, store);
  const now = new Date();
  const ctx = { orgId: org._id, connectionId, actor: { kind: 'directory', id: connectionId }, now };
  for (const i of [0, 1, 7, 49, 50, n - 1]) {
    sameDoc(`the attributes of user ${i}`, userAttributes(i), JSON.parse(JSON.stringify(m.coerceUser(makeUser(i)))));
  }
  const realUser = async (i) => {
    const before = await idsOf(store);
    const created = await m.users.createUser(store, ctx, org, m.coerceUser(makeUser(i)));
    return { doc: await store.users.findOne({ _id: created._id }), side: await sideDocsSince(store, before) };
  };
  const realGroup = async (g, members) => {
    const before = await idsOf(store);
    const created = await m.groups.createGroup(store, ctx, { displayName: groupDisplayName(g), externalId: groupExternalId(g) }, members.map((u) => ({ value: u._id })));
    const memberships = await store.memberships.find({ groupId: created._id }, { sort: { value: 1 } });
    return { doc: await store.groups.findOne({ _id: created._id }), side: await sideDocsSince(store, before), memberships };
  };
  const u0 = await realUser(0);
  const g0 = await realGroup(0, [u0.doc]);
  const tpl = { user: u0.doc, userSide: u0.side, group: g0.doc, groupSide: g0.side, membership: g0.memberships[0] };
  const b = builders(m, tpl);
  const samples = [];
  for (const i of [3, 49, n - 1]) {
    const real = await realUser(i);
    samples.push({ i, real });
    const built = b.user(i, real.doc._id, real.side.map((s) => s.doc._id));
    sameDoc(`user ${i}`, built.doc, real.doc);
    sameDoc(`the side documents of user ${i}`, built.side, real.side);
  }
  const g1 = await realGroup(1, samples.map((s) => s.real.doc));
  const builtGroup = b.group(g1.doc._id, groupDisplayName(1), groupExternalId(1), g1.side.map((s) => s.doc._id));
  sameDoc('a group', builtGroup.doc, g1.doc);
  sameDoc('the side documents of a group', builtGroup.side, g1.side);
  for (const real of g1.memberships) {
    const s = samples.find((x) => x.real.doc._id === real.value);
    sameDoc('a membership', b.membership(g1.doc, real.value, s.i), real);
  }
  await store.close();
  const shape = (d) => shapeOf(d);
  return {
    tpl,
    shapes: { user: shape(tpl.user), userSide: tpl.userSide.map((s) => [s.collection, shape(s.doc)]), group: shape(tpl.group), groupSide: tpl.groupSide.map((s) => [s.collection, shape(s.doc)]), membership: shape(tpl.membership) },
    managed: tpl.user.lifecycle?.managed,
  };
}

async function build(m, n, dir, tplIn) {
  const t0 = performance.now();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const store = await m.openEmbeddedStore({ dataDir: dir });
  const { org, connectionId } = await bootstrapOrg(m, store, dir);
  const { v7: uuidv7 } = require('uuid');
  // The templates were made in another organization: move them to this one (ids, connection) and to `now`.
  const now = new Date();
  const orgPairs = [[tplIn.user.orgId, org._id], [tplIn.user.connectionId, connectionId]];
  const tpl = datedAt(subst(tplIn, orgPairs), now);
  const b = builders(m, tpl);
  const side = {};
  /** Queues the documents the server wrote in other collections with a user or a group, dated `at` as it is. */
  const pushSide = (list, at) => {
    for (const s of list) (side[s.collection] ??= []).push(datedAt(s.doc, at));
  };
  const flushSide = async () => {
    for (const [c, docs] of Object.entries(side)) if (docs.length > 0) await store[c].insertMany(docs.splice(0));
  };

  // Times as a directory that grew over a year has them: each user created (and not changed since) at its own
  // moment, its audit event at the same moment, each group's members added when the group was. Every document at
  // one instant would make the data unlike any real store's (dates are a tenth of the heap).
  const YEAR_MS = 365 * 24 * 3600 * 1000;
  const userTime = (i) => new Date(now.getTime() - YEAR_MS + Math.floor((i * YEAR_MS) / n));
  const groupTime = (g, count) => new Date(now.getTime() - YEAR_MS / 2 + Math.floor((g * YEAR_MS) / 2 / count));
  const userIds = new Array(n);
  const tUsers = performance.now();
  for (let start = 0; start < n; start += USER_BATCH) {
    const docs = [];
    for (let i = start; i < Math.min(n, start + USER_BATCH); i++) {
      userIds[i] = uuidv7();
      const built = b.user(i, userIds[i], tpl.userSide.map(() => uuidv7()));
      const at = userTime(i);
      docs.push(datedAt(built.doc, at));
      pushSide(built.side, at);
    }
    await store.users.insertMany(docs);
    await flushSide();
    if ((start / USER_BATCH) % 20 === 19) log(`${start + docs.length} users`);
  }
  const usersSec = (performance.now() - tUsers) / 1000;
  log(`${n} users in ${usersSec.toFixed(1)} s (${Math.round(n / usersSec)}/s)`);

  const tGroups = performance.now();
  const sizes = groupSizes(n);
  const rand = prng(0xc0ffee);
  const groupDocs = [];
  let memberships = [];
  let membershipCount = 0;
  const flush = async (force) => {
    if (memberships.length >= MEMBERSHIP_BATCH || (force && memberships.length > 0)) {
      await store.memberships.insertMany(memberships);
      membershipCount += memberships.length;
      memberships = [];
    }
  };
  const groups = [];
  const specs = largeGroups(n);
  const allGroups = groupCount(n) + specs.length;
  for (let g = 0; g < groupCount(n); g++) {
    const at = groupTime(g, allGroups);
    const { doc, side: gSide } = b.group(uuidv7(), groupDisplayName(g), groupExternalId(g), tpl.groupSide.map(() => uuidv7()));
    groupDocs.push(datedAt(doc, at));
    pushSide(gSide, at);
    groups.push({ id: doc._id, displayName: doc.displayName, size: sizes[g] });
    const chosen = new Set();
    while (chosen.size < sizes[g]) chosen.add(Math.floor(rand() * n));
    for (const i of chosen) memberships.push(datedAt(b.membership(doc, userIds[i], i), at));
    await flush(false);
  }
  const large = [];
  for (const [k, spec] of specs.entries()) {
    const at = groupTime(groupCount(n) + k, allGroups);
    const { doc, side: gSide } = b.group(uuidv7(), spec.displayName, undefined, tpl.groupSide.map(() => uuidv7()));
    groupDocs.push(datedAt(doc, at));
    pushSide(gSide, at);
    large.push({ label: spec.label, id: doc._id, displayName: doc.displayName, size: spec.size, members: [0, spec.size] });
    for (let i = 0; i < spec.size; i++) {
      memberships.push(datedAt(b.membership(doc, userIds[i], i), at));
      await flush(false);
    }
  }
  await flush(true);
  await store.groups.insertMany(groupDocs);
  await flushSide();
  const groupsSec = (performance.now() - tGroups) / 1000;
  log(`${groupDocs.length} groups, ${membershipCount} memberships in ${groupsSec.toFixed(1)} s (${Math.round(membershipCount / groupsSec)} memberships/s)`);

  const tClose = performance.now();
  await store.close();
  const closeSec = (performance.now() - tClose) / 1000;
  const totalSec = (performance.now() - t0) / 1000;
  log(`closed (compaction) in ${closeSec.toFixed(1)} s; total ${totalSec.toFixed(1)} s`);
  return {
    orgId: org._id,
    connectionId,
    userIds,
    groups,
    large,
    counts: { users: n, groups: groupDocs.length, memberships: membershipCount },
    preload: {
      usersPerSec: Math.round(n / usersSec),
      membershipsPerSec: Math.round(membershipCount / groupsSec),
      usersSec: +usersSec.toFixed(2),
      groupsSec: +groupsSec.toFixed(2),
      closeSec: +closeSec.toFixed(2),
      totalSec: +totalSec.toFixed(2),
      docsPerSec: Math.round((n + groupDocs.length + membershipCount) / totalSec),
    },
  };
}

async function main() {
  const n = Number(process.env.N ?? 100_000);
  if (!Number.isInteger(n) || n < 100) throw new Error(`N must be an integer ≥ 100 (got ${process.env.N})`);
  const benchDir = path.resolve(ROOT, process.env.BENCH_DIR ?? '.bench');
  const dir = path.join(benchDir, `data-N${n}`);
  const manifestPath = path.join(dir, 'manifest.json');
  const m = loadServerModules();
  const { tpl, shapes, managed } = await checkBuilders(m, n);
  const stamp = createHash('sha256')
    .update(JSON.stringify({ DATASET_VERSION, n, ORG_ENV, shapes, batch: [USER_BATCH, MEMBERSHIP_BATCH] }))
    .digest('hex')
    .slice(0, 16);

  if (process.env.BENCH_REBUILD !== '1' && existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (manifest.stamp === stamp) {
      log(`reusing ${path.relative(ROOT, dir)} (stamp ${stamp}, built ${manifest.builtAt})`);
      process.stdout.write(`${JSON.stringify({ dir, manifest: manifestPath, reused: true, preload: manifest.preload })}\n`);
      return;
    }
    log(`cached ${path.relative(ROOT, dir)} has stamp ${manifest.stamp}, current document shape is ${stamp}: rebuilding`);
  }
  const tmp = `${dir}.building`;
  log(`building N=${n} in ${path.relative(ROOT, tmp)}`);
  const result = await build(m, n, tmp, tpl);
  const manifest = { stamp, builtAt: new Date().toISOString(), n, token: BENCH_TOKEN, env: ORG_ENV, managed, ...result };
  writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify(manifest));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  process.stdout.write(`${JSON.stringify({ dir, manifest: manifestPath, reused: false, preload: result.preload })}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`[preload] failed: ${error?.stack ?? error}\n`);
    process.exit(1);
  });
}
