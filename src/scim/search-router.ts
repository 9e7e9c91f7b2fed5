/**
 * `POST /.search` at the SCIM root (RFC 7644 §3.4.3): one SearchRequest across Users and Groups.
 *
 * Results are all matching Users, then all matching Groups, each in its own sort order; `totalResults` is the true
 * sum and `startIndex`/`count` select a window over that concatenation, so a page may span the boundary. The
 * queries, sorts and rendering are those of `/Users` and `/Groups` (same services, same filter translation, same
 * renderers); paging still happens in the store.
 *
 * Filters apply to every resource type (RFC 7644 §3.4.2), but most attributes exist on only one of ours
 * (`userName` on Users, `members` on Groups). Our rule: if a filter names an attribute that a resource type does not
 * have, that type matches nothing (it contributes 0 to `totalResults`) — a Group never "has" a userName, so it cannot
 * satisfy a filter about one; an attribute that neither type has is `400 invalidFilter`, as on `/Users`. Filters
 * that name only attributes of both types (`displayName`, `externalId`, `meta.*`, `id`) run on both. `sortBy` is
 * treated the same way: a type without the attribute keeps its default stable order, neither type → 400.
 */
import { Router, type Request, type Response } from 'express';
import type { Query, Sort } from '../store/port';
import * as users from '../services/users';
import * as groups from '../services/groups';
import type { RequestContext } from '../services/context';
import { badRequest } from './errors';
import { parseFilter, translateFilter, type FilterNode } from './filter';
import { mayBeMissing, translateSort } from './sort';
import { resolveAttribute, type ResourceTypeName } from './attributes';
import { guardFilter, guardSortBy } from './guards';
import { parseAttributeList } from './selection';
import { baseUrlOf, contextOf, searchParamsOf, sendScim, type ListParams } from './request';
import { LIST_RESPONSE } from './schema';
import { andQuery, NO_RESOURCE } from '../store/query';
import { renderUserResources, USER_SCHEMA_URNS, type ScimRouterDeps } from './users-router';
import { GROUP_SCHEMA_URNS, renderGroupResources } from './groups-router';
import { methodNotAllowed } from '../http/error-handler';
import { asyncHandler } from '../http/async-handler';

const TYPES: readonly ResourceTypeName[] = ['User', 'Group'];

/** The attribute paths a filter names at the top level (value-filter sub-attributes belong to their parent). */
function attributePaths(node: FilterNode, into: string[] = []): string[] {
  switch (node.t) {
    case 'and':
    case 'or':
      node.items.forEach((item) => attributePaths(item, into));
      break;
    case 'not':
      attributePaths(node.item, into);
      break;
    default:
      into.push(node.path);
  }
  return into;
}

const show = (text: string) => JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);

/**
 * Each type's query, or `null` when the filter names an attribute the type does not have (it matches nothing).
 * @throws ScimError 400 `invalidFilter` for a malformed filter or an attribute neither type has.
 */
function queriesOf(ctx: RequestContext, filter: string | undefined): Record<ResourceTypeName, Query | null> {
  const scopes: Record<ResourceTypeName, Query> = { User: users.userScope(ctx), Group: groups.groupScope(ctx) };
  if (filter === undefined) return scopes;
  guardFilter(filter);
  const paths = attributePaths(parseFilter(filter));
  const known = (type: ResourceTypeName) => paths.every((path) => resolveAttribute(type, path) !== undefined);
  const unknownToAll = paths.find((path) => TYPES.every((type) => resolveAttribute(type, path) === undefined));
  if (unknownToAll !== undefined) throw badRequest('invalidFilter', `unknown or unfilterable attribute ${show(unknownToAll)}`);
  // Everything else (operator/type mismatches, unsupported attributes, bad value filters) is reported by the
  // translation of each type that has all the attributes, exactly as on /Users and /Groups. A type the filter rules
  // out by itself (`meta.resourceType eq "User"` for Groups) is not read at all.
  const queryOf = (type: ResourceTypeName) => {
    if (!known(type)) return null;
    const query = translateFilter(type, filter);
    return query === NO_RESOURCE ? null : andQuery(query, scopes[type]);
  };
  return { User: queryOf('User'), Group: queryOf('Group') };
}

/** Each type's sort: its default stable order when it lacks `sortBy`; 400 `invalidValue` when both lack it. */
function sortsOf(sortBy: string | undefined, sortOrder: string | undefined): Record<ResourceTypeName, Sort> {
  if (sortBy !== undefined) guardSortBy(sortBy);
  const has = (type: ResourceTypeName) => sortBy === undefined || sortBy.trim() === '' || resolveAttribute(type, sortBy.trim()) !== undefined;
  if (!has('User') && !has('Group')) return { User: translateSort('User', sortBy, sortOrder), Group: {} }; // throws invalidValue
  return {
    User: translateSort('User', has('User') ? sortBy : undefined, sortOrder),
    Group: translateSort('Group', has('Group') ? sortBy : undefined, sortOrder),
  };
}

export function searchRouter({ store, publicUrl }: ScimRouterDeps): Router {
  const router = Router();

  async function search(req: Request, res: Response, params: ListParams) {
    const ctx = contextOf(req, res);
    const userSelection = [parseAttributeList(params.attributes, USER_SCHEMA_URNS), parseAttributeList(params.excludedAttributes, USER_SCHEMA_URNS)] as const;
    const groupSelection = [parseAttributeList(params.attributes, GROUP_SCHEMA_URNS), parseAttributeList(params.excludedAttributes, GROUP_SCHEMA_URNS)] as const;
    const queries = queriesOf(ctx, params.filter);
    const sorts = sortsOf(params.sortBy, params.sortOrder);

    // The window [skip, skip + count) over Users ++ Groups: Users fill it first, Groups take what is left, skipping
    // only the part of the window's offset that lies beyond the last User.
    const skip = params.startIndex - 1;
    const userPage = queries.User ? await users.listUsers(store, queries.User, sorts.User, skip, params.count, mayBeMissing(sorts.User)) : { total: 0, docs: [] };
    const groupSkip = Math.max(0, skip - userPage.total);
    const groupLimit = params.count - userPage.docs.length;
    const groupPage = queries.Group ? await groups.listGroups(store, queries.Group, sorts.Group, groupSkip, groupLimit, mayBeMissing(sorts.Group)) : { total: 0, docs: [] };

    const base = baseUrlOf(req, publicUrl);
    const resources = [
      ...(await renderUserResources(store, base, userPage.docs, ...userSelection)),
      ...(await renderGroupResources(store, base, groupPage.docs, ...groupSelection)),
    ];
    sendScim(res, 200, {
      schemas: [LIST_RESPONSE],
      totalResults: userPage.total + groupPage.total,
      startIndex: params.startIndex,
      itemsPerPage: resources.length,
      Resources: resources,
    });
  }

  router
    .route('/')
    .post(asyncHandler((req, res) => search(req, res, searchParamsOf(req.body))))
    .all(methodNotAllowed('POST'));

  return router;
}
