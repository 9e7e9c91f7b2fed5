/**
 * Planning a sync: compares the file with what the organization's CLI-sync directory connection holds, and lists
 * every change before anything is written. The plan is computed from reads only, so `--dry-run` is exactly the
 * plan and a second run with the same file plans nothing.
 *
 * Scope: the file describes the users linked to the sync connection (`${orgId}:cli-sync`). A row whose userName is
 * unknown creates the user (or links an existing account of the organization that has no directory link, as a SCIM
 * POST would); a linked user missing from the file is deactivated (never deleted, DESIGN.md §3); a userName that
 * belongs to another directory connection (an IdP's) is refused, so the CLI never fights an IdP over a user.
 */
import type { Store } from '../../store/port';
import type { GroupDoc, OrganizationDoc, UserDoc } from '../../store/documents';
import type { UserAttributes } from '../../services/users';
import { coerceUser } from '../../scim/users-router';
import type { RowError, SyncFile, SyncRow } from './csv';
import { userNameKey } from './csv';

export type UserAction = 'create' | 'update' | 'deactivate' | 'reactivate';

export interface UserChange {
  userName: string;
  /** The row that asks for the change; absent for a user deactivated because it is missing from the file. */
  line?: number;
  /** The existing account (absent for a plain create). */
  userId?: string;
  actions: UserAction[];
  /** A create that links an account the organization already has (SSO first login, earlier unlink). */
  links?: boolean;
  /** The attributes the row asks for (absent for a deactivation by absence). */
  attrs?: UserAttributes;
  /** Which attributes an update changes. */
  changedAttributes?: string[];
  /** Group displayNames to join / to leave. */
  groupAdds: string[];
  groupRemoves: string[];
}

export interface Plan {
  connectionId: string;
  changes: UserChange[];
  /** Groups the file names that the organization does not have yet (displayName as first written in the file). */
  groupsToCreate: string[];
  /** Existing groups by lower-cased displayName, for applying memberships. */
  groups: Map<string, GroupDoc>;
  errors: RowError[];
  rows: number;
  unchanged: number;
  /** Active accounts of the whole organization, the base of `--max-deactivate-share`. */
  activeAccounts: number;
  counts: Record<UserAction | 'groupAdds' | 'groupRemoves' | 'newGroups', number>;
}

/** The SCIM core attributes a sync row decides; everything else on the user is left as it is. */
export const SYNCED_ATTRIBUTES = ['userName', 'displayName', 'name', 'emails', 'externalId'] as const;

const CHUNK = 500;

/** The SCIM user a row describes, validated and coerced exactly as a SCIM POST body is. */
export function attributesOf(row: SyncRow): UserAttributes {
  const body: Record<string, unknown> = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: row.userName, active: row.active };
  if (row.name) {
    const space = row.name.indexOf(' ');
    const givenName = space < 0 ? row.name : row.name.slice(0, space);
    const familyName = space < 0 ? undefined : row.name.slice(space + 1);
    body.displayName = row.name;
    body.name = { formatted: row.name, givenName, ...(familyName ? { familyName } : {}) };
  }
  if (row.email) body.emails = [{ value: row.email, type: 'work', primary: true }];
  if (row.externalId) body.externalId = row.externalId;
  return coerceUser(body);
}

/** JSON with object keys sorted, so two equal values compare equal whatever order their keys were written in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function changedAttributes(current: UserDoc['scim'], desired: UserDoc['scim']): string[] {
  return SYNCED_ATTRIBUTES.filter((k) => canonical(current[k]) !== canonical(desired[k]));
}

/** `current` with the synced attributes and `active` taken from `desired`. */
export function mergeScim(current: UserDoc['scim'], desired: UserDoc['scim'], active: boolean): UserDoc['scim'] {
  const next: Record<string, unknown> = { ...current };
  for (const k of SYNCED_ATTRIBUTES) {
    if (desired[k] === undefined) delete next[k];
    else next[k] = desired[k];
  }
  next.active = active;
  return next as UserDoc['scim'];
}

async function inChunks<T, R>(items: T[], read: (chunk: T[]) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(...(await read(items.slice(i, i + CHUNK))));
  return out;
}

const isActive = (user: UserDoc) => user.scim.active !== false;

