/**
 * Rules for the values of a multi-valued User attribute. RFC 7643 §2.4: `primary: true` appears at most once; RFC
 * 7644 §3.5.2: when a PATCH makes another value primary, the server sets `primary` to false on the others, and a
 * value added that is already there changes nothing (§3.5.2.1).
 */
import { isDeepStrictEqual } from 'node:util';
import { badRequest } from './errors';
import { type Json } from './json';

/** Multi-valued complex User attributes whose elements carry a boolean `primary`. */
export const WITH_PRIMARY = ['emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509Certificates'];

const WITH_PRIMARY_BY_KEY = new Map(WITH_PRIMARY.map((name) => [name.toLowerCase(), name]));

/** The attribute of {@link WITH_PRIMARY} that `key` names in any letter case (attribute names are case-insensitive). */
export const withPrimaryNamed = (key: string): string | undefined => WITH_PRIMARY_BY_KEY.get(key.toLowerCase());

const isPrimary = (element: unknown) => element !== null && typeof element === 'object' && (element as Json).primary === true;

/**
 * `patched` (a user after a PATCH) with each value once, and one primary value per attribute: the one the PATCH made
 * primary keeps it, the others lose it. The value that was primary before is recognised even when the PATCH changed
 * it: the same `value`, or the same place and `type` (a filtered replace changes values in place).
 */
export function valuesAfterPatch(before: Json, patched: Json): Json {
  let out = patched;
  for (const name of WITH_PRIMARY) {
    const values = patched[name];
    if (!Array.isArray(values)) continue;
    let next = values.filter((v, i) => values.findIndex((w) => isDeepStrictEqual(v, w)) === i);
    const primaries = next.filter(isPrimary);
    if (primaries.length > 1) {
      const stored = Array.isArray(before[name]) ? (before[name] as unknown[]) : [];
      const at = stored.findIndex(isPrimary);
      const previous = stored[at] as Json | undefined;
      const wasPrimary = (v: unknown) =>
        previous !== undefined && (isDeepStrictEqual(v, previous) || (v as Json).value === previous.value || (next.indexOf(v) === at && (v as Json).type === previous.type));
      const keep = [...primaries].reverse().find((v) => !wasPrimary(v)) ?? primaries[0];
      next = next.map((v) => (isPrimary(v) && v !== keep ? { ...(v as Json), primary: false } : v));
    }
    if (next.length < values.length || primaries.length > 1) out = { ...out, [name]: next };
  }
  return out;
}

/** Refuses a user with more than one primary value in an attribute (POST, PUT). */
export function assertOnePrimary(scim: Json): void {
  for (const name of WITH_PRIMARY) {
    const values = scim[name];
    if (Array.isArray(values) && values.filter(isPrimary).length > 1) {
      throw badRequest('invalidValue', `${name}: at most one value may be primary (RFC 7643 §2.4)`);
    }
  }
}
