/**
 * User provisioning against the store: create (or link), read, replace, patch, unlink and list, scoped to one
 * organization and directory connection. Every write is conditional on the version read, so two racing requests
 * never lose an update (DESIGN.md §6).
 */
import { isDeepStrictEqual } from 'node:util';
import { v7 as uuidv7 } from 'uuid';
import type { DeepReadonly, Query, Sort, Store } from '../store/port';
import { DuplicateKeyError } from '../store/port';
import { findPage, type Page } from '../store/page';
import type { OrganizationDoc, UserDoc } from '../store/documents';
import { DomainError } from '../domain/errors';
import { decideDeprovision, decideProvision, initialState } from '../domain/lifecycle';
import { completeEffects, decisionUpdate, isEntitled, stateOf } from './lifecycle';
import { auditEvent } from './audit';
import { claimSeat, releaseSeat } from './seats';
import { dropMemberships, memberDisplayOf, renameMember } from './groups';
import type { RequestContext } from './context';

/** The client-writable part of a user: core attributes and the enterprise extension. */
export interface UserAttributes {
  scim: UserDoc['scim'];
  enterprise?: Record<string, unknown>;
}

/** How many times a read-modify-write is retried when another request changed the user in between. */
const MAX_WRITE_ATTEMPTS = 5;

/** The lower-cased, NFC-normalised form used for case-insensitive uniqueness and `eq` lookups. */
export const caseKey = (value: string) => value.normalize('NFC').toLowerCase();

function emailKeysOf(scim: UserDoc['scim']): string[] {
  const emails = Array.isArray(scim.emails) ? (scim.emails as Array<{ value?: unknown }>) : [];
  return emails.map((e) => (typeof e.value === 'string' ? caseKey(e.value) : '')).filter(Boolean);
}

/** Fields derived from the attributes, kept in step on every write. */
function derivedFields(attrs: UserAttributes) {
  return { userNameKey: caseKey(attrs.scim.userName), emailKeys: emailKeysOf(attrs.scim) };
}

/** The query that scopes SCIM to the caller's organization and directory connection (tenant isolation). */
export function userScope(ctx: RequestContext): Query {
  return { orgId: ctx.orgId, connectionId: ctx.connectionId };
}

function domainOf(address: string): string {
  return caseKey(address.split('@').pop() ?? '');
}

/** An account is managed when its userName or any email is on a domain the organization has claimed. */
export function isManaged(org: OrganizationDoc, attrs: UserAttributes): boolean {
  const addresses = [attrs.scim.userName, ...emailKeysOf(attrs.scim)].filter((a) => a.includes('@'));
  return addresses.some((a) => org.domains.includes(domainOf(a)));
}

/**
 * Creates the user, or links an account of the organization that exists without a SCIM link (e.g. from SSO first
 * login or an earlier DELETE) — DESIGN.md §3. A userName already linked to a directory connection is a conflict.
 * The new or re-linked account's lifecycle follows its `active` (a re-link with `active: true` reactivates it).
 */
