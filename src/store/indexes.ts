/**
 * The indexes each collection needs, declared once for both adapters. The MongoDB adapter creates them as they are;
 * the embedded adapter keeps compound keys only where they are unique and indexes the last field of the others.
 */
export interface IndexSpec {
  fields: Record<string, 1 | -1>;
  unique?: boolean;
  /** Only documents where every indexed field exists take part (MongoDB `sparse`). */
  sparse?: boolean;
  /**
   * The last field holds an array (a MongoDB multikey index). NeDB indexes array elements only in single-field
   * indexes, so the embedded adapter indexes that field alone.
   */
  multikey?: boolean;
}

export const INDEXES: Record<string, IndexSpec[]> = {
  organizations: [{ fields: { name: 1 }, unique: true }],
  tokens: [{ fields: { orgId: 1, kind: 1 } }, { fields: { accountId: 1 }, sparse: true }],
  users: [
    { fields: { orgId: 1, userNameKey: 1 }, unique: true },
    { fields: { orgId: 1, 'scim.externalId': 1 } },
    { fields: { orgId: 1, emailKeys: 1 }, multikey: true },
    { fields: { orgId: 1, 'lifecycle.license': 1 } },
    { fields: { orgId: 1, 'lifecycle.accountStatus': 1 } },
  ],
  groups: [
    { fields: { orgId: 1, connectionId: 1, displayNameKey: 1 }, unique: true },
    { fields: { orgId: 1, connectionId: 1, externalId: 1 } },
  ],
  memberships: [
    { fields: { orgId: 1, groupId: 1 } },
    { fields: { orgId: 1, value: 1 } },
  ],
  audit: [{ fields: { orgId: 1, at: -1 } }],
  seats: [{ fields: { holderKey: 1 }, unique: true, sparse: true }, { fields: { orgId: 1, free: 1 } }],
  workspaces: [{ fields: { orgId: 1, name: 1 } }],
  accessRequests: [{ fields: { orgId: 1, status: 1 } }, { fields: { orgId: 1, accountId: 1 } }],
};
