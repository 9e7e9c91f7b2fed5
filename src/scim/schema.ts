/**
 * SCIM schema declarations (RFC 7643) in scimmy: core User with the enterprise extension and our read-only
 * lifecycle extension, and core Group. scimmy keeps these in global state, so they are declared exactly once per
 * process, before the discovery router is built (STYLE.md, "scimmy facts").
 *
 * scimmy validates and coerces inbound resources and applies PatchOp; we render outbound resources ourselves
 * (`render.ts`), because scimmy's per-resource outbound coercion costs ~0.3 ms a user (PERFORMANCE.md §2).
 */
import SCIMMY from 'scimmy';
import { coerceResource } from './coerce';
import { jsonCopy } from './json';
import { isDefinition, type ScimmyDefinition } from './scimmy-types';

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const LIFECYCLE_USER = 'urn:ietf:params:scim:schemas:extension:lifecycle:2.0:User';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
export const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';

/** Page size when the client gives no `count`, and the most one page may hold (`filter.maxResults`). */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 200;
/** Bulk limits advertised in ServiceProviderConfig and enforced by the Bulk endpoint. */
export const BULK_MAX_OPERATIONS = 100;
export const BULK_MAX_PAYLOAD_BYTES = 1024 * 1024;

const { Attribute, SchemaDefinition } = SCIMMY.Types;

/**
 * Our lifecycle extension: every attribute `mutable: false, direction: "out"`, so scimmy drops them from anything an
 * IdP sends (POST, PUT, PATCH) and they can only be changed by lifecycle rules.
 */
const readOnly = (type: string, name: string, extra: Record<string, unknown> = {}) =>
  new Attribute(type as never, name, { mutable: false, direction: 'out', ...extra } as never);

export const LifecycleExtension = new SchemaDefinition(
  'LifecycleUser',
  LIFECYCLE_USER,
  'Lifecycle state of the account in this organization (read-only; changed by provisioning rules, admins and policies)',
  [
    readOnly('boolean', 'managed', { description: 'The account belongs to this organization (claimed domain or SSO first login)' }),
    readOnly('string', 'accountStatus', { canonicalValues: ['active', 'deactivated', 'pending_deletion', 'deleted'] }),
    readOnly('string', 'license', { canonicalValues: ['licensed', 'free', 'revoked', 'pending_seat'] }),
    readOnly('string', 'siteAccess', { canonicalValues: ['invited', 'active', 'suspended', 'removed'] }),
    readOnly('dateTime', 'lastActive'),
    readOnly('dateTime', 'deactivatedAt'),
    readOnly('string', 'deactivatedBy'),
  ],
);

let declared = false;

/** Declares User (+ enterprise, + lifecycle) and Group with scimmy; safe to call more than once. */
export function declareScimSchemas(): void {
  if (declared) return;
  declared = true;
  SCIMMY.Resources.declare(SCIMMY.Resources.User)
    .extend(SCIMMY.Schemas.EnterpriseUser, false)
    .extend(LifecycleExtension as never, false);
  SCIMMY.Resources.declare(SCIMMY.Resources.Group);
}

/** Advertises exactly what the server does (RFC 7643 §5); called after the discovery router is built, which resets it. */
export function advertiseServiceProviderConfig(): void {
  // scimmy appends authentication schemes on every router construction; keep exactly the one we use.
  SCIMMY.Config.set('authenticationSchemes' as never, [] as never);
  SCIMMY.Config.set({
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'A bearer token in the Authorization header (RFC 6750), issued per directory connection',
        specUri: 'https://www.rfc-editor.org/info/rfc6750',
      },
    ],
    documentationUri: undefined,
    patch: { supported: true },
    bulk: { supported: true, maxOperations: BULK_MAX_OPERATIONS, maxPayloadSize: BULK_MAX_PAYLOAD_BYTES },
    filter: { supported: true, maxResults: MAX_PAGE_SIZE },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
  } as never);
}

/**
 * Validates and coerces a request body as `new Schema(body, "in")` does, through the schema's definition alone
 * (`coerce.ts`: scimmy's definition coercion without its accessor objects). scimmy's schema instance defines accessors
 * for every attribute and then assigns the coerced value through them, coercing everything a second time: ~550 µs a
 * user against ~170 µs (PERFORMANCE.md §2), ~85 µs through the definition, ~40 µs here. The instance's own checks —
 * `schemas` must name the resource's schema and every required extension — are made here, with scimmy's words. Unlike
 * the instance, the result keeps write-only attributes (`password`) and read-only extensions: callers drop both.
 */
export function coerceInbound(schema: object, body: Record<string, unknown>): Record<string, unknown> {
  const definition = (schema as { definition: ScimmyDefinition }).definition;
  const { schemas = [] } = body as { schemas?: unknown };
  if (Array.isArray(schemas) && schemas.length > 0) {
    if (!schemas.includes(definition.id)) {
      throw new SCIMMY.Types.Error(400, 'invalidSyntax', 'The request body supplied a schema type that is incompatible with this resource');
    }
    for (const extension of definition.attributes.filter(isDefinition)) {
      if (extension.required && !schemas.includes(extension.id)) {
        throw new SCIMMY.Types.Error(400, 'invalidValue', `The request body is missing schema extension '${extension.id}' required by this resource type`);
      }
    }
  }
  return jsonCopy(coerceResource(definition, body, 'in')) as Record<string, unknown>;
}

/** The scimmy schema definition behind a schema class (its attributes and extensions). */
export const definitionOf = (schema: object): object => (schema as { definition: object }).definition;

/** scimmy's User schema class with both extensions; `new UserSchema(body, "in")` validates and coerces a request. */
export const userSchema = () => SCIMMY.Resources.User.schema as unknown as new (data: unknown, direction?: string) => Record<string, unknown>;
/** scimmy's Group schema class. */
export const groupSchema = () => SCIMMY.Resources.Group.schema as unknown as new (data: unknown, direction?: string) => Record<string, unknown>;
