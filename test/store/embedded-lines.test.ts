/**
 * Data files read without a JSON reviver and written without a replacer (src/store/embedded/lines.ts) give exactly
 * what NeDB's own functions give. Reading: dates where it makes dates (also invalid ones, also nested in arrays), plain
 * objects elsewhere, key order, and `__proto__` kept as a plain property. Writing: the same line, byte for byte, and
 * the same error where the library refuses a document.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { deserialize, libraryDeserialize, librarySerialize, serialize } from '../../src/store/embedded/lines';
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
      '{"__proto__":"text","a":"text"}',
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

  test('values many documents repeat are held once, and read as written', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const padding = 'x'.repeat(40);
    const lines = Array.from({ length: 30_000 }, (_, i) =>
      JSON.stringify({ _id: i, orgId: `org-${padding}`, connectionId: `c-${padding}`, lifecycle: { license: `free-${padding}` }, team: { name: `team-${i % 7}-${padding}` } }),
    );
    // A second collection finishes the first one's sweeping, which would otherwise still count in `heapUsed`.
    const settledHeap = () => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const retained = (read: (line: string) => unknown) => {
      const before = settledHeap();
      const docs = lines.map(read);
      const after = settledHeap();
      for (let i = 0; i < lines.length; i += 997) expect(docs[i]).toEqual(JSON.parse(lines[i]));
      return after - before;
    };
    // Three measurements each, alternating; the medians are compared.
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1];
    const library: number[] = [];
    const ours: number[] = [];
    for (let round = 0; round < 3; round++) {
      library.push(retained(libraryDeserialize));
      ours.push(retained(deserialize));
    }
    // Four values of ~45 characters a document, held once each instead of once a document.
    expect(median(ours)).toBeLessThan(0.7 * median(library));
  });

  test('a key with more different values than are pooled still reads exactly', () => {
    const lines = Array.from({ length: 25_000 }, (_, i) => JSON.stringify({ _id: `id-${i}`, note: `note-${i}`, kind: i % 2 ? 'a' : 'b' }));
    for (const line of lines) expect(deserialize(line)).toEqual(JSON.parse(line));
    for (const line of lines.slice(0, 100)) same(line);
  });

  test('malformed lines throw as NeDB does (it counts them as corrupt)', () => {
    expect(() => libraryDeserialize('{"a":')).toThrow(SyntaxError);
    expect(() => deserialize('{"a":')).toThrow(SyntaxError);
  });
});

describe('writing data file lines', () => {
  const sameLine = (doc: unknown) => expect(serialize(doc)).toBe(librarySerialize(doc));

  test('documents as the store writes them: dates at any depth, arrays, nulls, unicode, absent values', () => {
    const user = {
      _id: 'u1',
      version: 3,
      created: new Date(1_700_000_000_123),
      lastModified: new Date(1_700_000_000_456),
      userNameKey: 'zoë@example.com',
      emailKeys: ['zoë@example.com', 'z@example.com'],
      scim: { userName: 'Zoë@example.com', name: { givenName: 'Zoë', middleName: undefined }, emails: [{ value: 'z@example.com', primary: true }], active: false, title: null },
      lifecycle: {
        managed: true,
        accountStatus: 'deactivated',
        deactivatedAt: new Date(5),
        pendingEffects: { releaseSeat: true, revokeSessions: true, wantSeat: false, audit: { _id: 'a1', at: new Date(0), before: { license: 'licensed' }, after: { license: 'free' } } },
      },
      dates: [new Date(-1), new Date(Number.NaN), undefined, null, 1.5, -0, Number.POSITIVE_INFINITY],
      quote: 'line\nbreak "quoted" \u2028 \\ end',
      empty: {},
      none: [],
    };
    sameLine(user);
    expect(deserialize(serialize(user))).toEqual(libraryDeserialize(librarySerialize(user)));
    // eslint-disable-next-line no-sparse-arrays
    const sparse = [[1, , new Date(4)], [new Date(5), , 2], [, 'x']];
    for (const doc of ['text', 12, null, true, [1, new Date(2)], new Date(3), { 10: 'a', b: 'c', 2: 'd' }, { a: 1, b: [{ c: new Date(6) }], d: 'e' }, ...sparse]) sameLine(doc);
  });

  test('what the copy cannot reproduce goes to the library: special keys, non-plain objects, functions', () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const withProto = JSON.parse('{"__proto__":{"x":1},"b":2}') as object;
    for (const doc of [
      { $$deleted: true, _id: 'u1' },
      { $$indexCreated: { fieldName: 'orgId,userNameKey', unique: true } },
      { a: { $$date: 5 } },
      { a: new Point(1) },
      { a: { toJSON: () => 'custom' } },
      { a: { getTime: () => 42 } },
      { a: Object.assign(new Date(7), { toJSON: () => undefined }) },
      { a: Object.assign(Object.create(null) as object, { b: 1 }) },
      { a: () => 1, b: [() => 2], c: Symbol('s') },
      withProto,
    ]) {
      sameLine(doc);
    }
  });

  test('documents the library refuses are refused with its error', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    for (const doc of [{ $set: 1 }, { 'a.b': 1 }, { a: [{ $x: 1 }] }, { a: 10n }, cyclic]) {
      let expected: unknown;
      try {
        librarySerialize(doc);
      } catch (error) {
        expected = error;
      }
      expect(expected).toBeInstanceOf(Error);
      expect(() => serialize(doc)).toThrow((expected as Error).message);
    }
  });
});
