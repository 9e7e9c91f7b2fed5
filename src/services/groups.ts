/**
 * Groups and their members. Members are separate documents (`memberships`), so adding or removing one member is one
 * small write whatever the size of the group, two concurrent member changes never overwrite each other (E68), and
 * a group's attributes can be read without its members (PERFORMANCE.md §2.5).
 */
import { v7 as uuidv7 } from 'uuid';
import type { Query, Sort, Store } from '../store/port';
import { DuplicateKeyError } from '../store/port';
import { findPage, type Page } from '../store/page';
import type { GroupDoc, MembershipDoc, UserDoc } from '../store/documents';
import { DomainError } from '../domain/errors';
import type { RequestContext } from './context';
import { caseKey, userScope } from './users';
import { reevaluateLicenses } from './lifecycle';

export interface GroupAttributes {
  displayName: string;
  externalId?: string;
}

/**
 * `ignoreUnknown`: skip member ids that are not accounts or groups of the organization instead of refusing the whole
 * request (IDP-BEHAVIOR.md E58 allows either; see README "IdP compatibility choices").
 */
export interface MemberOptions {
  ignoreUnknown?: boolean;
}

/** A member as a client names it. */
export interface MemberInput {
  value: string;
  display?: string;
  type?: 'User' | 'Group';
}

const MAX_WRITE_ATTEMPTS = 5;

/** Groups, like users, belong to the directory connection that provisioned them (tenant isolation). */
export const groupScope = (ctx: RequestContext): Query => ({ orgId: ctx.orgId, connectionId: ctx.connectionId });
const membershipId = (groupId: string, value: string) => `${groupId}:${value}`;

function conflict(displayName: string): DomainError {
  return new DomainError('conflict', `a group with displayName "${displayName}" already exists`);
}

/** Members checked to exist, by id: what the membership writes take, so that a request is refused before it writes. */
export type ResolvedMembers = ReadonlyMap<string, MemberInput>;

/**
 * Resolves members to users this connection sees (a user deleted through SCIM, or provisioned through another
 * connection, is 404 to it and cannot become a member either) or to this connection's groups, filling `display`
 * from the user when the client gave none. An unknown id is a client error naming the id, not a silent skip (E58).
 */
export async function resolveMembers(store: Store, ctx: RequestContext, members: MemberInput[], options: MemberOptions = {}): Promise<ResolvedMembers> {
  const wanted = new Map<string, MemberInput>();
  for (const m of members) wanted.set(m.value, m);
  if (wanted.size === 0) return wanted;
  const ids = [...wanted.keys()];
  const users = await store.users.find(
    { ...userScope(ctx), _id: { $in: ids } },
    { projection: { _id: 1, 'scim.displayName': 1, 'scim.userName': 1 } },
  );
  const resolved = new Map<string, MemberInput>();
  for (const u of users) {
    const given = wanted.get(u._id)!;
    resolved.set(u._id, { value: u._id, type: 'User', display: given.display ?? memberDisplayOf(u.scim) });
  }
  const missing = ids.filter((id) => !resolved.has(id));
  if (missing.length > 0) {
    const groups = await store.groups.find({ ...groupScope(ctx), _id: { $in: missing } }, { projection: { _id: 1, displayName: 1 } });
    for (const g of groups) resolved.set(g._id, { value: g._id, type: 'Group', display: wanted.get(g._id)!.display ?? g.displayName });
  }
  const unknown = ids.find((id) => !resolved.has(id));
  if (unknown !== undefined && !options.ignoreUnknown) {
    throw new DomainError('invalid', `member "${unknown}" is not a user or group of this organization`);
  }
  return resolved;
}

export async function createGroup(store: Store, ctx: RequestContext, attrs: GroupAttributes, members: MemberInput[], options: MemberOptions = {}): Promise<GroupDoc> {
  if (ctx.connectionId === undefined) throw new Error('a group is created through a directory connection');
  const resolved = await resolveMembers(store, ctx, members, options);
  const doc: GroupDoc = {
    _id: uuidv7(),
    orgId: ctx.orgId,
    connectionId: ctx.connectionId,
    version: 1,
    created: ctx.now,
    lastModified: ctx.now,
    displayName: attrs.displayName,
    displayNameKey: caseKey(attrs.displayName),
    ...(attrs.externalId !== undefined ? { externalId: attrs.externalId } : {}),
  };
  try {
    await store.groups.insertOne(doc);
  } catch (error) {
    if (error instanceof DuplicateKeyError) throw conflict(attrs.displayName);
    throw error;
  }
  await relicense(store, ctx, doc, await insertMemberships(store, ctx, doc, [...resolved.values()]));
  return doc;
}

export function getGroup(store: Store, ctx: RequestContext, id: string): Promise<GroupDoc | null> {
  return store.groups.findOne({ _id: id, ...groupScope(ctx) });
}

