/**
 * The lifecycle rules of DESIGN.md §2–§3 as pure functions: given an account's state, the organization's policy and
 * what the directory (or an admin) wants, decide the next state and the effects that must follow. No I/O here: the
 * provisioning service applies the decision to the store.
 *
 * The rules decide by transition — desired `active` against stored state — not by the shape of the request, so
 * PATCH and PUT, Okta and Entra share one code path and a repeated request is a no-op (STYLE.md habit 3).
 */

export type AccountStatus = 'active' | 'deactivated' | 'pending_deletion' | 'deleted';
export type SiteAccess = 'invited' | 'active' | 'suspended' | 'removed';
export type LicenseState = 'licensed' | 'free' | 'revoked' | 'pending_seat';

/** The lifecycle state of one account in one organization. */
export interface LifecycleState {
  managed: boolean;
  accountStatus: AccountStatus;
  siteAccess: SiteAccess;
  license: LicenseState;
}

/** Whether two states are the same state. */
export const sameState = (a: LifecycleState, b: LifecycleState): boolean =>
  a.managed === b.managed && a.accountStatus === b.accountStatus && a.siteAccess === b.siteAccess && a.license === b.license;

export interface LifecyclePolicy {
  /** `account`: `active: false` deactivates a managed account; `enterprise`: it only revokes the license. */
  deprovision: 'account' | 'enterprise';
}

/**
 * What must happen besides the new state. `wantSeat` asks the seat service for a seat (it answers `licensed` or
 * `pending_seat`); `releaseSeat` gives a held seat back; `revokeSessions` ends every session of the account.
 */
export interface Effects {
  wantSeat: boolean;
  releaseSeat: boolean;
  revokeSessions: boolean;
}

export interface Decision {
  next: LifecycleState;
  effects: Effects;
  /** A short name for the audit log, e.g. `account.deactivated`; `undefined` when nothing changes. */
  action?: string;
  /** Dates that go with the new state; `null` clears one. */
  dates?: { deletionDue?: Date | null; invitedAt?: Date | null };
}

const NO_EFFECTS: Effects = { wantSeat: false, releaseSeat: false, revokeSessions: false };

/**
 * A license lost by deprovisioning becomes `revoked`, which remembers that the account had one; an account that was
 * only waiting for a seat leaves the queue (`free`), since it never held one.
 */
function revoked(license: LicenseState): LicenseState {
  if (license === 'licensed') return 'revoked';
  return license === 'pending_seat' ? 'free' : license;
}

/** Whether the account can use enterprise content (and so should hold a seat when entitled). */
export function hasEnterpriseAccess(state: LifecycleState): boolean {
  return state.accountStatus === 'active' && state.siteAccess === 'active' && state.license === 'licensed';
}

/**
 * `active: false` from the directory (PATCH, PUT, or the deprovisioning half of DELETE):
 * - managed, policy `account`: the account is deactivated — sessions end, the license is revoked and its seat
 *   freed; site access is kept as it is, so a reactivation restores everything;
 * - managed, policy `enterprise`: the account stays active; only the license is revoked (the SSO rule then keeps
 *   enterprise content closed until an explicit reactivation);
 * - unmanaged: we cannot deactivate what we do not manage — site access is suspended and the license revoked.
 * `remove` (DELETE) removes site access of an unmanaged account instead of suspending it.
 */
export function decideDeprovision(state: LifecycleState, policy: LifecyclePolicy, remove = false): Decision {
  if (state.accountStatus === 'deleted' || state.accountStatus === 'pending_deletion') {
    // Already on the way out through an admin action: nothing more for the directory to do, but a seat must not stay held.
    return { next: state, effects: { ...NO_EFFECTS, releaseSeat: true } };
  }
  const license = revoked(state.license);
  if (state.managed && policy.deprovision === 'account') {
    const next: LifecycleState = { ...state, accountStatus: 'deactivated', license };
    const changed = state.accountStatus !== 'deactivated' || state.license !== license;
    return { next, effects: { wantSeat: false, releaseSeat: true, revokeSessions: true }, action: changed ? 'account.deactivated' : undefined };
  }
  if (state.managed) {
    const next: LifecycleState = { ...state, license };
    return { next, effects: { ...NO_EFFECTS, releaseSeat: true }, action: state.license !== license ? 'license.revoked' : undefined };
  }
  const siteAccess: SiteAccess = remove ? 'removed' : state.siteAccess === 'removed' ? 'removed' : 'suspended';
  const next: LifecycleState = { ...state, siteAccess, license };
  const changed = state.siteAccess !== siteAccess || state.license !== license;
  return { next, effects: { ...NO_EFFECTS, releaseSeat: true }, action: changed ? (remove ? 'site.removed' : 'site.suspended') : undefined };
}

