/**
 * Changes to how NeDB maintains and reads its index trees, each giving the library's result at a fraction of its cost
 * (tested against the unpatched library in test/store/embedded-read.test.ts). Applied to the trees of an open
 * datastore: NeDB builds new trees only when it loads, which the adapter does once, before patching.
 *
 * - Removing one document from a key that many share. Some keys hold nearly every document (`lifecycle.license:
 *   'free'` for users, `free` for seats) or every member of a large group (`groupId`); the library removes a value by
 *   copying all the others, an O(N) step in every write of a user or a seat (~5 ms a PATCH at 100k users). A key
 *   holding many documents keeps a map from document to position, and a removal moves its last document into the
 *   freed place: O(1), no allocation. The documents of one key lose their insertion order; NeDB promises no order
 *   among them (neither does MongoDB), and every list the server returns names its sort. A key with fewer documents
 *   loses one in place, in order: the library's copy would be a new array, which the key map would not know.
 * - Updating a document whose key did not change: in place, instead of a removal and an insertion
 *   (`patchUnchangedKeyUpdates`).
 * - Comparing keys without NeDB's type tests when both are strings, and compound keys field by field
 *   (`setKeyComparator`).
 * - Walking the tree to insert a key with one comparison a level instead of two, and rebalancing after an insert only
 *   as far up as heights change (`patchTreeWalks`).
 * - Finding a key's documents (a lookup, or the place of an update or a removal) through a hash map instead of a walk
 *   down the tree (key-map.ts).
 */
import type Datastore from '@seald-io/nedb';
import { KeyMap, NOT_MAPPED } from './key-map';
import { setNodeComparator, useNodeClass } from './tree-nodes';
import { hasKey, internals, keyOrder, model, type NedbIndex, type TreeNode } from './nedb';

/** Keys with fewer documents are searched with `indexOf` (a short scan costs less than a map). */
const MAP_FROM = 64;

interface Positions {
  of: Map<unknown, number>;
  /** How many leading entries of the array `of` has seen; entries are only ever appended after it. */
  seen: number;
}

export function patchIndexTrees(db: Datastore<unknown>): void {
  // Keyed by a key's array of documents: the library moves whole arrays between tree nodes when it rebalances.
  const positions = new WeakMap<unknown[], Positions>();
  /** Where `value` sits in `data` (a key's documents), or -1. */
  const positionOf = (data: unknown[], value: unknown): number => {
    if (data.length < MAP_FROM) return data.indexOf(value);
    let p = positions.get(data);
    if (!p) {
      p = { of: new Map(), seen: 0 };
      positions.set(data, p);
    }
    // The library appends documents to a key (insert); take in what was appended since.
    for (; p.seen < data.length; p.seen++) p.of.set(data[p.seen], p.seen);
    const at = p.of.get(value);
    return at !== undefined && data[at] === value ? at : -1;
  };
  /** Takes `value` out of `data` (a key's documents, more than one), in place: the array stays the key's. */
  const removeFrom = (data: unknown[], value: unknown): void => {
    const at = positionOf(data, value);
    if (at < 0) return;
    if (data.length < MAP_FROM) {
      // In the library's order. The library copies the others into a new array, which the key map would not know.
      data.splice(at, 1);
      positions.delete(data);
      return;
    }
    const p = positions.get(data)!; // positionOf keeps one for every key this long
    const last = data.pop();
    p.of.delete(value);
    if (at < data.length) {
      data[at] = last;
      p.of.set(last, at);
    }
    p.seen = data.length;
  };
  for (const index of Object.values(internals(db).indexes)) {
    useNodeClass(index);
    const wrapper = index.tree;
    const keys = new KeyMap(index._fields);
    eachNode(wrapper.tree, (node) => {
      if (hasKey(node)) keys.set(node.key, node.data);
    });
    /** The documents under `key`, from the key map when it holds such keys, or undefined. */
    const dataOf = (key: unknown): unknown[] | undefined => {
      const data = keys.get(key);
      return data === NOT_MAPPED ? nodeOf(wrapper.tree, key)?.data : data;
    };
    const original = wrapper.delete.bind(wrapper);
    wrapper.delete = (key: unknown, value?: unknown) => {
      const data = value === undefined ? undefined : dataOf(key);
      if (data && data.length > 1) return removeFrom(data, value);
      // The last document of the key (or every one, without a value): the library removes the key's node.
      original(key, value);
      keys.delete(key);
    };
    patchUnchangedKeyUpdates(index, dataOf, positionOf, positions);
    setKeyComparator(index);
    patchTreeWalks(index, dataOf, (key, data) => keys.set(key, data));
  }
}

/** The AVL tree's own node operations (`_AVLTree` of @seald-io/binary-search-tree). */
interface AvlNode extends TreeNode {
  left?: AvlNode | null;
  right?: AvlNode | null;
  createLeftChild(options: { key: unknown; value: unknown }): AvlNode;
  createRightChild(options: { key: unknown; value: unknown }): AvlNode;
  balanceFactor(): number;
  /** Rotations: the new root of the subtree. */
  rightTooSmall(): AvlNode;
  leftTooSmall(): AvlNode;
}

/**
 * The library finds a key by comparing it twice at every level (is it equal? is it smaller?) — two comparisons of
 * two fields each for a compound key, at each of the ~17 levels of a 100k-key tree — and after an insert recomputes
 * the height and balance of every node up to the root. The comparison is an order, so its sign alone says both; and
 * once a node keeps its height without needing a rotation, nothing above it changes (the library's pass finds the
 * same heights there and rotates nothing), so the pass stops. The tree comes out the same, node for node.
 */
