/**
 * Admin actions on accounts and the account listings behind the dashboard tabs and exports. Every action goes
 * through `transitionAccount`, so it is versioned, durable and audited with the admin as actor, exactly like the
 * SCIM path.
 */
import type { Query, Store } from '../store/port';
import { findPage } from '../store/page';
import { TextPattern } from '../store/text-pattern';
import type { OrganizationDoc, UserDoc } from '../store/documents';
import { DomainError } from '../domain/errors';
import {
  decideCancelDeletion,
  decideDelete,
  decideDeprovision,
  decideGrant,
  decideInvite,
  decideProvision,
  decideRemove,
  decideRevoke,
  decideScheduleDeletion,
  decideSuspend,
  decideUnsuspend,
  type Decision,
  type LifecycleState,
} from '../domain/lifecycle';
import { claimSeat, releaseSeat, seatUsage } from './seats';
import { isEntitled, transitionAccount } from './lifecycle';
import { dropMemberships } from './groups';
import { caseKey } from './users';
import type { RequestContext } from './context';

/** Default grace period between scheduling a deletion and carrying it out (DESIGN.md §2). */
export const DEFAULT_DELETION_GRACE_DAYS = 14;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface AccountFilter {
  status?: LifecycleState['accountStatus'];
  license?: LifecycleState['license'];
  siteAccess?: LifecycleState['siteAccess'];
  managed?: boolean;
  /** Only accounts last active before this date (or never active). */
  lastActiveBefore?: Date;
  /** userName prefix, folded like the stored key (letter case and Unicode form do not matter). */
  userNamePrefix?: string;
}

/** The store query for an account filter, scoped to the organization. */
export function accountQuery(orgId: string, filter: AccountFilter): Query {
  const query: Query = { orgId };
  if (filter.status) query['lifecycle.accountStatus'] = filter.status;
  if (filter.license) query['lifecycle.license'] = filter.license;
  if (filter.siteAccess) query['lifecycle.siteAccess'] = filter.siteAccess;
  if (filter.managed !== undefined) query['lifecycle.managed'] = filter.managed;
  if (filter.lastActiveBefore) {
    query.$or = [{ 'lifecycle.lastActive': { $lt: filter.lastActiveBefore } }, { 'lifecycle.lastActive': { $exists: false } }];
  }
  if (filter.userNamePrefix) {
    query.userNameKey = new TextPattern('sw', caseKey(filter.userNamePrefix), false);
  }
  return query;
}

export async function listAccounts(store: Store, orgId: string, filter: AccountFilter, skip: number, limit: number) {
  const query = accountQuery(orgId, filter);
  const { total, docs } = await findPage(store.users, query, { userNameKey: 1, _id: 1 }, skip, limit);
  return { total, accounts: docs };
}

function mustExist(account: UserDoc | null, id: string): UserDoc {
  if (!account) throw new DomainError('not_found', `account ${id} not found`);
  return account;
}

const managedOnly = (what: string) => (state: LifecycleState) => {
  if (!state.managed) throw new DomainError('conflict', `only managed accounts can be ${what}; suspend or remove this account from the site instead`);
};

/** The admin actions by name, each a decision on the current state. */
export type AccountAction =
  | 'deactivate'
  | 'reactivate'
  | 'suspend'
  | 'unsuspend'
  | 'remove'
  | 'invite'
  | 'schedule-deletion'
  | 'cancel-deletion'
  | 'revoke-license';

export async function applyAccountAction(
  store: Store,
  ctx: RequestContext,
  org: OrganizationDoc,
  id: string,
  action: AccountAction,
  options: { graceDays?: number } = {},
): Promise<UserDoc> {
  const decide = async (state: LifecycleState, account: UserDoc): Promise<Decision> => {
    switch (action) {
      case 'deactivate':
        managedOnly('deactivated')(state);
        return decideDeprovision(state, { deprovision: 'account' });
      case 'reactivate':
        managedOnly('reactivated')(state);
        return decideProvision(state, await isEntitled(store, org, account));
      case 'suspend':
        return decideSuspend(state);
      case 'unsuspend':
        return decideUnsuspend(state, await isEntitled(store, org, account));
      case 'remove':
        return decideRemove(state);
      case 'invite':
        return decideInvite(state, ctx.now);
      case 'schedule-deletion': {
        managedOnly('deleted')(state);
        const days = options.graceDays ?? org.policies?.deletionGraceDays ?? DEFAULT_DELETION_GRACE_DAYS;
        return decideScheduleDeletion(state, new Date(ctx.now.getTime() + days * DAY_MS));
      }
      case 'cancel-deletion':
        return decideCancelDeletion(state);
      case 'revoke-license':
        return decideRevoke(state);
    }
  };
  const account = mustExist(await transitionAccount(store, ctx, org, id, decide), id);
  // Removal drops product access and group memberships (DESIGN.md §2 "Site access").
  if (action === 'remove') await dropMemberships(store, ctx, id);
  return account;
}

/**
 * Grants a license. Refused when no seat is free: the seat is claimed first, so the refusal is exact under
 * concurrency, and the account is never silently put on the waiting list by an admin.
 */
export async function grantLicense(store: Store, ctx: RequestContext, org: OrganizationDoc, id: string): Promise<UserDoc> {
  const account = mustExist(await store.users.findOne({ _id: id, orgId: org._id }), id);
  const state = account.lifecycle;
  if (state?.license === 'licensed') return account;
  if (state?.accountStatus !== 'active' || state.siteAccess !== 'active') {
    throw new DomainError('conflict', 'only active accounts with site access can be licensed');
  }
  if ((await claimSeat(store, org, id, ctx.now)) === 'none') {
    const usage = await seatUsage(store, org);
    throw new DomainError('conflict', `no seat is free (${usage.used} of ${usage.seats} used); free a seat or buy more`);
  }
  const granted = await transitionAccount(store, ctx, org, id, (s) => decideGrant(s));
  if (granted?.lifecycle?.license !== 'licensed') {
    await releaseSeat(store, org, id);
    throw new DomainError('conflict', 'the account changed while the license was granted; try again');
  }
  return granted;
}

/**
 * Carries out a deletion whose grace period has ended: the account becomes "Former user" — personal attributes
 * erased, unlinked from SCIM, memberships and sessions gone. Its id stays, so content keeps its attribution.
 */
export async function deleteAccountNow(store: Store, ctx: RequestContext, org: OrganizationDoc, id: string): Promise<UserDoc> {
  const account = mustExist(await transitionAccount(store, ctx, org, id, (s) => decideDelete(s)), id);
  await dropMemberships(store, ctx, id);
  const anonymous = `former-user-${id}`;
  const erased = await store.users.updateOne(
    { _id: id, orgId: org._id, 'lifecycle.accountStatus': 'deleted' },
    {
      $set: { scim: { userName: anonymous, displayName: 'Former user', active: false }, userNameKey: anonymous, emailKeys: [], lastModified: ctx.now },
      $unset: { enterprise: true, connectionId: true, 'lifecycle.lastActive': true },
      $inc: { version: 1 },
    },
  );
  return erased ?? account;
}
