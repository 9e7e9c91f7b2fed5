/**
 * Whether the embedded store's data will fit in this process's heap. The store keeps every document in memory: its
 * live heap after loading is about 1.9 times the size of its data files (measured after a full collection: 185 MB of
 * files → 353 MB at 100k users; 1.6 GB → 3.1 GB at 1M). The estimate uses 2.2, to err towards warning. Node's
 * default heap limit is ~4 GB here: at 1M users the server then starts at three quarters of its limit or more (at
 * 87%, before session 12's savings, it loaded twice as slowly and collected garbage continuously), and a little more
 * data ends in "JavaScript heap out of memory". This says so before loading, with the fix.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { getHeapStatistics } from 'node:v8';

/** Live heap bytes per byte of data file, from the measurements above. */
const HEAP_PER_FILE_BYTE = 2.2;
/** Warn when the estimate reaches this share of the limit: the server needs room beyond its documents. */
const WARN_AT = 0.8;

/** Total size of the data files (`*.db`) in `dataDir`; 0 when it does not exist yet. */
export function dataFileBytes(dataDir: string): number {
  let entries: string[];
  try {
    entries = readdirSync(dataDir);
  } catch {
    return 0;
  }
  return entries.filter((name) => name.endsWith('.db')).reduce((sum, name) => sum + statSync(path.join(dataDir, name)).size, 0);
}

const mb = (bytes: number) => Math.ceil(bytes / 2 ** 20);

/** A warning when data files of `fileBytes` will not fit comfortably in a heap limited to `heapLimit` bytes. */
export function heapWarning(fileBytes: number, heapLimit = getHeapStatistics().heap_size_limit): string | undefined {
  const needed = fileBytes * HEAP_PER_FILE_BYTE;
  if (needed < heapLimit * WARN_AT) return undefined;
  // Twice the live data: room for the garbage made between two collections under load.
  const suggested = Math.ceil((2 * needed) / 2 ** 30) * 1024;
  return (
    `the data files in DATA_DIR total ${mb(fileBytes)} MB; the embedded store keeps them in memory, which needs about ` +
    `${mb(needed)} MB of heap once loaded, and this process may use ${mb(heapLimit)} MB: start node with ` +
    `--max-old-space-size=${suggested} (e.g. NODE_OPTIONS=--max-old-space-size=${suggested}) on a machine with that much ` +
    `memory, or use MongoDB (MONGODB_URI)`
  );
}
