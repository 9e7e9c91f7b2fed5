/**
 * One process at a time per embedded store. NeDB keeps every collection in memory and appends to its files; two
 * processes writing the same `DATA_DIR` silently lose each other's writes (each rewrites the files from its own
 * memory on compaction). The server and the CLI therefore take an exclusive lock file in `DATA_DIR` and refuse to
 * start while another live process holds it.
 *
 * The lock is a file created with `O_EXCL` holding `{pid, host, command, since}`. A lock whose process is gone
 * (crash, SIGKILL) is stale and taken over. MongoDB (`MONGODB_URI`) needs no lock: any number of processes may share it.
 */
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const LOCK_FILE = 'scim-lifecycle.lock';

export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockInfo,
  ) {
    super(
      `DATA_DIR ${dataDir} is in use by "${holder.command}" (pid ${holder.pid} on ${holder.host}, since ${holder.since}); ` +
        'the embedded store is single-process: stop the server (or wait for the other command) and retry',
    );
    this.name = 'DataDirLockedError';
  }
}

/** How long an unreadable lock file is presumed to be one another process is still writing. */
const UNREADABLE_GRACE_MS = 5000;

function youngerThan(file: string, ms: number): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs < ms;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    return Number.isInteger(info.pid) ? info : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock of `dataDir` for `command`; returns the function that releases it (also released when the process
 * exits). Throws {@link DataDirLockedError} when a live process holds it.
 */
export function acquireDataDirLock(dataDir: string, command: string): () => void {
  const dir = path.resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, host: os.hostname(), command, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readLock(file);
      // A lock from another host cannot be checked; one whose process is gone is stale.
      if (holder && (holder.host !== info.host || alive(holder.pid))) throw new DataDirLockedError(dir, holder);
      // An unreadable lock may be one being written this very moment: only an old one is stale.
      if (!holder && youngerThan(file, UNREADABLE_GRACE_MS)) {
        throw new DataDirLockedError(dir, { pid: 0, host: '?', command: 'unknown (lock file being written)', since: 'just now' });
      }
      try {
        unlinkSync(file);
      } catch {
        /* another process removed it first */
      }
      continue;
    }
    writeSync(fd, JSON.stringify(info));
    closeSync(fd);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.removeListener('exit', release);
      try {
        if (readLock(file)?.pid === process.pid) unlinkSync(file);
      } catch {
        /* already gone */
      }
    };
    process.on('exit', release);
    return release;
  }
  throw new Error(`could not take the lock ${file}`);
}
