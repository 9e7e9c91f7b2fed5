/**
 * NeDB appends every write to its data file with `fs.appendFile`, which opens, writes and closes the file each time,
 * each step a round trip through libuv's thread pool: ~95 µs a write measured here, ~15% of the CPU of a SCIM write
 * (PERFORMANCE.md §5). Here a datastore keeps its file open for appending and writes the very lines NeDB would (its
 * own serializer, same order, same absence of fsync) with one synchronous `write` of a few hundred bytes into the
 * page cache: ~3 µs. The write is handed to the kernel before the store reports success, exactly as before.
 *
 * Compaction replaces the file (NeDB writes a new one and renames it over the old): the handle is closed before and
 * reopened on the next append, so no line ever goes to the replaced file. Both run as tasks of the datastore's queue,
 * so they never interleave.
 */
import type Datastore from '@seald-io/nedb';
import { closeSync, openSync, writeSync } from 'node:fs';
import { internals, model } from './nedb';

export interface DataFile {
  /** Closes the file (at shutdown). */
  close(): Promise<void>;
  /** Lines appended since the file was last rewritten, and how many live documents that rewrite wrote. */
  growth(): { appended: number; live: number };
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
  const deserialize = persistence.beforeDeserialization;
  let lines = 0;
  persistence.persistCachedDatabaseAsync = async () => {};
  persistence.beforeDeserialization = (line: string) => {
    if (line !== '') lines++;
    return deserialize(line);
  };
  try {
    await db.loadDatabaseAsync();
  } finally {
    persistence.persistCachedDatabaseAsync = rewrite;
    persistence.beforeDeserialization = deserialize;
  }
  return lines;
}

/** Keeps the data file of `db` open for appends; `linesInFile` as {@link loadDataFile} counted them. */
export function keepDataFileOpen(db: Datastore<unknown>, linesInFile: number): DataFile {
  const { persistence } = internals(db);
  let live = db.getAllData().length;
  // Superseded versions, deletions and index lines: what a rewrite would drop.
  let appended = Math.max(0, linesInFile - live);
  const growth = () => ({ appended, live });
  if (persistence.inMemoryOnly) return { close: async () => {}, growth };
  let fd: number | undefined;

  const close = async () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };

  persistence.persistNewStateAsync = async (docs: unknown[]) => {
    let lines = '';
    for (const doc of docs) lines += `${model.serialize(doc)}\n`;
    if (lines.length === 0) return;
    fd ??= openSync(persistence.filename, 'a', persistence.modes.fileMode);
    const bytes = Buffer.from(lines, 'utf8');
    for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
    appended += docs.length;
  };

  const rewrite = persistence.persistCachedDatabaseAsync.bind(persistence);
  persistence.persistCachedDatabaseAsync = async () => {
    await close();
    const docs = db.getAllData().length;
    await rewrite();
    appended = 0;
    live = docs;
  };
  return { close, growth };
}
