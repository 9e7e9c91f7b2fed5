/**
 * `/Groups` (RFC 7644 §3). Member operations in PATCH are applied as set operations on memberships rather than by
 * rewriting the group (scimmy's read-patch-write takes seconds on a 50k-member group: PERFORMANCE.md §2.5); the
 * group's own attributes go through scimmy's PatchOp.
 */
import { Router } from 'express';
import SCIMMY from 'scimmy';
import type { DeepReadonly, Store } from '../store/port';
import type { GroupDoc } from '../store/documents';
import * as groups from '../services/groups';
import type { GroupAttributes, MemberInput } from '../services/groups';
import type { RequestContext } from '../services/context';
import { badRequest, notFound, refusedValue, ScimError } from './errors';
import { etagOf, renderGroup } from './render';
import { applySelection, isSelected, type AttributeSelection } from './selection';
import { baseUrlOf, contextOf, ifMatchVersions, listParamsOf, searchParamsOf } from './request';
import { coerceInbound, CORE_GROUP, definitionOf, groupSchema } from './schema';
import { canonicalOperations, inRequestTerms, targetedNames, type Origin, type PatchOperation } from './patch-paths';
import { guardPatchPath } from './guards';
import { isObject, jsonCopy } from './json';
import { methodNotAllowed } from '../http/error-handler';
import { resourceEndpoints, type ResourceType } from './resource-endpoints';
import { asyncHandler } from '../http/async-handler';
import type { ScimRouterDeps } from './users-router';
import { membersInGroup, membersInGroupPatch } from './quirks';

export const GROUP_SCHEMA_URNS = [CORE_GROUP] as const;

/** Validates an inbound group with scimmy and splits attributes from members. */
export function coerceGroup(body: unknown): { attrs: GroupAttributes; members: MemberInput[] | undefined } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('invalidSyntax', 'the request body must be a JSON object');
  }
  let coerced: Record<string, unknown>;
  try {
    coerced = coerceInbound(groupSchema(), membersInGroup(body) as Record<string, unknown>);
  } catch (error) {
    throw refusedValue(error);
  }
  if (typeof coerced.displayName !== 'string' || coerced.displayName.trim() === '') {
    throw badRequest('invalidValue', 'displayName is required');
  }
  const attrs: GroupAttributes = { displayName: coerced.displayName };
  if (typeof coerced.externalId === 'string') attrs.externalId = coerced.externalId;
  const members = Array.isArray(coerced.members) ? membersOf(coerced.members, 'members') : undefined;
  return { attrs, members };
}

/** Reads a `members` value: an array of `{value, display?, type?}` (a single object is accepted as a list of one). */
function membersOf(value: unknown, where: string): MemberInput[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map((m, i) => {
    if (m === null || typeof m !== 'object' || typeof (m as { value?: unknown }).value !== 'string' || !(m as { value: string }).value) {
      throw badRequest('invalidValue', `${where}[${i}] must be an object with a string "value"`);
    }
    const { value, display, type } = m as { value: string; display?: unknown; type?: unknown };
    const kind = typeof type === 'string' && type.toLowerCase() === 'group' ? 'Group' : 'User';
    return { value, type: kind, ...(typeof display === 'string' ? { display } : {}) };
  });
}

const MEMBERS_PATH = /^(?:urn:ietf:params:scim:schemas:core:2\.0:Group:)?members$/i;
const MEMBERS_FILTER_PATH = /^(?:urn:ietf:params:scim:schemas:core:2\.0:Group:)?members\[(.+)\](?:\.value)?$/i;
const META_PATH = /^(?:urn:ietf:params:scim:schemas:core:2\.0:Group:)?meta(\.|$)/i;

/**
 * The member ids selected by a value filter such as `value eq "u2"` or `value eq "u2" or value eq "u3"`: the forms
 * IdPs send. Anything else cannot name members of a group and is an invalid filter.
 */
function memberIdsOfFilter(filter: string, index: number): string[] {
  const invalid = () => badRequest('invalidFilter', `operation ${index}: only members[value eq "<id>"] filters are supported`);
  let parsed: Array<Record<string, unknown>>;
  try {
    parsed = new SCIMMY.Types.Filter(filter) as unknown as Array<Record<string, unknown>>;
  } catch {
    throw invalid();
  }
  return parsed.map((branch) => {
    const keys = Object.keys(branch);
    const expr = branch.value as unknown[];
    if (keys.length !== 1 || keys[0] !== 'value' || !Array.isArray(expr) || expr[0] !== 'eq' || typeof expr[1] !== 'string') throw invalid();
    return expr[1];
  });
}

