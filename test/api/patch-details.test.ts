/**
 * PATCH details of RFC 7644 §3.5.2 and RFC 7643 that the IdPs' everyday shapes do not reach: attribute names in any
 * letter case, value filters on case-insensitive attributes, partial replacement of complex attributes, values the
 * schema refuses.
 */
import { makeTestApp, patchBody, userBody, type TestApp } from '../helpers/app';

describe('PATCH /Users details', () => {
  let t: TestApp;
  let id: string;
  beforeEach(async () => {
    t = await makeTestApp();
    const body = userBody('ada@example.com', {
      title: 'Engineer',
      name: { givenName: 'Ada', familyName: 'Lovelace' },
      emails: [
        { value: 'ada@example.com', type: 'work', primary: true },
        { value: 'Ada@Home.test', type: 'home' },
      ],
    });
    id = (await t.scim.post('/Users', body).expect(201)).body.id;
  });
  /** The user as stored (`meta.location` names the test server's port, which changes between requests). */
  const user = async () => {
    const { meta, ...rest } = (await t.scim.get(`/Users/${id}`).expect(200)).body;
    return { ...rest, version: meta.version, lastModified: meta.lastModified };
  };

  test('a value the schema refuses in a filtered path is 400 invalidValue, never 500, and nothing changes', async () => {
    const before = await user();
    for (const path of ['emails[type eq "personal"].value', 'phoneNumbers[type eq "satellite"].value', 'addresses[type eq "office"].locality']) {
      const res = await t.scim.patch(`/Users/${id}`, patchBody({ op: 'replace', path, value: 'x@example.com' }));
      expect(res.status).toBe(400);
      expect(res.body.scimType).toBe('invalidValue');
    }
    expect(await user()).toEqual(before);
  });
});
