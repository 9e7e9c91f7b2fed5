/**
 * The admin API under `/admin/api` (admin bearer tokens, one organization each). Every action is an audited
 * lifecycle transition with the admin as actor; every list is paginated; every error is `{status, detail}`.
 */
import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { DeepReadonly, Store } from '../store/port';
import type { Principal } from '../auth/bearer';
import type { RequestContext } from '../services/context';
import { DomainError } from '../domain/errors';
import { assertKeepsActiveAdmin } from '../domain/content';
import { organizationOf } from '../services/organizations';
import { ensureSeatSlots, seatUsage } from '../services/seats';
import { promoteWaiters, stateOf } from '../services/lifecycle';
import { createWorkspace, rulesOf, workspaceView, workspacesAdministeredBy } from '../services/workspaces';
import { applyAccountAction, grantLicense, listAccounts, type AccountAction } from '../services/accounts';
import { approveAccessRequest, denyAccessRequest } from '../services/access-requests';
import { writeAccountsCsv, type ExportKind } from '../services/exports';
import { POLICIES, runPolicy, type PolicyName } from '../services/policies';
import { generateToken, hashToken, storeToken } from '../auth/tokens';
import { auditEvent, recordAudit } from '../services/audit';
import { asyncHandler } from '../http/async-handler';
import { requestIdOf } from '../http/middleware';
import type { UserDoc } from '../store/documents';
import { v7 as uuidv7 } from 'uuid';

const HOUR_MS = 60 * 60 * 1000;
/** How long the previous SCIM token keeps working after a rotation, so the IdP can be updated without downtime. */
const DEFAULT_ROTATION_OVERLAP_HOURS = 24;
/** The first hex characters of a token's hash identify it in listings; the token itself is never shown again. */
const tokenId = (hash: string) => hash.slice(0, 12);

function adminContext(req: Request, res: Response): RequestContext {
  const principal = res.locals.principal as Principal;
  return {
    orgId: principal.orgId,
    actor: { kind: 'admin', id: principal.tokenId },
    requestId: requestIdOf(req),
    now: new Date(),
  };
}