export async function planSync(store: Store, org: OrganizationDoc, connectionId: string, file: SyncFile): Promise<Plan> {
  const errors: RowError[] = [...file.errors];
  const linked = await store.users.find({ orgId: org._id, connectionId });
  const linkedByKey = new Map(linked.map((u) => [u.userNameKey, u]));
  const unmatched = file.rows.map((r) => userNameKey(r.userName)).filter((k) => !linkedByKey.has(k));
  const others = new Map(
    (await inChunks(unmatched, (keys) => store.users.find({ orgId: org._id, userNameKey: { $in: keys } }))).map((u) => [u.userNameKey, u]),
  );

  // Current memberships of every account the file touches, and the groups involved.
  const accountIds = [...linked.map((u) => u._id), ...[...others.values()].map((u) => u._id)];
  const memberships = await inChunks(accountIds, (ids) => store.memberships.find({ orgId: org._id, value: { $in: ids } }));
  const groupKeysInFile = new Map<string, string>();
  for (const row of file.rows) for (const g of row.groups ?? []) if (!groupKeysInFile.has(userNameKey(g))) groupKeysInFile.set(userNameKey(g), g);
  const groupIds = [...new Set(memberships.map((m) => m.groupId))];
  const groupDocs = [
    ...(await inChunks([...groupKeysInFile.keys()], (keys) => store.groups.find({ orgId: org._id, connectionId, displayNameKey: { $in: keys } }))),
    ...(await inChunks(groupIds, (ids) => store.groups.find({ orgId: org._id, connectionId, _id: { $in: ids } }))),
  ];
  const groupsByKey = new Map(groupDocs.map((g) => [g.displayNameKey, g]));
  const groupsById = new Map(groupDocs.map((g) => [g._id, g]));
  const groupsOf = new Map<string, GroupDoc[]>();
  for (const m of memberships) {
    const group = groupsById.get(m.groupId);
    if (!group) continue;
    groupsOf.set(m.value, [...(groupsOf.get(m.value) ?? []), group]);
  }

  const changes: UserChange[] = [];
  const wantedGroups = new Set<string>();
  let unchanged = 0;
  for (const row of file.rows) {
    let attrs: UserAttributes;
    try {
      attrs = attributesOf(row);
    } catch (error) {
      errors.push({ line: row.line, userName: row.userName, reason: (error as Error).message });
      continue;
    }
    const key = userNameKey(row.userName);
    const current = linkedByKey.get(key);
    const other = current ? undefined : others.get(key);
    if (other?.connectionId !== undefined) {
      errors.push({ line: row.line, userName: row.userName, reason: 'this userName is provisioned by another directory connection (an IdP); the sync leaves it alone' });
      continue;
    }
    const existing = current ?? other;
    const change: UserChange = { userName: row.userName, line: row.line, actions: [], attrs, groupAdds: [], groupRemoves: [] };
    if (existing) change.userId = existing._id;
    if (!current) {
      change.actions.push('create');
      if (other) change.links = true;
    } else {
      const changed = changedAttributes(current.scim, attrs.scim);
      if (changed.length > 0) {
        change.actions.push('update');
        change.changedAttributes = changed;
      }
      if (isActive(current) && !row.active) change.actions.push('deactivate');
      if (!isActive(current) && row.active) change.actions.push('reactivate');
    }
    if (row.groups) {
      const have = new Map((existing ? (groupsOf.get(existing._id) ?? []) : []).map((g) => [g.displayNameKey, g]));
      const want = new Map(row.groups.map((g) => [userNameKey(g), g]));
      for (const [k, name] of want) {
        wantedGroups.add(k);
        if (!have.has(k)) change.groupAdds.push(groupsByKey.get(k)?.displayName ?? groupKeysInFile.get(k) ?? name);
      }
      for (const [k, group] of have) if (!want.has(k)) change.groupRemoves.push(group.displayName);
    }
    if (change.actions.length > 0 || change.groupAdds.length > 0 || change.groupRemoves.length > 0) changes.push(change);
    else unchanged++;
  }

  for (const user of linked) {
    if (file.mentioned.has(user.userNameKey) || !isActive(user)) continue;
    changes.push({ userName: user.scim.userName, userId: user._id, actions: ['deactivate'], groupAdds: [], groupRemoves: [] });
  }

  const groupsToCreate = [...wantedGroups].filter((k) => !groupsByKey.has(k)).map((k) => groupKeysInFile.get(k)!);
  const count = (action: UserAction) => changes.filter((c) => c.actions.includes(action)).length;
  return {
    connectionId,
    changes,
    groupsToCreate,
    groups: groupsByKey,
    errors: errors.sort((a, b) => a.line - b.line),
    rows: file.rows.length + file.errors.length,
    unchanged,
    activeAccounts: await store.users.count({ orgId: org._id, 'lifecycle.accountStatus': 'active' }),
    counts: {
      create: count('create'),
      update: count('update'),
      deactivate: count('deactivate'),
      reactivate: count('reactivate'),
      groupAdds: changes.reduce((n, c) => n + c.groupAdds.length, 0),
      groupRemoves: changes.reduce((n, c) => n + c.groupRemoves.length, 0),
      newGroups: groupsToCreate.length,
    },
  };
}
