/**
 * Reading the parts of a SCIM request every endpoint shares: the caller's context, the base URL for locations,
 * list parameters (RFC 7644 §3.4.2.4) and ETag preconditions (RFC 7644 §3.14).
 */
import type { Request, Response } from 'express';
import type { Principal } from '../auth/bearer';
import type { RequestContext } from '../services/context';
import { badRequest, ScimError } from './errors';
import { requestIdOf } from '../http/middleware';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, SEARCH_REQUEST } from './schema';

/** The service context of an authenticated SCIM request. */
export function contextOf(req: Request, res: Response): RequestContext {
  const principal = res.locals.principal as Principal;
  return {
    orgId: principal.orgId,
    connectionId: principal.connectionId,
    actor: { kind: 'directory', id: principal.connectionId ?? 'unknown' },
    requestId: requestIdOf(req),
    now: new Date(),
  };
}

/**
 * Absolute URL of the SCIM base (`https://host/scim/v2`) for `Location` and `meta.location`. Computed per request and
 * never stored in shared state, so concurrent requests cannot see each other's URL (RELIABILITY.md 0.7).
 */
export function baseUrlOf(req: Request, publicUrl?: string): string {
  return `${publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`}${SCIM_BASE_PATH}`;
}

/** Where the SCIM API is mounted (DESIGN.md §5). */
export const SCIM_BASE_PATH = '/scim/v2';

export interface ListParams {
  filter?: string;
  sortBy?: string;
  sortOrder?: string;
  /** 1-based. */
  startIndex: number;
  /** Already clamped to [0, MAX_PAGE_SIZE]. */
  count: number;
  attributes?: unknown;
  excludedAttributes?: unknown;
}

/** A decimal integer as written in a query string (`-3`, `10`), or a JSON number in a SearchRequest. */
const DECIMAL_INTEGER = /^\s*[-+]?\d+\s*$/;

function integerParam(name: string, value: unknown, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  // Number() would also read null, true, [3], " " and "0x10" as numbers.
  const n = typeof value === 'number' ? value : typeof value === 'string' && DECIMAL_INTEGER.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || !Number.isInteger(n)) {
    throw badRequest('invalidValue', `${name} must be an integer`);
  }
  return n;
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest('invalidValue', `${name} must be given once, as a string`);
  return value;
}

/**
 * List parameters from a query string (GET) or a SearchRequest body (POST .search). Per RFC 7644 §3.4.2.4, a
 * `startIndex` below 1 is read as 1 and a negative `count` as 0; `count` above `filter.maxResults` is clamped to it.
 */
export function listParamsOf(source: Record<string, unknown>): ListParams {
  const startIndex = Math.max(1, integerParam('startIndex', source.startIndex, 1));
  const count = Math.min(MAX_PAGE_SIZE, Math.max(0, integerParam('count', source.count, DEFAULT_PAGE_SIZE)));
  const sortOrder = optionalString('sortOrder', source.sortOrder);
  if (sortOrder !== undefined && !/^(ascending|descending)$/i.test(sortOrder)) {
    throw badRequest('invalidValue', 'sortOrder must be "ascending" or "descending"');
  }
  return {
    filter: optionalString('filter', source.filter),
    sortBy: optionalString('sortBy', source.sortBy),
    sortOrder,
    startIndex,
    count,
    attributes: source.attributes,
    excludedAttributes: source.excludedAttributes,
  };
}

/** List parameters from a `POST .search` body, which must be a SearchRequest (RFC 7644 §3.4.3): 400 otherwise. */
export function searchParamsOf(body: unknown): ListParams {
  const schemas = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as { schemas?: unknown }).schemas : undefined;
  if (!Array.isArray(schemas) || !schemas.includes(SEARCH_REQUEST)) {
    throw badRequest('invalidSyntax', `the body of a search must be a SearchRequest with "schemas": ["${SEARCH_REQUEST}"]`);
  }
  return listParamsOf(body as Record<string, unknown>);
}

/**
 * The versions `If-Match` accepts (`W/"3"`, `"3"`, or a list of them, RFC 7232 §3.1), `undefined` when absent or
 * `*`. An entity tag we never issued matches no version: a header of only such tags is refused (412, not 400).
 */
export function ifMatchVersions(req: Request): readonly number[] | undefined {
  const header = req.get('if-match');
  if (!header || header.trim() === '*') return undefined;
  const versions = header.split(',').flatMap((tag) => {
    const match = /^\s*(?:W\/)?"(\d+)"\s*$/.exec(tag);
    return match ? [Number(match[1])] : [];
  });
  if (versions.length === 0) throw new ScimError(412, undefined, 'If-Match does not match the current version of the resource');
  return versions;
}

/** Whether `If-None-Match` names the current ETag (then a GET answers 304). */
export function ifNoneMatchHits(req: Request, etag: string): boolean {
  const header = req.get('if-none-match');
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare);
}

const SCIM_JSON = 'application/scim+json; charset=utf-8';

/**
 * Sends a SCIM body as `application/scim+json` (express's `res.json` would label it `application/json`).
 *
 * Written straight to node's response rather than through express's `res.send`, which would hash every body for a
 * weak ETag of its own (a page of 100 users is ~80 KB) and look the media type up again. Resources carry their real
 * ETag (`meta.version`), set by the caller; a HEAD request still gets headers only (node drops the body).
 */
export function sendScim(res: Response, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', SCIM_JSON);
  res.setHeader('Content-Length', Buffer.byteLength(json));
  res.end(json);
}
