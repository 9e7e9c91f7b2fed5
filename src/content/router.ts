/**
 * Content endpoints for SSO sessions: `GET /api/workspaces/{id}`. Every request re-reads the account behind the
 * session, so deprovisioning takes effect on the next request (DESIGN.md §2 "Sessions").
 */
import { Router } from 'express';
import type { Store } from '../store/port';
import type { Principal } from '../auth/bearer';
import { DomainError } from '../domain/errors';
import { canReadWorkspace } from '../domain/content';
import { stateOf } from '../services/lifecycle';
import { sessionAccount } from '../services/sessions';
import { rulesOf, workspaceView } from '../services/workspaces';
import { asyncHandler } from '../http/async-handler';

export function contentRouter(store: Store): Router {
  const router = Router();
  router.get(
    '/workspaces/:id',
    asyncHandler(async (req, res) => {
      const principal = res.locals.principal as Principal;
      const account = await sessionAccount(store, principal.orgId, principal.accountId!);
      const state = account ? stateOf(account) : undefined;
      if (!account || !state || state.accountStatus !== 'active') {
        throw new DomainError('unauthenticated', 'this session is no longer valid; sign in again');
      }
      const workspace = await store.workspaces.findOne({ _id: req.params.id, orgId: principal.orgId });
      if (!workspace) throw new DomainError('not_found', `workspace ${req.params.id} not found`);
      if (!canReadWorkspace(rulesOf(workspace), account._id, state)) {
        throw new DomainError(
          'forbidden',
          workspace.enterprise ? 'enterprise content needs an active Enterprise license; ask an administrator for access' : 'you have no access to this workspace',
        );
      }
      res.json(await workspaceView(store, workspace));
    }),
  );
  return router;
}
