/**
 * `policy run --org <name> --policy inactivity|deletions|invites|all`: runs lifecycle policies now, exactly as the
 * server's scheduler does — under the organization's lease for each job, so it never runs a job at the same time as
 * a server (or another CLI) doing the same one. Every change is an ordinary audited transition, actor `policy:<name>`.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/port';
import type { OrganizationDoc } from '../store/documents';
import { POLICIES, runPolicy, type PolicyName } from '../services/policies';
import { CliError } from './errors';
import type { Output } from './runtime';

export const POLICY_CHOICES = [...POLICIES, 'all'] as const;
export type PolicyChoice = (typeof POLICY_CHOICES)[number];

export interface PolicyOutcome {
  policy: PolicyName;
  /** Accounts changed; `undefined` when another process holds the job's lease. */
  changed: number | undefined;
}

export async function runPolicies(store: Store, org: OrganizationDoc, choice: PolicyChoice, io: Output, now = new Date()): Promise<PolicyOutcome[]> {
  const holder = `cli:${process.pid}:${randomUUID()}`;
  const names: PolicyName[] = choice === 'all' ? [...POLICIES] : [choice];
  const outcomes: PolicyOutcome[] = [];
  for (const policy of names) {
    const changed = await runPolicy(store, org, policy, holder, now);
    outcomes.push({ policy, changed });
    if (changed !== undefined) io.out(`${policy}: ${changed} account${changed === 1 ? '' : 's'} changed`);
    if (policy === 'inactivity' && !org.policies?.inactivityDays) {
      io.err('inactivity: no limit is set for this organization (policies.inactivityDays, PATCH /admin/api/organization), so nobody is idle');
    }
  }
  const busy = outcomes.filter((o) => o.changed === undefined).map((o) => o.policy);
  if (busy.length > 0) {
    throw new CliError(`policy ${busy.join(', ')} is already running for organization "${org.name}" (another process holds its lease); try again when it has finished`);
  }
  return outcomes;
}
