/**
 * Organizations and their bootstrap from the environment (DESIGN.md §5): with `SCIM_BOOTSTRAP_TOKEN` set, start-up
 * makes sure the organization exists with a directory connection whose token is that value (stored only hashed).
 */
import { v7 as uuidv7 } from 'uuid';
import type { Store } from '../store/port';
import { DuplicateKeyError } from '../store/port';
import type { OrganizationDoc } from '../store/documents';
import type { Config } from '../config';
import { storeToken } from '../auth/tokens';
import { DomainError } from '../domain/errors';
import type { RequestContext } from './context';
import { ensureSeatSlots } from './seats';

type OrgSettings = Config['bootstrap']['org'];

/**
 * Creates the organization named `settings.name` unless it exists, then brings its settings in line with the
 * environment (domains, seats, modes). Seats already in use stay counted: only the free count moves.
 */
export async function ensureOrganization(store: Store, settings: OrgSettings, ssoSecret?: string, now = new Date()): Promise<OrganizationDoc> {
  const fromEnvironment = {
    domains: settings.domains,
    seats: settings.seats,
    licenseMode: settings.licenseMode,
    licenseGroups: settings.licenseGroups,
    deprovision: settings.deprovision,
    ...(ssoSecret ? { ssoSecret } : {}),
  };
  const existing = await store.organizations.findOne({ name: settings.name });
  if (!existing) {
    const doc: OrganizationDoc = { _id: uuidv7(), name: settings.name, ...fromEnvironment, created: now };
    try {
      await store.organizations.insertOne(doc);
      await ensureSeatSlots(store, doc);
      return doc;
    } catch (error) {
      // Another process bootstrapped the same organization first.
      if (!(error instanceof DuplicateKeyError)) throw error;
      return ensureOrganization(store, settings, ssoSecret, now);
    }
  }
  const updated = await store.organizations.updateOne({ _id: existing._id }, { $set: fromEnvironment });
  await ensureSeatSlots(store, updated ?? existing);
  return updated ?? existing;
}

/** The directory connection of the bootstrap SCIM token (`SCIM_BOOTSTRAP_TOKEN`). */
export const bootstrapConnectionId = (orgId: string) => `${orgId}:bootstrap`;

/** Applies the bootstrap settings of `config`, when any token is configured. */
export async function bootstrap(store: Store, config: Config): Promise<OrganizationDoc | undefined> {
  const { scimToken, adminToken, ssoSecret, org } = config.bootstrap;
  if (!scimToken && !adminToken) return undefined;
  const organization = await ensureOrganization(store, org, ssoSecret);
  if (scimToken) {
    await storeToken(store, scimToken, { orgId: organization._id, kind: 'scim', connectionId: bootstrapConnectionId(organization._id) });
  }
  if (adminToken) await storeToken(store, adminToken, { orgId: organization._id, kind: 'admin' });
  return organization;
}

/**
 * The caller's organization. A token whose organization is gone is as good as no token: 401, not an internal error.
 */
export async function organizationOf(store: Store, ctx: Pick<RequestContext, 'orgId'>): Promise<OrganizationDoc> {
  const org = await store.organizations.findOne({ _id: ctx.orgId });
  if (!org) throw new DomainError('unauthenticated', 'authentication required: send a valid bearer token');
  return org;
}