export function listGroups(store: Store, query: Query, sort: Sort, skip: number, limit: number, mayBeMissing?: string): Promise<Page<GroupDoc>> {
  return findPage(store.groups, query, sort, skip, limit, mayBeMissing);
}

/** The members of a group, oldest first. */
export function membersOf(store: Store, orgId: string, groupId: string): Promise<MembershipDoc[]> {
  return store.memberships.find({ orgId, groupId }, { sort: { added: 1, _id: 1 } });
}

async function insertMemberships(store: Store, ctx: RequestContext, group: GroupDoc, members: MemberInput[]): Promise<string[]> {
  if (members.length === 0) return [];
  const ids = members.map((m) => membershipId(group._id, m.value));
  const existing = new Set((await store.memberships.find({ _id: { $in: ids } }, { projection: { _id: 1 } })).map((m) => m._id));
  const docs: MembershipDoc[] = members
    .filter((m) => !existing.has(membershipId(group._id, m.value)))
    .map((m) => ({
      _id: membershipId(group._id, m.value),
      orgId: ctx.orgId,
      groupId: group._id,
      value: m.value,
      type: m.type ?? 'User',
      ...(m.display !== undefined ? { display: m.display } : {}),
      groupDisplay: group.displayName,
      added: ctx.now,
    }));
  try {
    await store.memberships.insertMany(docs);
    return docs.map((d) => d.value);
  } catch (error) {
    if (!(error instanceof DuplicateKeyError)) throw error;
    // A concurrent request added some of the same members: add the rest one by one; a member is never duplicated (E53).
    const added: string[] = [];
    for (const doc of docs) {
      try {
        await store.memberships.insertOne(doc);
        added.push(doc.value);
      } catch (e) {
        if (!(e instanceof DuplicateKeyError)) throw e;
      }
    }
    return added;
  }
}

/**
 * Group-based licensing (DESIGN.md §2): when the members of a licensing group change, the accounts that joined or
 * left get their license re-decided — granted while a seat is free, revoked when no licensing group remains.
 * `always` re-decides even when the group is not (or no longer) a licensing group, e.g. after a rename.
 */
async function relicense(store: Store, ctx: RequestContext, group: Pick<GroupDoc, 'displayNameKey'>, accountIds: string[], always = false): Promise<void> {
  if (accountIds.length === 0) return;
  const org = await store.organizations.findOne({ _id: ctx.orgId });
  if (!org || org.licenseMode !== 'groups') return;
  if (!always && !org.licenseGroups.includes(group.displayNameKey)) return;
  await reevaluateLicenses(store, ctx, org, accountIds);
}

/** Adds members that are not yet in the group; returns how many were added. */
export async function addMembers(store: Store, ctx: RequestContext, group: GroupDoc, members: ResolvedMembers): Promise<number> {
  const added = await insertMemberships(store, ctx, group, [...members.values()]);
  await relicense(store, ctx, group, added);
  return added.length;
}

/** Removes the listed members (all members when `values` is undefined); returns how many were removed. */
export async function removeMembers(store: Store, ctx: RequestContext, group: GroupDoc, values?: string[]): Promise<number> {
  const query: Query = { orgId: ctx.orgId, groupId: group._id };
  if (values) query.value = { $in: values };
  // Named members are looked up by membership id (indexed), so the cost follows the request, not the group size.
  const lookup: Query = values ? { _id: { $in: values.map((v) => membershipId(group._id, v)) }, orgId: ctx.orgId } : query;
  const leaving = (await store.memberships.find(lookup, { projection: { value: 1 } })).map((m) => m.value);
  if (leaving.length === 0) return 0;
  const removed = await store.memberships.deleteMany(
    values ? { _id: { $in: leaving.map((v) => membershipId(group._id, v)) }, orgId: ctx.orgId } : query,
  );
  await relicense(store, ctx, group, leaving);
  return removed;
}

/** Makes the membership exactly `members` (PUT, and PATCH replace of `members`); idempotent (E55). */
export async function replaceMembers(store: Store, ctx: RequestContext, group: GroupDoc, resolved: ResolvedMembers): Promise<number> {
  const current = await store.memberships.find({ orgId: ctx.orgId, groupId: group._id }, { projection: { _id: 1, value: 1 } });
  const stale = current.filter((m) => !resolved.has(m.value)).map((m) => m.value);
  const removed = stale.length > 0 ? await removeMembers(store, ctx, group, stale) : 0;
  const added = await insertMemberships(store, ctx, group, [...resolved.values()]);
  await relicense(store, ctx, group, added);
  return removed + added.length;
}

/** The update that records a change of a group's members: a new version, modified now. */
const newVersion = (ctx: RequestContext) => ({ $set: { lastModified: ctx.now }, $inc: { version: 1 } });

/** The groups `memberId` (a user or a group) belongs to. */
async function groupIdsOfMember(store: Store, ctx: RequestContext, memberId: string): Promise<string[]> {
  return (await store.memberships.find({ orgId: ctx.orgId, value: memberId }, { projection: { groupId: 1 } })).map((m) => m.groupId);
}

