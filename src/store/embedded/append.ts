/**
 * NeDB appends every write to its data file with `fs.appendFile`, which opens, writes and closes the file each time,
 * each step a round trip through libuv's thread pool: ~95 µs a write measured here, ~15% of the CPU of a SCIM write
 * (PERFORMANCE.md §5). Here a datastore keeps its file open for appending and writes the very lines NeDB would (its
 * own serializer, same order, same absence of fsync) with one synchronous `write` of a few hundred bytes into the
 * page cache: ~3 µs. The write is handed to the kernel before the store reports success, exactly as before.
 *
 * Compaction replaces the file (a new one renamed over the old, see `keepDataFileOpen`): the handle is closed in the
 * same synchronous step and reopened on the next append, so no line ever goes to the replaced file.
 */
import type Datastore from '@seald-io/nedb';
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, renameSync, writeSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { StoreUnavailableError } from '../port';
import { byline, internals, model, storage, type NedbPersistence } from './nedb';

export interface DataFile {
  /** Closes the file (at shutdown), abandoning a rewrite under way: the file it would replace is whole. */
  close(): Promise<void>;
  /** Lines appended since the file was last rewritten, and how many live documents that rewrite wrote. */
  growth(): { appended: number; live: number };
  /** Rewrites the file to its live documents while the store goes on serving reads and writes. */
  compact(): Promise<void>;
}

/**
 * Shared by the data files of one store: the first append that fails sets `failure`. The documents in memory then
 * hold a change the files do not, and the store stops answering (index.ts) until a restart reloads the files.
 */
export interface StoreHealth {
  failure?: StoreUnavailableError;
}

/**
 * Loads the datastore from its file without the rewrite NeDB makes of every file it loads (at 1M users, ~1.7 GB of
 * serialising and writing on each start), and tells how many lines the file holds. A file is compacted instead when
 * it has grown enough, by the same rule as while running (index.ts, COMPACTION), applied at once: the lines it holds
 * beyond its live documents count as appended ones.
 */
export async function loadDataFile(db: Datastore<unknown>): Promise<number> {
  const { persistence } = internals(db);
  const rewrite = persistence.persistCachedDatabaseAsync;
  const treat = persistence.treatRawStreamAsync;
  let lines = 0;
  persistence.persistCachedDatabaseAsync = async () => {};
  persistence.treatRawStreamAsync = (stream) => treatLines(persistence, stream, () => lines++);
  try {
    await db.loadDatabaseAsync();
  } finally {
    persistence.persistCachedDatabaseAsync = rewrite;
    persistence.treatRawStreamAsync = treat;
  }
  return lines;
}

/**
 * NeDB's reading of a data file's lines (`treatRawStreamAsync`), with the documents kept in a Map. The library keeps
 * them in a plain object keyed by `_id`, which makes V8 intern every id in its string table: opening 100k users took
 * 8.4–9.4 s with it, 6.6–7.3 s with a Map (1M users: 76 → 51 s). Each line is also handled as it arrives rather than
 * through the library's chain of one async function a line (behind its async serialization hook; the store's
 * datastores have none), which alone measured within noise. Same lines (NeDB's splitter), same order, same rules:
 * the last line of an `_id` wins, `$$deleted` removes it, index lines are kept, unreadable lines count as corrupt and
 * fail the load past `corruptAlertThreshold` with the library's error. `counted` is called for every non-empty line.
 */
