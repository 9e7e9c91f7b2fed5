/**
 * Rate limits (README "Rate limits"), built on rate-limiter-flexible's in-memory limiters.
 *
 * - SCIM and the admin API: one budget per organization, taken from the authenticated token (`res.locals.principal`),
 *   so these handlers are mounted after authentication: an unauthenticated request is a 401 and never counts, and
 *   nothing in the URL, the body or the client address chooses whose budget is spent. Each organization has its own
 *   counters; one tenant's burst never slows another's.
 * - SSO: failed attempts per organization and client IP (against forged-assertion guessing). Only failures count,
 *   so a whole office behind one address can still log in at 9 o'clock.
 *
 * The shape is a token bucket approximated the way rate-limiter-flexible recommends (its `BurstyRateLimiter`): at most
 * `perSecond` requests in each one-second window, plus a burst allowance of `burst - perSecond` more per
 * `ceil(burst / perSecond)`-second window. A refused request answers 429 with `Retry-After` in whole seconds.
 *
 * Counters live in this process: several processes behind a load balancer each keep their own (rate-limiter-flexible
 * also has a MongoDB store, `RateLimiterMongo`, for a shared budget; not used yet).
 */
import type { Request, RequestHandler } from 'express';
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimit } from '../config';
import type { Principal } from '../auth/bearer';
import { ScimError } from '../scim/errors';
import { isBulkOperation } from '../scim/bulk-router';

const pass: RequestHandler = (_req, _res, next) => next();

/** Whole seconds until the window that refused the request ends (at least 1). */
const retryAfterSeconds = (rejection: RateLimiterRes) => Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));

const tooMany = (seconds: number, detail: string) =>
  new ScimError(429, undefined, `${detail}; retry after ${seconds} second${seconds === 1 ? '' : 's'}`, { 'Retry-After': String(seconds) });

function bucket({ perSecond, burst }: RateLimit, name: string): Pick<BurstyRateLimiter, 'consume'> {
  const steady = new RateLimiterMemory({ keyPrefix: name, points: perSecond, duration: 1 });
  if (burst <= perSecond) return steady;
  const extra = new RateLimiterMemory({ keyPrefix: `${name}-burst`, points: burst - perSecond, duration: Math.ceil(burst / perSecond) });
  return new BurstyRateLimiter(steady, extra);
}

/**
 * A per-organization limit; mount after the bearer authenticator. Operations of a Bulk request are not counted
 * again: the Bulk request itself was, and its operations run one at a time (one Bulk per organization at a time).
 */
export function organizationRateLimit(limit: RateLimit | undefined, name: string): RequestHandler {
  if (!limit || limit.perSecond <= 0) return pass;
  const limiter = bucket(limit, name);
  const detail = `too many requests for this organization (at most ${limit.perSecond} per second, bursts of ${limit.burst})`;
  return (req, res, next) => {
    const principal = res.locals.principal as Principal | undefined;
    if (!principal || isBulkOperation(req)) return next();
    limiter.consume(principal.orgId).then(
      () => next(),
      (rejection: unknown) => next(rejection instanceof RateLimiterRes ? tooMany(retryAfterSeconds(rejection), detail) : rejection),
    );
  };
}

/** The organization name of `/sso/{org}/…` (mounted at `/sso`), capped like ORG_NAME so keys stay small. */
const ssoOrgOf = (req: Request) => (req.path.split('/')[1] ?? '').slice(0, 64);

/**
 * At most `perMinute` refused SSO attempts (any 4xx answer) per organization and client IP in a one-minute window;
 * further attempts from there get 429 until the window ends. The client IP is `req.ip` (express `trust proxy`).
 */
export function ssoFailureLimit(perMinute: number | undefined): RequestHandler {
  if (!perMinute || perMinute <= 0) return pass;
  const failures = new RateLimiterMemory({ keyPrefix: 'sso-failures', points: perMinute, duration: 60 });
  const detail = `too many refused sign-in attempts from this address (at most ${perMinute} per minute)`;
  return (req, res, next) => {
    if (req.method !== 'POST') return next();
    const key = `${ssoOrgOf(req)}|${req.ip ?? ''}`;
    failures.get(key).then((state) => {
      if (state && state.consumedPoints >= perMinute) return next(tooMany(retryAfterSeconds(state), detail));
      res.on('finish', () => {
        if (res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 429) failures.penalty(key, 1).catch(() => undefined);
      });
      next();
    }, next);
  };
}
