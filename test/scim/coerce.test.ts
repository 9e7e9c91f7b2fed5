/**
 * Our inbound coercion against scimmy's own (`SchemaDefinition.coerce(body, "in")`) on bodies generated from the
 * schemas themselves: every attribute and sub-attribute given well, wrongly (other types, null, a collection where
 * one value is expected and the other way round, values outside the canonical ones), in other letter cases, under
 * the extension's URN and as "urn:…:attribute" keys, with unknown keys — the same JSON or the same error for each.
 */
import SCIMMY from 'scimmy';
import { seededRandom } from '../../src/cli/demo';
import { coerceResource } from '../../src/scim/coerce';
import { declareScimSchemas, groupSchema, userSchema } from '../../src/scim/schema';

declareScimSchemas();

const { Attribute, SchemaDefinition } = SCIMMY.Types;

interface AttributeLike {
  name: string;
  type: string;
  config: { multiValued?: boolean; required?: boolean; canonicalValues?: unknown[] };
  subAttributes?: AttributeLike[];
}
interface DefinitionLike {
  id: string;
  attributes: unknown[];
  coerce(data: unknown, direction: string): unknown;
}

/** The demo's deterministic generator, so that a failure names a body that can be generated again. */
function random(seed: number) {
  const { next, pick } = seededRandom(seed);
  /** How often a value is made wrong: each body picks its own, so that some come out clean. */
  let noise = 0.08;
  const chance = (p: number) => next() < p;
  const stray = () => next() < noise;
  const setNoise = (n: number) => (noise = n);
  return { next, chance, pick, stray, setNoise };
}
type Random = ReturnType<typeof random>;

const STRAYS: unknown[] = ['text', '', 'False', 42, 3.5, -1, true, false, null, {}, { value: 'x' }, [], ['a'], [{ value: 'x' }], '2024-01-02T03:04:05Z', 'not a date', 'https://example.com/x', '/Users/1', 'urn:x:y', 'YWJj'];

function recase(name: string, r: Random): string {
  if (!r.chance(0.25)) return name;
  return r.pick([name.toLowerCase(), name.toUpperCase(), name[0].toUpperCase() + name.slice(1)]);
}

function goodValue(attribute: AttributeLike, r: Random, depth: number): unknown {
  const canonical = attribute.config.canonicalValues;
  if (Array.isArray(canonical) && canonical.length > 0 && r.chance(0.7)) return r.pick(canonical);
  switch (attribute.type) {
    case 'string':
      return r.pick(['Ada', 'ada@example.com', 'work', 'Ünïcödé', '', 'x'.repeat(20)]);
    case 'boolean':
      return r.chance(0.5);
    case 'dateTime':
      return r.pick(['2024-01-02T03:04:05Z', '2024-01-02', 'not a date', 1700000000000]);
    case 'reference':
      return r.chance(0.8) ? 'https://example.com/Users/1' : r.pick(['/Users/1', 'urn:x:y', 'Users/abc', 'relative']);
    case 'binary':
      return r.pick(['YWJj', 'not base64!']);
    case 'integer':
    case 'decimal':
      return r.pick([1, 2.5, '3', 'x']);
    case 'complex':
      return complexValue(attribute, r, depth + 1);
    default:
      return 'x';
  }
}

function complexValue(attribute: AttributeLike, r: Random, depth: number): unknown {
  if (r.stray()) return r.pick(STRAYS);
  const value: Record<string, unknown> = {};
  for (const sub of attribute.subAttributes ?? []) {
    if (r.chance(0.5)) continue;
    value[recase(sub.name, r)] = attributeValue(sub, r, depth);
  }
  if (r.chance(0.15)) value[r.pick(['unknown', 'constructor', 'toJSON', 'tojson', 'Value'])] = r.pick(STRAYS);
  return value;
}

function attributeValue(attribute: AttributeLike, r: Random, depth: number): unknown {
  if (depth > 3 || r.stray()) return r.pick(STRAYS);
  if (r.chance(0.03)) return undefined;
  if (attribute.config.multiValued) {
    if (r.stray()) return goodValue(attribute, r, depth); // one value where a collection is expected
    const items = Array.from({ length: Math.floor(r.next() * 3) }, () => (r.stray() ? r.pick(STRAYS) : goodValue(attribute, r, depth)));
    return items;
  }
  return goodValue(attribute, r, depth);
}

