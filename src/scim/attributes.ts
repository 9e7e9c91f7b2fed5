/**
 * The allowlist of SCIM attribute paths a client may filter or sort on, per resource type, and where each one is
 * stored (see `store/documents.ts`).
 *
 * Why an allowlist: a filter or `sortBy` is client text. Mapping its attribute names onto query keys directly would
 * let a client write `$where`, `userNameKey`, `orgId` or `__proto__` into a query (RELIABILITY.md 0.1, 0.9). Every
 * stored path used in a query therefore comes from the tables below, never from the request.
 *
 * Attribute names are case-insensitive (RFC 7643 §2.1), so lookups use lower-cased names. A name may carry its schema
 * URN as a prefix (RFC 7644 §3.10, e.g. `urn:ietf:params:scim:schemas:core:2.0:User:userName`); enterprise extension
 * attributes are only reachable with their URN prefix, because without it a name refers to the core schema.
 * Types and `caseExact` follow the schema definitions of RFC 7643 §4.1, §4.2 (groups) and §4.3 (enterprise).
 */
import type { Query } from '../store/port';
import { EVERY_RESOURCE } from '../store/query';
import { CORE_GROUP, CORE_USER, ENTERPRISE_USER, LIFECYCLE_USER } from './schema';

/** SCIM attribute data types (RFC 7643 §2.3) that can appear in a filter. */
export type AttributeType = 'string' | 'boolean' | 'dateTime' | 'integer' | 'decimal' | 'reference' | 'binary';

/** The resource types this server filters and sorts. */
export type ResourceTypeName = 'User' | 'Group';

/** A leaf attribute: a singular value stored at one path. */
export interface SimpleAttribute {
  readonly kind: 'simple';
  /** Canonical SCIM name, for error messages. */
  readonly name: string;
  /** Stored path (dot notation), relative to the document, or to the element for sub-attributes of a multi-valued attribute. */
  readonly stored: string;
  readonly type: AttributeType;
  /** RFC 7643 §2.4 `caseExact`: when false, comparisons ignore case. */
  readonly caseExact: boolean;
  /**
   * A stored lower-cased copy of the value (`userNameKey`, `emailKeys`, `displayNameKey`), used for case-insensitive
   * `eq` so that it is an index lookup rather than a regular expression.
   */
  readonly key?: string;
}

/**
 * A string attribute the server derives instead of storing (`schemas`, `meta.resourceType`): each value a resource
 * can hold, with the stored condition under which it holds it. Its values compare case-insensitively; it cannot be
 * sorted on.
 */
export interface DerivedAttribute {
  readonly kind: 'derived';
  readonly name: string;
  readonly values: ReadonlyArray<{ readonly value: string; readonly when: Query }>;
}

/** A complex attribute (RFC 7643 §2.3.8): singular (`name`, `manager`, `meta`) or multi-valued (`emails`, ...). */
export interface ComplexAttribute {
  readonly kind: 'complex';
  readonly name: string;
  /** Stored path of the object (singular) or array (multi-valued); empty for `meta`, whose parts are top-level fields. */
  readonly stored: string;
  readonly multiValued: boolean;
  /** Sub-attributes by lower-cased name; their `stored` is relative to the complex value. */
  readonly sub: ReadonlyMap<string, SimpleAttribute | DerivedAttribute>;
}

/** An attribute that exists in the schema but cannot be filtered or sorted on here; `reason` is shown to the client. */
export interface UnsupportedAttribute {
  readonly kind: 'unsupported';
  readonly name: string;
  readonly reason: string;
}

export type AttributeEntry = SimpleAttribute | ComplexAttribute | DerivedAttribute | UnsupportedAttribute;

/** The result of resolving an attribute path such as `emails.value` or `urn:...:enterprise:2.0:User:manager.value`. */
export interface ResolvedAttribute {
  /** The top-level attribute (`emails`, `userName`, `manager`). */
  readonly attribute: AttributeEntry;
  /** The sub-attribute when the path names one (`value` of `emails.value`). */
  readonly sub?: SimpleAttribute | DerivedAttribute;
}

type Spec = [name: string, type: AttributeType, caseExact?: boolean, key?: string];

function simple(name: string, stored: string, type: AttributeType, caseExact = false, key?: string): SimpleAttribute {
  return { kind: 'simple', name, stored, type, caseExact, ...(key ? { key } : {}) };
}