export async function createUser(store: Store, ctx: RequestContext, org: OrganizationDoc, attrs: UserAttributes): Promise<UserDoc> {
  const derived = derivedFields(attrs);
  const active = attrs.scim.active !== false;
  const existing = await store.users.findOne({ orgId: ctx.orgId, userNameKey: derived.userNameKey });
  if (existing) {
    if (existing.connectionId !== undefined) {
      throw new DomainError('conflict', `a user with userName "${attrs.scim.userName}" already exists`);
    }
    const current = await completeEffects(store, ctx, org, existing);
    const state = stateOf(current);
    const entitled = await isEntitled(store, org, { _id: current._id, connectionId: ctx.connectionId });
    const decision = active ? decideProvision(state, entitled) : decideDeprovision(state, org);
    const linked = await store.users.updateOne(
      { _id: current._id, orgId: ctx.orgId, version: current.version, connectionId: { $exists: false } },
      {
        $set: { ...attrs, ...derived, connectionId: ctx.connectionId, lastModified: ctx.now, ...decisionUpdate(ctx, current, decision) },
        $inc: { version: 1 },
      },
    );
    if (!linked) throw new DomainError('conflict', `a user with userName "${attrs.scim.userName}" already exists`);
    return completeEffects(store, ctx, org, linked);
  }
  const id = uuidv7();
  const managed = isManaged(org, attrs);
  const entitled = await isEntitled(store, org, { _id: id, connectionId: ctx.connectionId }, true);
  const { next, effects } = initialState(managed, active, entitled, org);
  // The seat is claimed before the account exists, so a new account is stored once, already licensed or waiting.
  // A crash between the two leaves a seat held by nobody, which the start-up reconciliation releases.
  let license = next.license;
  if (effects.wantSeat) license = (await claimSeat(store, org, id, ctx.now)) !== 'none' ? 'licensed' : 'pending_seat';
  const state = { ...next, license };
  const doc: UserDoc = {
    _id: id,
    orgId: ctx.orgId,
    version: 1,
    created: ctx.now,
    lastModified: ctx.now,
    connectionId: ctx.connectionId,
    ...derived,
    ...attrs,
    lifecycle: {
      ...state,
      ...(license === 'pending_seat' ? { pendingSince: ctx.now } : {}),
      ...(state.accountStatus === 'deactivated' ? { deactivatedAt: ctx.now, deactivatedBy: `${ctx.actor.kind}:${ctx.actor.id}` } : {}),
      pendingEffects: {
        wantSeat: false,
        releaseSeat: false,
        revokeSessions: false,
        audit: auditEvent(ctx, 'account.created', { kind: 'user', id }, undefined, { ...state }),
      },
    },
  };
  if (doc.enterprise === undefined) delete doc.enterprise;
  try {
    await store.users.insertOne(doc);
  } catch (error) {
    if (license === 'licensed') await releaseSeat(store, org, id);
    if (error instanceof DuplicateKeyError) {
      throw new DomainError('conflict', `a user with userName "${attrs.scim.userName}" already exists`);
    }
    throw error;
  }
  return completeEffects(store, ctx, org, doc);
}

/** The enterprise extension as stored: an empty one is none. */
const emptyAsNone = (enterprise: UserAttributes['enterprise']) => (enterprise && Object.keys(enterprise).length > 0 ? enterprise : undefined);

/** The user with SCIM id `id` visible to this connection, or `null`: as stored, to read, never to change. */
export async function readUser(store: Store, ctx: RequestContext, id: string): Promise<DeepReadonly<UserDoc> | null> {
  const [found] = await store.users.findReadOnly({ _id: id, ...userScope(ctx) }, { limit: 1 });
  return found ?? null;
}

/** The user with SCIM id `id` visible to this connection, or `null`: a copy, to change. */
export function getUser(store: Store, ctx: RequestContext, id: string): Promise<UserDoc | null> {
  return store.users.findOne({ _id: id, ...userScope(ctx) });
}

/**
 * Read-modify-write of one user: `change` receives the current document and returns the new attributes. The write
 * is conditional on the version read; when another request won the race the change is recomputed on fresh data,
 * unless the client pinned a version with If-Match, in which case the mismatch is reported (412).
 *
 * A change of `active` is a lifecycle transition (deprovision or provision, DESIGN.md §3), decided by comparing the
 * desired value with the stored one — so PATCH and PUT share this path and a repeat changes nothing. It is written in
 * the same conditional update as the attributes, and its effects are completed before this returns.
 * Returns `null` when the user does not exist for this connection.
 */
