#!/usr/bin/env node
/**
 * The operator CLI (`scim-lifecycle`, `npm run cli -- <command>`): organizations, tokens, seats, CSV sync and export,
 * policy runs and a demo organization, on the store the server uses (DATA_DIR or MONGODB_URI from the
 * environment, read by loadConfig as the server does).
 *
 * Output: results on stdout (an org id, a token, a table, a plan), diagnostics and progress on stderr. Exit codes:
 * 0 done, 1 failed or bad input (one line on stderr, never a stack trace), 2 `sync` refused by its deactivation limit.
 * With the embedded store the server must be stopped first: see lock.ts.
 */
import { Command, Option } from 'commander';
import { CliError, describeError, EXIT } from './errors';
import { domains, groupNames, integerIn, orgName, share, tokenId } from './options';
import { findOrganization, stdio, withStore } from './runtime';

const MAX_SEATS = 1_000_000;
/** The demo needs about 20 people for every state to appear; beyond 5000 it only takes longer. */
const DEMO_MIN_USERS = 20;
const DEMO_MAX_USERS = 5000;

function program(): Command {
  const cli = new Command('scim-lifecycle')
    .description('Operator commands for the SCIM lifecycle server (uses DATA_DIR or MONGODB_URI like the server; stop the server first when it uses DATA_DIR)')
    .showSuggestionAfterError()
    .configureOutput({ outputError: (text, write) => write(text.split('\n')[0] + '\n') });

  const org = cli.command('org').description('organizations');
  org
    .command('create')
    .description('create an organization; prints its id')
    .argument('<name>', 'organization name (letters, digits, . _ -)', orgName)
    .option('--domains <list>', 'claimed email domains, comma-separated (accounts on them are managed)', domains, [] as string[])
    .requiredOption('--seats <n>', 'Enterprise seats', integerIn(0, MAX_SEATS))
    .addOption(new Option('--license-mode <mode>', 'who takes a seat').choices(['provision', 'groups']).default('provision'))
    .option('--license-groups <list>', 'displayNames of the licensing groups (groups mode), comma-separated', groupNames, [] as string[])
    .addOption(new Option('--deprovision <mode>', 'what active=false does to a managed account').choices(['account', 'enterprise']).default('account'))
    .action(async (name: string, opts) => {
      const { createOrganization } = await import('./org');
      const created = await withStore('org create', (store) => createOrganization(store, name, opts), true);
      stdio.out(created._id);
      if (created.licenseMode === 'groups' && created.licenseGroups.length === 0) {
        stdio.err('warning: license mode groups without --license-groups: no account will take a seat');
      }
      stdio.err(
        `created organization "${created.name}": domains ${created.domains.join(', ') || '(none: no account will be managed)'}, ` +
          `${created.seats} seats, license mode ${created.licenseMode}${created.licenseGroups.length ? ` (${created.licenseGroups.join(', ')})` : ''}, deprovision ${created.deprovision}`,
      );
    });

  const token = cli.command('token').description('SCIM and admin API tokens');
  token
    .command('issue')
    .description('issue a token; prints it once (only its hash is stored)')
    .requiredOption('--org <name>', 'organization name')
    .addOption(new Option('--kind <kind>', 'scim: a new directory connection for an IdP; admin: the admin API').choices(['scim', 'admin']).makeOptionMandatory())
    .option('--label <text>', 'a name for the token, shown by "token list"')
    .action(async (opts: { org: string; kind: 'scim' | 'admin'; label?: string }) => {
      const { issueToken, tokenIdOf } = await import('./token');
      if (opts.label !== undefined && (opts.label.trim() === '' || opts.label.length > 100)) throw new CliError('--label must be 1 to 100 characters');
      const { token: value, doc } = await withStore('token issue', async (store) => issueToken(store, await findOrganization(store, opts.org), opts.kind, opts.label?.trim()));
      stdio.out(value);
      stdio.err(`issued ${doc.kind} token ${tokenIdOf(doc)}${doc.connectionId ? ` for directory connection ${doc.connectionId}` : ''}; it is shown only this once`);
    });
  token
    .command('list')
    .description('list the SCIM and admin tokens (ids, kinds, labels, creation; never the tokens)')
    .requiredOption('--org <name>', 'organization name')
    .option('--json', 'JSON instead of a table')
    .action(async (opts: { org: string; json?: boolean }) => {
      const { formatTokens, listTokens, tokenIdOf } = await import('./token');
      const docs = await withStore('token list', async (store) => listTokens(store, await findOrganization(store, opts.org)));
      if (opts.json) {
        const rows = docs.map((d) => ({ id: tokenIdOf(d), kind: d.kind, label: d.label ?? null, created: new Date(d.created).toISOString(), connectionId: d.connectionId ?? null }));
        stdio.out(JSON.stringify(rows, null, 2));
      } else {
        for (const line of formatTokens(docs)) stdio.out(line);
      }
    });
  token
    .command('revoke')
    .description('revoke a token by the id "token list" shows')
    .requiredOption('--org <name>', 'organization name')
    .requiredOption('--id <id>', 'the first 12 hex digits of the token hash', tokenId)
    .action(async (opts: { org: string; id: string }) => {
      const { revokeToken, tokenIdOf } = await import('./token');
      const removed = await withStore('token revoke', async (store) => revokeToken(store, await findOrganization(store, opts.org), opts.id));
      stdio.out(`revoked ${removed.kind} token ${tokenIdOf(removed)}`);
    });

  cli
    .command('seats')
    .description('Enterprise seats: used, total, available')
    .requiredOption('--org <name>', 'organization name')
    .option('--json', 'JSON instead of text')
    .action(async (opts: { org: string; json?: boolean }) => {
      const { seatUsage } = await import('../services/seats');
      const usage = await withStore('seats', async (store) => seatUsage(store, await findOrganization(store, opts.org)));
      if (opts.json) stdio.out(JSON.stringify(usage));
      else stdio.out(`used ${usage.used} / total ${usage.seats} / available ${usage.available}`);
    });

  cli
    .command('sync')
    .description('reconcile an organization with a CSV export (userName,name,email,externalId,active,groups)')
    .requiredOption('--org <name>', 'organization name')
    .requiredOption('--file <path>', 'the CSV file')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--max-deactivate-share <fraction>', 'refuse to deactivate more than this share of the active accounts', share, 0.1)
    .option('--force', 'apply even when the plan deactivates more than --max-deactivate-share')
    .option('--batch <n>', 'changes applied concurrently per batch', integerIn(1, 1000), 100)
    .action(async (opts: { org: string; file: string; dryRun?: boolean; maxDeactivateShare: number; force?: boolean; batch: number }) => {
      const { runSync } = await import('./sync');
      const options = { ...opts, dryRun: opts.dryRun === true, force: opts.force === true };
      process.exitCode = await withStore('sync', async (store) => runSync(store, await findOrganization(store, opts.org), options, stdio));
    });

  cli
    .command('export')
    .description('CSV export of an organization (the dashboard\'s exports); stdout unless --out')
    .requiredOption('--org <name>', 'organization name')
    .addOption(new Option('--kind <kind>', 'managed-accounts: billing view of managed accounts; site-users: everyone with site access, with groups').choices(['managed-accounts', 'site-users']).makeOptionMandatory())
    .option('--out <file>', 'write the CSV to this file (replaced when the export is complete) instead of stdout')
    .action(async (opts: { org: string; kind: 'managed-accounts' | 'site-users'; out?: string }) => {
      const { runExport } = await import('./export');
      const rows = await withStore('export', async (store) => runExport(store, await findOrganization(store, opts.org), opts.kind, opts.out));
      if (opts.out) stdio.err(`exported ${rows} ${opts.kind} rows to ${opts.out}`);
    });

  const policy = cli.command('policy').description('lifecycle policies (inactivity, deletions, invitation expiry)');
  policy
    .command('run')
    .description('run lifecycle policies now, under the same lease as the server\'s scheduler; prints accounts changed per policy')
    .requiredOption('--org <name>', 'organization name')
    .addOption(new Option('--policy <name>', 'which policy').choices(['inactivity', 'deletions', 'invites', 'all']).makeOptionMandatory())
    .action(async (opts: { org: string; policy: 'inactivity' | 'deletions' | 'invites' | 'all' }) => {
      const { runPolicies } = await import('./policy');
      await withStore('policy run', async (store) => runPolicies(store, await findOrganization(store, opts.org), opts.policy, stdio));
    });

  cli
    .command('demo')
    .description('create an organization filled with realistic demo data (accounts, groups, workspaces, audit history); prints its tokens')
    .option('--org <name>', 'organization name (with bootstrap tokens set: ORG_NAME)', orgName)
    .option('--users <n>', 'how many accounts', integerIn(DEMO_MIN_USERS, DEMO_MAX_USERS), 60)
    .option('--domain <domain>', 'claimed email domain (default <org>.example)', (value: string) => domains(value)[0])
    .addOption(new Option('--license-mode <mode>', 'provision: every provisioned account takes a seat; groups: members of "Enterprise Users"').choices(['provision', 'groups']).default('provision'))
    .action(async (opts: { org?: string; users: number; domain?: string; licenseMode: 'provision' | 'groups' }) => {
      const { runDemo } = await import('./demo');
      const options = { org: opts.org ?? 'demo', orgGiven: opts.org !== undefined, users: opts.users, domain: opts.domain, licenseMode: opts.licenseMode };
      const result = await withStore('demo', (store, config) => runDemo(store, config, options, stdio), true);
      const c = result.counts;
      stdio.err(
        `demo: organization "${result.org.name}" (${result.org.domains.join(', ')}): ${c.accounts} accounts — ${c.licensed} licensed, ${c.pendingSeat} waiting for a seat, ` +
          `${c.free} free, ${c.revoked} revoked, ${c.deactivated} deactivated, ${c.pendingDeletion} pending deletion, ${c.guests} external guests (${c.invited} invited, ${c.suspended} suspended); ` +
          `seats ${c.used}/${c.seats}; ${c.groups} groups, ${c.workspaces} workspaces, ${c.openAccessRequests} open access requests, ${c.auditEvents} audit events`,
      );
      stdio.out(`ADMIN_TOKEN=${result.adminToken}${result.adminTokenSource === 'issued' ? '' : '   # from ADMIN_BOOTSTRAP_TOKEN'}`);
      stdio.out(`SCIM_TOKEN=${result.scimToken}${result.scimTokenSource === 'issued' ? '' : '   # from SCIM_BOOTSTRAP_TOKEN'}`);
      if (result.ssoSecret) stdio.out(`SSO_SECRET=${result.ssoSecret}`);
      stdio.out(`DASHBOARD=${result.dashboardUrl}`);
      stdio.err(`Start the server on the same DATA_DIR (npm start), open ${result.dashboardUrl} and sign in with ADMIN_TOKEN. The tokens are shown only this once.`);
    });

  return cli;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  // `scim-lifecycle ... | head`: a reader that stops early is not an error worth a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  try {
    await program().parseAsync(argv);
  } catch (error) {
    process.stderr.write(`error: ${describeError(error)}\n`);
    if (process.env.SCIM_CLI_DEBUG === '1' && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = error instanceof CliError ? error.exitCode : EXIT.failed;
  }
}

if (require.main === module) void main();
