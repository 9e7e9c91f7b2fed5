/**
 * Translation of `sortBy` / `sortOrder` (RFC 7644 §3.4.2.3) into a MongoDB-dialect sort.
 *
 * `sortBy` is client text, so it goes through the same allowlist as filters (`attributes.ts`): scimmy passes it
 * through verbatim (`$natural`, `__proto__`, RELIABILITY.md 0.9), and a stored path must never come from a request.
 */
import type { Sort } from '../store/port';
import { badRequest } from './errors';
import type { ResourceTypeName } from './attributes';
import { joinStored, resolveAttribute } from './attributes';

/**
 * The sort for a list/search request.
 *
 * - No `sortBy`: `{ _id: 1 }`, a stable order so that `startIndex` pages neither skip nor repeat resources.
 * - `sortBy` must name a singular attribute in the allowlist. Case-insensitive strings with a lower-cased copy
 *   (`userName`, group `displayName`) sort on the copy, so "alice" and "Bob" sort as a person expects. Other strings
 *   sort by their stored value (case-sensitive): ordering on them is a convenience, not something IdPs use.
 * - Multi-valued attributes (`emails.value`) are refused: RFC 7644 §3.4.2.3 orders them by the primary value, which
 *   neither store can express in a sort key.
 * - `sortOrder` is `ascending` (the default) or `descending`, compared case-insensitively.
 * - `_id: 1` is always appended as a tiebreaker so equal sort keys still page stably.
 * - Resources without a value come last when ascending and first when descending (`mayBeMissing`, `findPage`).
 *
 * An unknown `sortBy` or `sortOrder` is answered with 400 `invalidValue`. RFC 7644 does not name a scimType for
 * this; `invalidValue` ("the value specified was not compatible with the operation or attribute type", §3.12) is the
 * closest, since `invalidFilter` is for filters and `invalidPath` for PATCH paths.
 *
 * Run `guardSortBy` on the raw text first.
 *
 * @throws ScimError 400 `invalidValue`.
 */
export function translateSort(resourceType: ResourceTypeName, sortBy?: string, sortOrder?: string): Sort {
  if (sortBy === undefined || sortBy.trim() === '') return { _id: 1 };
  const direction = sortDirection(sortOrder);
  const path = sortBy.trim();
  const resolved = resolveAttribute(resourceType, path);
  const shown = JSON.stringify(path.length > 64 ? `${path.slice(0, 64)}…` : path);
  if (!resolved) throw badRequest('invalidValue', `sortBy ${shown} is not an attribute this server can sort on`);
  const { attribute, sub } = resolved;
  if (attribute.kind === 'unsupported') throw badRequest('invalidValue', `sortBy ${shown}: ${attribute.reason}`);
  if (attribute.kind === 'derived' || sub?.kind === 'derived') {
    throw badRequest('invalidValue', `sortBy ${shown}: the server derives it, and cannot sort on it`);
  }
  let stored: string;
  if (attribute.kind === 'simple') {
    stored = attribute.key ?? attribute.stored;
  } else if (!sub) {
    throw badRequest('invalidValue', `sortBy ${shown} is complex: name a sub-attribute`);
  } else if (attribute.multiValued) {
    throw badRequest('invalidValue', `sortBy ${shown} is multi-valued; sorting on multi-valued attributes is not supported`);
  } else {
    stored = joinStored(attribute, sub);
  }
  if (stored === '_id') return { _id: direction };
  return { [stored]: direction, _id: 1 };
}

/** Fields every user or group document has: sorting on them needs no care for missing values. */
const ALWAYS_PRESENT = new Set(['_id', 'userNameKey', 'scim.userName', 'displayNameKey', 'displayName', 'created', 'lastModified']);

/** The sort's first field when some resources may have no value for it (`findPage` then orders them as RFC 7644 asks). */
export function mayBeMissing(sort: Sort): string | undefined {
  const [first] = Object.keys(sort);
  return first === undefined || ALWAYS_PRESENT.has(first) ? undefined : first;
}

function sortDirection(sortOrder: string | undefined): 1 | -1 {
  if (sortOrder === undefined || sortOrder === '') return 1;
  const order = sortOrder.trim().toLowerCase();
  if (order === 'ascending') return 1;
  if (order === 'descending') return -1;
  throw badRequest('invalidValue', 'sortOrder must be "ascending" or "descending"');
}
