/** `org create`: a new organization with its seat slots. */
import { v7 as uuidv7 } from 'uuid';
import type { Store } from '../store/port';
import { DuplicateKeyError } from '../store/port';
import type { DeprovisionMode, LicenseMode, OrganizationDoc } from '../store/documents';
import { ensureSeatSlots } from '../services/seats';
import { CliError } from './errors';

export interface OrgCreateOptions {
  domains: string[];
  seats: number;
  licenseMode: LicenseMode;
  licenseGroups: string[];
  deprovision: DeprovisionMode;
}

/**
 * Creates the organization; an existing name is an error, never an update (`ensureOrganization`, the bootstrap's
 * upsert, would silently rewrite its settings). The name is unique in the store, so two concurrent creations (on
 * MongoDB) cannot both succeed.
 */
export async function createOrganization(store: Store, name: string, options: OrgCreateOptions, now = new Date()): Promise<OrganizationDoc> {
  if (options.licenseGroups.length > 0 && options.licenseMode !== 'groups') {
    throw new CliError('--license-groups needs --license-mode groups');
  }
  if (await store.organizations.findOne({ name })) throw new CliError(`organization "${name}" already exists`);
  const claimed = await store.organizations.find({ domains: { $in: options.domains } }, { projection: { name: 1, domains: 1 } });
  if (claimed.length > 0) {
    const taken = options.domains.filter((d) => claimed.some((o) => o.domains.includes(d)));
    throw new CliError(`domain ${taken.join(', ')} is already claimed by organization "${claimed[0].name}"`);
  }
  const doc: OrganizationDoc = {
    _id: uuidv7(),
    name,
    domains: options.domains,
    seats: options.seats,
    licenseMode: options.licenseMode,
    licenseGroups: options.licenseGroups.map((g) => g.toLowerCase()),
    deprovision: options.deprovision,
    created: now,
  };
  try {
    await store.organizations.insertOne(doc);
  } catch (error) {
    if (error instanceof DuplicateKeyError) throw new CliError(`organization "${name}" already exists`);
    throw error;
  }
  await ensureSeatSlots(store, doc);
  return doc;
}
