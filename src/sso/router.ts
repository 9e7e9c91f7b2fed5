/**
 * `POST /sso/{org}/login` (DESIGN.md §4, §5): verifies the organization's signed assertion and opens a session.
 *
 * The assertion is an HS256 JWT signed with the organization's SSO secret, carrying `email` and `exp`. jose is told
 * to accept HS256 only, so `alg: none` and every other algorithm are refused along with bad signatures and expired
 * tokens. The login decision itself is the pure SSO rule in domain/sso.ts: it never grants or restores a license.
 */
import express, { Router, type Request } from 'express';
import { jwtVerify, errors as joseErrors } from 'jose';
import type { Store } from '../store/port';
import type { UserDoc } from '../store/documents';
import { decideLogin } from '../domain/sso';
import { DomainError } from '../domain/errors';
import { stateOf, transitionAccount } from '../services/lifecycle';
import { decideAcceptInvite } from '../domain/lifecycle';
import { accessRequestRefusal, requestAccess } from '../services/access-requests';
import { caseKey } from '../services/users';
import { auditEvent, recordAudit } from '../services/audit';
import { createSession } from '../services/sessions';
import { asyncHandler } from '../http/async-handler';
import { requestIdOf } from '../http/middleware';
import { v7 as uuidv7 } from 'uuid';
import { DuplicateKeyError } from '../store/port';
import type { RequestContext } from '../services/context';

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
const refused = (detail: string) => new DomainError('forbidden', detail);

async function verifiedEmail(assertion: unknown, secret: string): Promise<string> {
  if (typeof assertion !== 'string' || assertion.length > 8192) throw refused('the assertion must be a signed JWT string');
  try {
    const { payload } = await jwtVerify(assertion, new TextEncoder().encode(secret), {
      algorithms: ['HS256'],
      requiredClaims: ['exp', 'email'],
    });
    if (typeof payload.email !== 'string' || !EMAIL.test(payload.email)) throw refused('the assertion carries no valid email');
    return caseKey(payload.email);
  } catch (error) {
    if (error instanceof DomainError) throw error;
    if (error instanceof joseErrors.JWTExpired) throw refused('the assertion has expired');
    // Signature, algorithm and format failures get one answer: nothing tells a forger which check failed.
    throw refused('the assertion could not be verified');
  }
}

/** The organization named in the URL, the verified email of the assertion, and that email's account (if any). */
async function identify(store: Store, req: Request) {
  const org = await store.organizations.findOne({ name: req.params.org });
  if (!org?.ssoSecret) throw refused('SSO is not configured for this organization');
  const email = await verifiedEmail(req.body?.assertion, org.ssoSecret);
  const account = (await store.users.findOne({ orgId: org._id, userNameKey: email })) ?? (await store.users.findOne({ orgId: org._id, emailKeys: email }));
  return { org, email, account };
}

export function ssoRouter(store: Store): Router {
  const router = Router();
  router.post(
    '/:org/login',
    express.json({ limit: '16kb' }),
    asyncHandler(async (req, res) => {
      const { org, email, account: found } = await identify(store, req);
      const now = new Date();
      const ctx: RequestContext = { orgId: org._id, actor: { kind: 'sso', id: org._id }, requestId: requestIdOf(req), now };
      const decision = decideLogin(email, found ? stateOf(found) : undefined, org.domains);
      if (decision.outcome === 'refused') {
        // Point the person at the way back when there is one (DESIGN.md §2 "Access requests").
        if (found && !accessRequestRefusal(found)) {
          throw refused(`${decision.reason}. You can request access: POST /sso/${org.name}/access-requests with the same assertion`);
        }
        throw refused(decision.reason);
      }
      const account = decision.outcome === 'create' ? await createJitAccount(store, ctx, email, decision.state) : found!;
      // Logging in accepts a pending invitation (site access), and updates lastActive (for the inactivity policy and
      // exports); it never touches the license.
      if (account.lifecycle?.siteAccess === 'invited') {
        await transitionAccount(store, ctx, org, account._id, (state) => decideAcceptInvite(state));
      }
      await store.users.updateOne({ _id: account._id, orgId: org._id }, { $set: { 'lifecycle.lastActive': now } });
      const sessionToken = await createSession(store, org._id, account._id, now);
      const enterpriseAccess = decision.outcome === 'session' ? decision.enterpriseAccess : false;
      res.json({ sessionToken, accountId: account._id, enterpriseAccess });
    }),
  );
  /**
   * An access request from a person whose login was refused or who lacks enterprise access. The assertion proves who
   * asks; nothing else is needed, since a deactivated account has no session.
   */
  router.post(
    '/:org/access-requests',
    express.json({ limit: '16kb' }),
    asyncHandler(async (req, res) => {
      const { org, account } = await identify(store, req);
      if (!account) throw refused('there is no account for this email in the organization');
      const message = typeof req.body?.message === 'string' ? req.body.message : undefined;
      const ctx: RequestContext = { orgId: org._id, actor: { kind: 'sso', id: account._id }, requestId: requestIdOf(req), now: new Date() };
      const request = await requestAccess(store, ctx, account, message);
      res.status(201).json({ id: request._id, status: request.status });
    }),
  );
  return router;
}

/** Just-in-time: a free managed account, not linked to any directory (a later SCIM POST links it). */
async function createJitAccount(store: Store, ctx: RequestContext, email: string, state: ReturnType<typeof stateOf>): Promise<UserDoc> {
  const doc: UserDoc = {
    _id: uuidv7(),
    orgId: ctx.orgId,
    version: 1,
    created: ctx.now,
    lastModified: ctx.now,
    userNameKey: email,
    emailKeys: [email],
    scim: { userName: email, emails: [{ value: email, type: 'work', primary: true }], active: true },
    lifecycle: { ...state },
  };
  try {
    await store.users.insertOne(doc);
  } catch (error) {
    // Two first logins at once: the other one created the account.
    if (error instanceof DuplicateKeyError) {
      const existing = await store.users.findOne({ orgId: ctx.orgId, userNameKey: email });
      if (existing) return existing;
    }
    throw error;
  }
  await recordAudit(store, auditEvent(ctx, 'account.created', { kind: 'user', id: doc._id }, undefined, { ...state }));
  return doc;
}