function treatLines(persistence: NedbPersistence, stream: NodeJS.ReadableStream, counted: () => void): Promise<{ data: unknown[]; indexes: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    // `inObjectOrder` gives the order the library's object would: the order documents are indexed in.
    const dataById = new Map<string, unknown>();
    const indexes: Record<string, unknown> = {};
    let corruptItems = 0;
    let dataLength = 0;
    const lines = byline(stream);
    lines.on('data', (line: string) => {
      if (line === '') return;
      counted();
      try {
        const doc = model.deserialize(line) as Record<string, unknown> & { _id?: string };
        const index = doc.$$indexCreated as { fieldName?: unknown } | undefined;
        if (doc._id) {
          if (doc.$$deleted === true) dataById.delete(doc._id);
          else dataById.set(doc._id, doc);
        } else if (index && index.fieldName != null) indexes[index.fieldName as string] = index;
        else if (typeof doc.$$indexRemoved === 'string') delete indexes[doc.$$indexRemoved];
      } catch {
        corruptItems += 1;
      }
      dataLength++;
    });
    lines.on('end', () => {
      const corruptionRate = dataLength > 0 ? corruptItems / dataLength : 0;
      if (corruptionRate > persistence.corruptAlertThreshold) {
        const error = new Error(
          `${Math.floor(100 * corruptionRate)}% of the data file is corrupt, more than given corruptAlertThreshold (${Math.floor(100 * persistence.corruptAlertThreshold)}%). Cautiously refusing to start NeDB to prevent dataloss.`,
        );
        reject(Object.assign(error, { corruptionRate, corruptItems, dataLength }));
        return;
      }
      resolve({ data: inObjectOrder(dataById), indexes });
    });
    lines.on('error', reject);
  });
}

/**
 * Characters of lines serialised between two writes of a rewrite: a few milliseconds of the event loop, after which
 * requests are served while the chunk goes to the file.
 */
const REWRITE_CHUNK = 256 * 1024;

/**
 * Keeps the data file of `db` open for appends; `linesInFile` as {@link loadDataFile} counted them. A failed append
 * is recorded in `health`.
 *
 * A rewrite (compaction) does not stop the store. NeDB's runs as a task of the datastore's queue, which holds every
 * write back until it ends, and serialises all documents in one go: at 100k users the event loop stopped for
 * 0.6–0.8 s and writes for ~1.5 s; at 1M, ten times that, long enough for an IdP's request to time out. Here the
 * rewrite takes the list of live documents, and from that same moment every line appended to the data file is also
 * kept aside. It writes the documents to a temporary file a chunk at a time, yielding between chunks; meanwhile
 * writes go on, appended to the current file as always. Then, in one synchronous step, it appends the lines kept
 * aside to the temporary file, syncs it and renames it over the data file. Loading applies a file's lines in order
 * and the last line of an `_id` wins, so the result holds every write: a document written during the rewrite has its
 * newest line in the part kept aside, whichever version the snapshot part caught (a write changes a stored document
 * within one synchronous step, so each line is one whole version). NeDB's steps for a crash are kept: the directory
 * and the data file are synced first, the temporary file before the rename, the directory after it. Until the rename,
 * the data file is the complete one; a failed or abandoned rewrite removes its temporary file.
 */
