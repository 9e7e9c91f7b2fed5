/**
 * The admin API under `/admin/api` (admin bearer tokens, one organization each). This part covers what the
 * lifecycle needs: workspaces, seats, account deactivation/reactivation with the last-admin rule, account state and
 * the audit log.
 */
import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Store } from '../store/port';
import type { Principal } from '../auth/bearer';
import type { RequestContext } from '../services/context';
import { DomainError } from '../domain/errors';
import { assertKeepsActiveAdmin } from '../domain/content';
import { decideDeprovision, decideProvision } from '../domain/lifecycle';
import { organizationOf } from '../services/organizations';
import { seatUsage } from '../services/seats';
import { isEntitled, stateOf, transitionAccount } from '../services/lifecycle';
import { createWorkspace, rulesOf, workspacesAdministeredBy } from '../services/workspaces';
import { asyncHandler } from '../http/async-handler';

function adminContext(req: Request, res: Response): RequestContext {
  const principal = res.locals.principal as Principal;
  return {
    orgId: principal.orgId,
    actor: { kind: 'admin', id: principal.orgId },
    requestId: String((req as { id?: unknown }).id ?? ''),
    now: new Date(),
  };
}

/** Parses a request body with a zod schema; a mismatch is a 400 naming the field. */
function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new DomainError('invalid', `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return result.data;
}

const WorkspaceBody = z.object({
  name: z.string().min(1).max(200),
  enterprise: z.boolean(),
  admins: z.array(z.string()).max(1000).optional(),
  guests: z.array(z.string()).max(10000).optional(),
  authors: z.array(z.string()).max(10000).optional(),
});
const DeactivateBody = z.object({ newAdmin: z.string().optional() });

function accountView(account: { _id: string; scim: { userName: string }; lifecycle?: unknown }) {
  const l = stateOf(account as never);
  const life = (account.lifecycle ?? {}) as { lastActive?: Date; deactivatedAt?: Date; deactivatedBy?: string };
  return {
    id: account._id,
    userName: account.scim.userName,
    ...l,
    lastActive: life.lastActive?.toISOString() ?? null,
    deactivatedAt: life.deactivatedAt?.toISOString() ?? null,
    deactivatedBy: life.deactivatedBy ?? null,
  };
}

export function adminRouter(store: Store): Router {
  const router = Router();
  router.use(express.json({ limit: '256kb' }));

  router.get(
    '/seats',
    asyncHandler(async (req, res) => {
      res.json(await seatUsage(store, await organizationOf(store, adminContext(req, res))));
    }),
  );

  router.post(
    '/workspaces',
    asyncHandler(async (req, res) => {
      const workspace = await createWorkspace(store, adminContext(req, res), parse(WorkspaceBody, req.body));
      res.status(201).json({ id: workspace._id });
    }),
  );

  router.get(
    '/accounts/:id',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const account = await store.users.findOne({ _id: req.params.id, orgId: ctx.orgId });
      if (!account) throw new DomainError('not_found', `account ${req.params.id} not found`);
      res.json(accountView(account));
    }),
  );

  /**
   * Deactivates a managed account. A workspace must keep an active admin: when the account is the last one, the
   * request must name another active account (`newAdmin`), who becomes admin of those workspaces.
   */
  router.post(
    '/accounts/:id/deactivate',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const { newAdmin } = parse(DeactivateBody, req.body);
      const org = await organizationOf(store, ctx);
      const id = req.params.id;
      const administered = await workspacesAdministeredBy(store, ctx.orgId, id);
      const admins = [...new Set(administered.flatMap((w) => w.admins).concat(newAdmin ? [newAdmin] : []))];
      const active = new Set(
        (await store.users.find({ orgId: ctx.orgId, _id: { $in: admins }, 'lifecycle.accountStatus': 'active' }, { projection: { _id: 1 } })).map((a) => a._id),
      );
      assertKeepsActiveAdmin(administered.map(rulesOf), id, (a) => active.has(a), newAdmin);
      const account = await transitionAccount(store, ctx, org, id, (state) => {
        if (!state.managed) throw new DomainError('conflict', 'only managed accounts can be deactivated; suspend or remove this account from the site instead');
        return decideDeprovision(state, { deprovision: 'account' });
      });
      if (!account) throw new DomainError('not_found', `account ${id} not found`);
      if (newAdmin) {
        for (const ws of administered) {
          if (!ws.admins.includes(newAdmin)) await store.workspaces.updateOne({ _id: ws._id, orgId: ctx.orgId }, { $push: { admins: newAdmin } });
        }
      }
      res.json(accountView(account));
    }),
  );

  router.post(
    '/accounts/:id/reactivate',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const org = await organizationOf(store, ctx);
      const account = await transitionAccount(store, ctx, org, req.params.id, async (state, current) => {
        if (!state.managed) throw new DomainError('conflict', 'only managed accounts can be reactivated');
        return decideProvision(state, await isEntitled(store, org, current));
      });
      if (!account) throw new DomainError('not_found', `account ${req.params.id} not found`);
      res.json(accountView(account));
    }),
  );

  router.get(
    '/audit',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const limit = Math.min(200, Math.max(1, Number(req.query.limit ?? 50) || 50));
      const query: Record<string, unknown> = { orgId: ctx.orgId };
      if (typeof req.query.subject === 'string') query['subject.id'] = req.query.subject;
      const events = await store.audit.find(query, { sort: { at: -1, _id: -1 }, limit });
      res.json({ events: events.map(({ orgId: _o, ...e }) => e) });
    }),
  );

  return router;
}
