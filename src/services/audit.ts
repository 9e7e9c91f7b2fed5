/**
 * The append-only audit log: every lifecycle transition, with its actor, before → after and request id. Events are
 * written with ids chosen before the write, so writing one again (a retry completing a half-done change) is a no-op.
 */
import { v7 as uuidv7 } from 'uuid';
import type { Store } from '../store/port';
import { DuplicateKeyError } from '../store/port';
import type { AuditEventDoc } from '../store/documents';
import type { RequestContext } from './context';

export function auditEvent(
  ctx: RequestContext,
  action: string,
  subject: AuditEventDoc['subject'],
  before?: Record<string, unknown>,
  after?: Record<string, unknown>,
): AuditEventDoc {
  return {
    _id: uuidv7(),
    orgId: ctx.orgId,
    at: ctx.now,
    actor: ctx.actor,
    action,
    subject,
    ...(before ? { before } : {}),
    ...(after ? { after } : {}),
    ...(ctx.requestId ? { requestId: ctx.requestId } : {}),
  };
}

/** Appends the event unless it is already there. */
export async function recordAudit(store: Store, event: AuditEventDoc): Promise<void> {
  try {
    await store.audit.insertOne(event);
  } catch (error) {
    if (!(error instanceof DuplicateKeyError)) throw error;
  }
}
