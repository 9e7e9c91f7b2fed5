/** Who is acting, for which organization, in which request: passed to every service call. */
export interface RequestContext {
  orgId: string;
  /** The directory connection (SCIM token) making the call; SCIM sees only the users linked to it. */
  connectionId?: string;
  /** Audit actor, e.g. `{kind: 'directory', id: connectionId}`. */
  actor: { kind: 'directory' | 'admin' | 'policy' | 'sso'; id: string };
  requestId?: string;
  now: Date;
}
