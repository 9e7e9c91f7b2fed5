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
import { byline, internals, model, type NedbPersistence } from './nedb';

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
