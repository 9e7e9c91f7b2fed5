/**
 * The one translation point from anything thrown to a SCIM error response (STYLE.md habit 4).
 *
 * Without it scimmy reports a database outage as "Resource not found" (404), which an IdP reads as "already gone"
 * and stops retrying a deprovisioning (RELIABILITY.md 0.3): here a store failure is a 503 with `Retry-After`, and
 * anything we did not anticipate is a 500 with a generic detail.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import SCIMMY from 'scimmy';
import { ScimError, type ScimType } from '../scim/errors';
import { DuplicateKeyError, StoreUnavailableError } from '../store/port';
import { DomainError } from '../domain/errors';
import type { Logger } from '../logger';
import { requestLogOf } from './middleware';
import { sendScim } from '../scim/request';

/** Seconds an IdP should wait before retrying when the store is unavailable. */
const RETRY_AFTER_SECONDS = '5';

const DOMAIN_STATUS: Record<string, { status: number; scimType?: ScimType }> = {
  conflict: { status: 409, scimType: 'uniqueness' },
  version_mismatch: { status: 412 },
  not_found: { status: 404 },
  invalid: { status: 400, scimType: 'invalidValue' },
  forbidden: { status: 403 },
  unauthenticated: { status: 401 },
};

/** Maps any error to the ScimError a client should see. */
export function toScimError(error: unknown): ScimError {
  if (error instanceof ScimError) return error;
  if (error instanceof DomainError) {
    const mapped = DOMAIN_STATUS[error.code] ?? { status: 500 };
    return new ScimError(mapped.status, mapped.scimType, error.message);
  }
  if (error instanceof DuplicateKeyError) {
    return new ScimError(409, 'uniqueness', 'a resource with the same unique attribute already exists');
  }
  if (error instanceof StoreUnavailableError) {
    return new ScimError(503, undefined, 'the service is temporarily unavailable; retry later', {
      'Retry-After': RETRY_AFTER_SECONDS,
    });
  }
  if (error instanceof SCIMMY.Types.Error) {
    const e = error as unknown as { status: number; scimType?: ScimType; message: string };
    return new ScimError(e.status, e.scimType ?? undefined, e.message);
  }
  const bodyError = error as { type?: string; status?: number };
  switch (bodyError?.type) {
    case 'entity.parse.failed':
      return new ScimError(400, 'invalidSyntax', 'the request body is not valid JSON');
    case 'entity.too.large':
      return new ScimError(413, undefined, 'the request body is too large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ScimError(415, undefined, 'unsupported request body encoding');
    case 'request.aborted':
      return new ScimError(400, 'invalidSyntax', 'the request body was not received completely');
  }
  return new ScimError(500, undefined, 'an internal error occurred');
}

/**
 * What a failure log line keeps of an error: its class, its code and its stack frames, but not its message. A driver
 * or parser message can quote the data it refused (a MongoDB validation error or cast error names the userName and
 * emails; V8's JSON errors quote the input), and logs must never carry a personal attribute (logger.ts, RELIABILITY.md
 * §2 H). Only {@link StoreUnavailableError} keeps its message: the adapters compose it from the store's name and the
 * network failure, which is what an operator needs during an outage. Logged under `error`, not `err`: pino's err
 * serializer would re-type this plain object. (Found by test/api/hardening.test.ts: logging the error whole put a
 * userName and an email from a store error into the log.)
 */
function loggableError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const code = (error as { code?: unknown }).code;
  return {
    type: error.name,
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(error instanceof StoreUnavailableError ? { message: error.message } : {}),
    // Frames only: the first line(s) of a stack repeat the message.
    stack: (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line)).join('\n'),
  };
}

/** Renders every error as a SCIM error body with `application/scim+json`, whatever its status. */
export function scimErrorRenderer(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const scimError = toScimError(error);
    const log = requestLogOf(req, logger);
    if (scimError.status >= 500) log.error({ error: loggableError(error), status: scimError.status }, 'request failed');
    // scimmy-routers may already have answered before passing the error on (RELIABILITY.md 0.4).
    if (res.headersSent) return;
    res.set(scimError.headers);
    if (scimError.status === 401) res.set('WWW-Authenticate', 'Bearer realm="scim"');
    sendScim(res, scimError.status, scimError);
  };
}

/** 404 for any path under the SCIM base that no router serves. */
export const scimNotFound: RequestHandler = (req, _res, next) =>
  next(new ScimError(404, undefined, `no SCIM endpoint at ${req.method} ${req.baseUrl}${req.path}`));

/** 405 for a method an endpoint does not support, naming the allowed ones. */
export const methodNotAllowed =
  (...allowed: string[]): RequestHandler =>
  (req, res, next) => {
    res.set('Allow', allowed.join(', '));
    next(new ScimError(405, undefined, `${req.method} is not supported here; use ${allowed.join(' or ')}`));
  };
