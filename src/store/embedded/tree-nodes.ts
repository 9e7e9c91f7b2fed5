/**
 * Index tree nodes that leave their tree's constants to a shared prototype.
 *
 * The library's node (`_AVLTree` of @seald-io/binary-search-tree) copies three properties of its tree into every
 * node: `unique`, `compareKeys` and `checkValueEquality`. That is 24 of a node's ~150 bytes. A store of 1M users has
 * ~8.6M nodes (every user, membership and audit event is under several indexes): the copies took 168 MB of its heap,
 * which every garbage collection walks past.
 *
 * Here each index has one node class. Its prototype holds the three values and inherits the library's node class,
 * so each method the library defines on nodes reads them as before. The library makes a new node with
 * `new this.constructor(options)` (`createSimilar`), so the new node is of the same class.
 */
import { hasKey, type NedbIndex, type TreeNode } from './nedb';

/** The library's options, and `data`: the documents of a node built with them already (bulk-index.ts, a copy). */
type NodeOptions = { parent?: TreeNode | null; key?: unknown; value?: unknown; data?: unknown[] };
export type NodeClass = { new (options: NodeOptions): TreeNode; prototype: TreeNode };

const classes = new WeakMap<NedbIndex, NodeClass>();

/**
 * The node class of `index`. Its constants are those of the index's tree when first asked, whose root is then still
 * the library's; `setNodeComparator` replaces the comparator later.
 */
export function nodeClassOf(index: NedbIndex): NodeClass {
  const known = classes.get(index);
  if (known) return known;
  const template = index.tree.tree;
  // The library's constructor without the three copies. `height`, which the library adds once the node is in the
  // tree, is declared here: V8 sizes an object for the fields its constructor sets, and a field added later would
  // go to a separate array of 40 bytes.
  function SlimNode(this: TreeNode, options: NodeOptions) {
    this.left = null;
    this.right = null;
    this.parent = options.parent !== undefined ? options.parent : null;
    if (Object.hasOwn(options, 'key')) this.key = options.key;
    this.data = options.data ?? (Object.hasOwn(options, 'value') ? [options.value] : []);
    this.height = undefined;
  }
  SlimNode.prototype = Object.create(Object.getPrototypeOf(template) as object, {
    constructor: { value: SlimNode, writable: true, configurable: true },
    unique: { value: template.unique, writable: true },
    compareKeys: { value: template.compareKeys, writable: true },
    checkValueEquality: { value: template.checkValueEquality, writable: true },
  }) as TreeNode;
  const Node = SlimNode as unknown as NodeClass;
  classes.set(index, Node);
  return Node;
}

/**
 * Gives `index` a tree of its own node class: nodes the library made (a tree it built by inserting, or the empty root
 * it starts with) are replaced by equal ones of the class, with the same key, documents (the same arrays) and height.
 */
export function useNodeClass(index: NedbIndex): void {
  const Node = nodeClassOf(index);
  const copy = (node: TreeNode, parent: TreeNode | null): TreeNode => {
    if (Object.getPrototypeOf(node) === Node.prototype) return node;
    const slim = new Node({ parent, data: node.data, ...(hasKey(node) ? { key: node.key } : {}) });
    slim.height = node.height;
    slim.left = node.left ? copy(node.left, slim) : null;
    slim.right = node.right ? copy(node.right, slim) : null;
    return slim;
  };
  index.tree.tree = copy(index.tree.tree, null);
}

/** Sets the key order of every node of `index` (they share it through their class). */
export function setNodeComparator(index: NedbIndex, compareKeys: (a: unknown, b: unknown) => number): void {
  nodeClassOf(index).prototype.compareKeys = compareKeys;
}
