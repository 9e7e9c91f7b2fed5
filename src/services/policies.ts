/**
 * Lifecycle policies as jobs (DESIGN.md §2 "Policies"): deactivate idle accounts, carry out deletions whose grace
 * period ended, expire invitations. Each run holds a lease on the organization (one conditional update), so with
 * several server processes on one MongoDB only one runs a given job at a time; each effect is a normal, audited
 * transition with the policy as actor, and a run repeated at once finds nothing left to do (idempotent).
 */
import type { Store } from '../store/port';
import type { OrganizationDoc } from '../store/documents';
import { decideDeprovision, decideExpireInvite, decideSuspend } from '../domain/lifecycle';
import { transitionAccount } from './lifecycle';
import { deleteAccountNow } from './accounts';
import type { RequestContext } from './context';

export const POLICIES = ['inactivity', 'deletions', 'invites'] as const;
export type PolicyName = (typeof POLICIES)[number];

/** Invitations expire after this many days unless the organization says otherwise (seed 001). */
export const DEFAULT_INVITE_EXPIRY_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;
/** A lease outlives a crashed holder by at most this long. */
const LEASE_MS = 10 * 60 * 1000;
/** Accounts handled per query, so a large organization is never read whole. */
const BATCH = 200;

/**
 * Runs `job` for the organization while holding its lease; returns `undefined` when another holder has it.
 */
export async function withLease<T>(store: Store, orgId: string, job: string, holder: string, now: Date, fn: () => Promise<T>): Promise<T | undefined> {
  const path = `leases.${job}`;
  const acquired = await store.organizations.updateOne(
    { _id: orgId, $or: [{ [path]: { $exists: false } }, { [`${path}.until`]: { $lt: now } }, { [`${path}.holder`]: holder }] },
    { $set: { [path]: { holder, until: new Date(now.getTime() + LEASE_MS) } } },
  );
  if (!acquired) return undefined;
  try {
    return await fn();
  } finally {
    await store.organizations.updateOne({ _id: orgId, [`${path}.holder`]: holder }, { $unset: { [path]: true } });
  }
}

function policyContext(org: OrganizationDoc, name: PolicyName, now: Date): RequestContext {
  return { orgId: org._id, actor: { kind: 'policy', id: name }, now };
}

/** Deactivates (managed) or suspends (unmanaged) accounts idle longer than the organization's inactivity limit. */
async function inactivity(store: Store, org: OrganizationDoc, now: Date): Promise<number> {
  const days = org.policies?.inactivityDays;
  if (!days || days <= 0) return 0;
  const cutoff = new Date(now.getTime() - days * DAY_MS);
  const ctx = policyContext(org, 'inactivity', now);
  // Never-active accounts count from their creation, so a new account is not deactivated before it could log in.
  const query: Record<string, unknown> = {
    orgId: org._id,
    'lifecycle.accountStatus': 'active',
    'lifecycle.siteAccess': 'active',
    $or: [{ 'lifecycle.lastActive': { $lt: cutoff } }, { 'lifecycle.lastActive': { $exists: false }, created: { $lt: cutoff } }],
  };
  if (org.policies?.inactivityGuestsOnly) query['lifecycle.managed'] = false;
  let done = 0;
  for (;;) {
    const idle = await store.users.find(query, { limit: BATCH, projection: { _id: 1 } });
    if (idle.length === 0) return done;
    for (const { _id } of idle) {
      await transitionAccount(store, ctx, org, _id, (state) => (state.managed ? decideDeprovision(state, { deprovision: 'account' }) : decideSuspend(state)));
      done++;
    }
  }
}

/** Deletes ("Former user") accounts whose deletion grace period has ended. */
async function deletions(store: Store, org: OrganizationDoc, now: Date): Promise<number> {
  const ctx = policyContext(org, 'deletions', now);
  let done = 0;
  for (;;) {
    const due = await store.users.find(
      { orgId: org._id, 'lifecycle.accountStatus': 'pending_deletion', 'lifecycle.deletionDue': { $lte: now } },
      { limit: BATCH, projection: { _id: 1 } },
    );
    if (due.length === 0) return done;
    for (const { _id } of due) {
      await deleteAccountNow(store, ctx, org, _id);
      done++;
    }
  }
}

/** Expires invitations older than the organization's limit (30 days by default). */
async function invites(store: Store, org: OrganizationDoc, now: Date): Promise<number> {
  const days = org.policies?.inviteExpiryDays ?? DEFAULT_INVITE_EXPIRY_DAYS;
  const ctx = policyContext(org, 'invites', now);
  let done = 0;
  for (;;) {
    const stale = await store.users.find(
      { orgId: org._id, 'lifecycle.siteAccess': 'invited', 'lifecycle.invitedAt': { $lt: new Date(now.getTime() - days * DAY_MS) } },
      { limit: BATCH, projection: { _id: 1 } },
    );
    if (stale.length === 0) return done;
    for (const { _id } of stale) {
      await transitionAccount(store, ctx, org, _id, (state) => decideExpireInvite(state));
      done++;
    }
  }
}

const RUNNERS: Record<PolicyName, (store: Store, org: OrganizationDoc, now: Date) => Promise<number>> = { inactivity, deletions, invites };

/**
 * Runs one policy for one organization under its lease. Returns how many accounts it changed, or `undefined` when
 * another process is running the same job.
 */
export function runPolicy(store: Store, org: OrganizationDoc, name: PolicyName, holder: string, now = new Date()): Promise<number | undefined> {
  return withLease(store, org._id, `policy-${name}`, holder, now, () => RUNNERS[name](store, org, now));
}
