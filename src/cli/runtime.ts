/**
 * What every command needs: the configuration (DATA_DIR / MONGODB_URI from the environment, exactly as the server
 * reads them), the store opened once with the lock held, and the organization named on the command line.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from '../config';
import { openStore } from '../store/open';
import type { Store } from '../store/port';
import type { OrganizationDoc } from '../store/documents';
import { acquireDataDirLock, DataDirLockedError } from '../store/embedded/lock';
import { CliError } from './errors';

export interface Output {
  /** Results (what scripts read). */
  out: (line: string) => void;
  /** Diagnostics, warnings and progress. */
  err: (line: string) => void;
}

export const stdio: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

function configOrFail(): Config {
  try {
    return loadConfig();
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

/**
 * Opens the configured store for `command`, runs `work`, then closes the store and releases the lock whatever
 * happened. With the embedded store the DATA_DIR lock is taken first (see lock.ts), and only `createsData` commands
 * may create a missing DATA_DIR: for the others a missing directory is almost always a wrong working directory or
 * DATA_DIR (its default, `./data`, is relative), which must not silently become a new empty store.
 */
export async function withStore<T>(command: string, work: (store: Store, config: Config) => Promise<T>, createsData = false): Promise<T> {
  const config = configOrFail();
  let release: (() => void) | undefined;
  if (!config.mongodbUri) {
    if (!createsData && !existsSync(config.dataDir)) {
      throw new CliError(`DATA_DIR ${path.resolve(config.dataDir)} does not exist: set DATA_DIR to the server's data directory (or create an organization first with "org create")`);
    }
    try {
      release = acquireDataDirLock(config.dataDir, `scim-lifecycle ${command}`);
    } catch (error) {
      if (error instanceof DataDirLockedError) throw new CliError(error.message);
      throw new CliError(`cannot use DATA_DIR ${path.resolve(config.dataDir)}: ${(error as Error).message}`);
    }
  }
  try {
    let store: Store;
    try {
      store = await openStore(config);
    } catch (error) {
      throw new CliError(`cannot open the store (${config.mongodbUri ? 'MONGODB_URI' : `DATA_DIR ${path.resolve(config.dataDir)}`}): ${(error as Error).message}`);
    }
    try {
      return await work(store, config);
    } finally {
      await store.close();
    }
  } finally {
    release?.();
  }
}

/** The organization called `name`, or a clear error listing what exists. */
export async function findOrganization(store: Store, name: string): Promise<OrganizationDoc> {
  const org = await store.organizations.findOne({ name });
  if (org) return org;
  const known = (await store.organizations.find({}, { projection: { name: 1 }, sort: { name: 1 }, limit: 20 })).map((o) => o.name);
  throw new CliError(`unknown organization "${name}"${known.length > 0 ? ` (known: ${known.join(', ')})` : ' (none exists yet: create one with "org create")'}`);
}
