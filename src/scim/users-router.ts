/**
 * `/Users` (RFC 7644 §3): each handler is a straight line — parse, call the service, render.
 */
import { Router } from 'express';
import SCIMMY from 'scimmy';
import type { DeepReadonly, Store } from '../store/port';
import type { UserDoc } from '../store/documents';
import * as users from '../services/users';
import type { UserAttributes } from '../services/users';
import { badRequest, notFound, refusedValue, ScimError } from './errors';
import { renderUser, etagOf } from './render';
import { applySelection, isSelected, type AttributeSelection } from './selection';
import { baseUrlOf, contextOf, ifMatchVersions, listParamsOf, searchParamsOf } from './request';
import { coerceInbound, CORE_USER, definitionOf, ENTERPRISE_USER, LIFECYCLE_USER, userSchema } from './schema';
import { canonicalOperations, inRequestTerms, targetedNames, type PatchOperation } from './patch-paths';
import { appliedPatch } from './patch-apply';
import { assertOnePrimary, valuesAfterPatch } from './multi-valued';
import { isObject, jsonCopy, type Json } from './json';
import { guardPatchPath } from './guards';
import { methodNotAllowed } from '../http/error-handler';
import { resourceEndpoints, type ResourceType } from './resource-endpoints';
import { organizationOf } from '../services/organizations';
import { asyncHandler } from '../http/async-handler';
import { booleanStringsInPatch, booleanStringsInUser, filteredPathUpserts, managerStringInPatch, managerValueFilter, nullsAsUnassigned } from './quirks';

export const USER_SCHEMA_URNS = [CORE_USER, ENTERPRISE_USER, LIFECYCLE_USER] as const;

export interface ScimRouterDeps {
  store: Store;
  publicUrl?: string;
  /** `no-content`: a user PATCH answers 204 unless `attributes`/`excludedAttributes` asks for the resource. */
  userPatchResponse?: 'resource' | 'no-content';
  /** What a group write does with member ids that are not accounts of the organization (README "IdP compatibility choices"). */
  unknownMembers?: 'reject' | 'ignore';
}

/**
 * Validates and coerces an inbound user with scimmy (types, required `userName`, unknown attributes dropped,
 * read-only ones — `id`, `meta`, `groups`, our lifecycle extension — ignored) and splits it into stored parts.
 * scimmy reports a wrong type as a TypeError; to the client that is a 400 `invalidValue`.
 */
export function coerceUser(body: unknown): UserAttributes {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('invalidSyntax', 'the request body must be a JSON object');
  }
  let coerced: Record<string, unknown>;
  try {
    coerced = coerceInbound(userSchema(), booleanStringsInUser(nullsAsUnassigned(body)) as Record<string, unknown>);
  } catch (error) {
    throw refusedValue(error);
  }
  const { schemas: _s, meta: _m, id: _i, groups: _g, password: _p, [ENTERPRISE_USER]: enterprise, [LIFECYCLE_USER]: _l, ...scim } = coerced;
  if (typeof scim.userName !== 'string' || scim.userName.trim() === '') {
    throw badRequest('invalidValue', 'userName is required');
  }
  dropNullValues(scim);
  assertOnePrimary(scim);
  const ent = enterprise && typeof enterprise === 'object' && Object.keys(enterprise).length > 0 ? withoutManagerRef(enterprise as Record<string, unknown>) : undefined;
  return { scim: scim as UserAttributes['scim'], enterprise: ent };
}

/** A null in a collection is no value (RFC 7643 §2.5); scimmy passes it through, and "emails": [null] was a 500. */
function dropNullValues(scim: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(scim)) {
    if (!Array.isArray(value) || value.every((v) => v !== null && v !== undefined)) continue;
    const kept = value.filter((v) => v !== null && v !== undefined);
    if (kept.length > 0) scim[key] = kept;
    else delete scim[key];
  }
}

/**
 * `manager.$ref` is the manager's URI, which `manager.value` already names; and a stored key cannot begin with `$`
 * (the embedded store refuses it, MongoDB treats it as an operator), so it is not kept.
 */
