/**
 * PATCH operations put in the spelling scimmy's PatchOp can apply (RFC 7644 §3.5.2), before it applies them. scimmy
 * finds an attribute in any letter case but then reads and writes the resource under the name as written, compares
 * value filters exactly, replaces a complex attribute named by a path as a whole, and walks a URN path's dotted
 * version as if it were a sub-attribute. So, against the schema and the stored resource:
 *
 * - attribute and sub-attribute names, in paths, filters and values, take the schema's spelling (RFC 7643 §2.1:
 *   names are case-insensitive): `NAME.GIVENNAME` → `name.givenName`;
 * - the core schema's URN prefix is dropped (scimmy walks `urn:…:core:2.0:User:name` as one name):
 *   `urn:…:core:2.0:User:name.familyName` → `name.familyName`; removing a whole extension removes each of its
 *   attributes (scimmy fails on the extension itself);
 * - in a value filter `sub eq "text"` on a case-insensitive sub-attribute (RFC 7643 §2.2), the text takes the
 *   spelling of the stored value it equals, or of the canonical value it names: `emails[type eq "Work"]` finds the
 *   `work` email;
 * - a `remove` of listed values (`"path": "emails", "value": [{…}]`) sets the values that remain, and a `null` value
 *   removes;
 * - a `replace` of a single value by path (an attribute, a sub-attribute, a complex attribute or an extension) sets
 *   it as scimmy's `add` does: a complex one keeps the sub-attributes the value leaves out (RFC 7644 §3.5.2.3),
 *   which scimmy's `replace` (remove, then add) drops — except a reference (`manager`), whose other sub-attributes
 *   describe what its `value` names: a new value replaces it whole, by `add` as by `replace`;
 * - a pathless `add` or `replace` becomes one operation per attribute it names (scimmy's pathless replace added).
 *
 * Anything not understood is left as written, for scimmy to accept or refuse.
 */

import { caseKey } from '../services/users';
import { isObject, type Json } from './json';
import { isDefinition, type ScimmyAttribute, type ScimmyDefinition } from './scimmy-types';


export interface PatchOperation {
  op: string;
  path?: string;
  value?: unknown;
}

const attributesOf = (definition: ScimmyDefinition) => definition.attributes.filter((a): a is ScimmyAttribute => !isDefinition(a));
const named = <T extends { name: string }>(list: readonly T[] | undefined, name: string) => list?.find((a) => a.name.toLowerCase() === name.toLowerCase());

/** An attribute path: `[urn:…:]attr[.sub]` or `[urn:…:]attr[filter][.sub]`. */
const PATH = /^(?<attr>[A-Za-z$][\w$-]*)(?:\.(?<sub>[A-Za-z$][\w$-]*))?(?:\[(?<filter>.*)\](?:\.(?<filteredSub>[A-Za-z$][\w$-]*))?)?$/s;
/** A value filter that is one equality: `sub eq "text"`. */
const EQUALITY = /^\s*(?<sub>[A-Za-z$][\w$-]*)\s+eq\s+"(?<text>(?:[^"\\]|\\.)*)"\s*$/is;
/** Names followed by an operator, outside quoted text, in a value filter. */
const FILTER_NAME = /([A-Za-z$][\w$-]*)(?=\s+(?:eq|ne|co|sw|ew|gt|lt|ge|le|pr)\b)/gi;

/** The attributes an operation names: its path, or the keys of a pathless value (for the read-only checks). */
export function targetedNames(operation: { path?: unknown; value?: unknown }): string[] {
  if (typeof operation.path === 'string' && operation.path.trim() !== '') return [operation.path.trim()];
  return operation.value !== null && typeof operation.value === 'object' ? Object.keys(operation.value) : [];
}

/** Where an operation came from in the request: its op as sent and its place (from 1). */
export interface Origin {
  op: string;
  index: number;
}

/**
 * `operations` in scimmy's spelling, and for each the request operation it comes from (`origins` gives those of the
 * input when it is not the request's list itself), for {@link inRequestTerms}.
 */
export function canonicalOperations(definition: object, resource: Json, operations: readonly PatchOperation[], origins?: readonly Origin[]): { operations: PatchOperation[]; origins: Origin[] } {
  const schema = definition as ScimmyDefinition;
  const out: { operations: PatchOperation[]; origins: Origin[] } = { operations: [], origins: [] };
  operations.forEach((operation, i) => {
    const origin = origins?.[i] ?? { op: operation.op, index: i + 1 };
    for (const canonical of [canonicalOperation(schema, resource, operation)].flat()) {
      out.operations.push(canonical);
      out.origins.push(origin);
    }
  });
  return out;
}

/**
 * scimmy names a failed operation by its op and place in the list it applied ("for 'add' op of operation 3"); this
 * names it as the request did, so an IdP's log points at what it sent.
 */
