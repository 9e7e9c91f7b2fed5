/**
 * SCIM filter translation, checked by running the translated queries on a real in-memory embedded store.
 *
 * The scimmy fixtures (`types-filter.json`, `match`) give users and filter expressions with the ids they must match.
 * The fixture users are adapted to our stored shape: `date` → `meta.lastModified` (stored `lastModified`),
 * `exists` → `active` (a boolean that is true, false or unassigned, like the fixture's), everything else keeps its
 * name. Skipped fixtures (see `skipReason`):
 * - anything on `number`: neither the User nor the enterprise schema has an integer/decimal attribute to map it to;
 * - `np` ("not present"): not an RFC 7644 operator (use `not (x pr)`); our parser answers 400;
 * - `un`: the fixture's unknown operator; we answer 400 (asserted below) rather than "no match";
 * - `co` on a dateTime: RFC 7644 §3.4.2.2 defines co/sw/ew for strings; we answer 400 (asserted below);
 * - `exists eq "falsey"`: a boolean compared with a non-boolean string; we answer 400 (asserted below);
 * - `emails[type eq "work"] pr` in object form: a scimmy-only extension of the grammar, not in the RFC.
 */
import { readFileSync } from 'node:fs';
import { openEmbeddedStore } from '../../src/store/embedded';
import type { Query, Store } from '../../src/store/port';
import type { GroupDoc, UserDoc } from '../../src/store/documents';
import { translateFilter } from '../../src/scim/filter';
import { ScimError } from '../../src/scim/errors';

interface FixtureUser {
  id: number;
  userName: string;
  date: string;
  number: number;
  exists?: boolean;
  name: Record<string, string>;
  emails: { type: string; value: string; primary: boolean }[];
}
type Expression = Record<string, unknown> | Record<string, unknown>[];
interface Target {
  expression: Expression;
  expected: number[];
}

const fixtures = JSON.parse(readFileSync('/work/shared/conformance/scimmy-fixtures/types-filter.json', 'utf8')) as {
  match: { source: FixtureUser[]; targets: Record<string, Target[]> };
};

const ORG = 'org-1';
const CREATED = new Date('2020-01-01T00:00:00Z');

function userDoc(u: FixtureUser): UserDoc {
  return {
    _id: `u${u.id}`,
    orgId: ORG,
    version: 1,
    created: CREATED,
    lastModified: new Date(u.date),
    userNameKey: u.userName.toLowerCase(),
    emailKeys: u.emails.map((e) => e.value.toLowerCase()),
    scim: {
      userName: u.userName,
      name: u.name,
      emails: u.emails,
      ...(u.exists === undefined ? {} : { active: u.exists }),
    },
  };
}

/** Fixture attribute names → our SCIM names; other names (including odd casing) are passed through untouched. */
const RENAME: Record<string, string> = { date: 'meta.lastModified', exists: 'active' };
const MULTI_VALUED = new Set(['emails']);

class Skip extends Error {}

