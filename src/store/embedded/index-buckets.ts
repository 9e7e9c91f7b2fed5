/**
 * Constant-time removal of one document from an index key that many documents share.
 *
 * NeDB rewrites every index entry of a document on every update, and some keys are shared by nearly all documents
 * (`{orgId, lifecycle.license: 'free'}` for users, `{orgId, free}` for seats) or by every member of a large group
 * (`{orgId, groupId}`). The library removes a value from such a key by copying all the others: an O(N) step in every
 * write of a user or a seat (~5 ms a PATCH at 100k users). Here a key holding many documents keeps a map from document
 * to position, and a removal moves the key's last document into the freed place: O(1), no allocation.
 *
 * The documents of one key therefore lose their insertion order; NeDB promises no order among them (and neither
 * does MongoDB), and every list the server returns names its sort. Every other case (a key's last document, a key that
 * is absent, a small key) goes to the library. Applied to the index trees of an open datastore: NeDB builds new
 * trees only when it loads, which the adapter does once, before patching.
 */
import type Datastore from '@seald-io/nedb';
import { internals, type TreeNode } from './read';

/** Keys with fewer documents are handled by the library (a short copy costs less than a map). */
const MAP_FROM = 64;

interface Positions {
  of: Map<unknown, number>;
  /** How many leading entries of the array `of` has seen; entries are only ever appended after it. */
  seen: number;
}

export function patchIndexValueDeletes(db: Datastore<unknown>): void {
  // Keyed by a key's array of documents: the library moves whole arrays between tree nodes when it rebalances.
  const positions = new WeakMap<unknown[], Positions>();
  for (const index of Object.values(internals(db).indexes)) {
    const wrapper = index.tree;
    const original = wrapper.delete.bind(wrapper);
    wrapper.delete = (key: unknown, value?: unknown) => {
      const node = value === undefined ? undefined : nodeOf(wrapper.tree, key);
      if (!node || node.data.length < MAP_FROM) return original(key, value);
      const data = node.data;
      let p = positions.get(data);
      if (!p) {
        p = { of: new Map(), seen: 0 };
        positions.set(data, p);
      }
      // The library appends documents to a key (insert); take in what was appended since.
      for (; p.seen < data.length; p.seen++) p.of.set(data[p.seen], p.seen);
      const at = p.of.get(value);
      if (at === undefined || !node.checkValueEquality(data[at], value)) return original(key, value);
      const last = data.pop();
      p.of.delete(value);
      if (at < data.length) {
        data[at] = last;
        p.of.set(last, at);
      }
      p.seen = data.length;
    };
  }
}

function nodeOf(root: TreeNode, key: unknown): TreeNode | undefined {
  let node: TreeNode | null | undefined = root;
  while (node && Object.prototype.hasOwnProperty.call(node, 'key')) {
    const c = node.compareKeys(key, node.key);
    if (c === 0) return node;
    node = c < 0 ? node.left : node.right;
  }
  return undefined;
}
