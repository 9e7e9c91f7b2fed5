/** Pre-validation of client text (RELIABILITY.md 0.1, 0.2, 0.9, 0.13) and prototype protection. */
import SCIMMY from 'scimmy';
import { assertJsonDepth, guardAttributeList, guardFilter, guardPatchPath, guardSortBy, maxJsonDepth, protectPrototypes } from '../../src/scim/guards';
import { translateFilter } from '../../src/scim/filter';
import { ScimError } from '../../src/scim/errors';
import { openEmbeddedStore } from '../../src/store/embedded';

function scimError(fn: () => unknown): ScimError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    expect((error as ScimError).status).toBe(400);
    return error as ScimError;
  }
  throw new Error('expected a ScimError');
}

const ms = (fn: () => void) => {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
};

describe('guardFilter', () => {
  it.each([
    'userName eq "bjensen"',
    'userName eq Test',
    'emails[type eq "work" and value co "@example.com"] or userType eq "Employee"',
    'title eq "a \\"quoted\\" \\\\ value"',
    'title eq "constructor"',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.$ref pr',
    'meta.lastModified gt "2011-05-13T04:42:34Z"',
  ])('accepts %s', (filter) => {
    expect(guardFilter(filter)).toBe(filter);
  });

  it.each([
    ['too long', `userName eq "${'x'.repeat(2100)}"`, /longer than 2048/],
    ['unterminated quote', 'userName eq "abc', /unterminated/],
    ['odd escape', 'userName eq "a\\nb"', /escape/],
    ['backslash outside a string', 'userName eq a\\b', /backslash/],
    ['control character', 'userName eq "a\u0000b"', /control character/],
    ['newline', 'userName eq "a"\nor x pr', /control character/],
    ['__proto__', '__proto__.polluted eq "yes"', /reserved name "__proto__"/],
    ['__PROTO__ (scimmy lower-cases only the first letter)', '__PROTO__.polluted eq "yes"', /reserved/],
    ['constructor.prototype', 'constructor.prototype.polluted eq "yes"', /reserved name "constructor"/],
    ['prototype inside a value filter', 'emails[Prototype.x eq "a"].value eq "b"', /reserved/],
    ['__proto__ inside brackets', 'emails[__proto__.x eq "a"].value', /reserved/],
    ['__proto__ after a URN', 'urn:x:__proto__ eq "a"', /reserved/],
    ['$where', '$where eq "sleep(1000)"', /"\$"/],
    ['$ne in a path', 'userName.$ne eq "x"', /"\$"/],
    ['array (repeated query parameter)', ['a', 'b'], /string/],
    ['object (qs brackets)', { $ne: null }, /string/],
  ])('rejects %s with 400 invalidFilter', (_name, filter, detail) => {
    const e = scimError(() => guardFilter(filter));
    expect(e.scimType).toBe('invalidFilter');
    expect(e.detail).toMatch(detail);
    expect(e.detail.length).toBeLessThan(200);
  });

  it('rejects the scimmy ReDoS string in well under 100 ms, before scimmy sees it', () => {
    const attack = `userName eq "${'\\a'.repeat(40)}`;
    let error: unknown;
    const took = ms(() => {
      try {
        guardFilter(attack);
      } catch (e) {
        error = e;
      }
    });
    expect(error).toBeInstanceOf(ScimError);
    expect((error as ScimError).scimType).toBe('invalidFilter');
    expect(took).toBeLessThan(100);
    // Also with the quote closed (then the bad escape is what fails) and at the maximum length.
    expect(ms(() => scimError(() => guardFilter(`userName eq "${'\\a'.repeat(40)}"`)))).toBeLessThan(100);
    expect(ms(() => scimError(() => guardFilter(`userName eq "${'\\\\'.repeat(1000)}`)))).toBeLessThan(100);
    // The translator's own lexer is linear too.
    expect(ms(() => scimError(() => translateFilter('User', attack)))).toBeLessThan(100);
  });

  it('leaves Object.prototype untouched and keeps scimmy from seeing polluting input', () => {
    for (const text of ['__proto__.polluted eq "yes"', '__proto__.toString eq "x"', 'emails[__proto__.x eq "a"].value']) {
      scimError(() => guardFilter(text));
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(String({})).toBe('[object Object]');
  });
});

describe('guardAttributeList, guardSortBy, guardPatchPath', () => {
  it('accepts ordinary values', () => {
    expect(guardAttributeList('userName, emails.value,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.$ref')).toBeTruthy();
    expect(guardSortBy('meta.lastModified')).toBe('meta.lastModified');
    expect(guardPatchPath('emails[type eq "work"].value')).toBe('emails[type eq "work"].value');
    expect(guardPatchPath('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber')).toBeTruthy();
  });

  it.each([
    [guardAttributeList, 'userName,__proto__.x', 'invalidValue', /reserved/],
    [guardAttributeList, 'name.Constructor', 'invalidValue', /reserved/],
    [guardAttributeList, 'emails[type eq "work"]', 'invalidValue', /quotes/],
    [guardAttributeList, 'a'.repeat(1100), 'invalidValue', /longer than 1024/],
    [guardAttributeList, 'userName;drop', 'invalidValue', /unexpected character/],
    [guardSortBy, '$natural', 'invalidValue', /"\$"/],
    [guardSortBy, '__proto__', 'invalidValue', /reserved/],
    [guardSortBy, 'userName desc', 'invalidValue', /unexpected character/],
    [guardPatchPath, 'emails[__proto__.x eq "a"].value', 'invalidPath', /reserved/],
    [guardPatchPath, 'emails[type eq "\\a\\a\\a', 'invalidPath', /escape/],
    [guardPatchPath, 'name.$set', 'invalidPath', /"\$"/],
    [guardPatchPath, 'x'.repeat(1025), 'invalidPath', /longer than 1024/],
  ] as const)('%p rejects %s', (guard, text, scimType, detail) => {
    const e = scimError(() => guard(text));
    expect(e.scimType).toBe(scimType);
    expect(e.detail).toMatch(detail);
  });
});

describe('JSON depth', () => {
  const nested = (depth: number) => {
    let value: unknown = 'leaf';
    for (let i = 0; i < depth; i++) value = i % 2 ? { a: value } : [value];
    return value;
  };

  it('accepts up to the limit and rejects beyond it', () => {
    expect(maxJsonDepth({ a: [{ b: 1 }] })).toBe(true);
    expect(maxJsonDepth(nested(32))).toBe(true);
    expect(maxJsonDepth(nested(33))).toBe(false);
    expect(maxJsonDepth(nested(3), 2)).toBe(false);
    expect(maxJsonDepth('x', 0)).toBe(true);
    expect(() => assertJsonDepth(nested(32))).not.toThrow();
    const e = scimError(() => assertJsonDepth(nested(33)));
    expect(e.scimType).toBe('invalidSyntax');
  });

  it('handles 100 000 levels without overflowing the stack', () => {
    const deep = nested(100_000);
    expect(ms(() => expect(maxJsonDepth(deep)).toBe(false))).toBeLessThan(100);
  });
});

// Last in this file on purpose: the protection cannot be undone, and jest gives each test file its own globals.
describe('protectPrototypes', () => {
  it('stops scimmy pollution while scimmy, NeDB and the filter translator keep working', async () => {
    protectPrototypes();
    protectPrototypes(); // idempotent

    expect(Object.getOwnPropertyDescriptor(Object.prototype, '__proto__')).toBeUndefined();
    expect(Object.isExtensible(Object.prototype)).toBe(false);

    // scimmy's parser is given polluting input directly (as if a guard were missing): nothing reaches the prototype.
    try {
      new SCIMMY.Types.Filter('__proto__.polluted eq "yes"');
    } catch {
      /* scimmy may throw; what matters is that the prototype is unchanged */
    }
    try {
      new SCIMMY.Types.Filter('constructor.prototype.polluted2 eq "yes"');
    } catch {
      /* idem */
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted2).toBeUndefined();
    expect(String({})).toBe('[object Object]');

    // Ordinary work still functions.
    expect(new SCIMMY.Types.Filter('userName eq "x"')).toHaveLength(1);
    const store = await openEmbeddedStore();
    await store.groups.insertOne({ _id: 'g', orgId: 'o', connectionId: 'c', version: 1, created: new Date(), lastModified: new Date(), displayName: 'A', displayNameKey: 'a' });
    expect(await store.groups.find({ $and: [translateFilter('Group', 'displayName eq "A"'), { orgId: 'o' }] })).toHaveLength(1);
    const parsed = JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
