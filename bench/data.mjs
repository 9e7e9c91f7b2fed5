// The benchmark dataset (PERFORMANCE.md §4), generated deterministically: users shaped like makeUser(i), N/100 groups
// of 1–1,000 members and three large groups. Shared by preload.mjs (stored documents) and run.mjs (request bodies).

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** Bumped whenever this file changes what is generated; part of the cache stamp. */
export const DATASET_VERSION = 2;

const TITLES = ['Engineer', 'Senior Engineer', 'Manager', 'Analyst', 'Designer', 'Director', 'Consultant'];

/** The inbound SCIM body of user `i` (what an IdP would POST). `over` replaces top-level attributes. */
export function makeUser(i, over = {}) {
  return {
    schemas: [CORE_USER, ENTERPRISE_USER],
    userName: `user${i}@example.com`,
    externalId: `ext-${i}`,
    name: { formatted: `Given${i} Family${i}`, familyName: `Family${i}`, givenName: `Given${i}` },
    displayName: `Given${i} Family${i}`,
    title: TITLES[i % TITLES.length],
    active: true,
    emails: [{ value: `user${i}@example.com`, type: 'work', primary: true }],
    [ENTERPRISE_USER]: { employeeNumber: String(i), department: `Dept${i % 50}` },
    ...over,
  };
}

/**
 * The stored attributes of user `i` (`UserAttributes` of services/users.ts: what coerceUser makes of makeUser(i)).
 * Key order follows scimmy's coercion; preload.mjs checks samples against the real coerceUser.
 */
export function userAttributes(i) {
  return {
    scim: {
      externalId: `ext-${i}`,
      userName: `user${i}@example.com`,
      name: { formatted: `Given${i} Family${i}`, familyName: `Family${i}`, givenName: `Given${i}` },
      displayName: `Given${i} Family${i}`,
      title: TITLES[i % TITLES.length],
      active: true,
      emails: [{ value: `user${i}@example.com`, type: 'work', primary: true }],
    },
    enterprise: { employeeNumber: String(i), department: `Dept${i % 50}` },
  };
}

/** mulberry32: a small deterministic PRNG (seeded), so every build of the dataset is the same. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Number of ordinary groups: N/100. */
export const groupCount = (n) => Math.floor(n / 100);

/**
 * Member counts of the ordinary groups: log-uniform in 1..1,000 (most groups small, a few near 1,000; mean ≈ 145),
 * which keeps the 100k dataset at ~150k memberships instead of ~500k for a uniform draw.
 */
export function groupSizes(n) {
  const rand = prng(0x5eed);
  const sizes = [];
  for (let g = 0; g < groupCount(n); g++) sizes.push(Math.min(n, Math.max(1, Math.round(Math.exp(rand() * Math.log(1000))))));
  return sizes;
}

/** The three large groups; members are users 0..size-1, capped at N/2 so there are always non-members to add. */
export function largeGroups(n) {
  return [
    { label: '1k', displayName: 'Large 1k', want: 1_000 },
    { label: '10k', displayName: 'Large 10k', want: 10_000 },
    { label: '50k', displayName: 'Large 50k', want: 50_000 },
  ].map((g) => ({ ...g, size: Math.min(g.want, Math.floor(n / 2)) }));
}

export const groupDisplayName = (g) => `Group ${g}`;
export const groupExternalId = (g) => `gext-${g}`;
