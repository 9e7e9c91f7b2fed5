/**
 * `POST /Bulk` (RFC 7644 §3.7).
 *
 * Each operation is executed by dispatching it in-process (light-my-request) through the whole express app as an
 * ordinary request to `/Users…` or `/Groups…`, with the Bulk request's own `Authorization` header. So every operation
 * passes through exactly the code of the ordinary endpoint — authentication (the token decides the organization),
 * content checks, validation, lifecycle rules, ETags, the error table — and nothing of it is duplicated here. This
 * module only checks the envelope, resolves `bulkId:` references and maps each response onto a BulkResponse entry.
 *
 * Limits (RELIABILITY.md 0.12, advertised in ServiceProviderConfig): at most `BULK_MAX_OPERATIONS` operations and
 * `BULK_MAX_PAYLOAD_BYTES` bytes (413 otherwise, before any operation runs); one Bulk request at a time per
 * organization (a second is 429 with `Retry-After`). The lock lives in this process: several server processes would
 * each allow one.
 *
 * `bulkId` references: a string value that is exactly `"bulkId:<id>"` anywhere in `data` (e.g. a group's
 * `members[].value`), and a path `/Users/bulkId:<id>`, are replaced with the id created by the earlier POST with that
 * `bulkId`. Operations run in order and are not reordered, so a reference to a bulkId that is unknown, not yet
 * created, or whose POST failed makes that operation fail with 409 (RFC 7644 §3.7.2) and the rest continue; a
 * circular reference therefore fails (409) on its first operation rather than looping. References inside strings
 * (e.g. in a PATCH filter path) are not resolved.
 */
import { Router, type Request, type RequestHandler } from 'express';
import type { RequestListener } from 'node:http';
import inject from 'light-my-request';
import { badRequest, ScimError } from './errors';
import { baseUrlOf, contextOf, SCIM_BASE_PATH, sendScim } from './request';
import { BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD_BYTES, BULK_REQUEST, BULK_RESPONSE } from './schema';
import { methodNotAllowed, toScimError } from '../http/error-handler';
import { asyncHandler } from '../http/async-handler';
import { requestIdOf } from '../http/middleware';
import { isObject } from './json';

export interface BulkRouterDeps {
  /** The express app: each operation is dispatched through it as an ordinary SCIM request. */
  dispatch: RequestListener;
  publicUrl?: string;
}

/** Seconds a client should wait before retrying when its organization already has a Bulk request running. */
const BUSY_RETRY_AFTER_SECONDS = '5';
type BulkMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const METHODS: ReadonlySet<string> = new Set<BulkMethod>(['POST', 'PUT', 'PATCH', 'DELETE']);
const isBulkMethod = (method: string): method is BulkMethod => METHODS.has(method);
const BULK_ID_REF = /^bulkId:(.+)$/;
/** `/Users`, `/Users/{id}`, `/Groups`, `/Groups/{id}` (an optional trailing slash is tolerated). */
const OPERATION_PATH = /^\/(Users|Groups)(?:\/([^/?#]+))?\/?$/i;

interface BulkOperation {
  method?: unknown;
  bulkId?: unknown;
  version?: unknown;
  path?: unknown;
  data?: unknown;
}

/** One entry of a BulkResponse (RFC 7644 §3.7.3); `status` is a string as in the RFC's examples. */
interface BulkResult {
  method: string;
  bulkId?: string;
  version?: string;
  location?: string;
  status: string;
  response?: unknown;
}


/** 413 unless the body is within `maxPayloadSize`: the SCIM body parser itself allows larger bodies for other routes. */
const payloadLimit: RequestHandler = (req, _res, next) => {
  const declared = Number(req.headers['content-length']);
  const size = Number.isFinite(declared) && req.headers['content-length'] !== undefined ? declared : Buffer.byteLength(JSON.stringify(req.body ?? {}));
  if (size > BULK_MAX_PAYLOAD_BYTES) {
    return next(new ScimError(413, undefined, `the size of the bulk request exceeds the maxPayloadSize (${BULK_MAX_PAYLOAD_BYTES} bytes)`));
  }
  next();
};

/** Checks the BulkRequest envelope; per-operation problems are reported per operation, not here. */
function readBulkRequest(body: unknown): { operations: BulkOperation[]; failOnErrors?: number } {
  if (!isObject(body) || !Array.isArray(body.schemas) || !body.schemas.includes(BULK_REQUEST)) {
    throw badRequest('invalidSyntax', `a Bulk request must be a BulkRequest with "schemas": ["${BULK_REQUEST}"]`);
  }
  const { Operations: operations, failOnErrors } = body;
  if (!Array.isArray(operations)) throw badRequest('invalidSyntax', 'Operations must be an array of operations');
  if (operations.length > BULK_MAX_OPERATIONS) {
    throw new ScimError(413, undefined, `the bulk request has ${operations.length} operations; maxOperations is ${BULK_MAX_OPERATIONS}`);
  }
  const notObject = operations.findIndex((op) => !isObject(op));
  if (notObject >= 0) throw badRequest('invalidSyntax', `Operations[${notObject}] must be an object`);
  if (failOnErrors !== undefined && (typeof failOnErrors !== 'number' || !Number.isInteger(failOnErrors) || failOnErrors < 1)) {
    throw badRequest('invalidValue', 'failOnErrors must be a positive integer');
  }
  return { operations: operations as BulkOperation[], failOnErrors };
}

/** A failure of one operation before it was dispatched. */
class OperationError extends ScimError {}

/**
 * `data` with every `"bulkId:<id>"` string replaced by the created id.
 * @throws OperationError 409 for a reference that cannot be resolved.
 */
function resolveReferences(value: unknown, created: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') {
    const match = BULK_ID_REF.exec(value);
    if (!match) return value;
    const id = created.get(match[1]);
    if (id === undefined) {
      const shown = JSON.stringify(match[1].length > 64 ? `${match[1].slice(0, 64)}…` : match[1]);
      throw new OperationError(409, undefined, `bulkId ${shown} does not name a resource created by an earlier operation of this request`);
    }
    return id;
  }
  if (Array.isArray(value)) return value.map((item) => resolveReferences(item, created));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(v, created)]));
  return value;
}

