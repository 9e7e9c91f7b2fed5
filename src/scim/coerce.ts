/**
 * scimmy's inbound coercion (`SchemaDefinition.coerce(body, "in")`), giving the same JSON and the same errors at a
 * fraction of the cost: scimmy coerces each complex value (`name`, every email, the enterprise `manager`, `meta`)
 * into a frozen object with a getter and a setter per sub-attribute, each set coercing the value again — ~60% of the
 * ~85 µs a user costs, and most of its garbage. Here a complex value is a plain object. Everything else is scimmy's
 * own logic, kept in its order so that errors are raised for the same attribute first: the schema's attributes and
 * extensions, simple values (scimmy's `Attribute.coerce`), the checks every attribute gets (required, collection,
 * canonical values) and the error messages. Compared with scimmy on generated bodies in test/scim/coerce.test.ts;
 * written against scimmy 1.3.5.
 */
import { type Json } from './json';
import { isAttribute, isDefinition, type ScimmyAttribute, type ScimmyDefinition } from './scimmy-types';

type Direction = 'in' | 'out' | 'both';



/** `definition.coerce(data, direction)` as scimmy computes it (no base path, no attribute filter). */
export function coerceResource(definition: object, data: unknown, direction: Direction = 'in'): Json {
  const def = definition as ScimmyDefinition;
  if (data === undefined || Array.isArray(data) || Object(data) !== data) {
    throw new TypeError("Expected 'data' parameter to be an object in SchemaDefinition instance");
  }
  const body = data as Json;
  const target: Json = {};
  const keys = Object.keys(body);
  const given = (id: string) => body[id] !== undefined || keys.some((k) => body[k] !== undefined && k.startsWith(`${id}:`));
  const schemas = [
    ...new Set([
      def.id,
      ...def.attributes
        .filter(isDefinition)
        .map((s) => s.id)
        .filter(given),
      ...(Array.isArray(body.schemas) ? (body.schemas as unknown[]) : []),
    ]),
  ];
  // Assigned, not spread: on a spread copy of a body each of the ~25 lookups below cost ~130 ns, against ~10 ns on
  // this object, which has the same keys in the same order (coercing a user body in a loop: 25 → 17 µs).
  const source = lowerCaseKeys(body);
  source.schemas = schemas;
  source.meta = { ...((body.meta as object | undefined) ?? {}), resourceType: def.name };

  for (const attribute of def.attributes) {
    if (isAttribute(attribute)) {
      const value = coerceAttribute(attribute, source[facts(attribute).lowerName], direction);
      if (value !== undefined) target[attribute.name] = value;
    } else if (isDefinition(attribute)) {
      const { id: name, required } = attribute;
      const prefix = `${name.toLowerCase()}:`;
      // Values given as "urn:…:User:attribute" (and "urn:…:User:complex.sub") join the extension's object.
      const namespaced: Json = {};
      for (const k of Object.keys(source)) {
        if (!k.startsWith(prefix)) continue;
        const parts = k.replace(prefix, '').toLowerCase().split('.');
        const leaf = { [parts.pop()!]: source[k] };
        let parent = namespaced;
        for (const part of parts) parent = (parent[part] = parent[part] ?? {}) as Json;
        Object.assign(parent, leaf);
      }
      const mixed = merge(merge({}, (source[name.toLowerCase()] ?? {}) as Json), namespaced);
      if (required && !Object.keys(mixed).length) {
        throw new TypeError(`Missing values for required schema extension '${name}'`);
      } else if (required || Object.keys(mixed).length) {
        try {
          target[name] = coerceResource(attribute, mixed, direction);
        } catch (error) {
          (error as Error).message += ` in schema extension '${name}'`;
          throw error;
        }
      }
    }
  }
  return target;
}

/**
 * scimmy's key folding: every key lower-cased, the last of two that fold alike winning. A `__proto__` key stays an own
 * property: where the boot guard has not removed the accessor (the CLI, tests), assigning it would set the result's
 * prototype, and the lookups of `coerceResource` would then read the sender's object.
 */
function lowerCaseKeys(value: Json): Json {
  const res: Json = {};
  for (const key of Object.keys(value)) {
    const lower = key.toLowerCase();
    if (lower === '__proto__') Object.defineProperty(res, lower, { value: value[key], writable: true, enumerable: true, configurable: true });
    else res[lower] = value[key];
  }
  return res;
}

/** scimmy's merge of an extension object with its namespaced values: arrays joined, objects merged. */
function merge(into: Json, from: Json): Json {
  const t = lowerCaseKeys(into);
  for (const key of Object.keys(from)) {
    const tkey = key.toLowerCase();
    const value = from[key];
    if (Array.isArray(value)) {
      if (Array.isArray(t[tkey])) (t[tkey] as unknown[]).push(...value);
      else t[tkey] = [...value];
    } else if (value !== Object(value)) t[tkey] = value;
    else t[tkey] = merge((t[tkey] ?? {}) as Json, value as Json);
  }
  return t;
}

/** What coercion reads of an attribute on every value, read once (see `subAttributesOf` for why that is safe). */
interface AttributeFacts {
  lowerName: string;
  required: boolean;
  direction: string | undefined;
}

const factsOf = new WeakMap<ScimmyAttribute, AttributeFacts>();