export function inRequestTerms(error: unknown, origins: readonly Origin[]): unknown {
  if (!(error instanceof Error)) return error;
  error.message = error.message.replace(/for '(add|remove|replace)' op of operation (\d+)/i, (whole, _op: string, n: string) => {
    const origin = origins[Number(n) - 1];
    return origin ? `for '${origin.op.toLowerCase()}' op of operation ${origin.index}` : whole;
  });
  return error;
}

function canonicalOperation(schema: ScimmyDefinition, resource: Json, operation: PatchOperation): PatchOperation | PatchOperation[] {
  if (typeof operation.path !== 'string') {
    // RFC 7644 §3.5.2.1/§3.5.2.3: a pathless add or replace adds or replaces each attribute its value names, as the
    // same operation with that path would (scimmy's pathless replace added: emails were appended, not replaced).
    // `schemas`, and `id` as it is, are what a client echoing the resource sends along: nothing to change.
    if (!isObject(operation.value) || !['add', 'replace'].includes(operation.op.toLowerCase())) return operation;
    const keys = Object.entries(operation.value).filter(([key, v]) => key.toLowerCase() !== 'schemas' && !(key.toLowerCase() === 'id' && v === resource.id));
    if (keys.length === 0) return operation;
    return keys.flatMap(([key, value]) => canonicalOperation(schema, resource, { op: operation.op, path: key, value }));
  }
  const path = operation.path.trim();
  const lower = path.toLowerCase();
  const extension = schema.attributes.filter(isDefinition).find((e) => lower === e.id.toLowerCase() || lower.startsWith(`${e.id.toLowerCase()}:`));
  if (extension && path.length === extension.id.length) return wholeExtension(extension, resource, operation);
  if (extension) return attributeOperation(extension, `${extension.id}:`, path.slice(extension.id.length + 1), (resource[extension.id] ?? {}) as Json, operation);
  if (lower.startsWith(`${schema.id.toLowerCase()}:`)) return attributeOperation(schema, '', path.slice(schema.id.length + 1), resource, operation);
  return lower.startsWith('urn:') ? operation : attributeOperation(schema, '', path, resource, operation);
}

/** An operation on a whole extension: removed attribute by attribute (scimmy fails on it), or set like a complex value. */
function wholeExtension(extension: ScimmyDefinition, resource: Json, operation: PatchOperation): PatchOperation | PatchOperation[] {
  const op = operation.op.toLowerCase();
  if (op === 'remove') {
    const present = Object.keys((resource[extension.id] as Json | undefined) ?? {});
    // Nothing to remove is still one operation: a remove of an absent attribute, which changes nothing.
    const names = present.length > 0 ? present : [attributesOf(extension)[0].name];
    return names.map((name) => ({ ...operation, path: `${extension.id}:${name}` }));
  }
  const value = isObject(operation.value) ? canonicalKeys(attributesOf(extension), operation.value) : operation.value;
  return { ...operation, op: op === 'replace' && isObject(value) ? 'add' : operation.op, path: extension.id, value };
}

/**
 * An operation whose path (`rest`, after any schema URN and `prefix`) names an attribute of `owner`; `stored` holds
 * the resource's values of `owner`'s attributes. Left as written when the path names no attribute.
 */
function attributeOperation(owner: ScimmyDefinition, prefix: string, rest: string, stored: Json, operation: PatchOperation): PatchOperation | PatchOperation[] {
  const match = PATH.exec(rest);
  const attribute = match ? named(attributesOf(owner), match.groups!.attr) : undefined;
  if (!match || !attribute) return operation;
  const { sub, filter, filteredSub } = match.groups!;
  const subAttribute = sub === undefined ? undefined : named(attribute.subAttributes, sub);
  const filteredAttribute = filteredSub === undefined ? undefined : named(attribute.subAttributes, filteredSub);
  if ((sub !== undefined && !subAttribute) || (filteredSub !== undefined && !filteredAttribute)) return operation;
  const values = stored[attribute.name];
  let path = prefix + attribute.name;
  if (subAttribute) path += `.${subAttribute.name}`;
  if (filter !== undefined) path += `[${canonicalFilter(attribute, filter, values)}]`;
  if (filteredAttribute) path += `.${filteredAttribute.name}`;
  const target = filteredAttribute ?? subAttribute ?? attribute;
  const value = target === attribute && attribute.type === 'complex' ? canonicalComplexValue(attribute, operation.value) : operation.value;
  const op = operation.op.toLowerCase();
  if (op === 'remove' && target === attribute && attribute.config.multiValued && filter === undefined && value !== undefined && value !== null) {
    const remaining = remainingAfter(attribute, Array.isArray(value) ? value : [value], values);
    if (remaining) return remaining.length > 0 ? { op: 'replace', path, value: remaining } : { op: operation.op, path };
  }
  // RFC 7643 §2.5: null is unassigned; scimmy would store a collection of one null.
  if ((op === 'replace' || op === 'add') && value === null) return { op: 'remove', path };
  // A single value replaced by path is set as `add` sets it: scimmy's replace removes first, which drops a complex
  // attribute's other sub-attributes (RFC 7644 §3.5.2.3 keeps them) and, when the one it replaces was the last,
  // the complex attribute itself, so the add that follows finds no target. Not a reference (`manager`): its other
  // sub-attributes describe the resource it names, so a new `value` replaces it whole.
  const reference = target.type === 'complex' && isObject(value) && named(target.subAttributes, 'value') !== undefined && Object.keys(value).some((k) => k.toLowerCase() === 'value');
  const set = op === 'replace' && filter === undefined && !target.config.multiValued && value !== undefined && !reference && (target.type !== 'complex' || isObject(value));
  // An add of a reference is a replace too: scimmy's add would merge the new value into the old manager.
  const whole = reference && op === 'add' && filter === undefined && !target.config.multiValued;
  return { ...operation, op: set ? 'add' : whole ? 'replace' : operation.op, path, value };
}

