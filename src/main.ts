/**
 * Process entry: configuration → store → bootstrap → app → listen; graceful shutdown on SIGTERM/SIGINT.
 */
import type { Server } from 'node:http';
import { loadConfig } from './config';
import { createLogger, type Logger } from './logger';
import { createApp } from './http/app';
import { createHttpServer } from './http/server';
import { openStore } from './store/open';
import { bootstrap } from './services/organizations';
import { protectPrototypes } from './scim/guards';
import { reconcileOrganization } from './services/lifecycle';
import { adoptUnscopedGroups } from './services/group-adoption';
import { startPolicyScheduler } from './services/scheduler';
import { acquireDataDirLock } from './store/embedded/lock';
import { dataFileBytes, heapWarning } from './store/embedded/capacity';

/** How long in-flight requests get to finish after a stop signal. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Loading the embedded store leaves its garbage in the old generation (lines read, index trees built): ~1.5 GB at 1M
 * users. V8 collects it at its first major collection, ~5 s of CPU at that size, which then lands on the first
 * requests served (measured: GET by id at 9.4 ms of CPU a request instead of ~0.2). Collected here, before listening,
 * when node runs with --expose-gc, as `npm start` does.
 */
function collectStartupGarbage(logger: Logger): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return;
  const started = performance.now();
  gc();
  logger.info({ ms: Math.round(performance.now() - started), heapMB: Math.round(process.memoryUsage().heapUsed / 1048576) }, 'start-up garbage collected');
}

async function main(): Promise<void> {
  protectPrototypes();
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  // One process per embedded store: a second server or a CLI command on the same DATA_DIR is refused.
  const releaseLock = config.mongodbUri ? () => undefined : acquireDataDirLock(config.dataDir, 'scim-lifecycle server');
  if (!config.mongodbUri) {
    const warning = heapWarning(dataFileBytes(config.dataDir));
    if (warning) logger.warn(warning);
  }
  const store = await openStore(config, (collection, documents, ms) => logger.info({ collection, documents, ms }, 'collection loaded'));
  const org = await bootstrap(store, config);
  if (org) logger.info({ orgId: org._id, org: org.name }, 'bootstrap organization ready');
  // Finish whatever a crash left half-done (seats, sessions, audit) before taking requests.
  for (const organization of await store.organizations.find({})) {
    const ctx = { orgId: organization._id, actor: { kind: 'policy', id: 'startup' }, now: new Date() } as const;
    const { adopted, left, droppedMemberships } = await adoptUnscopedGroups(store, ctx, organization);
    if (adopted > 0) logger.info({ orgId: organization._id, groups: adopted, droppedMemberships }, 'groups without a directory connection given to the connection of their members');
    if (left.length > 0) logger.warn({ orgId: organization._id, groups: left }, 'groups without a directory connection left as they were (no connection to give them to, or a group of that name there)');
    await reconcileOrganization(store, ctx, organization);
  }

  collectStartupGarbage(logger);

  const stopPolicies = startPolicyScheduler(store, logger, config.policyIntervalMs);
  const app = createApp({ config, store, logger });
  const server: Server = await new Promise<Server>((resolve, reject) => {
    const listening = createHttpServer(app).listen(config.port, config.host, () => resolve(listening));
    // A busy port or a forbidden address is a start-up error like a bad variable: one line, non-zero exit.
    listening.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(error.code === 'EADDRINUSE' ? `PORT ${config.port} is already in use` : `cannot listen on ${config.host}:${config.port} (PORT/HOST): ${error.code ?? error.message}`)),
    );
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info({ port, store: store.kind }, `SCIM server listening on http://localhost:${port}/scim/v2`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stopPolicies();
    const force = setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(() => {
      store.close().then(
        () => {
          releaseLock();
          process.exit(0);
        },
        (error) => {
          logger.error({ err: error }, 'store did not close cleanly');
          process.exit(1);
        },
      );
    });
    server.closeIdleConnections?.();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  // Configuration errors name the variable; print them plainly and exit non-zero.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
