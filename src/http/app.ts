/**
 * The express application as a function of its dependencies (STYLE.md habit 14): tests build it with an in-memory
 * store; `main.ts` builds it with the configured one and listens.
 *
 * Order under `/scim/v2` matters: content type and auth first (so nothing is parsed for an unauthenticated caller),
 * then the rate limit (keyed by the token's organization), then the body parser, then our Users/Groups routers, then
 * scimmy-routers for discovery (Schemas, ResourceTypes, ServiceProviderConfig), then the SCIM error renderer for
 * everything that failed.
 */
import express, { type Express } from 'express';
import SCIMRouters from 'scimmy-routers';
import type { Store } from '../store/port';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { bearerAuthenticator } from '../auth/bearer';
import { requestLogger, scimContentType, scimJsonBody } from './middleware';
import { methodNotAllowed, scimErrorRenderer, scimNotFound } from './error-handler';
import { usersRouter } from '../scim/users-router';
import { groupsRouter } from '../scim/groups-router';
import { bulkRouter } from '../scim/bulk-router';
import { searchRouter } from '../scim/search-router';
import { advertiseServiceProviderConfig, declareScimSchemas } from '../scim/schema';
import { SCIM_BASE_PATH } from '../scim/request';
import { ScimError } from '../scim/errors';
import { asyncHandler } from './async-handler';
import { jsonErrorRenderer } from './json-errors';
import { organizationRateLimit, ssoFailureLimit } from './rate-limit';
import { ssoRouter } from '../sso/router';
import { contentRouter } from '../content/router';
import { adminRouter } from '../admin/router';
import { dashboardRouter } from '../admin/dashboard/serve';
import { trustedProxies } from './trust-proxy';

export interface AppDeps {
  config: Pick<Config, 'publicUrl' | 'maxBodyBytes' | 'userPatchResponse' | 'unknownMembers' | 'rateLimits'>;
  store: Store;
  logger: Logger;
}

/** Discovery through scimmy-routers; its Users/Groups routes are never reached because ours are mounted first. */
function discoveryRouter(publicUrl?: string) {
  declareScimSchemas();
  const router = new SCIMRouters({
    type: 'bearer', // advertised as "oauthbearertoken" (RFC 7643 §5)
    // Authentication already happened in front of this router. Returning nothing (not a user id) keeps scimmy's
    // `/Me` from reading an arbitrary user (RELIABILITY.md 0.8); we answer /Me with 501 before it anyway.
    handler: () => undefined as unknown as string,
    baseUri: (req) => publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`,
  });
  // scimmy-routers switches everything on when constructed; advertise what we really do (RELIABILITY.md 0.6).
  advertiseServiceProviderConfig();
  return router;
}

export function createApp({ config, store, logger }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Node's querystring instead of qs: SCIM parameters are flat strings, and qs's nesting (`a[b]=c` → an object) is
  // only more input to refuse. Repeated parameters still arrive as arrays, which the SCIM edge refuses.
  app.set('query parser', 'simple');
  app.set('trust proxy', trustedProxies());
  app.use(requestLogger(logger));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get(
    '/readyz',
    asyncHandler(async (_req, res) => {
      try {
        await store.ping();
        res.json({ status: 'ready', store: store.kind });
      } catch {
        res.status(503).set('Retry-After', '5').json({ status: 'unavailable', store: store.kind });
      }
    }),
  );

  const scim = express.Router();
  // The rate limit comes right after authentication: its key is the token's organization (src/http/rate-limit.ts).
  const scimLimit = organizationRateLimit(config.rateLimits?.scim, 'scim');
  scim.use(scimContentType, bearerAuthenticator(store, 'scim'), scimLimit, ...scimJsonBody(config.maxBodyBytes));
  const deps = { store, publicUrl: config.publicUrl, userPatchResponse: config.userPatchResponse, unknownMembers: config.unknownMembers };
  scim.use('/Users', usersRouter(deps));
  scim.use('/Groups', groupsRouter(deps));
  scim.use('/.search', searchRouter(deps));
  // Bulk operations are dispatched through the whole app, so each runs exactly like an ordinary request.
  scim.use('/Bulk', bulkRouter({ dispatch: (req, res) => app(req, res), publicUrl: config.publicUrl }));
  scim.all('/Me', (_req, _res, next) => next(new ScimError(501, undefined, '/Me is not supported: tokens belong to directory connections, not users')));
  const onlyGet = methodNotAllowed('GET');
  scim.all(['/ServiceProviderConfig', '/ResourceTypes', '/Schemas', '/Schemas/*', '/ResourceTypes/*'], (req, res, next) =>
    req.method === 'GET' ? next() : onlyGet(req, res, next),
  );
  scim.use(discoveryRouter(config.publicUrl));
  scim.use(scimNotFound);
  scim.use(scimErrorRenderer(logger));

  app.use(SCIM_BASE_PATH, scim);

  app.use('/sso', ssoFailureLimit(config.rateLimits?.ssoFailuresPerMinute), ssoRouter(store), jsonErrorRenderer(logger));
  app.use('/api', bearerAuthenticator(store, 'session'), contentRouter(store), jsonErrorRenderer(logger));
  const adminLimit = organizationRateLimit(config.rateLimits?.admin, 'admin');
  app.use('/admin/api', bearerAuthenticator(store, 'admin'), adminLimit, adminRouter(store), jsonErrorRenderer(logger));
  // The admin dashboard: static files (express.static) with a strict Content-Security-Policy; it calls /admin/api.
  app.use('/admin', dashboardRouter());
  return app;
}