export async function updateUser(
  store: Store,
  ctx: RequestContext,
  org: OrganizationDoc,
  id: string,
  change: (current: UserDoc) => Promise<UserAttributes | undefined> | UserAttributes | undefined,
  ifMatch?: readonly number[],
): Promise<UserDoc | null> {
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const found = await getUser(store, ctx, id);
    if (!found) return null;
    if (ifMatch !== undefined && !ifMatch.includes(found.version)) {
      throw new DomainError('version_mismatch', `the user has changed (version ${found.version}); read it again`);
    }
    // Finish whatever an earlier, interrupted change left pending before deciding anything new.
    const current = await completeEffects(store, ctx, org, found);
    const next = await change(current);
    if (!next) return current;
    // A replacement that leaves `active` out does not (de)provision anybody by omission.
    if (next.scim.active === undefined && current.scim.active !== undefined) next.scim.active = current.scim.active;
    const desired = next.scim.active !== false;
    // A change that changes nothing (a PUT of the user as read, a PATCH of the write-only password) writes nothing:
    // no new version, so an IdP holding the ETag is not refused with 412 for nothing (RFC 7644 §3.14).
    if (isDeepStrictEqual(next.scim, current.scim) && isDeepStrictEqual(emptyAsNone(next.enterprise), emptyAsNone(current.enterprise))) return current;
    const set: Record<string, unknown> = { scim: next.scim, ...derivedFields(next), lastModified: ctx.now };
    if (desired !== (current.scim.active !== false)) {
      const state = stateOf(current);
      const decision = desired ? decideProvision(state, await isEntitled(store, org, current)) : decideDeprovision(state, org);
      Object.assign(set, decisionUpdate(ctx, current, decision));
    }
    const update: Record<string, unknown> = { $set: set, $inc: { version: 1 } };
    const enterprise = emptyAsNone(next.enterprise);
    if (enterprise) set.enterprise = enterprise;
    else if (current.enterprise) update.$unset = { enterprise: true };
    try {
      const written = await store.users.updateOne({ _id: id, ...userScope(ctx), version: current.version }, update);
      if (written) {
        const display = memberDisplayOf(written.scim);
        if (display !== memberDisplayOf(current.scim)) await renameMember(store, ctx, id, display);
        return completeEffects(store, ctx, org, written);
      }
    } catch (error) {
      if (error instanceof DuplicateKeyError) {
        throw new DomainError('conflict', `a user with userName "${next.scim.userName}" already exists`);
      }
      throw error;
    }
    if (ifMatch !== undefined) {
      throw new DomainError('version_mismatch', 'the user changed while this request was applied; read it again');
    }
  }
  throw new DomainError('version_mismatch', 'the user is being changed by other requests; retry');
}

/**
 * DELETE: unlinks the account from this directory connection (it disappears from SCIM: a later GET is 404) and
 * deprovisions it as `active: false` would — an unmanaged account loses site access instead of being suspended — and
 * drops its group memberships. Account data is never erased by SCIM (DESIGN.md §3).
 * Returns `false` when the user does not exist for this connection.
 */
export async function unlinkUser(store: Store, ctx: RequestContext, org: OrganizationDoc, id: string): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const found = await getUser(store, ctx, id);
    if (!found) return false;
    const current = await completeEffects(store, ctx, org, found);
    const lifecycle = decisionUpdate(ctx, current, decideDeprovision(stateOf(current), org, true));
    const unlinked = await store.users.updateOne(
      { _id: id, ...userScope(ctx), version: current.version },
      { $unset: { connectionId: true }, $set: { 'scim.active': false, lastModified: ctx.now, ...lifecycle }, $inc: { version: 1 } },
    );
    if (!unlinked) continue;
    await dropMemberships(store, ctx, id);
    await completeEffects(store, ctx, org, unlinked);
    return true;
  }
  throw new DomainError('version_mismatch', 'the user is being changed by other requests; retry');
}

/** One page of users matching `query` (already scoped), with the true total. `limit` 0 counts only. */
export async function listUsers(
  store: Store,
  query: Query,
  sort: Sort,
  skip: number,
  limit: number,
  mayBeMissing?: string,
): Promise<Page<UserDoc>> {
  return findPage(store.users, query, sort, skip, limit, mayBeMissing);
}

/** The groups each of `userIds` belongs to, for the read-only `groups` attribute. */
export async function groupsOfUsers(store: Store, orgId: string, userIds: string[]): Promise<Map<string, { value: string; display: string }[]>> {
  const byUser = new Map<string, { value: string; display: string }[]>(userIds.map((id) => [id, []]));
  if (userIds.length === 0) return byUser;
  const memberships = await store.memberships.find(userIds.length === 1 ? { orgId, value: userIds[0] } : { orgId, value: { $in: userIds } }, {
    projection: { value: 1, groupId: 1, groupDisplay: 1 },
  });
  for (const m of memberships) byUser.get(m.value)?.push({ value: m.groupId, display: m.groupDisplay });
  return byUser;
}