/**
 * `active: true` from the directory: reactivate a deactivated account, restore suspended or removed site access
 * (a directory re-provisioning is the invitation back), and ask for a seat when the account is entitled to a
 * license — the seat service answers `licensed`, or `pending_seat` when none is free. An account not entitled keeps
 * no license (`revoked` stays `revoked` so admins can see it had one; `pending_seat` becomes `free`).
 * Accounts pending deletion or deleted are not brought back by SCIM: that is an admin decision.
 */
export function decideProvision(state: LifecycleState, entitled: boolean): Decision {
  if (state.accountStatus === 'deleted' || state.accountStatus === 'pending_deletion') {
    return { next: state, effects: NO_EFFECTS };
  }
  const accountStatus: AccountStatus = 'active';
  const siteAccess: SiteAccess = state.siteAccess === 'invited' ? 'invited' : 'active';
  let license = state.license;
  let wantSeat = false;
  if (entitled && license !== 'licensed') {
    wantSeat = true;
  } else if (!entitled && license === 'licensed') {
    license = 'revoked';
  } else if (!entitled && license === 'pending_seat') {
    license = 'free';
  }
  const next: LifecycleState = { ...state, accountStatus, siteAccess, license };
  const reactivated = state.accountStatus !== 'active' || (state.siteAccess !== siteAccess && siteAccess === 'active');
  const action = reactivated ? 'account.reactivated' : license !== state.license ? 'license.revoked' : undefined;
  return { next, effects: { wantSeat, releaseSeat: license === 'revoked' && state.license === 'licensed', revokeSessions: false }, action };
}

/**
 * Licensing changed while the account stays as it is (group-based licensing: added to or removed from a licensed
 * group). Only active accounts with site access take a seat.
 */
export function decideEntitlement(state: LifecycleState, entitled: boolean): Decision {
  const usable = state.accountStatus === 'active' && state.siteAccess === 'active';
  if (entitled && usable && state.license !== 'licensed' && state.license !== 'pending_seat') {
    return { next: state, effects: { ...NO_EFFECTS, wantSeat: true }, action: 'license.requested' };
  }
  if (!entitled && (state.license === 'licensed' || state.license === 'pending_seat')) {
    const license: LicenseState = state.license === 'licensed' ? 'revoked' : 'free';
    return { next: { ...state, license }, effects: { ...NO_EFFECTS, releaseSeat: true }, action: 'license.revoked' };
  }
  return { next: state, effects: NO_EFFECTS };
}

/** The state of an account a directory creates: managed or not, active or not, with a seat request when entitled. */
export function initialState(managed: boolean, active: boolean, entitled: boolean, policy: LifecyclePolicy): Decision {
  const fresh: LifecycleState = { managed, accountStatus: 'active', siteAccess: 'active', license: 'free' };
  if (!active) {
    const { next } = decideDeprovision(fresh, policy);
    return { next, effects: NO_EFFECTS, action: 'account.created' };
  }
  return { next: fresh, effects: { ...NO_EFFECTS, wantSeat: entitled }, action: 'account.created' };
}

/*
 * Admin actions (DESIGN.md §2). Each is reversible from the level that made it: suspension by unsuspension, removal
 * by a new invitation, a scheduled deletion by cancelling it during the grace period.
 */

/** Suspends site access (dormant: groups kept); the seat is released, since a suspended account cannot use it. */
export function decideSuspend(state: LifecycleState): Decision {
  if (state.siteAccess === 'suspended' || state.siteAccess === 'removed') return { next: state, effects: NO_EFFECTS };
  return { next: { ...state, siteAccess: 'suspended', license: revoked(state.license) }, effects: { ...NO_EFFECTS, releaseSeat: true }, action: 'site.suspended' };
}

/** Restores suspended site access, with a seat when the account is entitled to one. */
export function decideUnsuspend(state: LifecycleState, entitled: boolean): Decision {
  if (state.siteAccess !== 'suspended') return { next: state, effects: NO_EFFECTS };
  const usable = state.accountStatus === 'active';
  return { next: { ...state, siteAccess: 'active' }, effects: { ...NO_EFFECTS, wantSeat: entitled && usable }, action: 'site.unsuspended' };
}

