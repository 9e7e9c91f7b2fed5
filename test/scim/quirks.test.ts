import SCIMMY from 'scimmy';
import { ENTERPRISE_USER as ENTERPRISE } from '../../src/scim/schema';
import {
  booleanStringsInPatch,
  booleanStringsInUser,
  filteredPathUpserts,
  groupMember,
  managerStringInPatch,
  managerValueFilter,
  membersInGroup,
  membersInGroupPatch,
  valueFiltersInAttributeList,
} from '../../src/scim/quirks';
import { makeTestApp, patchBody, userBody } from '../helpers/app';

describe('Entra boolean strings', () => {
  test('user bodies: "True"/"False" on active and primary become booleans; other values are left for validation', () => {
    expect(booleanStringsInUser({ userName: 'a', active: 'True', emails: [{ value: 'a@x', primary: 'false' }] })).toEqual({
      userName: 'a',
      active: true,
      emails: [{ value: 'a@x', primary: false }],
    });
    expect(booleanStringsInUser({ userName: 'a', active: 'yes' })).toEqual({ userName: 'a', active: 'yes' });
    expect(booleanStringsInUser({ userName: 'True', title: 'False' })).toEqual({ userName: 'True', title: 'False' });
    const rfc = { userName: 'a', active: false };
    expect(booleanStringsInUser(rfc)).toEqual(rfc);
    // Attribute names are case-insensitive (RFC 7643 §2.1).
    expect(booleanStringsInUser({ userName: 'a', ACTIVE: 'False', Emails: [{ value: 'a@x', primary: 'True' }] })).toEqual({
      userName: 'a',
      ACTIVE: false,
      Emails: [{ value: 'a@x', primary: true }],
    });
  });

  test('PATCH: path active, pathless value and primary paths', () => {
    expect(booleanStringsInPatch(patchBody({ op: 'Replace', path: 'active', value: 'False' }))).toEqual(patchBody({ op: 'Replace', path: 'active', value: false }));
    expect(booleanStringsInPatch(patchBody({ op: 'replace', value: { active: 'True', displayName: 'False' } }))).toEqual(
      patchBody({ op: 'replace', value: { active: true, displayName: 'False' } }),
    );
    expect(booleanStringsInPatch(patchBody({ op: 'replace', path: 'emails[type eq "work"].primary', value: 'TRUE' }))).toEqual(
      patchBody({ op: 'replace', path: 'emails[type eq "work"].primary', value: true }),
    );
    expect(booleanStringsInPatch(patchBody({ op: 'replace', path: 'title', value: 'False' }))).toEqual(patchBody({ op: 'replace', path: 'title', value: 'False' }));
    // Entra app roles: the values of a collection named by the path.
    expect(booleanStringsInPatch(patchBody({ op: 'Add', path: 'roles', value: [{ value: 'Admin', primary: 'True' }] }))).toEqual(
      patchBody({ op: 'Add', path: 'roles', value: [{ value: 'Admin', primary: true }] }),
    );
    expect(booleanStringsInPatch(patchBody({ op: 'add', path: 'emails', value: { value: 'a@x', primary: 'false' } }))).toEqual(
      patchBody({ op: 'add', path: 'emails', value: { value: 'a@x', primary: false } }),
    );
    expect(booleanStringsInPatch(patchBody({ op: 'Add', path: ' Roles ', value: [{ value: 'Admin', primary: 'True' }] }))).toEqual(
      patchBody({ op: 'Add', path: ' Roles ', value: [{ value: 'Admin', primary: true }] }),
    );
  });

  test('through HTTP: POST with "active":"True" creates an active user; "value":"False" deactivates it', async () => {
    const t = await makeTestApp();
    const created = await t.scim.post('/Users', userBody('entra@example.com', { active: 'True' })).expect(201);
    expect(created.body.active).toBe(true);
    const off = await t.scim.patch(`/Users/${created.body.id}`, patchBody({ op: 'Replace', path: 'active', value: 'False' })).expect(200);
    expect(off.body.active).toBe(false);
    const bad = await t.scim.patch(`/Users/${created.body.id}`, patchBody({ op: 'Replace', path: 'active', value: 'maybe' }));
    expect(bad.status).toBe(400);
  });
});

