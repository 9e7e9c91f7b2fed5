/**
 * Linear-time checks on client text, run before scimmy (or anything else) parses it, and process-level protection
 * of the built-in prototypes. See RELIABILITY.md section 0:
 * - 0.1: scimmy's filter/attribute parser writes through `__proto__` (prototype pollution reachable from `filter`,
 *   `attributes`, `excludedAttributes` and PATCH paths with a value filter);
 * - 0.2: scimmy's string-literal regular expression backtracks exponentially on an unterminated quote followed by
 *   repeated backslash pairs;
 * - 0.9: `$`-prefixed names and unknown `sortBy` values pass through scimmy untouched;
 * - 0.13: deeply nested JSON bodies.
 *
 * Every check here is a single pass over the text with no regular expression that can backtrack, so the time is
 * linear in the (capped) length. Error details name the problem and a position, never the whole input.
 */
import { badRequest } from './errors';
import type { ScimType } from './errors';

/** Maximum length of a `filter` (query string or `.search` body). */
export const MAX_FILTER_LENGTH = 2048;
/** Maximum length of `attributes`, `excludedAttributes`, `sortBy` and a PATCH `path`. */
export const MAX_PATH_LENGTH = 1024;
/** Default maximum nesting of a JSON body (objects and arrays). */
export const MAX_JSON_DEPTH = 32;

/** Names that reach or replace a prototype when used as a property key (compared case-insensitively, 0.1). */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

interface ScanRules {
  /** What the text is, for error details ("filter", "sortBy", ...). */
  what: string;
  scimType: ScimType;
  max: number;
  /** Whether JSON strings (and therefore filters with values) may appear: filters and PATCH paths. */
  strings: boolean;
}

/**
 * One pass over `text`: size, control characters, quoting/escapes, and every name segment outside strings
 * (segments are separated by whitespace, `()[],."` and `:`, so `emails[__proto__.x eq "a"]` and
 * `urn:...:__proto__` are both caught). `$ref` (RFC 7643 §2.3.7, e.g. `manager.$ref`) is the one `$` name allowed.
 */
function scan(raw: unknown, rules: ScanRules): string {
  const fail = (detail: string) => badRequest(rules.scimType, `${rules.what} ${detail}`);
  if (typeof raw !== 'string') throw fail('must be given once, as a string');
  const text = raw;
  if (text.length > rules.max) throw fail(`is longer than ${rules.max} characters`);
  let inString = false;
  let segmentStart = -1;
  const checkSegment = (end: number) => {
    if (segmentStart < 0) return;
    const segment = text.slice(segmentStart, end);
    segmentStart = -1;
    const lower = segment.toLowerCase();
    if (RESERVED.has(lower)) throw fail(`contains the reserved name ${JSON.stringify(segment)}`);
    if (segment.startsWith('$') && segment !== '$ref') {
      throw fail(`contains a name starting with "$" (${JSON.stringify(segment.length > 32 ? `${segment.slice(0, 32)}…` : segment)})`);
    }
  };
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029) {
      throw fail(`contains a control character at position ${i + 1}`);
    }
    const c = text[i];
    if (inString) {
      if (c === '\\') {
        const next = text[i + 1];
        // Only \" and \\: enough for any value, and no other escape can be mis-read by a downstream lexer.
        if (next !== '"' && next !== '\\') throw fail(`has an unsupported escape at position ${i + 1} (only \\" and \\\\ are allowed)`);
        i++;
      } else if (c === '"') {
        inString = false;
      }
      continue;
    }
    if (c === '"') {
      if (!rules.strings) throw fail(`must not contain quotes (position ${i + 1})`);
      checkSegment(i);
      inString = true;
    } else if (c === '\\') {
      throw fail(`has a backslash outside a quoted string at position ${i + 1}`);
    } else if (c === ' ' || c === '(' || c === ')' || c === '[' || c === ']' || c === ',' || c === '.' || c === ':') {
      checkSegment(i);
    } else if (segmentStart < 0) {
      segmentStart = i;
    }
  }
  if (inString) throw fail('has an unterminated quoted string');
  checkSegment(text.length);
  return text;
}

/**
 * Pre-validates a SCIM `filter` before it is parsed. Call before `translateFilter` and before any scimmy code sees
 * the text. Returns the text (typed as a string) so callers can guard and narrow in one step; `filter=a&filter=b`
 * (an array from the query parser) is refused.
 *
 * @throws ScimError 400 `invalidFilter`.
 */
export function guardFilter(text: unknown): string {
  return scan(text, { what: 'filter', scimType: 'invalidFilter', max: MAX_FILTER_LENGTH, strings: true });
}

