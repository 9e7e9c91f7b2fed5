/**
 * The datastore's queue of operations, entered at once when it is idle.
 *
 * NeDB runs every operation of a datastore as a task of its executor, one after the other, so that writes never
 * interleave. Entering that queue costs a chain of promises (its `Waterfall`: five a task, each resumed in a later
 * microtask) even when nothing is queued, which is most of the time; a SCIM create makes three writes. The adapter's
 * own writes of one document (write.ts) do all their work synchronously: the index changes, and the line appended with
 * one synchronous `write` (append.ts). Such a write, when no task is queued or running, cannot interleave with
 * anything, so it runs at once; any other moment it takes its place in the queue as before.
 */
import type Datastore from '@seald-io/nedb';
import { internals } from './nedb';

/** Whether the queue of a tracked datastore has nothing queued or running, and is open (loaded, not being dropped). */
const idleness = new WeakMap<object, () => boolean>();

/**
 * Counts the tasks of `db`'s queue. Only for a datastore whose appends are synchronous (append.ts, or in memory
 * only): `runQueued` relies on a write being complete when its task returns.
 */
export function trackQueue(db: Datastore<unknown>): void {
  const { executor } = internals(db);
  const push = executor.pushAsync.bind(executor);
  let pending = 0;
  const settled = () => {
    pending--;
  };
  executor.pushAsync = <R>(task: () => Promise<R>, forceQueuing?: boolean): Promise<R> => {
    pending++;
    const done = push(task, forceQueuing);
    done.then(settled, settled);
    return done;
  };
  idleness.set(executor, () => executor.ready && pending === 0);
}

/**
 * Runs `task` as one of `db`'s queued operations: at once when the queue is idle, else after what is queued. `task`
 * must make all its changes before it returns; what it returns may be a promise (of the append's completion).
 */
export function runQueued<R>(db: Datastore<unknown>, task: () => R | Promise<R>): Promise<R> {
  const { executor } = internals(db);
  if (idleness.get(executor)?.() !== true) return executor.pushAsync(async () => task());
  try {
    return Promise.resolve(task());
  } catch (error) {
    return Promise.reject(error);
  }
}
