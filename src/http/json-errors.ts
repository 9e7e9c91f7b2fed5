/**
 * Error responses of the non-SCIM APIs (SSO, content, admin): the same translation table as SCIM
 * (`toScimError`), rendered as plain JSON `{status, detail}`.
 */
import type { ErrorRequestHandler } from 'express';
import { toScimError } from './error-handler';
import type { Logger } from '../logger';
import { requestLogOf } from './middleware';

export function jsonErrorRenderer(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const mapped = toScimError(error);
    const log = requestLogOf(req, logger);
    if (mapped.status >= 500) log.error({ err: error, status: mapped.status }, 'request failed');
    if (res.headersSent) return;
    res.status(mapped.status).set(mapped.headers);
    if (mapped.status === 401) res.set('WWW-Authenticate', 'Bearer');
    res.json({ status: String(mapped.status), detail: mapped.detail });
  };
}