describe('op in any case (E33): scimmy already accepts it, so no normaliser', () => {
  test('PatchOp keeps Add/Replace/Remove/ADD and applies them', async () => {
    const patch = new SCIMMY.Messages.PatchOp(
      patchBody({ op: 'ADD', path: 'nickName', value: 'Babs' }, { op: 'Replace', path: 'title', value: 'Eng' }, { op: 'Remove', path: 'displayName' }) as never,
    );
    const user = new SCIMMY.Schemas.User({ id: '1', userName: 'a', displayName: 'A' }, 'out');
    const patched = JSON.parse(JSON.stringify(await patch.apply(user as never)));
    expect(patched).toMatchObject({ userName: 'a', nickName: 'Babs', title: 'Eng' });
    expect(patched.displayName).toBeUndefined();
  });
});

describe('pathless values with dotted and extension-URN keys (E29): scimmy already expands them', () => {
  test('no normaliser: the flag-style body passes every quirk unchanged (proved through HTTP in test/api/idp-quirks.test.ts)', () => {
    const body = patchBody({ op: 'replace', value: { displayName: 'A', 'name.givenName': 'B', [`${ENTERPRISE}:employeeNumber`]: '7' } });
    expect(managerStringInPatch(booleanStringsInPatch(body))).toEqual(body);
    expect(managerStringInPatch(body)).toBe(body);
  });
});

describe('managerStringInPatch (E30)', () => {
  test('a bare id becomes {value}; a URN-less path gets the extension URN', () => {
    expect(managerStringInPatch(patchBody({ op: 'Add', path: `${ENTERPRISE}:manager`, value: '271' }))).toEqual(
      patchBody({ op: 'Add', path: `${ENTERPRISE}:manager`, value: { value: '271' } }),
    );
    expect(managerStringInPatch(patchBody({ op: 'Replace', path: 'manager', value: '271' }))).toEqual(
      patchBody({ op: 'Replace', path: `${ENTERPRISE}:manager`, value: { value: '271' } }),
    );
    expect(managerStringInPatch(patchBody({ op: 'Remove', path: 'manager[value eq "271"]' }))).toEqual(
      patchBody({ op: 'Remove', path: `${ENTERPRISE}:manager[value eq "271"]` }),
    );
  });

  test('pathless values: URN-prefixed key and extension object', () => {
    expect(managerStringInPatch(patchBody({ op: 'replace', value: { [`${ENTERPRISE}:manager`]: '271', title: 'x' } }))).toEqual(
      patchBody({ op: 'replace', value: { [`${ENTERPRISE}:manager`]: { value: '271' }, title: 'x' } }),
    );
    expect(managerStringInPatch(patchBody({ op: 'add', value: { [ENTERPRISE]: { manager: '271', department: 'R' } } }))).toEqual(
      patchBody({ op: 'add', value: { [ENTERPRISE]: { manager: { value: '271' }, department: 'R' } } }),
    );
  });

  test('well-formed operations pass through as the same object', () => {
    const body = patchBody(
      { op: 'add', path: `${ENTERPRISE}:manager`, value: { value: '271' } },
      { op: 'remove', path: `${ENTERPRISE}:manager` },
      { op: 'replace', value: { [ENTERPRISE]: { manager: { value: '271' } } } },
      { op: 'replace', path: 'title', value: '271' },
    );
    expect(managerStringInPatch(body)).toBe(body);
  });
});

describe('managerValueFilter (E31)', () => {
  const user = { id: '1', userName: 'a', [ENTERPRISE]: { manager: { value: '271' } } };
  const remove = (id: string) => ({ op: 'Remove', path: `${ENTERPRISE}:manager[value eq "${id}"]` });

  test('removal by the current manager id becomes a plain removal; by another id it is dropped', () => {
    expect(managerValueFilter(user, [remove('271')])).toEqual([{ op: 'Remove', path: `${ENTERPRISE}:manager` }]);
    expect(managerValueFilter(user, [remove('999'), { op: 'replace', path: 'title', value: 'x' }])).toEqual([{ op: 'replace', path: 'title', value: 'x' }]);
    expect(managerValueFilter({ id: '1', userName: 'a' }, [remove('271')])).toEqual([]);
  });

  test('operations without a manager filter are returned as the same array', () => {
    const operations = [{ op: 'remove', path: `${ENTERPRISE}:manager` }, { op: 'replace', path: 'title', value: 'x' }];
    expect(managerValueFilter(user, operations)).toBe(operations);
  });
});

