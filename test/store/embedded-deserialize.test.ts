/**
 * Data files read without a JSON reviver (src/store/embedded/deserialize.ts) give exactly what NeDB's own function
 * gives: dates where it makes dates (also invalid ones, also nested in arrays), plain objects elsewhere, key order,
 * and `__proto__` kept as a plain property.
 */
import { deserialize, libraryDeserialize } from '../../src/store/embedded/deserialize';
import { model } from '../../src/store/embedded/nedb';

/** A description that tells apart everything the two functions could disagree on. */
function canon(v: unknown): unknown {
  if (v instanceof Date) return { date: String(v.getTime()) };
  if (Array.isArray(v)) return ['array', ...v.map(canon)];
  if (v !== null && typeof v === 'object') {
    return { proto: Object.getPrototypeOf(v) === Object.prototype, own: Object.keys(v).map((k) => [k, canon((v as Record<string, unknown>)[k])]) };
  }
  return v;
}

const same = (line: string) => expect(canon(deserialize(line))).toEqual(canon(libraryDeserialize(line)));

describe('reading data file lines', () => {
  test('documents as NeDB writes them: dates at any depth, arrays, nulls, unicode', () => {
    const doc = {
      _id: 'u1',
      created: new Date(1_700_000_000_123),
      scim: { userName: 'zoë@example.com', emails: [{ value: 'a@b', primary: true }], name: null, n: 3.5 },
      lifecycle: { pendingEffects: { audit: { at: new Date(5), before: { license: 'free' } } }, dates: [new Date(0), new Date(-1)] },
      tags: [],
    };
    const line = model.serialize(doc);
    same(line);
    expect(deserialize(line)).toEqual(doc);
  });

  test('lines no serializer writes but a hand-edited file could hold', () => {
    for (const line of [
      '{"$$date":"not a date"}',
      '{"a":{"$$date":null}}',
      '{"a":{"$$date":0,"other":1}}',
      '{"a":{"$$date":{"b":{"$$date":1}}}}',
      '{"a":[{"$$date":[1]},{"$$date":"2020-01-01T00:00:00Z"}]}',
      '{"__proto__":{"polluted":true,"x":{"$$date":7}},"b":1}',
      '{"__proto__":{"$$date":7}}',
      '{"a":{"$$index":{"fieldName":"x"}}}',
      '{"$$indexCreated":{"fieldName":"orgId,userNameKey","unique":true}}',
      '[1,{"$$date":2}]',
      '"text"',
      '12',
      'null',
    ]) {
      same(line);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('malformed lines throw as NeDB does (it counts them as corrupt)', () => {
    expect(() => libraryDeserialize('{"a":')).toThrow(SyntaxError);
    expect(() => deserialize('{"a":')).toThrow(SyntaxError);
  });
});
