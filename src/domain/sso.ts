/**
 * The SSO rule (DESIGN.md §4): a login proves who the person is; it never decides what they may use. It can create
 * a free managed account on a claimed domain (just-in-time), it is refused for accounts that were deactivated or are
 * being deleted, and it never touches a license — so a re-login after deprovisioning restores nothing.
 */
import type { LifecycleState } from './lifecycle';
import { hasEnterpriseAccess } from './lifecycle';

export type LoginDecision =
  | { outcome: 'refused'; reason: string }
  | { outcome: 'create'; state: LifecycleState }
  | { outcome: 'session'; enterpriseAccess: boolean };

/** The domain of an email address, lower-cased. */
export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}

/**
 * Decides a login for `email`. `account` is the organization's account for that email, if any; `claimedDomains` are
 * the organization's verified domains.
 */
export function decideLogin(email: string, account: LifecycleState | undefined, claimedDomains: readonly string[]): LoginDecision {
  if (!account) {
    if (!claimedDomains.includes(emailDomain(email))) {
      return { outcome: 'refused', reason: 'this email domain is not claimed by the organization; SSO cannot create an account for it' };
    }
    return { outcome: 'create', state: { managed: true, accountStatus: 'active', siteAccess: 'active', license: 'free' } };
  }
  switch (account.accountStatus) {
    case 'deactivated':
      return { outcome: 'refused', reason: 'this account is deactivated; ask an administrator to reactivate it' };
    case 'pending_deletion':
      return { outcome: 'refused', reason: 'this account is scheduled for deletion; ask an administrator to cancel the deletion' };
    case 'deleted':
      return { outcome: 'refused', reason: 'this account has been deleted' };
  }
  return { outcome: 'session', enterpriseAccess: hasEnterpriseAccess(account) };
}
