/**
 * Runs every lifecycle policy for every organization on an interval. Each run takes the organization's lease for
 * that job, so several server processes can all schedule without running a job twice at once.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/port';
import type { Logger } from '../logger';
import { POLICIES, runPolicy } from './policies';

/** Starts the scheduler; returns a function that stops it. An interval of 0 disables it. */
export function startPolicyScheduler(store: Store, logger: Logger, everyMs: number): () => void {
  if (everyMs <= 0) return () => undefined;
  const holder = `process:${process.pid}:${randomUUID()}`;
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      for (const org of await store.organizations.find({})) {
        for (const policy of POLICIES) {
          const changed = await runPolicy(store, org, policy, holder);
          if (changed) logger.info({ orgId: org._id, policy, changed }, 'policy applied');
        }
      }
    } catch (error) {
      logger.error({ error: (error as Error).name }, 'policy run failed; retrying at the next interval');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
