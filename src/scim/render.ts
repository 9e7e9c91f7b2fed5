/**
 * Stored documents → SCIM resources (RFC 7643 §3). Rendering is direct object construction rather than scimmy's
 * outbound coercion, which costs ~0.3 ms a user and would dominate every read (PERFORMANCE.md §2): stored data was
 * validated by scimmy on the way in, so the way out only has to put it in shape.
 */
import type { GroupDoc, MembershipDoc, UserDoc } from '../store/documents';
import type { DeepReadonly } from '../store/port';
import { CORE_GROUP, CORE_USER, ENTERPRISE_USER, LIFECYCLE_USER } from './schema';

export type ScimResource = Record<string, unknown> & { id: string; schemas: string[] };

/** `W/"<version>"`: a weak ETag, since the representation may vary with attribute selection. */
export const etagOf = (version: number) => `W/"${version}"`;

/** The group memberships shown in a user's read-only `groups` attribute. */
export interface UserGroupRef {
  value: string;
  display: string;
}

export function renderUser(doc: DeepReadonly<UserDoc>, baseUrl: string, groups?: UserGroupRef[]): ScimResource {
  const schemas = doc.enterprise ? [CORE_USER, ENTERPRISE_USER, LIFECYCLE_USER] : [CORE_USER, LIFECYCLE_USER];
  const resource: ScimResource = { schemas, id: doc._id, ...doc.scim };
  if (doc.enterprise) resource[ENTERPRISE_USER] = doc.enterprise;
  if (groups) {
    resource.groups = groups.map((g) => ({ value: g.value, display: g.display, $ref: `${baseUrl}/Groups/${g.value}`, type: 'direct' }));
  }
  if (doc.lifecycle) {
    const l = doc.lifecycle;
    resource[LIFECYCLE_USER] = {
      managed: l.managed,
      accountStatus: l.accountStatus,
      license: l.license,
      siteAccess: l.siteAccess,
      ...(l.lastActive ? { lastActive: l.lastActive.toISOString() } : {}),
      ...(l.deactivatedAt ? { deactivatedAt: l.deactivatedAt.toISOString() } : {}),
      ...(l.deactivatedBy ? { deactivatedBy: l.deactivatedBy } : {}),
    };
  }
  resource.meta = {
    resourceType: 'User',
    created: doc.created.toISOString(),
    lastModified: doc.lastModified.toISOString(),
    location: `${baseUrl}/Users/${doc._id}`,
    version: etagOf(doc.version),
  };
  return resource;
}

export function renderGroup(doc: DeepReadonly<GroupDoc>, baseUrl: string, members?: MembershipDoc[]): ScimResource {
  const resource: ScimResource = { schemas: [CORE_GROUP], id: doc._id };
  if (doc.externalId !== undefined) resource.externalId = doc.externalId;
  resource.displayName = doc.displayName;
  if (members) {
    resource.members = members.map((m) => ({
      value: m.value,
      ...(m.display !== undefined ? { display: m.display } : {}),
      $ref: `${baseUrl}/${m.type === 'Group' ? 'Groups' : 'Users'}/${m.value}`,
      type: m.type,
    }));
  }
  resource.meta = {
    resourceType: 'Group',
    created: doc.created.toISOString(),
    lastModified: doc.lastModified.toISOString(),
    location: `${baseUrl}/Groups/${doc._id}`,
    version: etagOf(doc.version),
  };
  return resource;
}