function withoutManagerRef(enterprise: Record<string, unknown>): Record<string, unknown> {
  const manager = enterprise.manager;
  if (manager === null || typeof manager !== 'object' || !('$ref' in manager)) return enterprise;
  const { $ref: _ref, ...rest } = manager as Record<string, unknown>;
  return { ...enterprise, manager: rest };
}

const GROUPS_PATH = /^(urn:ietf:params:scim:schemas:core:2\.0:User:)?groups(\[|\.|$)/i;
const META_PATH = /^(urn:ietf:params:scim:schemas:core:2\.0:User:)?meta(\.|$)/i;
const LIFECYCLE_PATH = new RegExp(`^${LIFECYCLE_USER.replace(/\./g, '\\.')}(:|$)`, 'i');

/**
 * RFC 7644 §3.5.2: an operation on a read-only attribute is refused (400 `mutability`), not ignored: `groups`
 * (membership changes go through /Groups, RELIABILITY.md 0.10), `meta`, and our lifecycle extension, which only
 * lifecycle rules change. By path, or as a key of a pathless value.
 */
function refuseReadOnlyTargets(operations: Array<{ path?: unknown; value?: unknown }>): void {
  operations.forEach((op, i) => {
    if (typeof op.path === 'string' && op.path.trim() !== '') guardPatchPath(op.path.trim());
    const names = targetedNames(op);
    if (names.some((name) => GROUPS_PATH.test(name))) {
      throw new ScimError(400, 'mutability', `operation ${i + 1}: groups is read-only on a User; change membership through /Groups`);
    }
    if (names.some((name) => META_PATH.test(name))) throw new ScimError(400, 'mutability', `operation ${i + 1}: meta is read-only`);
    if (names.some((name) => LIFECYCLE_PATH.test(name))) {
      throw new ScimError(400, 'mutability', `operation ${i + 1}: the lifecycle extension is read-only; it changes only by lifecycle rules`);
    }
  });
}

const ACTIVE_PATH = /^(urn:ietf:params:scim:schemas:core:2\.0:User:)?active$/i;

/**
 * The value of `active` when every operation of a PATCH only sets it (`replace`/`add` with path `active`, or with no
 * path and `{"active": …}`): how Okta and Entra deactivate and reactivate. Such a PATCH is applied directly, without
 * scimmy's read-coerce-apply-coerce round (~1 ms a request, PERFORMANCE.md §2); the result is the same user (tested
 * against the general path). `undefined` for any other PATCH.
 */
function activeOnly(operations: Array<{ op?: unknown; path?: unknown; value?: unknown }>): boolean | undefined {
  let active: boolean | undefined;
  for (const { op, path, value } of operations) {
    if (typeof op !== 'string' || !/^(add|replace)$/i.test(op)) return undefined;
    let next: unknown;
    if (typeof path === 'string') {
      if (!ACTIVE_PATH.test(path)) return undefined;
      next = value;
    } else if (path === undefined && isObject(value)) {
      const keys = Object.keys(value);
      if (keys.length !== 1 || !ACTIVE_PATH.test(keys[0])) return undefined;
      next = (value as Record<string, unknown>)[keys[0]];
    } else {
      return undefined;
    }
    if (typeof next !== 'boolean') return undefined;
    active = next;
  }
  return active;
}

/** Renders users with their groups, loading memberships only when `groups` will be shown (also used by `/.search`). */
export async function renderUserResources(store: Store, base: string, docs: ReadonlyArray<DeepReadonly<UserDoc>>, include?: AttributeSelection, exclude?: AttributeSelection) {
  const withGroups = isSelected('groups', include, exclude);
  const groups = withGroups && docs.length > 0 ? await users.groupsOfUsers(store, docs[0].orgId, docs.map((d) => d._id)) : undefined;
  return docs.map((doc) => applySelection(renderUser(doc, base, groups?.get(doc._id)), include, exclude));
}

/** /Users as the shared endpoints see it. */
const USER_TYPE: ResourceType<UserDoc> = {
  name: 'User',
  endpoint: 'Users',
  schemaUrns: USER_SCHEMA_URNS,
  scope: users.userScope,
  list: users.listUsers,
  get: users.readUser,
  render: renderUserResources,
};

export function usersRouter({ store, publicUrl, userPatchResponse = 'resource' }: ScimRouterDeps): Router {
  const router = Router();

  const endpoints = resourceEndpoints(USER_TYPE, store, publicUrl);
  const { list } = endpoints;
  const sendUser = endpoints.send;

  router
    .route('/')
    .get(asyncHandler((req, res) => list(req, res, listParamsOf(req.query))))
    .post(
      asyncHandler(async (req, res) => {
        const ctx = contextOf(req, res);
        const attrs = coerceUser(req.body);
        await sendUser(req, res, await users.createUser(store, ctx, await organizationOf(store, ctx), attrs), 201);
      }),
    )
    .all(methodNotAllowed('GET', 'POST'));

  router
    .route('/.search')
    .post(asyncHandler((req, res) => list(req, res, searchParamsOf(req.body))))
    .all(methodNotAllowed('POST'));

  router
    .route('/:id')
    .get(asyncHandler(endpoints.get))
    .put(
      asyncHandler(async (req, res) => {
        const attrs = coerceUser(req.body);
        // PUT replaces an existing resource; it never creates one with a client-chosen id (RELIABILITY.md 0.9).
        const ctx = contextOf(req, res);
        const doc = await users.updateUser(store, ctx, await organizationOf(store, ctx), req.params.id, () => attrs, ifMatchVersions(req));
        if (!doc) throw notFound(`User ${req.params.id} not found`);
        await sendUser(req, res, doc);
      }),
    )
    .patch(
      asyncHandler(async (req, res) => {
        const patch = new SCIMMY.Messages.PatchOp(managerStringInPatch(booleanStringsInPatch(req.body)));
        refuseReadOnlyTargets(patch.Operations as Array<{ path?: unknown; value?: unknown }>);
        const base = baseUrlOf(req, publicUrl);
        const ctx = contextOf(req, res);
        const active = activeOnly(patch.Operations as Array<{ op?: unknown; path?: unknown; value?: unknown }>);
        const doc = await users.updateUser(
          store,
          ctx,
          await organizationOf(store, ctx),
          req.params.id,
          async (current) => {
            if (active !== undefined) {
              // Nothing to change (an IdP repeating a deactivation): no write and no new version, as on the general path.
              return current.scim.active === active ? undefined : { scim: { ...current.scim, active }, enterprise: current.enterprise };
            }
            const UserSchema = userSchema();
            const { meta: _m, ...resource } = renderUser(current, base);
            // Entra quirks that depend on the stored user (quirks.ts): manager[value eq …] removal, filtered-path upserts;
            // then the spelling scimmy applies (patch-paths.ts).
            const quirked = managerValueFilter(resource, patch.Operations);
            if (quirked.length === 0) return undefined;
            const { operations, origins } = canonicalOperations(definitionOf(UserSchema), resource, quirked as PatchOperation[]);
            let patched: unknown;
            try {
              patched = await appliedPatch(UserSchema, filteredPathUpserts(resource, operations), operations);
            } catch (error) {
              throw refusedValue(inRequestTerms(error, origins));
            }
            return patched ? coerceUser(valuesAfterPatch(resource, jsonCopy(patched) as Json)) : undefined;
          },
          ifMatchVersions(req),
        );
        if (!doc) throw notFound(`User ${req.params.id} not found`);
        // RFC 7644 §3.5.2: 200 with the resource, or 204 (README "IdP compatibility choices").
        if (userPatchResponse === 'no-content' && req.query.attributes === undefined && req.query.excludedAttributes === undefined) {
          res.set('ETag', etagOf(doc.version)).status(204).end();
          return;
        }
        await sendUser(req, res, doc);
      }),
    )
    .delete(
      asyncHandler(async (req, res) => {
        const ctx = contextOf(req, res);
        await endpoints.checkIfMatch(req, res);
        if (!(await users.unlinkUser(store, ctx, await organizationOf(store, ctx), req.params.id))) throw notFound(`User ${req.params.id} not found`);
        res.status(204).end();
      }),
    )
    .all(methodNotAllowed('GET', 'PUT', 'PATCH', 'DELETE'));

  return router;
}