function complex(name: string, stored: string, multiValued: boolean, subs: Spec[]): ComplexAttribute {
  const sub = new Map<string, SimpleAttribute>();
  for (const [subName, type, caseExact, key] of subs) {
    sub.set(subName.toLowerCase(), simple(`${name}.${subName}`, subName, type, caseExact ?? false, key));
  }
  return { kind: 'complex', name, stored, multiValued, sub };
}

function table(entries: AttributeEntry[]): ReadonlyMap<string, AttributeEntry> {
  return new Map(entries.map((e) => [e.name.toLowerCase(), e]));
}

/** Sub-attributes shared by most multi-valued attributes (RFC 7643 §2.4: value, display, type, primary). */
const PLURAL: Spec[] = [
  ['value', 'string'],
  ['display', 'string'],
  ['type', 'string'],
  ['primary', 'boolean'],
];

function derived(name: string, values: Array<[value: string, when: Query]>): DerivedAttribute {
  return { kind: 'derived', name, values: values.map(([value, when]) => ({ value, when })) };
}

/**
 * `meta.created` / `meta.lastModified` are stored as top-level Date fields (RFC 7643 §3.1); `meta.resourceType` is
 * the type itself (a search at the root, RFC 7644 §3.4.3, may filter on it).
 */
function meta(resourceType: ResourceTypeName): ComplexAttribute {
  const attribute = complex('meta', '', false, [
    ['created', 'dateTime'],
    ['lastModified', 'dateTime'],
  ]);
  const sub = new Map(attribute.sub).set('resourcetype', derived('meta.resourceType', [[resourceType, EVERY_RESOURCE]]));
  return { ...attribute, sub };
}

/** The schemas a resource's representation lists (render.ts): the enterprise extension's when it has that data. */
const USER_SCHEMAS = derived('schemas', [
  [CORE_USER, EVERY_RESOURCE],
  [ENTERPRISE_USER, { enterprise: { $exists: true, $ne: null } }],
  [LIFECYCLE_USER, EVERY_RESOURCE],
]);

const CORE_USER_ATTRIBUTES = table([
  USER_SCHEMAS,
  // RFC 7643 §3.1: `id` and `externalId` are caseExact.
  simple('id', '_id', 'string', true),
  simple('externalId', 'scim.externalId', 'string', true),
  simple('userName', 'scim.userName', 'string', false, 'userNameKey'),
  complex('name', 'scim.name', false, [
    ['formatted', 'string'],
    ['familyName', 'string'],
    ['givenName', 'string'],
    ['middleName', 'string'],
    ['honorificPrefix', 'string'],
    ['honorificSuffix', 'string'],
  ]),
  simple('displayName', 'scim.displayName', 'string'),
  simple('nickName', 'scim.nickName', 'string'),
  simple('profileUrl', 'scim.profileUrl', 'reference'),
  simple('title', 'scim.title', 'string'),
  simple('userType', 'scim.userType', 'string'),
  simple('preferredLanguage', 'scim.preferredLanguage', 'string'),
  simple('locale', 'scim.locale', 'string'),
  simple('timezone', 'scim.timezone', 'string'),
  simple('active', 'scim.active', 'boolean'),
  // `emails.value` has the lower-cased copy `emailKeys` (one entry per email), usable outside a value filter only:
  // inside `emails[...]` the condition must hold for one element, and the copy is not tied to an element.
  complex('emails', 'scim.emails', true, [['value', 'string', false, 'emailKeys'], ...PLURAL.slice(1)]),
  complex('phoneNumbers', 'scim.phoneNumbers', true, PLURAL),
  complex('ims', 'scim.ims', true, PLURAL),
  complex('photos', 'scim.photos', true, [['value', 'reference'], ...PLURAL.slice(1)]),
  complex('addresses', 'scim.addresses', true, [
    ['formatted', 'string'],
    ['streetAddress', 'string'],
    ['locality', 'string'],
    ['region', 'string'],
    ['postalCode', 'string'],
    ['country', 'string'],
    ['type', 'string'],
    ['primary', 'boolean'],
  ]),
  complex('entitlements', 'scim.entitlements', true, PLURAL),
  complex('roles', 'scim.roles', true, PLURAL),
  // RFC 7643 §4.1.2: x509Certificates.value is binary and caseExact.
  complex('x509Certificates', 'scim.x509Certificates', true, [['value', 'binary', true], ...PLURAL.slice(1)]),
  meta('User'),
  {
    kind: 'unsupported',
    name: 'groups',
    reason: "filtering users by 'groups' is not supported; read the group's members instead",
  },
  { kind: 'unsupported', name: 'password', reason: "'password' is never returned and cannot be filtered (RFC 7643 §4.1.1)" },
]);