/** Renders groups, loading members only when `members` will be shown (also used by `/.search`). */
export function renderGroupResources(store: Store, base: string, docs: ReadonlyArray<DeepReadonly<GroupDoc>>, include?: AttributeSelection, exclude?: AttributeSelection) {
  const withMembers = isSelected('members', include, exclude);
  return Promise.all(
    docs.map(async (doc) => {
      const members = withMembers ? await groups.membersOf(store, doc.orgId, doc._id) : undefined;
      return applySelection(renderGroup(doc, base, members), include, exclude);
    }),
  );
}

/** /Groups as the shared endpoints see it. */
const GROUP_TYPE: ResourceType<GroupDoc> = {
  name: 'Group',
  endpoint: 'Groups',
  schemaUrns: GROUP_SCHEMA_URNS,
  scope: groups.groupScope,
  list: groups.listGroups,
  get: groups.getGroup,
  render: renderGroupResources,
};

/** A group PATCH checked and split: the member changes to run in order, and the operations on the group's attributes. */
async function planGroupPatch(store: Store, ctx: RequestContext, group: DeepReadonly<GroupDoc>, operations: PatchOperation[], memberOptions: groups.MemberOptions) {
  const attributeOps: PatchOperation[] = [];
  const attributeOrigins: Origin[] = [];
  const memberChanges: Array<() => Promise<number>> = [];
  const resolve = (value: unknown, where: string) => groups.resolveMembers(store, ctx, membersOf(value, where), memberOptions);
  for (const [i, operation] of operations.entries()) {
    const index = i + 1;
    const op = operation.op.toLowerCase();
    const path = operation.path?.trim();
    if (path) guardPatchPath(path);
    // RFC 7644 §3.5.2: an operation on a read-only attribute is refused, not ignored.
    if (targetedNames(operation).some((name) => META_PATH.test(name))) throw new ScimError(400, 'mutability', `operation ${index}: meta is read-only`);
    if (path && MEMBERS_PATH.test(path)) {
      if (op === 'add') {
        const members = await resolve(operation.value, `operation ${index} value`);
        memberChanges.push(() => groups.addMembers(store, ctx, group, members));
      } else if (op === 'replace') {
        const members = await resolve(operation.value ?? [], `operation ${index} value`);
        memberChanges.push(() => groups.replaceMembers(store, ctx, group, members));
      } else if (operation.value !== undefined) {
        // `remove` with a value array removes only those members (Entra's form, E51); without one, all (RFC, E60).
        const values = membersOf(operation.value, `operation ${index} value`).map((m) => m.value);
        memberChanges.push(() => groups.removeMembers(store, ctx, group, values));
      } else memberChanges.push(() => groups.removeMembers(store, ctx, group));
      continue;
    }
    const filtered = path ? MEMBERS_FILTER_PATH.exec(path) : null;
    if (filtered) {
      if (op !== 'remove') throw badRequest('invalidPath', `operation ${index}: members[...] can only be removed; add members through "members"`);
      const values = memberIdsOfFilter(filtered[1], index);
      memberChanges.push(() => groups.removeMembers(store, ctx, group, values));
      continue;
    }
    if (!path && isObject(operation.value)) {
      // A pathless value may carry members beside the group's own attributes (Okta sends `{id, displayName}`).
      const { members, id, ...rest } = Object.fromEntries(Object.entries(operation.value).map(([k, v]) => [k.toLowerCase() === 'members' ? 'members' : k.toLowerCase() === 'id' ? 'id' : k, v]));
      if (id !== undefined && id !== group._id) throw new ScimError(400, 'mutability', `operation ${index}: id is immutable`);
      if (members !== undefined) {
        const resolved = await resolve(members, `operation ${index} value.members`);
        memberChanges.push(() => (op === 'replace' ? groups.replaceMembers(store, ctx, group, resolved) : groups.addMembers(store, ctx, group, resolved)));
      }
      if (Object.keys(rest).length > 0) {
        attributeOps.push({ ...operation, value: rest });
        attributeOrigins.push({ op: operation.op, index });
      }
      continue;
    }
    attributeOps.push(operation);
    attributeOrigins.push({ op: operation.op, index });
  }
  return { attributeOps, attributeOrigins, memberChanges };
}