describe('filteredPathUpserts (E27, E28)', () => {
  test('an add/replace through a type filter that matches nothing seeds {type}', () => {
    const user = { id: '1', userName: 'a', emails: [{ value: 'a@home', type: 'home' }] };
    expect(
      filteredPathUpserts(user, [
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'new@x.com' },
        { op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555' },
        { op: 'replace', path: 'addresses[type eq "work"].postalCode', value: '99265' },
      ]),
    ).toEqual({
      id: '1',
      userName: 'a',
      emails: [{ value: 'a@home', type: 'home' }, { type: 'work' }],
      phoneNumbers: [{ type: 'mobile' }],
      addresses: [{ type: 'work' }],
    });
    expect(user.emails).toHaveLength(1);
  });

  test('when the entry exists, for remove, and for other paths the resource is the same object', () => {
    const user = { id: '1', userName: 'a', emails: [{ value: 'a@work', type: 'work' }] };
    const operations = [
      { op: 'replace', path: 'emails[type eq "work"].value', value: 'b@work' },
      { op: 'remove', path: 'phoneNumbers[type eq "mobile"].value' },
      { op: 'replace', path: 'emails[value eq "x"].type', value: 'home' },
      { op: 'replace', path: 'name.givenName', value: 'B' },
    ];
    expect(filteredPathUpserts(user, operations)).toBe(user);
  });
});

describe('group members (E51, E52)', () => {
  test('groupMember: bare id, mixed-case keys, displayName alias; a well-formed member is the same object', () => {
    expect(groupMember('u1')).toEqual({ value: 'u1' });
    expect(groupMember({ Value: 'u1', Display: 'Ada' })).toEqual({ value: 'u1', display: 'Ada' });
    expect(groupMember({ value: 'u1', displayName: 'new User' })).toEqual({ value: 'u1', display: 'new User' });
    const member = { $ref: null, value: 'u1', display: 'Ada' };
    expect(groupMember(member)).toBe(member);
  });

  test('membersInGroupPatch: bare strings in path and pathless forms', () => {
    expect(membersInGroupPatch(patchBody({ op: 'Add', path: 'members', value: 'u1' }))).toEqual(patchBody({ op: 'Add', path: 'members', value: [{ value: 'u1' }] }));
    expect(membersInGroupPatch(patchBody({ op: 'Add', path: 'members', value: ['u1', { value: 'u2' }] }))).toEqual(
      patchBody({ op: 'Add', path: 'members', value: [{ value: 'u1' }, { value: 'u2' }] }),
    );
    expect(membersInGroupPatch(patchBody({ op: 'add', value: { members: ['u1'] } }))).toEqual(patchBody({ op: 'add', value: { members: [{ value: 'u1' }] } }));
  });

  test('Entra legacy removal and well-formed member operations pass through as the same object', () => {
    const body = patchBody(
      { op: 'Remove', path: 'members', value: [{ $ref: null, value: 'u2' }] },
      { op: 'remove', path: 'members[value eq "u3"]' },
      { op: 'add', path: 'members', value: [{ value: 'u4', display: 'D' }] },
      { op: 'remove', path: 'members' },
      { op: 'replace', value: { id: 'g', displayName: 'New' } },
    );
    expect(membersInGroupPatch(body)).toBe(body);
    const group = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'G', members: [{ value: 'u1', display: 'VP' }] };
    expect(membersInGroup(group)).toBe(group);
    expect(membersInGroup({ displayName: 'G', members: [{ value: 'u1', displayName: 'VP' }] })).toEqual({ displayName: 'G', members: [{ value: 'u1', display: 'VP' }] });
  });
});

describe('valueFiltersInAttributeList', () => {
  test('drops bracketed value filters, keeps the attribute; a plain list is unchanged', () => {
    expect(valueFiltersInAttributeList('emails[type eq "work"]')).toBe('emails');
    expect(valueFiltersInAttributeList('emails[value eq "a]b"].value,userName')).toBe('emails.value,userName');
    expect(valueFiltersInAttributeList('userName,emails,name.givenName')).toBe('userName,emails,name.givenName');
    expect(valueFiltersInAttributeList('emails[type eq "work"')).toBe('emails[type eq "work"');
  });
});

describe('nulls as unassigned (E19)', () => {
  test('null attributes, also one level down, are dropped; a body without nulls is returned as it is', async () => {
    const { nullsAsUnassigned } = await import('../../src/scim/quirks');
    expect(nullsAsUnassigned({ userName: 'a', title: null, phoneNumbers: null, name: { formatted: null, givenName: 'A' } })).toEqual({
      userName: 'a',
      name: { givenName: 'A' },
    });
    const wellFormed = { userName: 'a', name: { givenName: 'A' }, emails: [{ value: 'a@x' }] };
    expect(nullsAsUnassigned(wellFormed)).toBe(wellFormed);
  });
});