/**
 * `{"op":"remove","path":"emails","value":[{"value":"a@x"}]}` removes the stored values that have every listed
 * sub-attribute (text compared as the schema says: case-insensitively unless caseExact). scimmy pastes the listed
 * text unescaped into a filter, so a quote rewrote it (`x" or type pr or value eq "y` removed every email) or made
 * it unreadable (a real `a"b@x` was never removed); here the values left are computed and set. `undefined` when a
 * listed value is not an object (left to scimmy).
 */
function remainingAfter(attribute: ScimmyAttribute, listed: unknown[], stored: unknown): unknown[] | undefined {
  if (!listed.every(isObject)) return undefined;
  const subs = attribute.subAttributes ?? [];
  const same = (name: string, a: unknown, b: unknown) => {
    const sub = named(subs, name);
    if (sub?.type === 'string' && !sub.config.caseExact && typeof a === 'string' && typeof b === 'string') return caseKey(a) === caseKey(b);
    return a === b;
  };
  const matches = (element: unknown, item: Json) =>
    isObject(element) && Object.entries(item).every(([key, v]) => v === undefined || same(key, element[named(subs, key)?.name ?? key], v));
  return (Array.isArray(stored) ? stored : []).filter((element) => !(listed as Json[]).some((item) => matches(element, item)));
}

/** Keys of an object named after `attributes`, each complex one's own keys too. */
function canonicalKeys(attributes: readonly ScimmyAttribute[], value: Json): Json {
  const out: Json = {};
  for (const [key, v] of Object.entries(value)) {
    const attribute = named(attributes, key);
    out[attribute?.name ?? key] = attribute?.type === 'complex' ? canonicalComplexValue(attribute, v) : v;
  }
  return out;
}

/** A complex attribute's value (or each of a collection's values) with its sub-attributes' spelling. */
function canonicalComplexValue(attribute: ScimmyAttribute, value: unknown): unknown {
  const subs = attribute.subAttributes ?? [];
  if (Array.isArray(value)) return value.map((v) => (isObject(v) ? canonicalKeys(subs, v) : v));
  return isObject(value) ? canonicalKeys(subs, value) : value;
}

/**
 * A value filter with its sub-attribute names spelled as the schema does (quoted text untouched) and, when it is one
 * equality on a case-insensitive sub-attribute, the text spelled as the stored or canonical value it equals.
 */
function canonicalFilter(attribute: ScimmyAttribute, filter: string, stored: unknown): string {
  const subs = attribute.subAttributes ?? [];
  // Quoted strings alternate with the rest: names are only looked for outside them.
  const spelled = filter
    .split(/("(?:[^"\\]|\\.)*")/s)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(FILTER_NAME, (name) => named(subs, name)?.name ?? name)))
    .join('');
  const equality = EQUALITY.exec(spelled);
  if (!equality) return spelled;
  const sub = named(subs, equality.groups!.sub);
  if (!sub || sub.type !== 'string' || sub.config.caseExact) return spelled;
  let text: string;
  try {
    text = JSON.parse(`"${equality.groups!.text}"`) as string;
  } catch {
    return spelled;
  }
  const wanted = caseKey(text);
  const values = Array.isArray(stored) ? stored.map((element) => (isObject(element) ? element[sub.name] : undefined)) : [];
  const canonicalValues = Array.isArray(sub.config.canonicalValues) ? (sub.config.canonicalValues as unknown[]) : [];
  const same = [...values, ...canonicalValues].find((v): v is string => typeof v === 'string' && caseKey(v) === wanted);
  return same === undefined || same === text ? spelled : `${sub.name} eq ${JSON.stringify(same)}`;
}