export function groupsRouter({ store, publicUrl, unknownMembers = 'reject' }: ScimRouterDeps): Router {
  const router = Router();
  const memberOptions = { ignoreUnknown: unknownMembers === 'ignore' };

  const endpoints = resourceEndpoints(GROUP_TYPE, store, publicUrl);
  const { list, found } = endpoints;
  const sendGroup = endpoints.send;

  router
    .route('/')
    .get(asyncHandler((req, res) => list(req, res, listParamsOf(req.query))))
    .post(
      asyncHandler(async (req, res) => {
        const { attrs, members } = coerceGroup(req.body);
        await sendGroup(req, res, await groups.createGroup(store, contextOf(req, res), attrs, members ?? [], memberOptions), 201);
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
        const ctx = contextOf(req, res);
        const { attrs, members } = coerceGroup(req.body);
        // Members are checked before anything is written: an unknown one refuses the whole request.
        const resolved = await groups.resolveMembers(store, ctx, members ?? [], memberOptions);
        let doc = await groups.updateGroup(store, ctx, req.params.id, () => attrs, ifMatchVersions(req));
        if (!doc) throw notFound(`Group ${req.params.id} not found`);
        // PUT replaces: an absent `members` means no members (RFC 7644 §3.5.1).
        if ((await groups.replaceMembers(store, ctx, doc, resolved)) > 0) doc = (await groups.touchGroup(store, ctx, doc._id)) ?? doc;
        await sendGroup(req, res, doc);
      }),
    )
    .patch(
      asyncHandler(async (req, res) => {
        const ctx = contextOf(req, res);
        const patch = new SCIMMY.Messages.PatchOp(membersInGroupPatch(req.body));
        let group = (await endpoints.checkIfMatch(req, res)) ?? (await found(req, res));
        // RFC 7644 §3.5.2: a PATCH is atomic. Every operation is checked — members resolved, attribute operations
        // applied to the group as read — before the first write; then the member changes run in order and the
        // attributes are written.
        const { attributeOps, attributeOrigins, memberChanges } = await planGroupPatch(store, ctx, group, patch.Operations as PatchOperation[], memberOptions);
        const base = baseUrlOf(req, publicUrl);
        const patchAttributes = async (current: DeepReadonly<GroupDoc>) => {
          const GroupSchema = groupSchema();
          const { meta: _m, ...resource } = renderGroup(current, base);
          const { operations, origins } = canonicalOperations(definitionOf(GroupSchema), resource, attributeOps, attributeOrigins);
          let patched: unknown;
          try {
            patched = await new SCIMMY.Messages.PatchOp({ schemas: patch.schemas, Operations: operations as never }).apply(new GroupSchema(resource, 'out') as never);
          } catch (error) {
            throw refusedValue(inRequestTerms(error, origins));
          }
          return patched ? coerceGroup(jsonCopy(patched)).attrs : undefined;
        };
        if (attributeOps.length > 0) await patchAttributes(group);
        let membershipChanged = 0;
        for (const change of memberChanges) membershipChanged += await change();
        if (attributeOps.length > 0) {
          const updated = await groups.updateGroup(store, ctx, group._id, patchAttributes);
          if (!updated) throw notFound(`Group ${req.params.id} not found`);
          group = updated;
        }
        if (membershipChanged > 0) group = (await groups.touchGroup(store, ctx, group._id)) ?? group;
        // RFC 7644 §3.5.2 lets a server answer 204; a group's full member list can be large, so it is only sent
        // when the client asks for attributes.
        if (req.query.attributes === undefined && req.query.excludedAttributes === undefined) {
          res.set('ETag', etagOf(group.version)).status(204).end();
          return;
        }
        await sendGroup(req, res, group);
      }),
    )
    .delete(
      asyncHandler(async (req, res) => {
        await endpoints.checkIfMatch(req, res);
        if (!(await groups.deleteGroup(store, contextOf(req, res), req.params.id))) throw notFound(`Group ${req.params.id} not found`);
        res.status(204).end();
      }),
    )
    .all(methodNotAllowed('GET', 'PUT', 'PATCH', 'DELETE'));

  return router;
}