export function keepDataFileOpen(db: Datastore<unknown>, linesInFile: number, health: StoreHealth = {}): DataFile {
  const { persistence, indexes } = internals(db);
  let live = db.getAllData().length;
  // Superseded versions, deletions and index lines: what a rewrite would drop.
  let appended = Math.max(0, linesInFile - live);
  const growth = () => ({ appended, live });
  if (persistence.inMemoryOnly) return { close: async () => {}, growth, compact: async () => {} };
  let fd: number | undefined;
  /** The file's length as the appends know it: where a failed append cuts it back to. */
  let length = 0;
  /** While a rewrite runs: the text appended since its snapshot. */
  let keptAside: string[] | undefined;
  let rewriting: Promise<void> | undefined;
  let closing = false;

  const closeFile = () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };

  persistence.persistNewStateAsync = async (docs: unknown[]) => {
    let lines = '';
    for (const doc of docs) lines += `${model.serialize(doc)}\n`;
    if (lines.length === 0) return;
    if (fd === undefined) {
      fd = openSync(persistence.filename, 'a', persistence.modes.fileMode);
      length = fstatSync(fd).size;
    }
    try {
      length += writeAll(fd, lines);
    } catch (error) {
      throw failedAppend(fd, error);
    }
    appended += docs.length;
    keptAside?.push(lines);
  };

  /**
   * An append the file refused (a full disk, an I/O error). The change is already in memory, and NeDB's operations
   * cannot be undone there, so it is recorded in `health` (see {@link StoreHealth}). The file is cut back to its last
   * whole line: a partial one would swallow the next line appended after it.
   */
  function failedAppend(openFd: number, error: unknown): StoreUnavailableError {
    try {
      ftruncateSync(openFd, length);
    } catch {
      // The file keeps a partial last line, which loading skips as one corrupt line.
    }
    closeFile();
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    health.failure ??= new StoreUnavailableError(`embedded store: appending to ${path.basename(persistence.filename)} failed (${code}); restart once it is fixed`, { cause: error });
    return health.failure;
  }

  /**
   * A rewrite stops when the store closes, and when an append has failed: the snapshot may then hold the change a
   * file refused, which the rename would make durable after its request was answered 503.
   */
  function abandonIfStopped(): void {
    if (closing) throw new Error('rewrite abandoned: the store is closing');
    if (health.failure) throw new Error('rewrite abandoned: an append failed', { cause: health.failure });
  }

  async function rewrite(): Promise<void> {
    const { filename, modes } = persistence;
    const temporary = `${filename}~`;
    const docs = db.getAllData();
    // In the same step as the snapshot: no line falls between. The lines appended from here on are kept aside.
    const aside: string[] = (keptAside = []);
    const appendedBefore = appended;
    let handle: FileHandle | undefined;
    try {
      await storage.flushToStorageAsync({ filename: path.dirname(filename), isDir: true, mode: modes.dirMode });
      await storage.flushToStorageAsync({ filename, mode: modes.fileMode });
      handle = await open(temporary, 'w', modes.fileMode);
      let chunk = '';
      for (const doc of docs) {
        chunk += `${model.serialize(doc)}\n`;
        if (chunk.length < REWRITE_CHUNK) continue;
        await handle.write(chunk);
        chunk = '';
        abandonIfStopped();
      }
      for (const [name, { fieldName, unique, sparse }] of Object.entries(indexes)) {
        // The `_id` index is the datastore's own; NeDB lists the others so that loading recreates them.
        if (name !== '_id') chunk += `${model.serialize({ $$indexCreated: { fieldName, unique, sparse } })}\n`;
      }
      await handle.write(chunk);
      await handle.sync();
      abandonIfStopped();
      // One synchronous step: no write can come between the lines kept aside and the rename.
      if (aside.length > 0) {
        writeAll(handle.fd, aside.join(''));
        fdatasyncSync(handle.fd);
      }
      renameSync(temporary, filename);
      closeFile(); // the next append opens the new file
      appended -= appendedBefore; // the lines kept aside: the new file's only superseded ones
      live = db.getAllData().length;
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    } finally {
      keptAside = undefined;
      await handle?.close().catch(() => undefined);
    }
    await storage.flushToStorageAsync({ filename: path.dirname(filename), isDir: true, mode: modes.dirMode });
  }

  const compact = () =>
    (rewriting ??= rewrite().finally(() => {
      rewriting = undefined;
    }));

  // NeDB's own compaction (`compactDatafileAsync`, queued) rewrites the same way.
  persistence.persistCachedDatabaseAsync = compact;

  const close = async () => {
    closing = true;
    await rewriting?.catch(() => undefined);
    closeFile();
  };
  return { close, growth, compact };
}

/** Writes all of `text` at the end of the file open as `fd`, synchronously; returns the bytes written. */
function writeAll(fd: number, text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
  return bytes.length;
}

/** An array index as a property name (`"0"`, `"42"`, not `"042"`): objects list such keys first, in numeric order. */
const isArrayIndex = (key: string) => /^(?:0|[1-9]\d*)$/.test(key) && Number(key) < 2 ** 32 - 1;

/**
 * The values of `byId` in the order `Object.values` gives for an object with the same keys set the same way, which is
 * the order the library indexes documents in: array-index keys ascending, then the others in insertion order.
 */
function inObjectOrder(byId: Map<string, unknown>): unknown[] {
  const indexed: Array<[number, unknown]> = [];
  const rest: unknown[] = [];
  for (const [id, doc] of byId) {
    if (isArrayIndex(id)) indexed.push([Number(id), doc]);
    else rest.push(doc);
  }
  if (indexed.length === 0) return rest;
  indexed.sort((a, b) => a[0] - b[0]);
  return [...indexed.map(([, doc]) => doc), ...rest];
}
