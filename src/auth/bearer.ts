/**
 * Bearer-token authentication with passport-http-bearer, for SCIM, admin and session tokens alike.
 *
 * passport-http-bearer also reads `access_token` from the query string and the body (RELIABILITY.md 0.11); tokens
 * in URLs end up in access logs, and a query string can smuggle an object instead of a string. So a request that
 * carries `access_token` anywhere but the header is refused before passport runs, and the verifier accepts strings
 * only. The organization comes from the token alone: nothing in the URL or body chooses a tenant.
 */
import passport from 'passport';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import type { RequestHandler } from 'express';
import type { Store } from '../store/port';
import type { TokenDoc, TokenKind } from '../store/documents';
import { findToken } from './tokens';
import { ScimError } from '../scim/errors';

/** What a verified token grants; stored on `res.locals.principal`. */
export interface Principal {
  orgId: string;
  kind: TokenKind;
  connectionId?: string;
  accountId?: string;
  /** A short, non-secret id of the token (first hash characters), for audit actors. */
  tokenId: string;
}

const principalOf = (doc: TokenDoc): Principal => ({
  orgId: doc.orgId,
  kind: doc.kind,
  connectionId: doc.connectionId,
  accountId: doc.accountId,
  tokenId: doc._id.slice(0, 12),
});

/** One passport instance per app, so tests can build several apps in one process. */
export function bearerAuthenticator(store: Store, kind: TokenKind): RequestHandler {
  const authenticator = new passport.Passport();
  authenticator.use(
    kind,
    new BearerStrategy((token: unknown, done: (error: unknown, user?: Principal | false) => void) => {
      findToken(store, token, kind).then(
        (doc) => done(null, doc ? principalOf(doc) : false),
        (error) => done(error),
      );
    }),
  );
  const authenticate = (req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1], next: Parameters<RequestHandler>[2]) =>
    authenticator.authenticate(kind, { session: false }, (error: unknown, principal: Principal | false) => {
      if (error) return next(error);
      // A fixed message: nothing about which token, tenant or check failed (RELIABILITY.md 0.5).
      if (!principal) return next(new ScimError(401, undefined, 'authentication required: send a valid bearer token'));
      res.locals.principal = principal;
      next();
    })(req, res, next);

  return (req, res, next) => {
    if (req.query && 'access_token' in req.query) {
      return next(new ScimError(401, undefined, 'send the bearer token in the Authorization header, not in the URL'));
    }
    // RFC 6750 §2.1 allows several spaces after "Bearer"; passport-http-bearer splits on exactly one.
    const header = req.headers.authorization;
    if (header?.includes('  ')) req.headers.authorization = header.replace(/^(\S+) +/, '$1 ');
    authenticate(req, res, next);
  };
}
