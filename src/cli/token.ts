/**
 * `token issue | list | revoke`. A token is shown once, when issued; the store keeps only its SHA-256 hash, whose
 * first 12 hex digits are the token's id in `list` and `revoke`.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/port';
import type { OrganizationDoc, TokenDoc } from '../store/documents';
import { generateToken, storeToken } from '../auth/tokens';
import { CliError } from './errors';

export type IssuedKind = 'scim' | 'admin';

export const tokenIdOf = (doc: Pick<TokenDoc, '_id'>) => doc._id.slice(0, 12);

/**
 * Issues a token. A SCIM token gets a directory connection of its own (`${orgId}:<uuid>`): the users it provisions
 * are linked to that connection and invisible to every other one.
 */
export async function issueToken(store: Store, org: OrganizationDoc, kind: IssuedKind, label?: string, now = new Date()): Promise<{ token: string; doc: TokenDoc }> {
  const token = generateToken();
  const doc = await storeToken(
    store,
    token,
    {
      orgId: org._id,
      kind,
      ...(kind === 'scim' ? { connectionId: `${org._id}:${randomUUID()}` } : {}),
      ...(label ? { label } : {}),
    },
    now,
  );
  return { token, doc };
}

/** The organization's SCIM and admin tokens (session tokens are the SSO's business), oldest first. */
export function listTokens(store: Store, org: OrganizationDoc): Promise<TokenDoc[]> {
  return store.tokens.find({ orgId: org._id, kind: { $in: ['scim', 'admin'] } }, { sort: { created: 1, _id: 1 } });
}

/** Deletes the organization's SCIM or admin token whose hash starts with `id`. */
export async function revokeToken(store: Store, org: OrganizationDoc, id: string): Promise<TokenDoc> {
  const prefix = new RegExp(`^${id.replace(/[^0-9a-f]/g, '')}`);
  const matches = await store.tokens.find({ orgId: org._id, kind: { $in: ['scim', 'admin'] }, _id: { $regex: prefix } }, { limit: 2 });
  if (matches.length === 0) throw new CliError(`no token with id ${id} in organization "${org.name}" (see "token list")`);
  if (matches.length > 1) throw new CliError(`id ${id} matches more than one token; give more hex digits of it`);
  const removed = await store.tokens.deleteOne({ _id: matches[0]._id, orgId: org._id });
  if (!removed) throw new CliError(`token ${id} was revoked by someone else meanwhile`);
  return removed;
}

/** Rows for `token list`, as aligned text. */
export function formatTokens(docs: TokenDoc[]): string[] {
  const rows = [
    ['ID', 'KIND', 'LABEL', 'CREATED', 'CONNECTION'],
    ...docs.map((d) => [tokenIdOf(d), d.kind, d.label ?? '-', new Date(d.created).toISOString(), d.connectionId ?? '-']),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '));
}
