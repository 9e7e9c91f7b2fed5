/**
 * The stored shape of every document. Shared by both adapters and by the code that builds queries, so a field name
 * used in a query is checked by the compiler against what is stored.
 *
 * SCIM attributes of a user live under `scim` (core schema) and `enterprise` (the enterprise extension, stored under
 * a plain key because a URN contains dots, which MongoDB reads as a path). Case-insensitive attributes that are
 * matched by `eq` have a lower-cased copy (`userNameKey`, `emailKeys`, `displayNameKey`) so the match is an index
 * lookup rather than a regular expression.
 */

export type AccountStatus = 'active' | 'deactivated' | 'pending_deletion' | 'deleted';
export type SiteAccess = 'invited' | 'active' | 'suspended' | 'removed';
export type LicenseState = 'licensed' | 'free' | 'revoked' | 'pending_seat';
export type LicenseMode = 'provision' | 'groups';
export type DeprovisionMode = 'account' | 'enterprise';

export interface OrganizationDoc {
  _id: string;
  name: string;
  /** Claimed (verified) email domains, lower-case. */
  domains: string[];
  /** Seats bought for the Enterprise; each is a {@link SeatDoc} slot. */
  seats: number;
  licenseMode: LicenseMode;
  /** displayNames (lower-case) of the groups bound to the Enterprise license, in `groups` mode. */
  licenseGroups: string[];
  deprovision: DeprovisionMode;
  /** HS256 secret for SSO assertions. */
  ssoSecret?: string;
  /** Lifecycle policies run as jobs; absent fields take the defaults of `services/policies.ts`. */
  policies?: {
    /** Deactivate accounts idle longer than this many days; absent or 0 = never. */
    inactivityDays?: number;
    /** Apply the inactivity policy to unmanaged (guest) accounts only. */
    inactivityGuestsOnly?: boolean;
    /** Grace period between scheduling a deletion and carrying it out. */
    deletionGraceDays?: number;
    /** Invitations not accepted within this many days expire. */
    inviteExpiryDays?: number;
  };
  /** Job leases: one holder at a time per job, across server processes. */
  leases?: Record<string, { holder: string; until: Date }>;
  created: Date;
}

export type TokenKind = 'scim' | 'admin' | 'session';

export interface TokenDoc {
  /** The SHA-256 hash of the token (hex); the token itself is never stored. */
  _id: string;
  orgId: string;
  kind: TokenKind;
  /** The directory connection a SCIM token belongs to. */
  connectionId?: string;
  /** The account a session token belongs to. */
  accountId?: string;
  /** A name an admin gave the token or its directory connection (e.g. "Okta production"). */
  label?: string;
  created: Date;
  expires?: Date;
}

export interface UserDoc {
  /** The SCIM id. */
  _id: string;
  orgId: string;
  /** Incremented on every write; rendered as `meta.version` and the ETag. */
  version: number;
  created: Date;
  lastModified: Date;
  /** Lower-cased `userName`: unique per organization. */
  userNameKey: string;
  /** Lower-cased email values, for `emails.value eq` and domain matching. */
  emailKeys: string[];
  /** Directory connection that links this account, or absent when the account is not linked to SCIM. */
  connectionId?: string;
  /** Core-schema attributes as the client sees them (no `id`, `meta`, `groups`, `schemas`). */
  scim: Record<string, unknown> & { userName: string; active?: boolean; externalId?: string };
  /** Enterprise extension attributes (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`). */
  enterprise?: Record<string, unknown>;
  /** Lifecycle state, read-only for the IdP. */
  lifecycle?: {
    managed: boolean;
    accountStatus: AccountStatus;
    siteAccess: SiteAccess;
    license: LicenseState;
    lastActive?: Date;
    deactivatedAt?: Date;
    deactivatedBy?: string;
    /** When the account started waiting for a seat; the oldest waiter is promoted first. */
    pendingSince?: Date;
    /** When a scheduled deletion will be carried out (status `pending_deletion`). */
    deletionDue?: Date;
    /** When the account was (re-)invited to the site (site access `invited`); invitations expire. */
    invitedAt?: Date;
    /**
     * Set in the same write as a state change whose effects (seat, sessions, audit) are not all done yet, and
     * cleared once they are: a retry, or the start-up sweep, completes whatever a crash left half-done.
     */
    pendingEffects?: { releaseSeat: boolean; revokeSessions: boolean; wantSeat: boolean; audit?: AuditEventDoc };
  };
}

/**
 * One Enterprise seat. A seat is held when `holderKey` is set; claiming is one conditional update on a free slot, so
 * the seat count can never be exceeded, and releasing matches the holder, so a seat is freed exactly once.
 */
export interface SeatDoc {
  /** `${orgId}:${slot}`. */
  _id: string;
  orgId: string;
  slot: number;
  /** The account holding the seat. */
  holder?: string;
  /** `${orgId}:${holder}`, unique: an account never holds two seats. */
  holderKey?: string;
  since?: Date;
  /** Set while nobody holds the seat; claims look seats up by it. */
  free?: true;
}

/** A request by a deprovisioned or seatless account to get access back (DESIGN.md §2 "Access requests"). */
export interface AccessRequestDoc {
  _id: string;
  orgId: string;
  accountId: string;
  status: 'open' | 'approved' | 'denied';
  /** What the person wrote, if anything. */
  message?: string;
  created: Date;
  decidedAt?: Date;
  decidedBy?: string;
}

/** An enterprise (or ordinary) workspace: the content whose access the license decides. */
export interface WorkspaceDoc {
  _id: string;
  orgId: string;
  name: string;
  enterprise: boolean;
  /** Account ids of the workspace admins. */
  admins: string[];
  /** Account ids of named guests, who may read it without a license. */
  guests: string[];
  /** Account ids of authors of content in the workspace, shown with their current state. */
  authors: string[];
  created: Date;
}

export interface GroupDoc {
  _id: string;
  orgId: string;
  /** The directory connection whose token created the group: only it sees and changes the group. */
  connectionId: string;
  version: number;
  created: Date;
  lastModified: Date;
  displayName: string;
  /** Folded `displayName` (caseKey), for `displayName eq` and uniqueness per directory connection. */
  displayNameKey: string;
  externalId?: string;
}

/** One member of one group. Kept apart from the group so a 50k-member group is never read or rewritten whole. */
export interface MembershipDoc {
  /** `${groupId}:${memberId}` so a membership is unique without a compound index. */
  _id: string;
  orgId: string;
  groupId: string;
  /** The member's SCIM id. */
  value: string;
  type: 'User' | 'Group';
  display?: string;
  /** The group's displayName, copied so a user's `groups` renders without reading every group. */
  groupDisplay: string;
  added: Date;
}

export interface AuditEventDoc {
  _id: string;
  orgId: string;
  at: Date;
  actor: { kind: 'directory' | 'admin' | 'policy' | 'sso'; id: string };
  action: string;
  subject: { kind: 'user' | 'group' | 'organization' | 'workspace'; id: string };
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
  requestId?: string;
}