function literal(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

function comparison(path: string, spec: unknown[]): string {
  const [first, ...rest] = spec as string[];
  if (String(first).toLowerCase() === 'not') return `not (${comparison(path, rest)})`;
  return spec.length === 1 ? `${path} ${first}` : `${path} ${first} ${literal(spec[1])}`;
}

function terms(name: string, spec: unknown): string[] {
  const path = RENAME[name] ?? name;
  if (Array.isArray(spec)) {
    if (Array.isArray(spec[0])) return spec.flatMap((s) => terms(name, s));
    if (typeof spec[0] === 'object') throw new Skip('scimmy-only "attr[filter] pr" form');
    return [comparison(path, spec)];
  }
  const subs = Object.entries(spec as Record<string, unknown>).flatMap(([sub, s]) => terms(sub, s).map((t) => t));
  if (MULTI_VALUED.has(name.toLowerCase()) && subs.length > 1) return [`${path}[${subs.join(' and ')}]`];
  return subs.map((t) => `${path}.${t}`);
}

/** Renders a scimmy expression object as filter text (objects are ANDs, arrays ORs). */
function toFilter(expression: Expression): string {
  if (Array.isArray(expression)) return expression.map((e) => `(${toFilter(e)})`).join(' or ');
  return Object.entries(expression)
    .flatMap(([name, spec]) => terms(name, spec))
    .join(' and ');
}

/**
 * Fixtures whose expectation is case-sensitive where RFC 7643 §4.1.1 makes `userName` caseExact=false: scimmy's
 * `co "A"` does not match "MeganB" and `co "a"` does not match "AdeleV"; RFC 7644 §3.4.2.2 says comparisons on
 * caseExact=false attributes ignore case, so we expect those users too.
 */
const RFC_EXPECTED: Record<string, number[]> = {
  'userName co "A"': [1, 2, 4],
  'userName co "A" and name.formatted co "a"': [1, 2, 4],
  '(meta.lastModified gt "2021-09-08") or (userName co "a")': [1, 2, 4],
};

function skipReason(category: string, target: Target): string | undefined {
  const text = JSON.stringify(target.expression);
  if (category === 'numbers' || text.includes('"number"')) return 'no integer attribute in our schemas';
  if (/"np"/.test(text)) return 'np is not an RFC 7644 operator';
  if (category === 'unknown') return 'unknown operator: 400 asserted separately';
  if (/"date":\["(not",")?co"/.test(text)) return 'co on dateTime: 400 asserted separately';
  if (text.includes('falsey')) return 'non-boolean value for a boolean: 400 asserted separately';
  return undefined;
}

let store: Store;

beforeAll(async () => {
  store = await openEmbeddedStore();
  await store.users.insertMany(fixtures.match.source.map(userDoc));
  // A user of another organization must never leak into results once the caller ANDs `{orgId}`.
  await store.users.insertOne({ ...userDoc(fixtures.match.source[0]), _id: 'other-org', orgId: 'org-2' });
});

async function ids(filter: string, resourceType: 'User' | 'Group' = 'User'): Promise<string[]> {
  const query: Query = { $and: [translateFilter(resourceType, filter), { orgId: ORG }] };
  const collection = resourceType === 'User' ? store.users : store.groups;
  const docs = await collection.find(query);
  return docs.map((d) => d._id).sort();
}

function expectInvalidFilter(resourceType: 'User' | 'Group', filter: string, detail?: RegExp): ScimError {
  let caught: unknown;
  try {
    translateFilter(resourceType, filter);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ScimError);
  const e = caught as ScimError;
  expect(e.status).toBe(400);
  expect(e.scimType).toBe('invalidFilter');
  if (detail) expect(e.detail).toMatch(detail);
  return e;
}

describe('scimmy match fixtures on the embedded store', () => {
  const cases: [string, string, number[]][] = [];
  const skipped: [string, string][] = [];
  for (const [category, targets] of Object.entries(fixtures.match.targets)) {
    for (const target of targets) {
      const reason = skipReason(category, target);
      if (reason) {
        skipped.push([category, reason]);
        continue;
      }
      try {
        const filter = toFilter(target.expression);
        cases.push([category, filter, RFC_EXPECTED[filter] ?? target.expected]);
      } catch (error) {
        if (!(error instanceof Skip)) throw error;
        skipped.push([category, error.message]);
      }
    }
  }

  it('covers most of the fixtures', () => {
    expect(cases.length).toBeGreaterThanOrEqual(35);
    expect(skipped.length).toBeLessThanOrEqual(25);
  });

  it.each(cases)('%s: %s', async (_category, filter, expected) => {
    expect(await ids(filter)).toEqual(expected.map((n) => `u${n}`).sort());
  });
});

describe('RFC 7644 §3.4.2.2 semantics', () => {
  it('matches userName case-insensitively with an index lookup on userNameKey', async () => {
    await store.users.insertOne({
      _id: 'tu',
      orgId: ORG,
      version: 1,
      created: CREATED,
      lastModified: CREATED,
      userNameKey: 'test.user@x',
      emailKeys: ['test.user@work.example.com', 'tu@home.example.org'],
      scim: {
        userName: 'Test.User@x',
        active: true,
        title: 'Engineer',
        emails: [
          { value: 'Test.User@Work.example.com', type: 'work', primary: true },
          { value: 'tu@home.example.org', type: 'home' },
        ],
      },
      enterprise: { employeeNumber: 'E-1', manager: { value: 'MGR-1', displayName: 'Boss' } },
    });
    expect(translateFilter('User', 'userName eq "TEST.USER@X"')).toEqual({ userNameKey: 'test.user@x' });
    expect(await ids('userName eq "TEST.USER@X"')).toEqual(['tu']);
    expect(await ids('UserName EQ "test.user@x"')).toEqual(['tu']);
    expect(await ids('USERNAME eq "Test.User@x"')).toEqual(['tu']);
    expect(await ids('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "test.USER@x"')).toEqual(['tu']);
  });

  it('accepts unquoted values as Microsoft Entra sends them', async () => {
    expect(await ids('userName eq Test.User@x')).toEqual(['tu']);
    expect(await ids('active eq True and userName eq Test.User@x')).toEqual(['tu']);
    expect(await ids('active eq False')).toEqual(['u3']);
  });

  it('filters emails by type and value inside one element with $elemMatch', async () => {
    const query = translateFilter('User', 'emails[type eq "work" and value ew "example.com"]');
    expect(query).toEqual({ 'scim.emails': { $elemMatch: { $and: [{ type: /^work(?![\s\S])/i }, { value: /example\.com(?![\s\S])/i }] } } });
    expect(await ids('emails[type eq "work" and value ew "EXAMPLE.COM"]')).toEqual(['tu']);
    // tu has a .org address, but it is the home one.
    expect(await ids('emails[type eq "work" and value ew ".org"]')).toEqual(['u3', 'u4']);
    expect(await ids('emails[type eq "work"].value eq "test.user@work.example.com"')).toEqual(['tu']);
    expect(JSON.stringify(translateFilter('User', 'emails[type eq "work"].value eq "x"'))).toContain('$elemMatch');
    expect(await ids('emails[type eq "home"].value eq "test.user@work.example.com"')).toEqual([]);
  });

  it('keeps two separate emails conditions independent (scimmy merges them)', async () => {
    // tu: one work address and one .org address, but not a work .org address.
    expect(await ids('emails[type eq "home"] and emails[value co "work.example"]')).toEqual(['tu']);
    expect(await ids('emails.type eq "home" and emails.value co "work.example"')).toEqual(['tu']);
    expect(await ids('emails[type eq "home" and value co "work.example"]')).toEqual([]);
  });

  it('uses the lower-cased emailKeys copy outside brackets', async () => {
    expect(translateFilter('User', 'emails.value eq "A@B.C"')).toEqual({ emailKeys: 'a@b.c' });
    expect(await ids('emails.value eq "TU@HOME.EXAMPLE.ORG"')).toEqual(['tu']);
    expect(await ids('emails.value sw "tu@"')).toEqual(['tu']);
    // A multi-valued attribute compared as a whole compares its values (RFC 7644 §3.4.2.2: emails co "example.com").
    expect(translateFilter('User', 'emails co "B.C"')).toEqual(translateFilter('User', 'emails.value co "B.C"'));
    expect(await ids('emails eq "TU@HOME.EXAMPLE.ORG"')).toEqual(['tu']);
  });

  it('ne on emails.value matches when some value differs (RFC 7644 §3.4.2.2), as on every other sub-attribute', async () => {
    const everyone = await ids('emails pr');
    // tu's other email differs.
    expect(await ids('emails.value ne "TU@HOME.EXAMPLE.ORG"')).toEqual(everyone);
    expect(await ids('not (emails.value eq "TU@HOME.EXAMPLE.ORG")')).toEqual(everyone.filter((id) => id !== 'tu'));
  });

  it('negates a parenthesised or correctly (scimmy turns not (A or B) into not A or not B)', async () => {
    // not (A or B) = not A and not B: neither AdeleV nor GradyA.
    expect(await ids('not (userName eq "AdeleV" or userName eq "GradyA")')).toEqual(['tu', 'u3', 'u4']);
    // not (A and B) = not A or not B: everyone except the one user matching both.
    expect(await ids('not (userName sw "A" and active eq true)')).toEqual(['tu', 'u2', 'u3', 'u4']);
    expect(await ids('userName sw "a" and not (userName ew "Z" or name.formatted co "Vance")')).toEqual([]);
    expect(await ids('not not (userName eq "AdeleV")')).toEqual(['u1']);
    expect(translateFilter('User', 'not (userName eq "a" or userName eq "b")')).toEqual({
      $nor: [{ $or: [{ userNameKey: 'a' }, { userNameKey: 'b' }] }],
    });
  });

  it('gives and precedence over or, and honours parentheses', async () => {
    expect(await ids('userName eq "AdeleV" or userName eq "GradyA" and active eq true')).toEqual(['u1']);
    expect(await ids('(userName eq "AdeleV" or userName eq "LynneR") and active eq false')).toEqual(['u3']);
  });

  it('compares meta.lastModified and meta.created as dates', async () => {
    const query = translateFilter('User', 'meta.lastModified gt "2021-09-01T00:00:00Z"');
    expect(query).toEqual({ lastModified: { $gt: new Date('2021-09-01T00:00:00Z') } });
    expect(await ids('meta.lastModified gt "2021-09-01T00:00:00Z"')).toEqual(['u2', 'u4']);
    expect(await ids('meta.lastModified ge "2021-09-08T23:02:28.986Z"')).toEqual(['u2', 'u4']);
    expect(await ids('meta.lastModified eq "2021-09-08T23:02:28.986Z"')).toEqual(['u4']);
    // No offset means UTC, whatever the server's time zone.
    expect(await ids('meta.lastModified lt "2021-07-25T12:37:59"')).toEqual(['tu', 'u1']);
    expect(await ids('meta.lastModified lt "2021-07-25T12:37:58"')).toEqual(['tu']);
    expect(await ids('meta.created lt "2020-01-02"')).toHaveLength(5);
  });

  it('implements pr, eq null and ne null (RFC 7643 §2.5: null = unassigned)', async () => {
    expect(await ids('active pr')).toEqual(['tu', 'u1', 'u3']);
    expect(await ids('active eq null')).toEqual(['u2', 'u4']);
    expect(await ids('active ne null')).toEqual(['tu', 'u1', 'u3']);
    expect(await ids('title pr')).toEqual(['tu']);
    expect(await ids('emails pr')).toHaveLength(5);
    expect(await ids('name pr')).toEqual(['u1', 'u2', 'u3', 'u4']);
    // Every resource has meta.
    expect(await ids('meta pr')).toHaveLength(5);
    expect(await ids('not (meta pr)')).toEqual([]);
  });

  it('matches ne on users where the attribute is unassigned', async () => {
    expect(await ids('title ne "Engineer"')).toEqual(['u1', 'u2', 'u3', 'u4']);
    expect(await ids('active ne true')).toEqual(['u2', 'u3', 'u4']);
  });

  it('compares strings lexicographically with gt/ge/lt/le', async () => {
    expect(await ids('userName gt "l"')).toEqual(['tu', 'u3', 'u4']);
    expect(await ids('userName lt "GRADYA"')).toEqual(['u1']);
    expect(await ids('userName le "GRADYA"')).toEqual(['u1', 'u2']);
  });

  it('treats regex metacharacters in values literally', async () => {
    expect(await ids('userName co ".*"')).toEqual([]);
    expect(await ids('name.formatted sw "(Adele"')).toEqual([]);
    expect(translateFilter('User', 'title co "a.b*c"')).toEqual({ 'scim.title': /a\.b\*c/i });
  });

  it('unescapes \\" and \\\\ in values (scimmy throws on them)', () => {
    expect(translateFilter('User', 'userName eq "a\\"b"')).toEqual({ userNameKey: 'a"b' });
    expect(translateFilter('User', 'userName eq "a\\\\b"')).toEqual({ userNameKey: 'a\\b' });
  });

  it('keeps id and externalId caseExact', () => {
    expect(translateFilter('User', 'id eq "U1"')).toEqual({ _id: 'U1' });
    expect(translateFilter('User', 'externalId eq "AbC"')).toEqual({ 'scim.externalId': 'AbC' });
    expect(translateFilter('User', 'externalId sw "Ab"')).toEqual({ 'scim.externalId': /^Ab/ });
  });

  it('filters enterprise extension attributes by their URN', async () => {
    const urn = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
    expect(translateFilter('User', `${urn}:employeeNumber eq "e-1"`)).toEqual({ 'enterprise.employeeNumber': /^e-1(?![\s\S])/i });
    expect(await ids(`${urn}:employeeNumber eq "e-1"`)).toEqual(['tu']);
    expect(await ids(`${urn.toUpperCase()}:manager.value eq "MGR-1"`)).toEqual(['tu']);
    expect(await ids(`${urn}:manager.value eq "mgr-1"`)).toEqual([]);
    expect(await ids(`${urn}:manager.displayName co "BOSS"`)).toEqual(['tu']);
    // Without the URN the name refers to the core schema, where it does not exist.
    expectInvalidFilter('User', 'employeeNumber eq "E-1"', /employeeNumber/);
  });

  it('filters singular complex attributes with a value filter', async () => {
    expect(await ids('name[givenName eq "adele" and familyName sw "V"]')).toEqual(['u1']);
  });
});

describe('groups', () => {
  beforeAll(async () => {
    const group = (id: string, displayName: string, externalId?: string): GroupDoc => ({
      _id: id,
      orgId: ORG,
      connectionId: 'c1',
      version: 1,
      created: CREATED,
      lastModified: CREATED,
      displayName,
      displayNameKey: displayName.toLowerCase(),
      ...(externalId ? { externalId } : {}),
    });
    await store.groups.insertMany([group('g1', 'Engineering', 'X-1'), group('g2', 'Sales'), group('g3', 'Engineering Managers')]);
  });

  it('matches displayName case-insensitively on displayNameKey', async () => {
    expect(translateFilter('Group', 'displayName eq "ENGINEERING"')).toEqual({ displayNameKey: 'engineering' });
    expect(await ids('displayName eq "ENGINEERING"', 'Group')).toEqual(['g1']);
    expect(await ids('displayName sw "eng"', 'Group')).toEqual(['g1', 'g3']);
    expect(await ids('externalId eq "X-1"', 'Group')).toEqual(['g1']);
    expect(await ids('externalId pr', 'Group')).toEqual(['g1']);
    expect(await ids('urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "sales"', 'Group')).toEqual(['g2']);
  });

  it('refuses member filters with a clear message', () => {
    expectInvalidFilter('Group', 'members.value eq "u1"', /members.*not supported/);
    expectInvalidFilter('Group', 'members[value eq "u1"]', /members.*not supported/);
    expectInvalidFilter('Group', 'members pr', /members.*not supported/);
  });

  it('does not know user attributes', () => {
    expectInvalidFilter('Group', 'userName eq "x"', /userName/);
  });
});

describe('invalid filters are 400 invalidFilter', () => {
  it.each([
    ['unknown attribute', 'nosuch eq "x"', /"nosuch"/],
    ['unknown sub-attribute', 'name.nosuch eq "x"', /name\.nosuch/],
    ['unknown operator', 'userName un "x"', /operator/],
    ['missing value (scimmy accepts it)', 'userName eq', /needs a value/],
    ['missing value before and', 'userName eq and active eq true', /needs a value/],
    ['dangling and', 'userName eq "x" and', /attribute/],
    ['unbalanced parenthesis', '(userName eq "x"', /'\)'/],
    ['extra parenthesis', 'userName eq "x")', /unexpected/],
    ['unterminated string', 'userName eq "x', /unterminated/],
    ['empty filter', '   ', /empty/],
    ['gt on a boolean', 'active gt true', /'gt'.*boolean/],
    ['co on a dateTime', 'meta.lastModified co "2021"', /'co'.*dateTime/],
    ['invalid date', 'meta.created gt "yesterday"', /dateTime/],
    ['non-boolean for a boolean', 'active eq "falsey"', /boolean/],
    ['complex attribute without sub-attribute', 'name eq "x"', /sub-attribute/],
    ['nested value filters', 'emails[type eq "work" and emails[value eq "x"]]', /nested/],
    ['value filter on a simple attribute', 'userName[value eq "x"]', /not complex/],
    ['groups of a user', 'groups.value eq "g1"', /groups/],
    ['password', 'password eq "x"', /password/],
    ['$where', '$where eq "1"', /"\$where"/],
    ['operator in a path', 'userName.$ne eq "x"', /userName\.\$ne/],
    ['__proto__', '__proto__.polluted eq "yes"', /__proto__/],
    ['constructor', 'constructor.prototype.x eq "yes"', /constructor/],
    ['unknown schema URN', 'urn:example:User:userName eq "x"', /urn:example/],
    ['gt on null', 'userName gt null', /null/],
    ['scimmy-only valuePath pr', 'emails[type eq "work"] pr', /unexpected/],
  ])('%s: %s', (_name, filter, detail) => {
    expectInvalidFilter('User', filter, detail);
  });

  it('never touches Object.prototype', () => {
    for (const filter of ['__proto__.polluted eq "yes"', 'emails[__proto__.x eq "a"].value eq "b"', 'constructor.prototype.polluted eq "yes"']) {
      expect(() => translateFilter('User', filter)).toThrow(ScimError);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(String({})).toBe('[object Object]');
  });

  it('does not echo long input in the detail', () => {
    const e = expectInvalidFilter('User', `${'a'.repeat(1500)} eq "x"`);
    expect(e.detail.length).toBeLessThan(200);
  });

  it('is linear on the scimmy ReDoS input', () => {
    const started = process.hrtime.bigint();
    expectInvalidFilter('User', `userName eq "${'\\a'.repeat(5000)}`);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(100);
  });

  it('bounds nesting depth', () => {
    expectInvalidFilter('User', `${'('.repeat(100)}userName eq "x"${')'.repeat(100)}`, /nested/);
    expectInvalidFilter('User', `${'not '.repeat(100)}userName eq "x"`, /nested/);
  });
});

describe('scimmy parse fixtures', () => {
  const parse = (JSON.parse(readFileSync('/work/shared/conformance/scimmy-fixtures/types-filter.json', 'utf8')) as {
    parse: Record<string, { source: string }[]>;
  }).parse;
  const sources = Object.values(parse).flatMap((list) => list.map((f) => f.source));

  it.each(sources)('%s translates or fails with 400 invalidFilter, never anything else', (source) => {
    try {
      expect(typeof translateFilter('User', source)).toBe('object');
    } catch (error) {
      expect(error).toBeInstanceOf(ScimError);
      expect((error as ScimError).scimType).toBe('invalidFilter');
    }
  });
});
