/**
 * `sync --org <name> --file export.csv`: reconciles an organization with a CSV export, for admins without an IdP
 * connector (seed 000: "we deactivated hundreds of inactive users by scripting"). Plan → safety check → apply.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../../store/port';
import type { OrganizationDoc } from '../../store/documents';
import type { RequestContext } from '../../services/context';
import { CliError, EXIT } from '../errors';
import type { Output } from '../runtime';
import { readSyncFile, type RowError } from './csv';
import { planSync, type Plan } from './plan';
import { applyPlan } from './apply';
import { createProgress, type Progress } from './progress';

export interface SyncOptions {
  file: string;
  dryRun: boolean;
  maxDeactivateShare: number;
  force: boolean;
  batch: number;
}

/** The directory connection the CLI sync provisions through; users it creates are linked to it. */
export const syncConnectionId = (org: Pick<OrganizationDoc, '_id'>) => `${org._id}:cli-sync`;

export const SYNC_ACTOR = { kind: 'admin', id: 'cli-sync' } as const;

export function formatRowError(e: RowError): string {
  if (e.line === 0) return e.userName ? `${e.userName} (not in the file): ${e.reason}` : e.reason;
  return `row ${e.line}${e.userName ? ` (${e.userName})` : ''}: ${e.reason}`;
}

export function formatPlan(org: OrganizationDoc, file: string, plan: Plan): string[] {
  const c = plan.counts;
  const lines = [
    `Plan for organization "${org.name}" from ${file}: ${plan.rows} rows, ${plan.errors.length} with errors, ${plan.unchanged} unchanged`,
    `  create         ${c.create}`,
    `  update         ${c.update}`,
    `  deactivate     ${c.deactivate}`,
    `  reactivate     ${c.reactivate}`,
    `  group adds     ${c.groupAdds}`,
    `  group removes  ${c.groupRemoves}`,
    `  new groups     ${c.newGroups}`,
  ];
  if (plan.changes.length === 0 && plan.groupsToCreate.length === 0) {
    lines.push('No changes.');
    return lines;
  }
  lines.push('Changes:');
  for (const name of plan.groupsToCreate) lines.push(`  + group       ${name}`);
  for (const change of plan.changes) {
    const where = change.line !== undefined ? `row ${change.line}` : 'not in the file';
    for (const action of change.actions) {
      const detail =
        action === 'create' && change.links
          ? `${where}, links the existing account`
          : action === 'update'
            ? `${where}: ${change.changedAttributes!.join(', ')}`
            : action === 'deactivate' && change.line !== undefined
              ? `${where}: active=false`
              : where;
      const sign = action === 'deactivate' ? '-' : action === 'update' ? '~' : '+';
      lines.push(`  ${sign} ${action.padEnd(11)} ${change.userName} (${detail})`);
    }
    for (const group of change.groupAdds) lines.push(`  + group add   ${change.userName} → ${group}`);
    for (const group of change.groupRemoves) lines.push(`  - group remove ${change.userName} ✕ ${group}`);
  }
  return lines;
}

/** Runs the sync; returns the exit code. */
export async function runSync(store: Store, org: OrganizationDoc, options: SyncOptions, io: Output, progress: Progress = createProgress()): Promise<number> {
  const file = readSyncFile(options.file);
  const connectionId = syncConnectionId(org);
  const plan = await planSync(store, org, connectionId, file);
  for (const line of formatPlan(org, options.file, plan)) io.out(line);
  for (const error of plan.errors) io.err(formatRowError(error));

  const deactivations = plan.counts.deactivate;
  const limit = options.maxDeactivateShare * plan.activeAccounts;
  const tooMany = deactivations > 0 && deactivations > limit;
  const refusal = tooMany
    ? `refusing to deactivate ${deactivations} of ${plan.activeAccounts} active accounts ` +
      `(${percent(deactivations, plan.activeAccounts)}, more than --max-deactivate-share ${options.maxDeactivateShare}); ` +
      'check the file, or pass --force'
    : undefined;

  if (options.dryRun) {
    io.out('Dry run: nothing was changed.');
    if (refusal && !options.force) {
      io.err(`sync would refuse: ${refusal}`);
      return EXIT.refused;
    }
    return plan.errors.length > 0 ? EXIT.failed : EXIT.ok;
  }
  if (refusal && !options.force) throw new CliError(refusal, EXIT.refused);
  if (plan.changes.length === 0 && plan.groupsToCreate.length === 0) return plan.errors.length > 0 ? EXIT.failed : EXIT.ok;

  const requestId = `cli-sync-${randomUUID()}`;
  const context = (): RequestContext => ({ orgId: org._id, connectionId, actor: { ...SYNC_ACTOR }, requestId, now: new Date() });
  const result = await applyPlan(store, org, plan, context, options.batch, progress);
  for (const failure of result.failures) io.err(formatRowError(failure));
  const failed = plan.errors.length + result.failures.length;
  io.out(`Applied ${result.applied} of ${plan.changes.length} user changes${plan.groupsToCreate.length > 0 ? ` and ${plan.groupsToCreate.length} new groups` : ''}; ${failed} rows failed (audit request id ${requestId}).`);
  return failed > 0 ? EXIT.failed : EXIT.ok;
}

function percent(n: number, of: number): string {
  return of === 0 ? 'all' : `${Math.round((n / of) * 1000) / 10}%`;
}
