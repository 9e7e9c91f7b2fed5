/**
 * Access requests (DESIGN.md §2, seed 001): a deactivated account whose site access was not removed, or an account
 * whose license was revoked or is waiting for a seat, can ask to come back; admins approve or deny.
 */
import { v7 as uuidv7 } from 'uuid';
import type { Store } from '../store/port';
import type { AccessRequestDoc, OrganizationDoc, UserDoc } from '../store/documents';
import { DomainError } from '../domain/errors';
import { decideProvision } from '../domain/lifecycle';
import { auditEvent, recordAudit } from './audit';
import { isEntitled, stateOf, transitionAccount } from './lifecycle';
import { grantLicense } from './accounts';
import { seatUsage } from './seats';
import type { RequestContext } from './context';

/** Why the account may not ask, or `undefined` when it may. */
export function accessRequestRefusal(account: UserDoc): string | undefined {
  const state = stateOf(account);
  if (state.siteAccess === 'removed') return 'your access to this site was removed; ask an administrator to invite you again';
  if (state.accountStatus === 'pending_deletion' || state.accountStatus === 'deleted') return 'this account is being deleted';
  if (state.accountStatus === 'deactivated') return undefined;
  if (state.license === 'revoked' || state.license === 'pending_seat') return undefined;
  return 'this account already has access';
}

/** Opens a request (or returns the open one: asking twice does not queue twice). */
export async function requestAccess(store: Store, ctx: RequestContext, account: UserDoc, message?: string): Promise<AccessRequestDoc> {
  const refusal = accessRequestRefusal(account);
  if (refusal) throw new DomainError('forbidden', refusal);
  const open = await store.accessRequests.findOne({ orgId: ctx.orgId, accountId: account._id, status: 'open' });
  if (open) return open;
  const doc: AccessRequestDoc = {
    _id: uuidv7(),
    orgId: ctx.orgId,
    accountId: account._id,
    status: 'open',
    ...(message ? { message: message.slice(0, 1000) } : {}),
    created: ctx.now,
  };
  await store.accessRequests.insertOne(doc);
  await recordAudit(store, auditEvent(ctx, 'access.requested', { kind: 'user', id: account._id }));
  return doc;
}

async function openRequest(store: Store, orgId: string, id: string): Promise<AccessRequestDoc> {
  const request = await store.accessRequests.findOne({ _id: id, orgId });
  if (!request) throw new DomainError('not_found', `access request ${id} not found`);
  if (request.status !== 'open') throw new DomainError('conflict', `access request ${id} was already ${request.status}`);
  return request;
}

/**
 * Approves: reactivates a deactivated account and grants a license when a seat is free. When none is free the
 * request stays open and the admin is told so.
 */
export async function approveAccessRequest(store: Store, ctx: RequestContext, org: OrganizationDoc, id: string): Promise<AccessRequestDoc> {
  const request = await openRequest(store, org._id, id);
  const current = await store.users.findOne({ _id: request.accountId, orgId: org._id });
  if (current?.lifecycle?.license !== 'licensed' && (await seatUsage(store, org)).available === 0) {
    throw new DomainError('conflict', 'no seat is free; free a seat (or buy more) before approving');
  }
  const account = await transitionAccount(store, ctx, org, request.accountId, async (state, current) =>
    state.accountStatus === 'deactivated' ? decideProvision(state, await isEntitled(store, org, current)) : { next: state, effects: { wantSeat: false, releaseSeat: false, revokeSessions: false } },
  );
  if (!account) throw new DomainError('not_found', `account ${request.accountId} no longer exists`);
  // Reactivation took a seat when one was free; otherwise (not entitled, or licensed by an admin before) grant one.
  if (account.lifecycle?.license !== 'licensed' && account.lifecycle?.license !== 'pending_seat') await grantLicense(store, ctx, org, account._id);
  return decide(store, ctx, request, 'approved');
}

export async function denyAccessRequest(store: Store, ctx: RequestContext, org: OrganizationDoc, id: string): Promise<AccessRequestDoc> {
  return decide(store, ctx, await openRequest(store, org._id, id), 'denied');
}

async function decide(store: Store, ctx: RequestContext, request: AccessRequestDoc, status: 'approved' | 'denied'): Promise<AccessRequestDoc> {
  const decided = await store.accessRequests.updateOne(
    { _id: request._id, orgId: ctx.orgId, status: 'open' },
    { $set: { status, decidedAt: ctx.now, decidedBy: `${ctx.actor.kind}:${ctx.actor.id}` } },
  );
  if (!decided) throw new DomainError('conflict', `access request ${request._id} was decided by someone else`);
  await recordAudit(store, auditEvent(ctx, `access.${status}`, { kind: 'user', id: request.accountId }));
  return decided;
}