/** Removes the account from the site: product access and group memberships go; it must be invited again. */
export function decideRemove(state: LifecycleState): Decision {
  if (state.siteAccess === 'removed') return { next: state, effects: NO_EFFECTS };
  return { next: { ...state, siteAccess: 'removed', license: revoked(state.license) }, effects: { ...NO_EFFECTS, releaseSeat: true }, action: 'site.removed' };
}

/** Invites a removed (or never invited) account back; access starts when the invitation is accepted (SSO login). */
export function decideInvite(state: LifecycleState, now: Date): Decision {
  if (state.siteAccess === 'active' || state.siteAccess === 'suspended') {
    return { next: state, effects: NO_EFFECTS };
  }
  return { next: { ...state, siteAccess: 'invited' }, effects: NO_EFFECTS, action: 'site.invited', dates: { invitedAt: now } };
}

/** An invitation accepted by logging in. */
export function decideAcceptInvite(state: LifecycleState): Decision {
  if (state.siteAccess !== 'invited') return { next: state, effects: NO_EFFECTS };
  return { next: { ...state, siteAccess: 'active' }, effects: NO_EFFECTS, action: 'site.invite_accepted', dates: { invitedAt: null } };
}

/** An invitation not accepted in time: the account is back to having no site access. */
export function decideExpireInvite(state: LifecycleState): Decision {
  if (state.siteAccess !== 'invited') return { next: state, effects: NO_EFFECTS };
  return { next: { ...state, siteAccess: 'removed' }, effects: NO_EFFECTS, action: 'site.invite_expired', dates: { invitedAt: null } };
}

/**
 * Schedules the deletion of a managed account: it behaves as deactivated at once (no login, no seat, sessions end)
 * and is deleted when the grace period ends, unless the deletion is cancelled.
 */
export function decideScheduleDeletion(state: LifecycleState, due: Date): Decision {
  if (state.accountStatus === 'pending_deletion' || state.accountStatus === 'deleted') return { next: state, effects: NO_EFFECTS };
  return {
    next: { ...state, accountStatus: 'pending_deletion', license: revoked(state.license) },
    effects: { wantSeat: false, releaseSeat: true, revokeSessions: true },
    action: 'account.deletion_scheduled',
    dates: { deletionDue: due },
  };
}

/** Cancels a scheduled deletion; the account stays deactivated until it is reactivated. */
export function decideCancelDeletion(state: LifecycleState): Decision {
  if (state.accountStatus !== 'pending_deletion') return { next: state, effects: NO_EFFECTS };
  return { next: { ...state, accountStatus: 'deactivated' }, effects: NO_EFFECTS, action: 'account.deletion_cancelled', dates: { deletionDue: null } };
}

/** Carries out a deletion whose grace period ended: irreversible; the profile is anonymised ("Former user"). */
export function decideDelete(state: LifecycleState): Decision {
  if (state.accountStatus === 'deleted') return { next: state, effects: NO_EFFECTS };
  return {
    next: { ...state, accountStatus: 'deleted', siteAccess: 'removed', license: revoked(state.license) },
    effects: { wantSeat: false, releaseSeat: true, revokeSessions: true },
    action: 'account.deleted',
    dates: { deletionDue: null },
  };
}

/** An admin grants a license: only to an active account with site access (the seat service may still say none is free). */
export function decideGrant(state: LifecycleState): Decision {
  if (state.license === 'licensed') return { next: state, effects: NO_EFFECTS };
  if (state.accountStatus !== 'active' || state.siteAccess !== 'active') return { next: state, effects: NO_EFFECTS };
  return { next: state, effects: { ...NO_EFFECTS, wantSeat: true }, action: 'license.granted' };
}

/** An admin revokes a license (or takes an account off the seat waiting list). */
export function decideRevoke(state: LifecycleState): Decision {
  if (state.license !== 'licensed' && state.license !== 'pending_seat') return { next: state, effects: NO_EFFECTS };
  const license: LicenseState = state.license === 'licensed' ? 'revoked' : 'free';
  return { next: { ...state, license }, effects: { ...NO_EFFECTS, releaseSeat: true }, action: 'license.revoked' };
}
