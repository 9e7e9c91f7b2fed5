/**
 * Sessions from SSO login. A session carries no access of its own: it names an account, and every request re-reads
 * that account's state, so a deactivation or license revocation takes effect on the very next request rather than at
 * token expiry. Session tokens are stored hashed, like every other token.
 */
import type { Store } from '../store/port';
import type { UserDoc } from '../store/documents';
import { generateToken, storeToken } from '../auth/tokens';

/** How long a session lasts without a new login. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

export async function createSession(store: Store, orgId: string, accountId: string, now: Date): Promise<string> {
  const token = generateToken();
  await storeToken(store, token, { orgId, kind: 'session', accountId, expires: new Date(now.getTime() + SESSION_TTL_MS) }, now);
  return token;
}

/** The account behind a session, or `null` when it no longer exists in the session's organization. */
export function sessionAccount(store: Store, orgId: string, accountId: string): Promise<UserDoc | null> {
  return store.users.findOne({ _id: accountId, orgId });
}