function body(definition: DefinitionLike, r: Random): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  r.setNoise(r.pick([0, 0.01, 0.03, 0.08]));
  if (!r.chance(0.1)) out.schemas = r.chance(0.9) ? [definition.id] : r.pick([['urn:other'], [], 'x', [definition.id, 'urn:other']]);
  for (const attribute of definition.attributes) {
    if (attribute instanceof Attribute) {
      const a = attribute as unknown as AttributeLike;
      if (a.name === 'schemas' || r.chance(a.config.required ? 0.03 : 0.4)) continue;
      out[recase(a.name, r)] = attributeValue(a, r, 0);
    } else if (attribute instanceof SchemaDefinition) {
      const extension = attribute as unknown as DefinitionLike;
      if (r.chance(0.4)) continue;
      const value: Record<string, unknown> = {};
      for (const inner of extension.attributes as AttributeLike[]) {
        if (r.chance(0.5)) continue;
        // Either inside the extension's object or as "urn:…:attribute" at the top level (Entra), sometimes both.
        const namespaced = r.chance(0.3);
        if (namespaced) out[`${r.chance(0.8) ? extension.id : extension.id.toLowerCase()}:${inner.name}`] = attributeValue(inner, r, 0);
        if (!namespaced || r.chance(0.3)) value[recase(inner.name, r)] = attributeValue(inner, r, 0);
        if (inner.type === 'complex' && r.chance(0.1)) out[`${extension.id}:${inner.name}.value`] = 'm1';
      }
      if (Object.keys(value).length > 0 || r.chance(0.1)) out[r.chance(0.9) ? extension.id : extension.id.toLowerCase()] = r.chance(0.05) ? r.pick(STRAYS) : value;
      if (!out.schemas || !Array.isArray(out.schemas)) continue;
      if (r.chance(0.7)) out.schemas = [...(out.schemas as string[]), extension.id];
    }
  }
  if (r.chance(0.1)) out.unknownAttribute = r.pick(STRAYS);
  if (r.chance(0.1)) out.meta = r.pick([{ created: 'x', resourceType: 'Other' }, 'meta', null]);
  return out;
}

/** JSON of the result, or the error's class and message. */
function outcome(run: () => unknown): string {
  try {
    return JSON.stringify(run());
  } catch (error) {
    return `${(error as Error).constructor.name}: ${(error as Error).message}`;
  }
}

/**
 * What our schemas do not use but scimmy handles: required and never-returned sub-attributes, inbound-only ones,
 * collections and a required complex value in an extension, canonical values on a collection.
 */
function syntheticDefinition(): DefinitionLike {
  const extension = new SchemaDefinition('Extra', 'urn:ietf:params:scim:schemas:extension:test:2.0:Thing', '', [
    new Attribute('string', 'tags', { multiValued: true }),
    new Attribute('complex', 'owner', { required: true }, [new Attribute('string', 'value', { required: true }), new Attribute('string', 'display')]),
  ]);
  const thing = new SchemaDefinition('Thing', 'urn:ietf:params:scim:schemas:core:2.0:Thing', '', [
    new Attribute('string', 'title', { required: true }),
    new Attribute('string', 'levels', { multiValued: true, canonicalValues: ['low', 'high'] }),
    new Attribute('complex', 'secret', {}, [
      new Attribute('string', 'value', { required: true }),
      new Attribute('string', 'hint', { returned: 'never' }),
      new Attribute('string', 'code', { direction: 'in' }),
      new Attribute('dateTime', 'since'),
    ]),
    new Attribute('complex', 'parts', { multiValued: true }, [new Attribute('integer', 'count', { required: true }), new Attribute('boolean', 'spare')]),
  ]);
  return thing.extend(extension, false) as unknown as DefinitionLike;
}

describe.each([
  ['User (core, enterprise and lifecycle)', () => (userSchema() as unknown as { definition: DefinitionLike }).definition],
  ['Group', () => (groupSchema() as unknown as { definition: DefinitionLike }).definition],
  ['synthetic', syntheticDefinition],
])('inbound coercion of a %s body equals scimmy’s', (_name, definitionOf) => {
  const definition = definitionOf();

  test('on 3000 generated bodies, valid and not, with errors of every kind among them', () => {
    const r = random(20261130);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const b = body(definition, r);
      const expected = outcome(() => definition.coerce(structuredClone(b), 'in'));
      const actual = outcome(() => coerceResource(definition, structuredClone(b), 'in'));
      if (actual !== expected) throw new Error(`body ${i} ${JSON.stringify(b)}\n  scimmy: ${expected}\n  ours:   ${actual}`);
      const kind = expected.startsWith('{') ? 'coerced' : expected.replace(/'[^']*'/g, "'…'");
      outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
    }
    // The corpus reaches both results and a variety of errors, so that agreement means something.
    expect(outcomes.get('coerced')).toBeGreaterThan(200);
    expect(outcomes.size).toBeGreaterThan(8);
  });

  test('on bodies as Okta and Entra send them', () => {
    const bodies = [
      { schemas: [definition.id], userName: 'a@example.com', displayName: 'A', members: [{ value: 'u1', display: 'U' }] },
      {
        schemas: [definition.id, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
        userName: 'a@example.com',
        active: true,
        name: { givenName: 'Ada', familyName: 'Lovelace', formatted: 'Ada Lovelace' },
        emails: [{ primary: true, value: 'a@example.com', type: 'work' }],
        externalId: '00u1',
        groups: [],
        password: 'secret',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department': 'R&D',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { manager: { value: 'm1' }, employeeNumber: '7' },
      },
    ];
    for (const b of bodies) {
      expect(outcome(() => coerceResource(definition, structuredClone(b), 'in'))).toBe(outcome(() => definition.coerce(structuredClone(b), 'in')));
    }
  });
});

test('a "__proto__" key of a body is an unknown attribute: no value is read through it, as scimmy reads none', () => {
  const definition = (userSchema() as unknown as { definition: DefinitionLike }).definition;
  // JSON.parse makes "__proto__" an own key, as a request body's parser does.
  const given = () => JSON.parse('{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@example.com","__proto__":{"title":"inherited","active":false}}');
  const coerced = coerceResource(definition, given(), 'in');
  expect(coerced).toEqual({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'a@example.com', meta: { resourceType: 'User' } });
  expect(outcome(() => coerceResource(definition, given(), 'in'))).toBe(outcome(() => definition.coerce(given(), 'in')));
});
