/**
 * Applies lifecycle decisions (domain/lifecycle.ts) to the store, durably.
 *
 * A state change and the list of its effects are written in ONE conditional update of the account
 * (`lifecycle.pendingEffects`); the effects — seat released or claimed, sessions revoked, audit event appended — are
 * then carried out, each idempotent, and the marker is cleared. If the process dies or the store fails part-way, the
 * request fails (5xx, so the IdP retries) and the marker stays: the retry, or the start-up sweep, finishes the work.
 * Nothing is ever reported done before it is (DESIGN.md §3, issue 3 "durability of deprovisioning").
 */
import type { Store } from '../store/port';
import type { AuditEventDoc, OrganizationDoc, UserDoc } from '../store/documents';
import type { Decision, LifecycleState } from '../domain/lifecycle';
import { decideEntitlement, sameState } from '../domain/lifecycle';
import { claimSeat, releaseSeat, seatHolders, ensureSeatSlots } from './seats';
import { auditEvent, recordAudit } from './audit';
import type { RequestContext } from './context';

type Lifecycle = NonNullable<UserDoc['lifecycle']>;
type PendingEffects = NonNullable<Lifecycle['pendingEffects']>;

/** Waiters looked at per query when promoting. */
const PROMOTION_BATCH = 20;
/** Attempts at completing effects when other writers keep changing the account in between. */
const MAX_ATTEMPTS = 5;

export function stateOf(user: Pick<UserDoc, 'lifecycle'>): LifecycleState {
  const l = user.lifecycle ?? { managed: false, accountStatus: 'active', siteAccess: 'active', license: 'free' };
  return { managed: l.managed, accountStatus: l.accountStatus, siteAccess: l.siteAccess, license: l.license };
}

/**
 * The `$set` fields that record `decision` on an account in the same write as any other change, and the audit event
 * that describes it. Returns no fields when the decision changes nothing and has no effects.
 */
export function decisionUpdate(ctx: RequestContext, user: UserDoc, decision: Decision): Record<string, unknown> {
  const { next, effects, action } = decision;
  const before = stateOf(user);
  const set: Record<string, unknown> = {};
  const changed = !sameState(before, next) || decision.dates !== undefined;
  if (!changed && !effects.wantSeat && !effects.releaseSeat && !effects.revokeSessions) return set;
  const lifecycle: Lifecycle = { ...(user.lifecycle ?? next), ...next };
  if (next.accountStatus === 'deactivated' && before.accountStatus !== 'deactivated') {
    lifecycle.deactivatedAt = ctx.now;
    lifecycle.deactivatedBy = `${ctx.actor.kind}:${ctx.actor.id}`;
  }
  if (next.accountStatus === 'active') {
    delete lifecycle.deactivatedAt;
    delete lifecycle.deactivatedBy;
  }
  const audit: AuditEventDoc | undefined =
    action && (changed || effects.wantSeat) ? auditEvent(ctx, action, { kind: 'user', id: user._id }, { ...before }, { ...next }) : undefined;
  for (const [key, value] of Object.entries(decision.dates ?? {})) {
    if (value === null) delete lifecycle[key as 'deletionDue' | 'invitedAt'];
    else if (value) lifecycle[key as 'deletionDue' | 'invitedAt'] = value;
  }
  lifecycle.pendingEffects = { ...effects, ...(audit ? { audit } : {}) };
  set.lifecycle = lifecycle;
  return set;
}

/**
 * Carries out the pending effects of `user` and clears the marker. Safe to call any number of times; returns the
 * account as stored afterwards.
 */
