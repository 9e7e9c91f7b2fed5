/**
 * CSV exports for admins (seed 004): managed accounts (who is billable, who is deactivated, when each was last
 * active) and site users (managed or not, with their groups). Streamed page by page in `_id` order, so 100k accounts
 * never sit in memory at once; quoting is csv-stringify's.
 */
import { stringify } from 'csv-stringify';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import type { Store } from '../store/port';
import type { UserDoc } from '../store/documents';
import { groupsOfUsers } from './users';
import { stateOf } from './lifecycle';

export type ExportKind = 'managed-accounts' | 'site-users';
const PAGE = 500;

const nameOf = (u: UserDoc) => {
  const name = u.scim.name as { formatted?: string; givenName?: string; familyName?: string } | undefined;
  return (u.scim.displayName as string | undefined) ?? name?.formatted ?? ([name?.givenName, name?.familyName].filter(Boolean).join(' ') || u.scim.userName);
};
const emailOf = (u: UserDoc) => {
  const emails = (u.scim.emails as Array<{ value?: string; primary?: boolean }> | undefined) ?? [];
  return (emails.find((e) => e.primary) ?? emails[0])?.value ?? (u.scim.userName.includes('@') ? u.scim.userName : '');
};
const lastActive = (u: UserDoc) => u.lifecycle?.lastActive?.toISOString() ?? 'Never';

const COLUMNS: Record<ExportKind, string[]> = {
  'managed-accounts': ['Name', 'Email', 'Last active', 'Status', 'Billable', 'License', 'Site access'],
  'site-users': ['Name', 'Email', 'Managed', 'Site access', 'License', 'Groups', 'Last active'],
};

function row(kind: ExportKind, u: UserDoc, groups: string[]): string[] {
  const s = stateOf(u);
  if (kind === 'managed-accounts') {
    return [nameOf(u), emailOf(u), lastActive(u), s.accountStatus, s.license === 'licensed' ? 'Yes' : 'No', s.license, s.siteAccess];
  }
  return [nameOf(u), emailOf(u), s.managed ? 'Yes' : 'No', s.siteAccess, s.license, groups.join('; '), lastActive(u)];
}

/** Writes the export as CSV to `out`, respecting back-pressure; resolves when everything is written. */
export async function writeAccountsCsv(store: Store, orgId: string, kind: ExportKind, out: Writable): Promise<number> {
  const csv = stringify({ header: true, columns: COLUMNS[kind] });
  csv.pipe(out);
  const base: Record<string, unknown> =
    kind === 'managed-accounts'
      ? { orgId, 'lifecycle.managed': true, 'lifecycle.accountStatus': { $ne: 'deleted' } }
      : { orgId, 'lifecycle.siteAccess': { $in: ['active', 'suspended', 'invited'] } };
  let after: string | undefined;
  let count = 0;
  for (;;) {
    const page = await store.users.find(after ? { ...base, _id: { $gt: after } } : base, { sort: { _id: 1 }, limit: PAGE });
    if (page.length === 0) break;
    const groups = kind === 'site-users' ? await groupsOfUsers(store, orgId, page.map((u) => u._id)) : undefined;
    for (const u of page) {
      if (!csv.write(row(kind, u, groups?.get(u._id)?.map((g) => g.display) ?? []))) await once(csv, 'drain');
      count++;
    }
    after = page[page.length - 1]._id;
  }
  csv.end();
  await once(csv, 'end');
  return count;
}
