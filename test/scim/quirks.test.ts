import { booleanStringsInPatch, booleanStringsInUser } from '../../src/scim/quirks';
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