/**
 * Express replaces the prototype of every request and response it handles (`expressInit`), which drops the
 * light-my-request methods that capture the injected response (`write`, `end`, `writeHead`, …). Copying them onto
 * the objects themselves keeps them in force; express's own methods (`send`, `json`, …) call them as usual.
 */
function keepOwnMethods(target: object): void {
  const proto = Object.getPrototypeOf(target) as object;
  for (const key of Object.keys(proto)) {
    const { value } = Object.getOwnPropertyDescriptor(proto, key) ?? {};
    if (typeof value === 'function') Object.defineProperty(target, key, { value, writable: true, configurable: true });
  }
}

/** Marks a request dispatched by a Bulk request; a symbol, so no client can set it. */
const BULK_OPERATION = Symbol('bulk operation');

/** Whether `req` is an operation of a Bulk request (the rate limit counts the Bulk request, not each operation). */
export const isBulkOperation = (req: object): boolean => BULK_OPERATION in req;

export function bulkRouter({ dispatch: app, publicUrl }: BulkRouterDeps): Router {
  const router = Router();
  const dispatch: RequestListener = (req, res) => {
    keepOwnMethods(req);
    keepOwnMethods(res);
    Object.defineProperty(req, BULK_OPERATION, { value: true });
    // express reads `req.connection` (node's alias of `socket`), on which light-my-request prints a deprecation warning.
    Object.defineProperty(req, 'connection', { get: () => req.socket, configurable: true });
    app(req, res);
  };
  /** Organizations with a Bulk request in progress (RELIABILITY.md 0.12: per-tenant concurrency 1). */
  const running = new Set<string>();

  async function runOperation(req: Request, op: BulkOperation, index: number, created: Map<string, string>, bulkIds: Set<string>): Promise<BulkResult> {
    const method = typeof op.method === 'string' ? op.method.toUpperCase() : '';
    const bulkId = typeof op.bulkId === 'string' ? op.bulkId : undefined;
    const result: Omit<BulkResult, 'status'> = { method: method || String(op.method ?? ''), ...(bulkId !== undefined ? { bulkId } : {}) };
    const fail = (error: ScimError): BulkResult => ({ ...result, status: String(error.status), response: error.toJSON() });
    const where = `Operations[${index}]`;
    try {
      if (!isBulkMethod(method)) throw new OperationError(400, 'invalidSyntax', `${where}: method must be POST, PUT, PATCH or DELETE`);
      if (op.bulkId !== undefined && (bulkId === undefined || bulkId === '')) throw new OperationError(400, 'invalidSyntax', `${where}: bulkId must be a non-empty string`);
      if (method === 'POST') {
        if (bulkId === undefined) throw new OperationError(400, 'invalidSyntax', `${where}: bulkId is required for POST`);
        if (bulkIds.has(bulkId)) throw new OperationError(400, 'invalidValue', `${where}: bulkId ${JSON.stringify(bulkId)} is used by an earlier POST`);
        bulkIds.add(bulkId);
      }
      if (typeof op.path !== 'string') throw new OperationError(400, 'invalidPath', `${where}: path must be a string such as "/Users" or "/Groups/{id}"`);
      // No recursion: a Bulk operation can only address Users and Groups.
      if (/^\/?bulk(?:[/?#]|$)/i.test(op.path.trim())) throw new OperationError(400, 'invalidPath', `${where}: a bulk operation cannot target /Bulk`);
      const target = OPERATION_PATH.exec(op.path.trim());
      if (!target) throw new OperationError(400, 'invalidPath', `${where}: path must be /Users, /Users/{id}, /Groups or /Groups/{id}`);
      const resourceType = target[1].toLowerCase() === 'users' ? 'Users' : 'Groups';
      let id = target[2];
      if (method === 'POST' && id !== undefined) throw new OperationError(400, 'invalidPath', `${where}: POST creates a resource: use /${resourceType}`);
      if (method !== 'POST' && id === undefined) throw new OperationError(400, 'invalidPath', `${where}: ${method} needs a resource: use /${resourceType}/{id}`);
      if (id !== undefined) id = resolveReferences(id, created) as string;
      if (id !== undefined) result.location = `${baseUrlOf(req, publicUrl)}/${resourceType}/${id}`;
      if (op.version !== undefined && typeof op.version !== 'string') throw new OperationError(400, 'invalidSyntax', `${where}: version must be a string (an ETag)`);
      let payload: string | undefined;
      if (method !== 'DELETE') {
        if (!isObject(op.data)) throw new OperationError(400, 'invalidSyntax', `${where}: data must be an object for ${method}`);
        payload = JSON.stringify(resolveReferences(op.data, created));
      }

      const requestId = `${requestIdOf(req)}.${index + 1}`;
      const response = await inject(dispatch, {
        method,
        url: `${SCIM_BASE_PATH}/${resourceType}${id !== undefined ? `/${encodeURIComponent(id)}` : ''}`,
        headers: {
          authorization: req.get('authorization') ?? '',
          host: req.get('host') ?? 'localhost',
          'x-forwarded-proto': req.protocol,
          ...(/^[A-Za-z0-9._-]{1,64}$/.test(requestId) ? { 'x-request-id': requestId } : {}),
          ...(payload !== undefined ? { 'content-type': 'application/scim+json' } : {}),
          ...(op.version !== undefined && method !== 'POST' ? { 'if-match': op.version } : {}),
        },
        ...(payload !== undefined ? { payload } : {}),
      });

      const status = response.statusCode;
      if (status >= 400) {
        let body: unknown;
        try {
          body = response.json();
        } catch {
          body = new ScimError(status, undefined, response.statusMessage || 'the operation failed').toJSON();
        }
        return { ...result, status: String(status), response: body };
      }
      // Only a resource's ETag is its version (express also tags error bodies).
      const etag = response.headers.etag;
      if (typeof etag === 'string') result.version = etag;
      if (method === 'POST') {
        const createdId = (response.json() as { id?: unknown }).id;
        if (typeof createdId === 'string' && bulkId !== undefined) created.set(bulkId, createdId);
        const location = response.headers.location;
        if (typeof location === 'string') result.location = location;
      }
      return { ...result, status: String(status) };
    } catch (error) {
      if (error instanceof OperationError) return fail(error);
      // Not expected (the app renders every failure itself): report this operation as a 500 and go on, so the
      // client still learns the outcome of the operations that ran.
      (req as { log?: { error: (obj: object, msg: string) => void } }).log?.error({ err: error, operation: index }, 'bulk operation failed');
      return fail(toScimError(error));
    }
  }

  router
    .route('/')
    .post(
      payloadLimit,
      asyncHandler(async (req, res) => {
        const { operations, failOnErrors } = readBulkRequest(req.body);
        const { orgId } = contextOf(req, res);
        if (running.has(orgId)) {
          throw new ScimError(429, undefined, 'another Bulk request of this organization is in progress; retry later', {
            'Retry-After': BUSY_RETRY_AFTER_SECONDS,
          });
        }
        running.add(orgId);
        const results: BulkResult[] = [];
        try {
          const created = new Map<string, string>();
          const bulkIds = new Set<string>();
          let errors = 0;
          for (const [index, op] of operations.entries()) {
            const result = await runOperation(req, op, index, created, bulkIds);
            results.push(result);
            if (Number(result.status) >= 400 && failOnErrors !== undefined && ++errors >= failOnErrors) break;
          }
        } finally {
          running.delete(orgId);
        }
        sendScim(res, 200, { schemas: [BULK_RESPONSE], Operations: results });
      }),
    )
    .all(methodNotAllowed('POST'));

  return router;
}