export async function completeEffects(store: Store, ctx: RequestContext, org: OrganizationDoc, user: UserDoc): Promise<UserDoc> {
  let current: UserDoc | null = user;
  // A seat this call freed goes to the next waiter even when another request clears the marker first (it saw the
  // seat already released, so it promotes nobody): otherwise a concurrent retry of the same deactivation can leave the
  // freed seat unused while somebody waits.
  let seatFreed = false;
  for (let attempt = 0; attempt < MAX_ATTEMPTS && current; attempt++) {
    const pending: PendingEffects | undefined = current.lifecycle?.pendingEffects;
    if (!pending) break;
    if (pending.releaseSeat && (await releaseSeat(store, org, current._id))) seatFreed = true;
    if (pending.revokeSessions) await store.tokens.deleteMany({ orgId: org._id, kind: 'session', accountId: current._id });
    const set: Record<string, unknown> = {};
    const unset: Record<string, true> = { 'lifecycle.pendingEffects': true };
    if (pending.wantSeat && current.lifecycle!.accountStatus === 'active') {
      if ((await claimSeat(store, org, current._id, ctx.now)) !== 'none') {
        set['lifecycle.license'] = 'licensed';
        unset['lifecycle.pendingSince'] = true;
      } else {
        set['lifecycle.license'] = 'pending_seat';
        if (!current.lifecycle!.pendingSince) set['lifecycle.pendingSince'] = ctx.now;
      }
    } else if (current.lifecycle!.license !== 'pending_seat') {
      unset['lifecycle.pendingSince'] = true;
    }
    if (pending.audit) await recordAudit(store, pending.audit);
    // Only a visible change (the license) makes a new version; clearing the marker alone does not.
    const update: Record<string, unknown> = { $unset: unset };
    if (Object.keys(set).length > 0) Object.assign(update, { $set: { ...set, lastModified: ctx.now }, $inc: { version: 1 } });
    const written = await store.users.updateOne({ _id: current._id, orgId: org._id, version: current.version }, update);
    if (written) {
      current = written;
      break;
    }
    // Someone else wrote the account in between: read it again and finish what is still pending.
    current = await store.users.findOne({ _id: current._id, orgId: org._id });
  }
  if (seatFreed) await promoteWaiters(store, ctx, org);
  if (!current) throw new Error('account disappeared while its lifecycle effects were applied');
  return current;
}

/**
 * Gives free seats to the accounts waiting longest (`pending_seat`), until seats or waiters run out.
 *
 * Several promoters can run at once (two deactivations in two processes). Each only grants the seats it claimed
 * itself, and gives one back only when it claimed it and the waiter did not end up licensed — so a seat is never
 * released from under an account that another request licensed meanwhile.
 */
export async function promoteWaiters(store: Store, ctx: RequestContext, org: OrganizationDoc): Promise<number> {
  let promoted = 0;
  for (;;) {
    const waiters = await store.users.find(
      { orgId: org._id, 'lifecycle.license': 'pending_seat', 'lifecycle.accountStatus': 'active' },
      { sort: { 'lifecycle.pendingSince': 1, _id: 1 }, limit: PROMOTION_BATCH },
    );
    let claimedAny = false;
    for (const waiter of waiters) {
      const claim = await claimSeat(store, org, waiter._id, ctx.now);
      if (claim === 'none') return promoted;
      // Already holding a seat: another request is completing this waiter's license.
      if (claim === 'held') continue;
      claimedAny = true;
      const before = stateOf(waiter);
      const granted = await store.users.updateOne(
        { _id: waiter._id, orgId: org._id, 'lifecycle.license': 'pending_seat', 'lifecycle.accountStatus': 'active' },
        { $set: { 'lifecycle.license': 'licensed', lastModified: ctx.now }, $unset: { 'lifecycle.pendingSince': true }, $inc: { version: 1 } },
      );
      if (!granted) {
        // The waiter changed meanwhile: keep the seat only if it is now licensed (its seat is this one).
        const now = await store.users.findOne({ _id: waiter._id, orgId: org._id });
        if (now?.lifecycle?.license !== 'licensed' || now.lifecycle.accountStatus !== 'active') await releaseSeat(store, org, waiter._id);
        continue;
      }
      await recordAudit(
        store,
        auditEvent({ ...ctx, actor: { kind: 'policy', id: 'seat-waitlist' } }, 'license.granted', { kind: 'user', id: waiter._id }, { ...before }, { ...stateOf(granted) }),
      );
      promoted++;
    }
    // Nobody left to promote, or every waiter in sight is being handled by another request.
    if (waiters.length === 0 || !claimedAny) return promoted;
  }
}

