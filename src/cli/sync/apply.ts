/**
 * Applying a sync plan through the services the SCIM API uses (createUser, updateUser, the group membership
 * functions), so every lifecycle rule, seat, session revocation and audit event is exactly what an IdP's calls would
 * cause. Deactivations run first, so the seats they free are there for the creations and reactivations after them.
 * Changes run `batch` at a time, concurrently within a batch (each user's own steps stay in order); a change that
 * fails is reported and the others still run.
 */
import type { Store } from '../../store/port';
import type { GroupDoc, OrganizationDoc } from '../../store/documents';
import type { RequestContext } from '../../services/context';
import { createUser, updateUser } from '../../services/users';
import { addMembers, createGroup, removeMembers, resolveMembers, touchGroup } from '../../services/groups';
import { DomainError } from '../../domain/errors';
import { describeError } from '../errors';
import type { RowError } from './csv';
import { userNameKey } from './csv';
import { mergeScim, type Plan, type UserChange } from './plan';
import type { Progress } from './progress';

export interface ApplyResult {
  applied: number;
  failures: RowError[];
}

export async function applyPlan(
  store: Store,
  org: OrganizationDoc,
  plan: Plan,
  context: () => RequestContext,
  batch: number,
  progress: Progress,
): Promise<ApplyResult> {
  const failures: RowError[] = [];
  const groups = new Map<string, GroupDoc>(plan.groups);
  const deactivations = plan.changes.filter((c) => c.actions.includes('deactivate'));
  const others = plan.changes.filter((c) => !c.actions.includes('deactivate'));
  const total = plan.groupsToCreate.length + plan.changes.length;
  let done = 0;
  progress.start(total);

  // Groups first (one by one: few, and names may collide with one created meanwhile).
  for (const displayName of plan.groupsToCreate) {
    try {
      groups.set(userNameKey(displayName), await createGroup(store, context(), { displayName }, []));
    } catch (error) {
      const existing = await store.groups.findOne({ orgId: org._id, connectionId: context().connectionId, displayNameKey: userNameKey(displayName) });
      if (existing) groups.set(existing.displayNameKey, existing);
      else failures.push({ line: 0, reason: `group "${displayName}" could not be created: ${describeError(error)}` });
    }
    done++;
  }
  if (plan.groupsToCreate.length > 0) progress.update(done, failures.length);

  for (const phase of [deactivations, others]) {
    for (let i = 0; i < phase.length; i += batch) {
      const slice = phase.slice(i, i + batch);
      const outcomes = await Promise.allSettled(slice.map((change) => applyChange(store, org, context, groups, change)));
      outcomes.forEach((outcome, j) => {
        if (outcome.status === 'rejected') {
          const change = slice[j];
          failures.push({ line: change.line ?? 0, userName: change.userName, reason: describeError(outcome.reason) });
        }
      });
      done += slice.length;
      progress.update(done, failures.length);
    }
  }
  progress.stop();
  return { applied: plan.changes.length - failures.filter((f) => f.userName !== undefined).length, failures };
}

async function applyChange(
  store: Store,
  org: OrganizationDoc,
  context: () => RequestContext,
  groups: Map<string, GroupDoc>,
  change: UserChange,
): Promise<void> {
  let userId = change.userId;
  const wantsActive = change.attrs ? change.attrs.scim.active !== false : false;
  if (change.actions.includes('create')) {
    userId = (await createUser(store, context(), org, change.attrs!))._id;
  } else if (change.actions.length > 0) {
    const written = await updateUser(store, context(), org, userId!, (current) => ({
      scim: change.attrs ? mergeScim(current.scim, change.attrs.scim, wantsActive) : { ...current.scim, active: false },
      ...(current.enterprise ? { enterprise: current.enterprise } : {}),
    }));
    if (!written) throw new DomainError('not_found', 'the user is no longer linked to the sync connection (unlinked meanwhile)');
  }
  for (const name of change.groupAdds) {
    const group = groups.get(userNameKey(name));
    if (!group) throw new DomainError('not_found', `group "${name}" does not exist`);
    const ctx = context();
    if ((await addMembers(store, ctx, group, await resolveMembers(store, ctx, [{ value: userId!, type: 'User' }]))) > 0) await touchGroup(store, ctx, group._id);
  }
  for (const name of change.groupRemoves) {
    const group = groups.get(userNameKey(name));
    if (!group) continue;
    const ctx = context();
    if ((await removeMembers(store, ctx, group, [userId!])) > 0) await touchGroup(store, ctx, group._id);
  }
}
