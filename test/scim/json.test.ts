/**
 * `jsonCopy` against the text round trip it replaces, `JSON.parse(JSON.stringify(value))`: the same values, the same
 * key order, plain prototypes, and the same errors, on the values scimmy's coercion produces and on random ones.
 */
import { seededRandom } from '../../src/cli/demo';
import { jsonCopy } from '../../src/scim/json';

const roundTrip = (value: unknown): unknown => {
  const text = JSON.stringify(value);
  return text === undefined ? undefined : JSON.parse(text);
};

/** Equal by value, key order and prototype (toEqual alone ignores the order and undefined members). */
function expectSameCopy(value: unknown): void {
  const expected = roundTrip(value);
  const actual = jsonCopy(value);
  expect(actual).toStrictEqual(expected);
  expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
  const prototypes = (v: unknown): unknown[] =>
    v !== null && typeof v === 'object' ? [Object.getPrototypeOf(v), ...Object.values(v).flatMap(prototypes)] : [];
  expect(prototypes(actual)).toEqual(prototypes(expected));
}

describe('jsonCopy', () => {
  it('leaves out what JSON leaves out, and writes null where JSON does', () => {
    const fn = () => 1;
    expectSameCopy({ a: undefined, b: fn, c: Symbol('s'), d: [undefined, fn, Symbol('s'), 1], e: NaN, f: -Infinity, g: -0, h: [-0] });
    expectSameCopy([, 1, , 2]); // eslint-disable-line no-sparse-arrays
    expect(jsonCopy(undefined)).toBeUndefined();
    expect(jsonCopy(fn)).toBeUndefined();
    expect(Object.is(jsonCopy(-0), 0)).toBe(true);
  });

  it('calls toJSON with the member name and unboxes primitives, as JSON.stringify does', () => {
    const names: string[] = [];
    const probe = { toJSON: (name: string) => (names.push(name), `seen ${name}`) };
    expectSameCopy({ when: new Date(Date.UTC(2026, 0, 2)), bad: new Date(NaN), probe, list: [probe] });
    expect(names).toEqual(['probe', '0', 'probe', '0']); // once for the round trip, once for the copy
    expectSameCopy({ n: new Number(3), s: new String('x'), b: new Boolean(false) });
  });

  it('reads arrays behind a proxy as arrays, as scimmy returns multi-valued simple attributes', () => {
    const proxied = new Proxy(['a', 'b'], { set: () => false });
    expectSameCopy({ values: proxied });
    expect(Array.isArray((jsonCopy({ values: proxied }) as { values: unknown }).values)).toBe(true);
  });

  it('keeps a member named __proto__ as a member, never as the prototype', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as Record<string, unknown>;
    const copy = jsonCopy(value) as Record<string, unknown>;
    expectSameCopy(value);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['__proto__', 'x']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('orders integer-like keys as objects do', () => {
    expectSameCopy({ b: 1, 2: 'two', a: 2, 1: 'one', '-1': 'minus' });
  });

  it('throws the same TypeError for a cycle or a BigInt', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    expect(() => JSON.stringify(cyclic)).toThrow(TypeError);
    expect(() => jsonCopy(cyclic)).toThrow(TypeError);
    expect(() => jsonCopy({ n: BigInt(1) })).toThrow(TypeError);
    // The same object twice is not a cycle.
    const shared = { v: 1 };
    expectSameCopy({ a: shared, b: [shared, shared] });
  });

  it('copies random values as the text round trip does', () => {
    const { next, pick } = seededRandom(20261130);
    const leaves: unknown[] = ['', 'text', 'ü ☃ 😀', '\ud800', 0, -0, 1.5, -7, 1e21, NaN, Infinity, true, false, null, undefined, () => 0, new Date(0)];
    const names = ['a', 'B', 'value', 'type', '0', '10', '__proto__', 'toJSON', 'urn:x:y', ''];
    const make = (depth: number): unknown => {
      const roll = next();
      if (depth > 4 || roll < 0.45) return pick(leaves);
      if (roll < 0.7) return Array.from({ length: Math.floor(next() * 4) }, () => make(depth + 1));
      const object: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 5); i > 0; i--) Object.defineProperty(object, pick(names), { value: make(depth + 1), enumerable: next() < 0.9, writable: true, configurable: true });
      return object;
    };
    for (let i = 0; i < 3000; i++) {
      const value = make(0);
      try {
        expectSameCopy(value);
      } catch (error) {
        throw new Error(`random value #${i}: ${String(error)}`);
      }
    }
  });
});
