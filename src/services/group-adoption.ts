/**
 * Start-up migration for groups stored before groups belonged to a directory connection (they have none, and no
 * connection sees them). Each goes to the connection its user members were provisioned through; a group without
 * linked members goes to the organization's only SCIM connection, or to the bootstrap connection when there are
 * several. Memberships of users another connection provisioned are then dropped (no connection could see both the
 * group and the user), and those users' licenses re-decided. A group that cannot be placed — no connection, or a
 * group of the same name already there — is left as it was and reported.
 */
import type { Store } from '../store/port';
import { DuplicateKeyError } from '../store/port';
import type { OrganizationDoc } from '../store/documents';
import type { RequestContext } from './context';
import { reevaluateLicenses } from './lifecycle';
import { bootstrapConnectionId } from './organizations';

export interface Adoption {
  adopted: number;
  /** Ids of the groups left without a connection. */
  left: string[];
  /** Memberships dropped because their user belongs to another connection. */
  droppedMemberships: number;
}

export async function adoptUnscopedGroups(store: Store, ctx: RequestContext, org: OrganizationDoc): Promise<Adoption> {
  const result: Adoption = { adopted: 0, left: [], droppedMemberships: 0 };
  const unscoped = await store.groups.find({ orgId: org._id, connectionId: { $exists: false } }, { projection: { _id: 1 } });
  if (unscoped.length === 0) return result;
  const connections = [...new Set((await store.tokens.find({ orgId: org._id, kind: 'scim' }, { projection: { connectionId: 1 } })).map((t) => t.connectionId))];
  const fallback = connections.length === 1 ? connections[0] : connections.find((c) => c === bootstrapConnectionId(org._id));
  const relicense = new Set<string>();
  for (const { _id: groupId } of unscoped) {
    const memberIds = (await store.memberships.find({ orgId: org._id, groupId, type: 'User' }, { projection: { value: 1 } })).map((m) => m.value);
    const members = await store.users.find({ orgId: org._id, _id: { $in: memberIds } }, { projection: { _id: 1, connectionId: 1 } });
    const connectionId = mostCommon(members.map((u) => u.connectionId).filter((c): c is string => c !== undefined)) ?? fallback;
    try {
      const adopted = connectionId ? await store.groups.updateOne({ _id: groupId, orgId: org._id, connectionId: { $exists: false } }, { $set: { connectionId } }) : null;
      if (!adopted) {
        result.left.push(groupId);
        continue;
      }
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error;
      result.left.push(groupId);
      continue;
    }
    result.adopted++;
    const strangers = members.filter((u) => u.connectionId !== connectionId).map((u) => u._id);
    if (strangers.length > 0) {
      result.droppedMemberships += await store.memberships.deleteMany({ orgId: org._id, groupId, value: { $in: strangers } });
      for (const id of strangers) relicense.add(id);
    }
  }
  if (relicense.size > 0 && org.licenseMode === 'groups') await reevaluateLicenses(store, ctx, org, relicense);
  return result;
}

function mostCommon(values: string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
}
