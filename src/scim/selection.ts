/**
 * `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) applied to a rendered resource. `id` and `schemas` are
 * always returned (RFC 7643 `returned: always`); every other attribute, `meta` included, follows the lists.
 */
import { badRequest } from './errors';
import { guardAttributeList } from './guards';
import { valueFiltersInAttributeList } from './quirks';

/** A parsed attribute list: lower-cased top-level name → sub-attribute names (empty set = the whole attribute). */
export type AttributeSelection = Map<string, Set<string>>;

const ALWAYS = new Set(['id', 'schemas']);

/** Parses `name.givenName,emails,urn:...:User:department` into a selection; `undefined` when absent. */
export function parseAttributeList(raw: unknown, schemaUrns: readonly string[]): AttributeSelection | undefined {
  if (raw === undefined || raw === '') return undefined;
  const joined = Array.isArray(raw) ? raw.join(',') : raw;
  if (typeof joined !== 'string') throw badRequest('invalidValue', 'attributes must be a comma-separated list');
  const text = valueFiltersInAttributeList(joined);
  guardAttributeList(text);
  const selection: AttributeSelection = new Map();
  for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    let path = item;
    let urn: string | undefined;
    for (const u of schemaUrns) {
      if (path.toLowerCase().startsWith(u.toLowerCase() + ':')) {
        urn = u;
        path = path.slice(u.length + 1);
        break;
      }
      if (path.toLowerCase() === u.toLowerCase()) {
        urn = u;
        path = '';
        break;
      }
    }
    const [top, sub] = path.split('.', 2);
    // Extension attributes live under the URN key; core ones at the top level.
    const isCore = !urn || urn.endsWith(':core:2.0:User') || urn.endsWith(':core:2.0:Group');
    const key = isCore ? top.toLowerCase() : urn!.toLowerCase();
    const subName = isCore ? sub : top ? top : undefined;
    const subs = selection.get(key) ?? new Set<string>();
    if (subName) subs.add(subName.toLowerCase());
    else subs.add('*');
    selection.set(key, subs);
  }
  return selection;
}

/** Whether `attribute` (top-level name or extension URN) will appear in the response. */
export function isSelected(attribute: string, include?: AttributeSelection, exclude?: AttributeSelection): boolean {
  const key = attribute.toLowerCase();
  if (ALWAYS.has(key)) return true;
  if (include) return include.has(key);
  if (exclude) return !(exclude.get(key)?.has('*') ?? false);
  return true;
}

/** Applies the selection to one rendered resource (a new object; the input is not changed). */
export function applySelection(
  resource: Record<string, unknown>,
  include?: AttributeSelection,
  exclude?: AttributeSelection,
): Record<string, unknown> {
  if (!include && !exclude) return resource;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(resource)) {
    const key = name.toLowerCase();
    if (ALWAYS.has(key)) {
      out[name] = value;
      continue;
    }
    const subs = (include ?? exclude)!.get(key);
    if (include && !subs) continue;
    if (!subs) out[name] = value;
    else if (subs.has('*')) {
      if (include) out[name] = value;
    } else {
      const picked = pickSubAttributes(value, subs, include !== undefined);
      if (picked !== undefined) out[name] = picked;
    }
  }
  return out;
}

/** The chosen sub-attributes; a value left with none is no value (not `{}`), a collection left with none neither. */
function pickSubAttributes(value: unknown, subs: Set<string>, keep: boolean): unknown {
  const pick = (obj: unknown) => {
    if (obj === null || typeof obj !== 'object') return obj;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) if (subs.has(k.toLowerCase()) === keep) out[k] = v;
    return Object.keys(out).length > 0 ? out : undefined;
  };
  if (!Array.isArray(value)) return pick(value);
  const picked = value.map(pick).filter((v) => v !== undefined);
  return picked.length > 0 ? picked : undefined;
}