/** Records that the group changed (membership), bumping its version. */
export function touchGroup(store: Store, ctx: RequestContext, groupId: string): Promise<GroupDoc | null> {
  return store.groups.updateOne({ _id: groupId, ...groupScope(ctx) }, newVersion(ctx));
}

/** Versioned read-modify-write of a group's own attributes; see `updateUser` for the retry rule. */
export async function updateGroup(
  store: Store,
  ctx: RequestContext,
  id: string,
  change: (current: GroupDoc) => Promise<GroupAttributes | undefined> | GroupAttributes | undefined,
  ifMatch?: readonly number[],
): Promise<GroupDoc | null> {
  for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
    const current = await getGroup(store, ctx, id);
    if (!current) return null;
    if (ifMatch !== undefined && !ifMatch.includes(current.version)) {
      throw new DomainError('version_mismatch', `the group has changed (version ${current.version}); read it again`);
    }
    const next = await change(current);
    // As for users: no write, and no new version, when nothing changes.
    if (!next || (next.displayName === current.displayName && next.externalId === current.externalId)) return current;
    const update: Record<string, unknown> = {
      $set: { displayName: next.displayName, displayNameKey: caseKey(next.displayName), lastModified: ctx.now },
      $inc: { version: 1 },
    };
    if (next.externalId !== undefined) (update.$set as Record<string, unknown>).externalId = next.externalId;
    else if (current.externalId !== undefined) update.$unset = { externalId: true };
    try {
      const written = await store.groups.updateOne({ _id: id, ...groupScope(ctx), version: current.version }, update);
      if (written) {
        if (written.displayName !== current.displayName) {
          await store.memberships.updateMany({ orgId: ctx.orgId, groupId: id }, { $set: { groupDisplay: written.displayName } });
          // A rename can make a group a licensing group, or stop it being one.
          if (written.displayNameKey !== current.displayNameKey) {
            const members = (await store.memberships.find({ orgId: ctx.orgId, groupId: id }, { projection: { value: 1 } })).map((m) => m.value);
            await relicense(store, ctx, written, members, true);
          }
        }
        return written;
      }
    } catch (error) {
      if (error instanceof DuplicateKeyError) throw conflict(next.displayName);
      throw error;
    }
    if (ifMatch !== undefined) throw new DomainError('version_mismatch', 'the group changed while this request was applied');
  }
  throw new DomainError('version_mismatch', 'the group is being changed by other requests; retry');
}

/** The `display` of a user as a group member: its displayName, or its userName. */
export function memberDisplayOf(scim: UserDoc['scim']): string {
  return typeof scim.displayName === 'string' ? scim.displayName : scim.userName;
}

/**
 * A user renamed: its `display` in every group it belongs to follows (RFC 7643 §2.4: `display` is read-only, the
 * server's), and each of those groups gets a new version, its members having changed.
 */
export async function renameMember(store: Store, ctx: RequestContext, userId: string, display: string): Promise<void> {
  const groupIds = await groupIdsOfMember(store, ctx, userId);
  if (groupIds.length === 0) return;
  await store.memberships.updateMany({ orgId: ctx.orgId, value: userId }, { $set: { display } });
  await bumpGroups(store, ctx, groupIds);
}

/**
 * New versions for groups whose members changed as a side effect. By id within the organization, not the caller's
 * connection: an admin action has none, and a member's groups are the ones its memberships name.
 */
async function bumpGroups(store: Store, ctx: RequestContext, groupIds: string[]): Promise<void> {
  for (const groupId of groupIds) await store.groups.updateOne({ _id: groupId, orgId: ctx.orgId }, newVersion(ctx));
}

/** Deletes the group and its memberships; `false` when it does not exist. */
export async function deleteGroup(store: Store, ctx: RequestContext, id: string): Promise<boolean> {
  const deleted = await store.groups.deleteOne({ _id: id, ...groupScope(ctx) });
  if (!deleted) return false;
  const members = (await store.memberships.find({ orgId: ctx.orgId, groupId: id }, { projection: { value: 1 } })).map((m) => m.value);
  await store.memberships.deleteMany({ orgId: ctx.orgId, groupId: id });
  await relicense(store, ctx, deleted, members);
  // A group may itself be a member of other groups.
  await dropMemberships(store, ctx, id);
  return true;
}

/**
 * Removes `memberId` (a user or a group going away) from every group it belongs to, each of which gets a new
 * version: its `members` changed, so an ETag taken before must no longer match (RFC 7644 §3.14).
 */
export async function dropMemberships(store: Store, ctx: RequestContext, memberId: string): Promise<void> {
  const groupIds = await groupIdsOfMember(store, ctx, memberId);
  if (groupIds.length === 0) return;
  await store.memberships.deleteMany({ orgId: ctx.orgId, value: memberId });
  await bumpGroups(store, ctx, groupIds);
}
