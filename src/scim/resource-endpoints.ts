/**
 * What `/Users` and `/Groups` do alike: list (filter → store query, sort, page, render), send one resource with its
 * ETag (and `Location` on 201), find one in the caller's scope, answer a conditional GET, and check `If-Match`
 * before a DELETE. Each router describes its resource type once; the protocol steps are written here only.
 */
import type { Request, Response } from 'express';
import type { DeepReadonly, Query, Sort, Store } from '../store/port';
import type { Page } from '../store/page';
import type { RequestContext } from '../services/context';
import { andQuery } from '../store/query';
import { notFound, ScimError } from './errors';
import { etagOf } from './render';
import { parseAttributeList, type AttributeSelection } from './selection';
import { baseUrlOf, contextOf, ifMatchVersions, ifNoneMatchHits, sendScim, type ListParams } from './request';
import { LIST_RESPONSE } from './schema';
import { guardFilter, guardSortBy } from './guards';
import { translateFilter } from './filter';
import { mayBeMissing, translateSort } from './sort';

type StoredResource = { _id: string; version: number };

/** One SCIM resource type as the shared endpoints need to see it. */
export interface ResourceType<D extends StoredResource> {
  name: 'User' | 'Group';
  /** Path segment under the SCIM base, for `Location`. */
  endpoint: 'Users' | 'Groups';
  schemaUrns: readonly string[];
  /** The query that limits every read to what the caller may see. */
  scope(ctx: RequestContext): Query;
  list(store: Store, query: Query, sort: Sort, skip: number, limit: number, mayBeMissing?: string): Promise<Page<D>>;
  /**
   * The resource with this id in the caller's scope, or `null`: as stored, to read (GET, If-Match), which spares a
   * copy of it for each GET.
   */
  get(store: Store, ctx: RequestContext, id: string): Promise<DeepReadonly<D> | null>;
  /** Renders stored documents, which may be the store's own objects (lists): never changes them. */
  render(store: Store, base: string, docs: ReadonlyArray<DeepReadonly<D>>, include?: AttributeSelection, exclude?: AttributeSelection): Promise<Record<string, unknown>[]>;
}

export function resourceEndpoints<D extends StoredResource>(type: ResourceType<D>, store: Store, publicUrl?: string) {
  const render = (req: Request, docs: ReadonlyArray<DeepReadonly<D>>, include?: AttributeSelection, exclude?: AttributeSelection) =>
    type.render(store, baseUrlOf(req, publicUrl), docs, include, exclude);

  /** A ListResponse page (RFC 7644 §3.4.2): filtered, sorted and paged in the store, with the true total. */
  async function list(req: Request, res: Response, params: ListParams): Promise<void> {
    const include = parseAttributeList(params.attributes, type.schemaUrns);
    const exclude = parseAttributeList(params.excludedAttributes, type.schemaUrns);
    let query = type.scope(contextOf(req, res));
    if (params.filter !== undefined) {
      guardFilter(params.filter);
      query = andQuery(translateFilter(type.name, params.filter), query);
    }
    if (params.sortBy !== undefined) guardSortBy(params.sortBy);
    const sort = translateSort(type.name, params.sortBy, params.sortOrder);
    const { total, docs } = await type.list(store, query, sort, params.startIndex - 1, params.count, mayBeMissing(sort));
    sendScim(res, 200, {
      schemas: [LIST_RESPONSE],
      totalResults: total,
      startIndex: params.startIndex,
      itemsPerPage: docs.length,
      Resources: await render(req, docs, include, exclude),
    });
  }

  /** Sends one resource with its ETag; `status` 201 adds `Location` (scimmy-routers does not). */
  async function send(req: Request, res: Response, doc: DeepReadonly<D>, status = 200): Promise<void> {
    const include = parseAttributeList(req.query.attributes, type.schemaUrns);
    const exclude = parseAttributeList(req.query.excludedAttributes, type.schemaUrns);
    const [resource] = await render(req, [doc], include, exclude);
    res.set('ETag', etagOf(doc.version));
    if (status === 201) res.set('Location', `${baseUrlOf(req, publicUrl)}/${type.endpoint}/${doc._id}`);
    sendScim(res, status, resource);
  }

  /** The resource named by `:id` in the caller's scope; 404 otherwise. */
  async function found(req: Request, res: Response): Promise<DeepReadonly<D>> {
    const doc = await type.get(store, contextOf(req, res), req.params.id);
    if (!doc) throw notFound(`${type.name} ${req.params.id} not found`);
    return doc;
  }

  /** GET by id, answering 304 when `If-None-Match` names the current version (RFC 7644 §3.14). */
  async function get(req: Request, res: Response): Promise<void> {
    const doc = await found(req, res);
    if (ifNoneMatchHits(req, etagOf(doc.version))) {
      res.set('ETag', etagOf(doc.version)).status(304).end();
      return;
    }
    await send(req, res, doc);
  }

  /**
   * Refuses with 412 when `If-Match` pins a version the resource no longer has. Returns the resource when it was read
   * to compare (`If-Match` present), so that a caller needing it reads it once.
   */
  async function checkIfMatch(req: Request, res: Response): Promise<DeepReadonly<D> | undefined> {
    const pinned = ifMatchVersions(req);
    if (pinned === undefined) return undefined;
    const doc = await found(req, res);
    if (!pinned.includes(doc.version)) throw new ScimError(412, undefined, 'If-Match does not match the current version of the resource');
    return doc;
  }

  return { list, send, found, get, checkIfMatch };
}