const ENTERPRISE_USER_ATTRIBUTES = table([
  simple('employeeNumber', 'enterprise.employeeNumber', 'string'),
  simple('costCenter', 'enterprise.costCenter', 'string'),
  simple('organization', 'enterprise.organization', 'string'),
  simple('division', 'enterprise.division', 'string'),
  simple('department', 'enterprise.department', 'string'),
  complex('manager', 'enterprise.manager', false, [
    // The manager's id: ids are caseExact (RFC 7643 §3.1).
    ['value', 'string', true],
    ['displayName', 'string'],
  ]),
]);

const CORE_GROUP_ATTRIBUTES = table([
  derived('schemas', [[CORE_GROUP, EVERY_RESOURCE]]),
  simple('id', '_id', 'string', true),
  simple('externalId', 'externalId', 'string', true),
  simple('displayName', 'displayName', 'string', false, 'displayNameKey'),
  meta('Group'),
  {
    kind: 'unsupported',
    name: 'members',
    reason: "filtering groups by 'members' is not supported (members are stored apart from the group)",
  },
]);

/** Schema URN (lower-cased, with the trailing colon) → attribute table, per resource type. */
const SCHEMAS: Record<ResourceTypeName, { core: ReadonlyMap<string, AttributeEntry>; urns: [string, ReadonlyMap<string, AttributeEntry>][] }> = {
  User: {
    core: CORE_USER_ATTRIBUTES,
    urns: [
      [`${CORE_USER.toLowerCase()}:`, CORE_USER_ATTRIBUTES],
      [`${ENTERPRISE_USER.toLowerCase()}:`, ENTERPRISE_USER_ATTRIBUTES],
    ],
  },
  Group: { core: CORE_GROUP_ATTRIBUTES, urns: [[`${CORE_GROUP.toLowerCase()}:`, CORE_GROUP_ATTRIBUTES]] },
};

/**
 * Resolves an attribute path (RFC 7644 §3.10 attribute notation: `[URN ":"] name ["." subName]`) against the
 * allowlist. Matching is case-insensitive. Returns `undefined` for anything not in the allowlist; the caller raises
 * the error appropriate to where the path came from (`invalidFilter` for filters, `invalidValue` for `sortBy`).
 *
 * `Map` lookups (not object properties) are used so that names like `__proto__` or `constructor` can never resolve.
 */
export function resolveAttribute(resourceType: ResourceTypeName, path: string): ResolvedAttribute | undefined {
  const schema = SCHEMAS[resourceType];
  let rest = path.toLowerCase();
  let attributes = schema.core;
  if (rest.startsWith('urn:')) {
    // A URN contains dots ("2.0"), so the prefix is removed before the remainder is split on ".".
    const match = schema.urns.find(([urn]) => rest.startsWith(urn));
    if (!match) return undefined;
    rest = rest.slice(match[0].length);
    attributes = match[1];
  }
  const parts = rest.split('.');
  if (parts.length > 2) return undefined;
  const attribute = attributes.get(parts[0]);
  if (!attribute) return undefined;
  if (parts.length === 1) return { attribute };
  if (attribute.kind === 'unsupported') return { attribute };
  if (attribute.kind !== 'complex') return undefined;
  const sub = attribute.sub.get(parts[1]);
  return sub ? { attribute, sub } : undefined;
}

/** Resolves a bare sub-attribute name inside a value filter (`emails[type eq "work"]` → `type`). */
export function resolveSubAttribute(parent: ComplexAttribute, name: string): SimpleAttribute | DerivedAttribute | undefined {
  return parent.sub.get(name.toLowerCase());
}

/** Joins the stored path of a complex attribute and a sub-attribute (`meta` parts are top-level fields). */
export function joinStored(parent: ComplexAttribute, sub: SimpleAttribute): string {
  return parent.stored ? `${parent.stored}.${sub.stored}` : sub.stored;
}
