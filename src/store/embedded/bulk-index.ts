/**
 * Building an index over many documents at once, as NeDB does when it loads a data file and when an index is declared
 * on a loaded collection: the keys are sorted once and a balanced tree is linked over them, instead of inserting the
 * documents one by one (a tree walk with NeDB's generic comparator and a rebalancing each). Loading 100k users, their
 * memberships and audit events spent half its ~40 s of start-up in those insertions; at 1M users start-up took six
 * minutes (PERFORMANCE.md §5, README "Benchmark").
 *
 * The result is the library's: the same keys in the same order (NeDB's type order — undefined, null, numbers,
 * strings, booleans, dates, arrays, objects), under each key the same documents in the same order (a stable sort keeps
 * the order the library would have inserted them in), a valid AVL tree. Keys are sorted in the order the trees keep
 * (`keyOrder`). What this does not reproduce — a unique index with a duplicate key (the library's error and
 * rollback), array keys in a unique index — goes to the library. Tested against the unpatched library in
 * test/store/embedded-bulk-index.test.ts.
 */
import { hasKey, keyOrder, model, type Doc, type NedbIndex, type TreeNode } from './nedb';
import { nodeClassOf, type NodeClass } from './tree-nodes';

/** Below this many documents the library's insertions cost little. */
const BULK_FROM = 256;

interface IndexClass {
  prototype: { insertMultipleDocs(this: NedbIndex, docs: Doc[]): void };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Index = require('@seald-io/nedb/lib/indexes.js') as IndexClass;
const libraryInsertMany = Index.prototype.insertMultipleDocs;

/** NeDB's projection for de-duplicating the elements of an array key (lib/indexes.js). */
const projectForUnique = (v: unknown): unknown => {
  if (v === null) return '$null';
  if (typeof v === 'string') return `$string${v}`;
  if (typeof v === 'boolean') return `$boolean${v}`;
  if (typeof v === 'number') return `$number${v}`;
  if (v instanceof Date) return `$date${v.getTime()}`;
  return v;
};

/** The library's `uniq(array, projectForUnique)`: one element per projection, the last one seen, at the first's place. */
const uniqueElements = (values: unknown[]): unknown[] => [...new Map(values.map((v) => [projectForUnique(v), v])).values()];

/** A balanced tree over `keys[lo..hi]` (sorted), each node with its documents; heights as the library counts them. */
function link(Node: NodeClass, keys: unknown[], data: Doc[][], lo: number, hi: number, parent: TreeNode | null): TreeNode | null {
  if (lo > hi) return null;
  const mid = (lo + hi) >>> 1;
  const node = new Node({ parent, key: keys[mid], data: data[mid] });
  node.left = link(Node, keys, data, lo, mid - 1, node);
  node.right = link(Node, keys, data, mid + 1, hi, node);
  node.height = 1 + Math.max(node.left?.height ?? 0, node.right?.height ?? 0);
  return node;
}

/**
 * Fills the empty index `index` with `docs` as the library would; `false` (nothing changed) when the library must do
 * it instead.
 */
export function buildIndex(index: NedbIndex, docs: Doc[]): boolean {
  const entries: Array<{ key: unknown; doc: Doc }> = [];
  for (const doc of docs) {
    const key = model.getDotValues(doc, index._fields);
    // The library's test, word for word (an empty array counts as absent too).
    const absent = key === undefined || (typeof key === 'object' && key !== null && Object.values(key).every((v) => v === undefined));
    if (absent && index.sparse) continue;
    if (Array.isArray(key)) {
      if (index.unique) return false;
      for (const element of uniqueElements(key)) entries.push({ key: element, doc });
    } else entries.push({ key, doc });
  }
  const compare = keyOrder(index._fields);
  entries.sort((a, b) => compare(a.key, b.key));
  const keys: unknown[] = [];
  const data: Doc[][] = [];
  for (const { key, doc } of entries) {
    if (keys.length > 0 && compare(keys[keys.length - 1], key) === 0) {
      if (index.unique) return false; // the library throws its uniqueViolated error and rolls back
      data[data.length - 1].push(doc);
    } else {
      keys.push(key);
      data.push([doc]);
    }
  }
  const root = link(nodeClassOf(index), keys, data, 0, keys.length - 1, null);
  if (root) index.tree.tree = root;
  return true;
}

const isEmpty = (index: NedbIndex) => !hasKey(index.tree.tree);

/** Makes every NeDB index fill an empty tree with many documents through {@link buildIndex}. Idempotent. */
export function installBulkIndexBuild(): void {
  if ((Index.prototype.insertMultipleDocs as { bulk?: boolean }).bulk) return;
  const bulk = function (this: NedbIndex, docs: Doc[]): void {
    if (docs.length >= BULK_FROM && isEmpty(this) && buildIndex(this, docs)) return;
    libraryInsertMany.call(this, docs);
  };
  (bulk as { bulk?: boolean }).bulk = true;
  Index.prototype.insertMultipleDocs = bulk;
}

/** The library's own insertion, for the equivalence tests. */
export const libraryInsertMultipleDocs = (index: NedbIndex, docs: Doc[]): void => libraryInsertMany.call(index, docs);
