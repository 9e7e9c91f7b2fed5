/**
 * Lookups of a document by `_id` without a walk of NeDB's `_id` tree each time.
 *
 * One SCIM write looks its user up by id about seven times (the read, then each write and the reader's upkeep of
 * each), and each lookup walks the `_id` tree: ~17 levels at 100k users, a cache miss at each, ~7 µs — about a tenth
 * of a deactivation's CPU. Here the `_id` index keeps what its last lookups found. Its contents are only right while
 * the index is unchanged, so every change of the index — an insertion, a removal, a replacement, a reset, whether it
 * succeeds or not — forgets them all: what is kept is what a walk of the tree would find now. An update in place
 * (write.ts) leaves the index alone (the document stays the same object under the same id), which is why a write's
 * repeated lookups of its document are answered from here. Bounded, so memory stays flat.
 */
import type Datastore from '@seald-io/nedb';
import { internals, type Doc, type NedbIndex } from './nedb';

/** Lookups kept at most; a request's repeated lookups of its own documents are what this is for. */
const KEPT = 4096;

/** The methods of an index that change it (NeDB's datastore, the adapter and their own internals call only these). */
const CHANGES = ['insert', 'remove', 'update', 'reset', 'revertUpdate', 'insertMultipleDocs', 'updateMultipleDocs'] as const;

export function patchIdLookups(db: Datastore<unknown>): void {
  const index = internals(db).indexes._id as NedbIndex & Record<(typeof CHANGES)[number], (...args: unknown[]) => unknown>;
  const found = new Map<string, Doc[]>();
  for (const name of CHANGES) {
    const change = index[name].bind(index);
    index[name] = (...args: unknown[]) => {
      found.clear();
      try {
        return change(...args);
      } finally {
        found.clear();
      }
    };
  }
  const lookup = index.getMatching.bind(index);
  index.getMatching = (value: unknown) => {
    if (typeof value !== 'string') return lookup(value);
    let docs = found.get(value);
    if (docs === undefined) {
      docs = lookup(value);
      if (docs.length === 0) return docs;
      if (found.size >= KEPT) found.clear();
      found.set(value, docs);
    }
    return docs;
  };
}
