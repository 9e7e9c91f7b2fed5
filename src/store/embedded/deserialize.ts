/**
 * NeDB reads each line of a data file with `JSON.parse` and a reviver that turns `{"$$date": n}` into a Date. A
 * reviver makes V8 leave its fast parser and call back into JavaScript for every value: a quarter of the start-up at
 * 100k users after the index build was fixed (bulk-index.ts). Here the line is parsed without one and the same
 * replacements are made afterwards, bottom-up as a reviver does them: every value under a key `$$date` becomes
 * `new Date(value)`, then every object with its own `$$date` becomes that Date. Tested against the library's function
 * in test/store/embedded-deserialize.test.ts.
 */
import { model } from './nedb';

const libraryDeserialize = model.deserialize;

function revive(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const revived = revive(value[i]);
      if (revived !== value[i]) value[i] = revived;
    }
    return value;
  }
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    const child = revive(object[key]);
    const revived = key === '$$date' ? new Date(child as string) : child;
    if (revived !== object[key]) object[key] = revived; // an own property, `__proto__` included: no setter runs
  }
  return Object.prototype.hasOwnProperty.call(object, '$$date') ? object.$$date : object;
}

/** NeDB's `deserialize`, without a reviver. */
export const deserialize = (line: string): unknown => revive(JSON.parse(line));

/** Makes NeDB read data files with {@link deserialize}. Idempotent. */
export function installFastDeserialize(): void {
  model.deserialize = deserialize;
}

/** The library's own function, for the equivalence tests. */
export { libraryDeserialize };