/**
 * Pre-validates `attributes` / `excludedAttributes` (a comma-separated list of attribute paths, RFC 7644 §3.4.2.5).
 * Quotes and brackets have no place in such a list and are refused.
 *
 * @throws ScimError 400 `invalidValue`.
 */
export function guardAttributeList(text: unknown): string {
  const value = scan(text, { what: 'attribute list', scimType: 'invalidValue', max: MAX_PATH_LENGTH, strings: false });
  checkNameCharacters(value, 'attribute list', true);
  return value;
}

/**
 * Pre-validates `sortBy` (one attribute path, RFC 7644 §3.4.2.3). `translateSort` then checks it against the allowlist.
 *
 * @throws ScimError 400 `invalidValue`.
 */
export function guardSortBy(text: unknown): string {
  const value = scan(text, { what: 'sortBy', scimType: 'invalidValue', max: MAX_PATH_LENGTH, strings: false });
  checkNameCharacters(value, 'sortBy', false);
  return value;
}

/**
 * Pre-validates a PATCH operation `path` (RFC 7644 §3.5.2), which may contain a value filter
 * (`emails[type eq "work"].value`), so it gets the filter rules with the PATCH error type.
 *
 * @throws ScimError 400 `invalidPath`.
 */
export function guardPatchPath(text: unknown): string {
  return scan(text, { what: 'PATCH path', scimType: 'invalidPath', max: MAX_PATH_LENGTH, strings: true });
}

/** Attribute names (RFC 7643 §2.1 ATTRNAME) and URN characters only; `,` and spaces separate list items. */
function checkNameCharacters(text: string, what: string, list: boolean): void {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const ok =
      (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_' || c === '-' || c === '.' || c === ':' || c === '$' ||
      (list && (c === ',' || c === ' '));
    if (!ok) throw badRequest('invalidValue', `${what} contains an unexpected character at position ${i + 1}`);
  }
}

/**
 * Whether `value` (a parsed JSON body) nests objects/arrays at most `limit` levels deep (`{}` is depth 1).
 * Iterative, so a 100 000-level body cannot overflow the stack while being checked; it stops at the first level past
 * the limit.
 */
export function maxJsonDepth(value: unknown, limit = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    if (depth + 1 > limit) return false;
    const children = Array.isArray(node) ? node : Object.values(node as Record<string, unknown>);
    for (const child of children) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return true;
}

/**
 * Throws when a JSON body nests deeper than `limit` (RELIABILITY.md 0.13): later recursive code (logging, diffing,
 * audit serialisation) must never meet an unbounded depth.
 *
 * @throws ScimError 400 `invalidSyntax`.
 */
export function assertJsonDepth(value: unknown, limit = MAX_JSON_DEPTH): void {
  if (!maxJsonDepth(value, limit)) throw badRequest('invalidSyntax', `request body is nested more than ${limit} levels deep`);
}

/**
 * Process-wide defence in depth against prototype pollution (RELIABILITY.md 0.1). Call once at boot, before any
 * request is served. Idempotent.
 *
 * What it does, and why not `Object.freeze(Object.prototype)`:
 * - Freezing was tried first (scratch/probe-freeze.js, node 20): it breaks mongoose (`Cannot assign to read only
 *   property 'valueOf'`; the "override mistake": assigning a property that an object inherits as read-only throws),
 *   and freezing Function.prototype as well breaks express at load (`bind`).
 * - Instead: (1) delete the `Object.prototype.__proto__` accessor, which is what `node --disable-proto=delete` does,
 *   so `obj["__proto__"] = x` creates an ordinary own property and never reaches the prototype; `Object.getPrototypeOf`
 *   / `setPrototypeOf` and the `{ __proto__: x }` literal syntax are unaffected. (2) `Object.preventExtensions` on
 *   Object.prototype, Array.prototype and Function.prototype, so no new property can be added to them by any path
 *   (including `constructor.prototype.x = ...`). Existing properties stay writable, so the override mistake cannot
 *   occur. Verified with express (routing, JSON bodies), mongoose (schema, validate, toObject, queries), NeDB
 *   (indexes, find/sort, update), scimmy (filters, schemas, PatchOp), scimmy-routers, pino, jose, uuid, zod and jest;
 *   scimmy's pollution probes then no longer change `Object.prototype`.
 *
 * Guards above remain the first line: they reject such input with a 400 before any parser sees it.
 */
export function protectPrototypes(): void {
  const descriptor = Object.getOwnPropertyDescriptor(Object.prototype, '__proto__');
  if (descriptor?.configurable) delete (Object.prototype as { __proto__?: unknown }).__proto__;
  for (const proto of [Object.prototype, Array.prototype, Function.prototype]) Object.preventExtensions(proto);
}
