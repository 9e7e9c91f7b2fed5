/**
 * Workspaces (enterprise content) and who may read them. Access is decided per request from the reader's current
 * account state (domain/content.ts), never from anything cached in a session.
 */
import { v7 as uuidv7 } from 'uuid';
import type { Store } from '../store/port';
import type { UserDoc, WorkspaceDoc } from '../store/documents';
import { DomainError } from '../domain/errors';
import { personView, type PersonView, type WorkspaceRules } from '../domain/content';
import { stateOf } from './lifecycle';
import type { RequestContext } from './context';

export interface WorkspaceInput {
  name: string;
  enterprise: boolean;
  admins?: string[];
  guests?: string[];
  authors?: string[];
}

export async function createWorkspace(store: Store, ctx: RequestContext, input: WorkspaceInput): Promise<WorkspaceDoc> {
  const people = [...new Set([...(input.admins ?? []), ...(input.guests ?? []), ...(input.authors ?? [])])];
  if (people.length > 0) {
    const found = await store.users.count({ orgId: ctx.orgId, _id: { $in: people } });
    if (found !== people.length) throw new DomainError('invalid', 'admins, guests and authors must be accounts of this organization');
  }
  const doc: WorkspaceDoc = {
    _id: uuidv7(),
    orgId: ctx.orgId,
    name: input.name,
    enterprise: input.enterprise,
    admins: input.admins ?? [],
    guests: input.guests ?? [],
    authors: input.authors ?? [],
    created: ctx.now,
  };
  await store.workspaces.insertOne(doc);
  return doc;
}

/** How the people of a workspace are shown: deactivated ones flagged, removed and deleted ones anonymised. */
export async function peopleViews(store: Store, orgId: string, ids: string[]): Promise<Map<string, PersonView>> {
  const accounts = ids.length > 0 ? await store.users.find({ orgId, _id: { $in: [...new Set(ids)] } }) : [];
  const byId = new Map<string, UserDoc>(accounts.map((a) => [a._id, a]));
  const views = new Map<string, PersonView>();
  for (const id of ids) {
    const account = byId.get(id);
    const name = account ? ((account.scim.displayName as string | undefined) ?? account.scim.userName) : undefined;
    views.set(id, personView(id, name, account ? stateOf(account) : undefined));
  }
  return views;
}

/**
 * A workspace as people see it: its admins and authors (and, for admins, its guests) shown with their current state.
 */
export async function workspaceView(store: Store, ws: WorkspaceDoc, options: { withGuests?: boolean } = {}) {
  const views = await peopleViews(store, ws.orgId, [...ws.admins, ...ws.authors, ...(options.withGuests ? ws.guests : [])]);
  return {
    id: ws._id,
    name: ws.name,
    enterprise: ws.enterprise,
    admins: ws.admins.map((a) => views.get(a)),
    authors: ws.authors.map((a) => views.get(a)),
    ...(options.withGuests ? { guests: ws.guests.map((a) => views.get(a)) } : {}),
  };
}

/** Workspaces where `accountId` is an admin. */
export function workspacesAdministeredBy(store: Store, orgId: string, accountId: string): Promise<WorkspaceDoc[]> {
  return store.workspaces.find({ orgId, admins: accountId });
}

/** The part of a workspace the content rules look at. */
export const rulesOf = (ws: WorkspaceDoc): WorkspaceRules => ({ id: ws._id, name: ws.name, enterprise: ws.enterprise, admins: ws.admins, guests: ws.guests });