function patchTreeWalks(index: NedbIndex, dataOf: (key: unknown) => unknown[] | undefined, onNewKey: (key: unknown, data: unknown[]) => void): void {
  const wrapper = index.tree as unknown as { tree: AvlNode; insert(key: unknown, value: unknown): void; search(key: unknown): unknown[] };
  wrapper.search = (key) => dataOf(key) ?? [];
  wrapper.insert = (key, value) => {
    const root = wrapper.tree;
    if (!hasKey(root)) {
      root.key = key;
      root.data.push(value);
      root.height = 1;
      onNewKey(key, root.data);
      return;
    }
    const path: AvlNode[] = [];
    let node = root;
    for (;;) {
      const c = node.compareKeys(key, node.key);
      if (c === 0) {
        if (node.unique) {
          // The library's error, word for word.
          const error = new Error(`Can't insert key ${JSON.stringify(key)}, it violates the unique constraint`);
          throw Object.assign(error, { key, errorType: 'uniqueViolated' });
        }
        node.data.push(value);
        return;
      }
      path.push(node);
      const next = c < 0 ? node.left : node.right;
      if (!next) {
        const leaf = c < 0 ? node.createLeftChild({ key, value }) : node.createRightChild({ key, value });
        onNewKey(key, leaf.data);
        path.push(leaf);
        break;
      }
      node = next;
    }
    wrapper.tree = rebalancedUpTo(root, path);
  };
}

/**
 * The library's `rebalanceAlongPath` after an insert (`path`: from the root down to the new leaf), stopping at the
 * first node that keeps its height without a rotation. Returns the tree's root, which a rotation at the top changes.
 */
function rebalancedUpTo(root: AvlNode, path: AvlNode[]): AvlNode {
  let newRoot = root;
  for (let i = path.length - 1; i >= 0; i--) {
    const step = path[i];
    const height = 1 + Math.max(step.left ? step.left.height! : 0, step.right ? step.right.height! : 0);
    const kept = height === step.height;
    step.height = height;
    let rotated = false;
    // The library's two checks, in its order.
    if (step.balanceFactor() > 1) {
      const top = step.rightTooSmall();
      if (i === 0) newRoot = top;
      rotated = true;
    }
    if (step.balanceFactor() < -1) {
      const top = step.leftTooSmall();
      if (i === 0) newRoot = top;
      rotated = true;
    }
    if (kept && !rotated) break;
  }
  return newRoot;
}

/**
 * Sets NeDB's key order (`keyOrder`: no type tests for strings, compound keys field by field) on the index's nodes
 * (through their class, tree-nodes.ts) and on the options NeDB builds a new tree with.
 */
function setKeyComparator(index: NedbIndex): void {
  const compare = keyOrder(index._fields);
  index.treeOptions.compareKeys = compare;
  setNodeComparator(index, compare);
}

function eachNode(root: TreeNode, visit: (node: TreeNode) => void): void {
  const stack: TreeNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    visit(node);
    if (node.left) stack.push(node.left);
    if (node.right) stack.push(node.right);
  }
}

/**
 * NeDB updates a document's entry in every index by removing it and inserting the new version — two tree walks and
 * rebalancings per index — even when the indexed value did not change, which for most writes is every index but one
 * or two. When no document of an update changes its key (a scalar, or a compound of scalars), the new version takes
 * the old one's place under the same key instead; anything else goes to the library.
 */
function patchUnchangedKeyUpdates(
  index: NedbIndex,
  dataOf: (key: unknown) => unknown[] | undefined,
  positionOf: (data: unknown[], value: unknown) => number,
  positions: WeakMap<unknown[], Positions>,
): void {
  const original = index.update.bind(index);
  index.update = (oldDoc: unknown, newDoc?: unknown) => {
    const pairs = (Array.isArray(oldDoc) ? oldDoc : [{ oldDoc, newDoc }]) as Array<{ oldDoc: unknown; newDoc: unknown }>;
    const places: Array<{ data: unknown[]; at: number; newDoc: unknown; oldDoc: unknown }> = [];
    for (const pair of pairs) {
      const oldKey = model.getDotValues(pair.oldDoc, index._fields);
      const newKey = model.getDotValues(pair.newDoc, index._fields);
      if (Array.isArray(oldKey) || Array.isArray(newKey) || model.compareThings(oldKey, newKey) !== 0) return original(oldDoc, newDoc);
      if (oldKey === undefined && index.sparse) continue; // not indexed, before or after
      const data = dataOf(oldKey);
      const at = data ? positionOf(data, pair.oldDoc) : -1;
      if (!data || at < 0) return original(oldDoc, newDoc);
      places.push({ data, at, newDoc: pair.newDoc, oldDoc: pair.oldDoc });
    }
    // Every pair has its place: replace (nothing can fail from here on).
    for (const { data, at, newDoc: replacement, oldDoc: replaced } of places) {
      data[at] = replacement;
      const p = positions.get(data);
      if (p && at < p.seen) {
        p.of.delete(replaced);
        p.of.set(replacement, at);
      }
    }
  };
}

function nodeOf(root: TreeNode, key: unknown): TreeNode | undefined {
  let node: TreeNode | null | undefined = root;
  while (node && hasKey(node)) {
    const c = node.compareKeys(key, node.key);
    if (c === 0) return node;
    node = c < 0 ? node.left : node.right;
  }
  return undefined;
}