function facts(attribute: ScimmyAttribute): AttributeFacts {
  let known = factsOf.get(attribute);
  if (!known) {
    known = { lowerName: attribute.name.toLowerCase(), required: attribute.config.required === true, direction: attribute.config.direction };
    factsOf.set(attribute, known);
  }
  return known;
}

/**
 * Whether scimmy refuses a missing value of `attribute` in `direction` (its "Required attribute … is missing");
 * otherwise a missing value coerces to nothing. Most of a schema's attributes are missing from any one body, and
 * scimmy's checks read its configuration through a proxy, a trap per read.
 */
function refusesMissing(attribute: ScimmyAttribute, direction: Direction): boolean {
  const { required, direction: own } = facts(attribute);
  return required && (direction === 'both' || direction === own || own === 'both') && (direction !== 'both' || own === direction);
}

/** `attribute.coerce(source, direction, isComplexMultiValue)`; simple types are scimmy's own. */
function coerceAttribute(attribute: ScimmyAttribute, source: unknown, direction: Direction, isComplexMultiValue = false): unknown {
  if (source === undefined && !refusesMissing(attribute, direction)) return undefined;
  if (attribute.type !== 'complex') return attribute.coerce(source, direction, isComplexMultiValue);
  const config = attribute.config;
  const own = config.direction;
  if (!(direction === 'both' || direction === own || own === 'both')) return undefined;
  const { required, multiValued, canonicalValues } = config;
  // The checks every attribute gets, in scimmy's order and words.
  if ((source === undefined || source === null) && required && (direction !== 'both' || own === direction)) {
    throw new TypeError(`Required attribute '${attribute.name}' is missing`);
  }
  if (source !== undefined && !isComplexMultiValue && multiValued && !Array.isArray(source)) {
    throw new TypeError(`Attribute '${attribute.name}' expected to be a collection`);
  }
  if (!multiValued && Array.isArray(source)) {
    throw new TypeError(`Attribute '${attribute.name}' is not multi-valued and must not be a collection`);
  }
  if (
    source !== undefined &&
    Array.isArray(canonicalValues) &&
    !(multiValued ? ((source ?? []) as unknown[]).every((v) => canonicalValues.includes(v)) : canonicalValues.includes(source))
  ) {
    throw new TypeError(`Attribute '${attribute.name}' contains non-canonical value`);
  }
  if (source === undefined || source === null) return undefined;
  if (isComplexMultiValue) return coerceComplexValue(attribute, source, direction);
  const values = (multiValued ? source : [source]) as unknown[];
  const coerced = values.map((value) => coerceAttribute(attribute, value, direction, true));
  return multiValued ? coerced : coerced.pop();
}

/** A complex attribute's sub-attributes by lower-cased name, and those never returned (scimmy's `toJSON` drops them). */
interface SubAttributes {
  list: ScimmyAttribute[];
  byLowerName: Map<string, ScimmyAttribute>;
  hidden: Set<string>;
}

// scimmy's attributes are frozen and their sub-attribute lists change only through `truncate`, which the server never
// calls after declaring its schemas (schema.ts); reading them through scimmy's proxies on every value cost a third of
// the time.
const subAttributesOf = new WeakMap<ScimmyAttribute, SubAttributes>();

function subAttributes(attribute: ScimmyAttribute): SubAttributes {
  let subs = subAttributesOf.get(attribute);
  if (!subs) {
    const list = [...(attribute.subAttributes ?? [])];
    const byLowerName = new Map<string, ScimmyAttribute>();
    // scimmy defines a handle per sub-attribute in order, a later one replacing an earlier of the same name.
    for (const sub of list) byLowerName.set(sub.name.toLowerCase(), sub);
    const hidden = new Set(list.filter((sub) => sub.config.returned === false || sub.config.returned === 'never').map((sub) => sub.name));
    subs = { list, byLowerName, hidden };
    subAttributesOf.set(attribute, subs);
  }
  return subs;
}

/** One complex value: its sub-attributes coerced, unknown keys dropped, then every missing one checked. */
function coerceComplexValue(attribute: ScimmyAttribute, source: unknown, direction: Direction): Json {
  if (Object(source) !== source || source instanceof Date) {
    const found = source instanceof Date ? 'dateTime' : source === null ? 'null' : typeof source;
    throw new TypeError(`Complex attribute '${attribute.name}' expected complex value but found type '${found}'`);
  }
  const { list, byLowerName, hidden } = subAttributes(attribute);
  const resource: Json = {};
  const set = (sub: ScimmyAttribute, value: unknown) => {
    try {
      resource[sub.name] = coerceAttribute(sub, value, direction);
    } catch (error) {
      (error as Error).message += ` from complex attribute '${attribute.name}'`;
      throw error;
    }
  };
  for (const [key, value] of Object.entries(source as Json)) {
    const sub = byLowerName.get(key.toLowerCase());
    // scimmy assigns to a frozen object and ignores the error: a key naming no sub-attribute is dropped.
    if (sub) set(sub, value);
  }
  // scimmy then assigns every sub-attribute's value once more, which raises a missing required one; coercing a
  // coerced value again gives it back unchanged, so only the missing ones need it.
  for (const sub of list) if (resource[sub.name] === undefined) set(sub, undefined);
  if (hidden.size === 0) return resource;
  const out: Json = {};
  for (const [name, value] of Object.entries(resource)) if (!hidden.has(name)) out[name] = value;
  return out;
}