/** Whether the account is entitled to a license under the organization's licensing mode. */
export async function isEntitled(store: Store, org: OrganizationDoc, user: Pick<UserDoc, '_id' | 'connectionId'>, isNew = false): Promise<boolean> {
  if (org.licenseMode === 'provision') return user.connectionId !== undefined;
  // An account being created is in no group yet: nothing to look up.
  if (isNew || org.licenseGroups.length === 0) return false;
  const groups = await store.groups.find({ orgId: org._id, displayNameKey: { $in: org.licenseGroups } }, { projection: { _id: 1 } });
  if (groups.length === 0) return false;
  return (await store.memberships.count({ orgId: org._id, value: user._id, groupId: { $in: groups.map((g) => g._id) } })) > 0;
}

/**
 * Re-decides the license of each account after a licensing change that leaves the accounts themselves as they are
 * (group membership in `groups` mode).
 */
export async function reevaluateLicenses(store: Store, ctx: RequestContext, org: OrganizationDoc, accountIds: Iterable<string>): Promise<void> {
  for (const id of new Set(accountIds)) {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const user = await store.users.findOne({ _id: id, orgId: org._id });
      if (!user) break;
      const set = decisionUpdate(ctx, user, decideEntitlement(stateOf(user), await isEntitled(store, org, user)));
      if (Object.keys(set).length === 0) break;
      const written = await store.users.updateOne({ _id: id, orgId: org._id, version: user.version }, { $set: set, $inc: { version: 1 } });
      if (written) {
        await completeEffects(store, ctx, org, written);
        break;
      }
    }
  }
}

/**
 * Brings seats and accounts back in line after a crash: finishes every account's pending effects, releases seats
 * held by accounts that are not licensed, and gives waiting accounts the seats that are free. Run at start-up.
 */
export async function reconcileOrganization(store: Store, ctx: RequestContext, org: OrganizationDoc): Promise<void> {
  await ensureSeatSlots(store, org);
  for (const user of await store.users.find({ orgId: org._id, 'lifecycle.pendingEffects': { $exists: true } })) {
    await completeEffects(store, ctx, org, user);
  }
  for (const holder of await seatHolders(store, org._id)) {
    const user = await store.users.findOne({ _id: holder, orgId: org._id });
    if (user?.lifecycle?.license === 'licensed') continue;
    if (user?.lifecycle?.license === 'pending_seat' && user.lifecycle.accountStatus === 'active') {
      // A waiter got the seat but the crash came before its license was written.
      await store.users.updateOne(
        { _id: holder, orgId: org._id, 'lifecycle.license': 'pending_seat' },
        { $set: { 'lifecycle.license': 'licensed' }, $unset: { 'lifecycle.pendingSince': true }, $inc: { version: 1 } },
      );
      continue;
    }
    await releaseSeat(store, org, holder);
  }
  await promoteWaiters(store, ctx, org);
}

/**
 * Applies a decision to one account outside SCIM (admin actions, policies): conditional on the version read,
 * recomputed when another request won the race, effects completed before returning. `null` when the account does
 * not exist in the organization.
 */
export async function transitionAccount(
  store: Store,
  ctx: RequestContext,
  org: OrganizationDoc,
  accountId: string,
  decide: (state: LifecycleState, account: UserDoc) => Decision | Promise<Decision>,
): Promise<UserDoc | null> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const found = await store.users.findOne({ _id: accountId, orgId: org._id });
    if (!found) return null;
    const current = await completeEffects(store, ctx, org, found);
    const set = decisionUpdate(ctx, current, await decide(stateOf(current), current));
    if (Object.keys(set).length === 0) return current;
    const written = await store.users.updateOne(
      { _id: accountId, orgId: org._id, version: current.version },
      { $set: { ...set, lastModified: ctx.now }, $inc: { version: 1 } },
    );
    if (written) return completeEffects(store, ctx, org, written);
  }
  throw new Error('the account is being changed by other requests; retry');
}
