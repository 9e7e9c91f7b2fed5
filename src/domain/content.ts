/**
 * Who may read enterprise content, how authors are shown, and the rule that a workspace keeps an active admin
 * (DESIGN.md §2 "Content"). Pure functions over plain data.
 */
import type { LifecycleState } from './lifecycle';
import { hasEnterpriseAccess } from './lifecycle';
import { DomainError } from './errors';

export interface WorkspaceRules {
  id: string;
  name: string;
  enterprise: boolean;
  admins: readonly string[];
  guests: readonly string[];
}

/**
 * An enterprise workspace is readable by active, licensed accounts with site access, and by its named guests while
 * their account is active; a non-enterprise workspace by any active account of the organization.
 */
export function canReadWorkspace(workspace: WorkspaceRules, accountId: string, account: LifecycleState): boolean {
  if (account.accountStatus !== 'active') return false;
  if (!workspace.enterprise) return account.siteAccess === 'active' || workspace.guests.includes(accountId);
  if (workspace.guests.includes(accountId)) return true;
  return hasEnterpriseAccess(account);
}

/** How a person is shown next to content they authored or administer. */
export interface PersonView {
  id: string;
  displayName: string;
  /** Shown struck through with a "D" mark; not offered for assignment or mention. */
  deactivated: boolean;
  assignable: boolean;
}

export function personView(id: string, displayName: string | undefined, state: LifecycleState | undefined): PersonView {
  if (!state || state.accountStatus === 'deleted') return { id, displayName: 'Former user', deactivated: false, assignable: false };
  if (state.siteAccess === 'removed') return { id, displayName: 'Removed user', deactivated: false, assignable: false };
  const deactivated = state.accountStatus !== 'active';
  return { id, displayName: displayName ?? 'Unknown user', deactivated, assignable: !deactivated && state.siteAccess === 'active' };
}

/**
 * Refuses to leave a workspace without an active admin: deactivating or removing `accountId` is allowed when some
 * other admin stays active, or when the request names a replacement admin (`newAdminId`) who is active.
 */
export function assertKeepsActiveAdmin(
  workspaces: readonly WorkspaceRules[],
  accountId: string,
  isActive: (id: string) => boolean,
  newAdminId?: string,
): void {
  for (const ws of workspaces) {
    if (!ws.admins.includes(accountId)) continue;
    const others = ws.admins.filter((a) => a !== accountId && isActive(a));
    if (others.length > 0) continue;
    if (newAdminId && newAdminId !== accountId && isActive(newAdminId)) continue;
    throw new DomainError(
      'conflict',
      `cannot deactivate or remove the last active admin of workspace "${ws.name}" (${ws.id}); name another admin first`,
    );
  }
}
