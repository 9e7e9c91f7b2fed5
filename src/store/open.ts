/** Chooses the adapter from the configuration: MongoDB when `MONGODB_URI` is set, else the embedded store. */
import type { Config } from '../config';
import type { Store } from './port';
import { openEmbeddedStore, type EmbeddedStoreOptions } from './embedded';

/** `onLoaded`: told of each embedded collection as it is loaded (start-up takes about a minute at 1M users). */
export async function openStore(config: Pick<Config, 'mongodbUri' | 'dataDir'>, onLoaded?: EmbeddedStoreOptions['onLoaded']): Promise<Store> {
  if (config.mongodbUri) {
    // Loaded only when used, so the embedded default does not pay for mongoose at start-up.
    const { openMongoStore } = await import('./mongo');
    return openMongoStore(config.mongodbUri);
  }
  return openEmbeddedStore({ dataDir: config.dataDir, onLoaded });
}
