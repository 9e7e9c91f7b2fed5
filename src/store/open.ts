/** Chooses the adapter from the configuration: MongoDB when `MONGODB_URI` is set, else the embedded store. */
import type { Config } from '../config';
import type { Store } from './port';
import { openEmbeddedStore } from './embedded';

export async function openStore(config: Pick<Config, 'mongodbUri' | 'dataDir'>): Promise<Store> {
  if (config.mongodbUri) {
    // Loaded only when used, so the embedded default does not pay for mongoose at start-up.
    const { openMongoStore } = await import('./mongo');
    return openMongoStore(config.mongodbUri);
  }
  return openEmbeddedStore({ dataDir: config.dataDir });
}