/** Parses with a zod schema; a mismatch is a 400 naming the field. */
function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new DomainError('invalid', `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return result.data;
}

const Paging = z.object({
  startIndex: z.coerce.number().int().min(1).default(1),
  count: z.coerce.number().int().min(0).max(500).default(50),
});
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

const OrganizationPatch = z
  .object({
    domains: z.array(z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'a domain name')).max(100),
    seats: z.number().int().min(0).max(1_000_000),
    licenseMode: z.enum(['provision', 'groups']),
    licenseGroups: z.array(z.string().min(1)).max(100),
    deprovision: z.enum(['account', 'enterprise']),
    policies: z
      .object({
        inactivityDays: z.number().int().min(0).max(3650),
        inactivityGuestsOnly: z.boolean(),
        deletionGraceDays: z.number().int().min(0).max(365),
        inviteExpiryDays: z.number().int().min(1).max(365),
      })
      .partial(),
  })
  .partial()
  .strict();

const AccountsQuery = Paging.extend({
  status: z.enum(['active', 'deactivated', 'pending_deletion', 'deleted']).optional(),
  license: z.enum(['licensed', 'free', 'revoked', 'pending_seat']).optional(),
  siteAccess: z.enum(['invited', 'active', 'suspended', 'removed']).optional(),
  managed: bool.optional(),
  lastActiveBefore: z.coerce.date().optional(),
  q: z.string().max(200).optional(),
});

const WorkspaceBody = z.object({
  name: z.string().min(1).max(200),
  enterprise: z.boolean(),
  admins: z.array(z.string()).max(1000).optional(),
  guests: z.array(z.string()).max(10000).optional(),
  authors: z.array(z.string()).max(10000).optional(),
});
const ActionBody = z.object({ newAdmin: z.string().optional(), graceDays: z.number().int().min(0).max(365).optional() }).strict();
const AdminsPatch = z.object({ add: z.array(z.string()).max(100).default([]), remove: z.array(z.string()).max(100).default([]) }).strict();
const AuditQuery = Paging.extend({
  subject: z.string().max(100).optional(),
  action: z.string().max(100).optional(),
  actor: z.enum(['directory', 'admin', 'policy', 'sso']).optional(),
  since: z.coerce.date().optional(),
  until: z.coerce.date().optional(),
});

const ACTIONS: AccountAction[] = ['deactivate', 'reactivate', 'suspend', 'unsuspend', 'remove', 'invite', 'schedule-deletion', 'cancel-deletion', 'revoke-license'];
/** Actions that take an account away from its workspaces, so the last-admin rule applies. */
const LEAVING: AccountAction[] = ['deactivate', 'remove', 'schedule-deletion'];

export function accountView(account: DeepReadonly<UserDoc>) {
  const life = account.lifecycle;
  return {
    id: account._id,
    userName: account.scim.userName,
    displayName: (account.scim.displayName as string | undefined) ?? null,
    linked: account.connectionId !== undefined,
    ...stateOf(account),
    lastActive: life?.lastActive?.toISOString() ?? null,
    deactivatedAt: life?.deactivatedAt?.toISOString() ?? null,
    deactivatedBy: life?.deactivatedBy ?? null,
    deletionDue: life?.deletionDue?.toISOString() ?? null,
    pendingSince: life?.pendingSince?.toISOString() ?? null,
  };
}

export function adminRouter(store: Store): Router {
  const router = Router();
  router.use(express.json({ limit: '256kb' }));

  /** The last-admin rule (DESIGN.md §2): refuse, naming the workspace, unless an active replacement is named. */
  async function keepWorkspaceAdmins(ctx: RequestContext, accountId: string, newAdmin?: string) {
    const administered = await workspacesAdministeredBy(store, ctx.orgId, accountId);
    if (administered.length === 0) return administered;
    const admins = [...new Set(administered.flatMap((w) => w.admins).concat(newAdmin ? [newAdmin] : []))];
    const active = new Set(
      (await store.users.find({ orgId: ctx.orgId, _id: { $in: admins }, 'lifecycle.accountStatus': 'active' }, { projection: { _id: 1 } })).map((a) => a._id),
    );
    assertKeepsActiveAdmin(administered.map(rulesOf), accountId, (a) => active.has(a), newAdmin);
    return administered;
  }

  // --- organization -------------------------------------------------------------------------------------------
  router.get(
    '/organization',
    asyncHandler(async (req, res) => {
      const { ssoSecret, leases: _l, ...org } = await organizationOf(store, adminContext(req, res));
      res.json({ ...org, ssoConfigured: Boolean(ssoSecret) });
    }),
  );

  router.patch(
    '/organization',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const patch = parse(OrganizationPatch, req.body);
      const before = await organizationOf(store, ctx);
      const set: Record<string, unknown> = {};
      if (patch.domains) set.domains = patch.domains.map((d) => d.toLowerCase());
      if (patch.seats !== undefined) set.seats = patch.seats;
      if (patch.licenseMode) set.licenseMode = patch.licenseMode;
      if (patch.licenseGroups) set.licenseGroups = patch.licenseGroups.map((g) => g.toLowerCase());
      if (patch.deprovision) set.deprovision = patch.deprovision;
      for (const [key, value] of Object.entries(patch.policies ?? {})) set[`policies.${key}`] = value;
      const org = Object.keys(set).length > 0 ? await store.organizations.updateOne({ _id: ctx.orgId }, { $set: set }) : before;
      if (!org) throw new DomainError('not_found', 'organization not found');
      if (patch.seats !== undefined) {
        await ensureSeatSlots(store, org);
        await promoteWaiters(store, ctx, org);
      }
      await recordAudit(store, auditEvent(ctx, 'organization.updated', { kind: 'organization', id: org._id }, undefined, patch as Record<string, unknown>));
      const { ssoSecret, leases: _l, ...view } = org;
      res.json({ ...view, ssoConfigured: Boolean(ssoSecret) });
    }),
  );

  router.get(
    '/seats',
    asyncHandler(async (req, res) => {
      res.json(await seatUsage(store, await organizationOf(store, adminContext(req, res))));
    }),
  );

  // --- directory connections and admin tokens --------------------------------------------------------------------
  router.get(
    '/connections',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const tokens = await store.tokens.find({ orgId: ctx.orgId, kind: 'scim' }, { sort: { created: 1 } });
      const byConnection = new Map<string, Array<{ id: string; label?: string; created: string; expires: string | null }>>();
      for (const t of tokens) {
        if (t.expires && t.expires <= ctx.now) continue;
        const list = byConnection.get(t.connectionId!) ?? [];
        list.push({ id: tokenId(t._id), label: t.label, created: t.created.toISOString(), expires: t.expires?.toISOString() ?? null });
        byConnection.set(t.connectionId!, list);
      }
      res.json({ connections: [...byConnection].map(([id, tokens]) => ({ id, label: tokens[0]?.label ?? null, tokens })) });
    }),
  );

  router.post(
    '/connections',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const { label } = parse(z.object({ label: z.string().min(1).max(100) }).strict(), req.body);
      const connectionId = `${ctx.orgId}:${uuidv7()}`;
      const token = generateToken();
      await storeToken(store, token, { orgId: ctx.orgId, kind: 'scim', connectionId, label }, ctx.now);
      await recordAudit(store, auditEvent(ctx, 'connection.created', { kind: 'organization', id: ctx.orgId }, undefined, { connectionId, label }));
      // Shown once: only its hash is stored.
      res.status(201).json({ id: connectionId, label, token, tokenId: tokenId(hashToken(token)) });
    }),
  );

  router.post(
    '/connections/:id/rotate',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const { overlapHours } = parse(z.object({ overlapHours: z.number().min(0).max(168).optional() }).strict(), req.body);
      const current = await store.tokens.find({ orgId: ctx.orgId, kind: 'scim', connectionId: req.params.id });
      if (current.length === 0) throw new DomainError('not_found', `connection ${req.params.id} not found`);
      const until = new Date(ctx.now.getTime() + (overlapHours ?? DEFAULT_ROTATION_OVERLAP_HOURS) * HOUR_MS);
      // The old tokens keep working until the overlap ends, so the IdP can switch without failed requests.
      await store.tokens.updateMany({ orgId: ctx.orgId, kind: 'scim', connectionId: req.params.id, $or: [{ expires: { $exists: false } }, { expires: { $gt: until } }] }, { $set: { expires: until } });
      const token = generateToken();
      await storeToken(store, token, { orgId: ctx.orgId, kind: 'scim', connectionId: req.params.id, label: current[0].label }, ctx.now);
      await recordAudit(store, auditEvent(ctx, 'connection.token_rotated', { kind: 'organization', id: ctx.orgId }, undefined, { connectionId: req.params.id }));
      res.status(201).json({ id: req.params.id, token, tokenId: tokenId(hashToken(token)), previousTokensExpire: until.toISOString() });
    }),
  );

  router.delete(
    '/connections/:id',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const revoked = await store.tokens.deleteMany({ orgId: ctx.orgId, kind: 'scim', connectionId: req.params.id });
      if (revoked === 0) throw new DomainError('not_found', `connection ${req.params.id} not found`);
      await recordAudit(store, auditEvent(ctx, 'connection.revoked', { kind: 'organization', id: ctx.orgId }, undefined, { connectionId: req.params.id }));
      res.status(204).end();
    }),
  );

  router.get(
    '/tokens',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const tokens = await store.tokens.find({ orgId: ctx.orgId, kind: 'admin' }, { sort: { created: 1 } });
      res.json({ tokens: tokens.map((t) => ({ id: tokenId(t._id), label: t.label ?? null, created: t.created.toISOString() })) });
    }),
  );

  router.post(
    '/tokens',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const { label } = parse(z.object({ label: z.string().min(1).max(100) }).strict(), req.body);
      const token = generateToken();
      await storeToken(store, token, { orgId: ctx.orgId, kind: 'admin', label }, ctx.now);
      await recordAudit(store, auditEvent(ctx, 'admin_token.created', { kind: 'organization', id: ctx.orgId }, undefined, { label }));
      res.status(201).json({ id: tokenId(hashToken(token)), label, token });
    }),
  );

  router.delete(
    '/tokens/:id',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      if (!/^[0-9a-f]{12}$/.test(req.params.id)) throw new DomainError('invalid', 'a token id is 12 hexadecimal characters');
      const tokens = await store.tokens.find({ orgId: ctx.orgId, kind: 'admin' }, { projection: { _id: 1 } });
      const match = tokens.find((t) => tokenId(t._id) === req.params.id);
      if (!match) throw new DomainError('not_found', `admin token ${req.params.id} not found`);
      await store.tokens.deleteOne({ _id: match._id, orgId: ctx.orgId });
      await recordAudit(store, auditEvent(ctx, 'admin_token.revoked', { kind: 'organization', id: ctx.orgId }, undefined, { tokenId: req.params.id }));
      res.status(204).end();
    }),
  );

  // --- accounts -----------------------------------------------------------------------------------------------
  router.get(
    '/accounts',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const q = parse(AccountsQuery, req.query);
      const { total, accounts } = await listAccounts(
        store,
        ctx.orgId,
        { status: q.status, license: q.license, siteAccess: q.siteAccess, managed: q.managed, lastActiveBefore: q.lastActiveBefore, userNamePrefix: q.q },
        q.startIndex - 1,
        q.count,
      );
      res.json({ totalResults: total, startIndex: q.startIndex, itemsPerPage: accounts.length, accounts: accounts.map(accountView) });
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

  router.post(
    '/accounts/:id/grant-license',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      res.json(accountView(await grantLicense(store, ctx, await organizationOf(store, ctx), req.params.id)));
    }),
  );

  router.post(
    '/accounts/:id/:action',
    asyncHandler(async (req, res) => {
      const action = req.params.action as AccountAction;
      if (!ACTIONS.includes(action)) throw new DomainError('not_found', `unknown account action "${req.params.action}"`);
      const ctx = adminContext(req, res);
      const body = parse(ActionBody, req.body);
      const org = await organizationOf(store, ctx);
      const id = req.params.id;
      const administered = LEAVING.includes(action) ? await keepWorkspaceAdmins(ctx, id, body.newAdmin) : [];
      const account = await applyAccountAction(store, ctx, org, id, action, { graceDays: body.graceDays });
      if (body.newAdmin) {
        for (const ws of administered) {
          if (!ws.admins.includes(body.newAdmin)) await store.workspaces.updateOne({ _id: ws._id, orgId: ctx.orgId }, { $push: { admins: body.newAdmin } });
        }
      }
      res.json(accountView(account));
    }),
  );

  // --- workspaces ---------------------------------------------------------------------------------------------
  router.get(
    '/workspaces',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const q = parse(Paging, req.query);
      const [total, list] = await Promise.all([
        store.workspaces.count({ orgId: ctx.orgId }),
        store.workspaces.find({ orgId: ctx.orgId }, { sort: { name: 1, _id: 1 }, skip: q.startIndex - 1, limit: q.count }),
      ]);
      res.json({ totalResults: total, startIndex: q.startIndex, workspaces: list.map((w) => ({ id: w._id, name: w.name, enterprise: w.enterprise, admins: w.admins })) });
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
    '/workspaces/:id',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const ws = await store.workspaces.findOne({ _id: req.params.id, orgId: ctx.orgId });
      if (!ws) throw new DomainError('not_found', `workspace ${req.params.id} not found`);
      res.json(await workspaceView(store, ws, { withGuests: true }));
    }),
  );

  router.patch(
    '/workspaces/:id/admins',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const { add, remove } = parse(AdminsPatch, req.body);
      const ws = await store.workspaces.findOne({ _id: req.params.id, orgId: ctx.orgId });
      if (!ws) throw new DomainError('not_found', `workspace ${req.params.id} not found`);
      const admins = [...new Set([...ws.admins.filter((a) => !remove.includes(a)), ...add])];
      const active = await store.users.count({ orgId: ctx.orgId, _id: { $in: admins }, 'lifecycle.accountStatus': 'active' });
      if (active === 0) throw new DomainError('conflict', `workspace "${ws.name}" (${ws._id}) must keep at least one active admin`);
      const unknown = add.length > 0 ? add.length - (await store.users.count({ orgId: ctx.orgId, _id: { $in: add } })) : 0;
      if (unknown > 0) throw new DomainError('invalid', 'every new admin must be an account of this organization');
      await store.workspaces.updateOne({ _id: ws._id, orgId: ctx.orgId }, { $set: { admins } });
      await recordAudit(store, auditEvent(ctx, 'workspace.admins_changed', { kind: 'workspace', id: ws._id }, { admins: ws.admins }, { admins }));
      res.json({ id: ws._id, admins });
    }),
  );

  // --- access requests ----------------------------------------------------------------------------------------
  router.get(
    '/access-requests',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const q = parse(Paging.extend({ status: z.enum(['open', 'approved', 'denied']).default('open') }), req.query);
      const query = { orgId: ctx.orgId, status: q.status };
      const [total, list] = await Promise.all([
        store.accessRequests.count(query),
        store.accessRequests.find(query, { sort: { created: 1, _id: 1 }, skip: q.startIndex - 1, limit: q.count }),
      ]);
      const accounts = new Map((await store.users.find({ orgId: ctx.orgId, _id: { $in: list.map((r) => r.accountId) } })).map((a) => [a._id, a]));
      res.json({
        totalResults: total,
        startIndex: q.startIndex,
        requests: list.map((r) => ({
          id: r._id,
          status: r.status,
          message: r.message ?? null,
          created: r.created.toISOString(),
          account: accounts.has(r.accountId) ? accountView(accounts.get(r.accountId)!) : { id: r.accountId },
        })),
      });
    }),
  );

  router.post(
    '/access-requests/:id/:decision(approve|deny)',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const org = await organizationOf(store, ctx);
      const decided =
        req.params.decision === 'approve' ? await approveAccessRequest(store, ctx, org, req.params.id) : await denyAccessRequest(store, ctx, org, req.params.id);
      res.json({ id: decided._id, status: decided.status, accountId: decided.accountId });
    }),
  );

  // --- audit, exports, policies ---------------------------------------------------------------------------------
  router.get(
    '/audit',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const q = parse(AuditQuery, req.query);
      const query: Record<string, unknown> = { orgId: ctx.orgId };
      if (q.subject) query['subject.id'] = q.subject;
      if (q.action) query.action = q.action;
      if (q.actor) query['actor.kind'] = q.actor;
      if (q.since || q.until) query.at = { ...(q.since ? { $gte: q.since } : {}), ...(q.until ? { $lt: q.until } : {}) };
      const [total, events] = await Promise.all([store.audit.count(query), store.audit.find(query, { sort: { at: -1, _id: -1 }, skip: q.startIndex - 1, limit: q.count })]);
      res.json({ totalResults: total, startIndex: q.startIndex, events: events.map(({ orgId: _o, ...e }) => e) });
    }),
  );

  router.get(
    '/exports/:kind(managed-accounts|site-users).csv',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      res.set('Content-Type', 'text/csv; charset=utf-8');
      res.set('Content-Disposition', `attachment; filename="${req.params.kind}.csv"`);
      await writeAccountsCsv(store, ctx.orgId, req.params.kind as ExportKind, res);
    }),
  );

  router.post(
    '/policies/:name/run',
    asyncHandler(async (req, res) => {
      const ctx = adminContext(req, res);
      const name = req.params.name as PolicyName;
      if (!POLICIES.includes(name)) throw new DomainError('not_found', `unknown policy "${req.params.name}"; one of ${POLICIES.join(', ')}`);
      const changed = await runPolicy(store, await organizationOf(store, ctx), name, `admin:${ctx.requestId}`, ctx.now);
      if (changed === undefined) throw new DomainError('conflict', `policy ${name} is already running`);
      res.json({ policy: name, changed });
    }),
  );

  return router;
}
