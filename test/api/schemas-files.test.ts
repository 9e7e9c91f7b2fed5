/**
 * `schemas/*.json` are the schema definitions we publish (core User and Group, the enterprise extension, our
 * lifecycle extension). This test keeps them true: `/Schemas/{id}` must serve exactly what the files say.
 * Regenerate after a schema change with `WRITE_SCHEMAS=1 npx jest test/api/schemas-files.test.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTestApp } from '../helpers/app';

const FILES: Record<string, string> = {
  'urn:ietf:params:scim:schemas:core:2.0:User': 'user.json',
  'urn:ietf:params:scim:schemas:core:2.0:Group': 'group.json',
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': 'enterprise-user.json',
  'urn:ietf:params:scim:schemas:extension:lifecycle:2.0:User': 'lifecycle-user.json',
};
const DIR = path.join(__dirname, '../../schemas');
const withoutLocation = (schema: { meta?: object }) => ({ ...schema, meta: { ...schema.meta, location: undefined } });

test.each(Object.entries(FILES))('GET /Schemas/%s serves schemas/%s', async (id, file) => {
  const t = await makeTestApp();
  const res = await t.scim.get(`/Schemas/${id}`).expect(200);
  const served = withoutLocation(res.body);
  if (process.env.WRITE_SCHEMAS) writeFileSync(path.join(DIR, file), JSON.stringify({ ...served, meta: { resourceType: 'Schema' } }, null, 2) + '\n');
  const published = JSON.parse(readFileSync(path.join(DIR, file), 'utf8'));
  expect(served).toEqual(withoutLocation(published));
});

test('the lifecycle extension declares every attribute read-only', () => {
  const lifecycle = JSON.parse(readFileSync(path.join(DIR, 'lifecycle-user.json'), 'utf8'));
  expect(lifecycle.attributes.map((a: { name: string }) => a.name)).toEqual(['managed', 'accountStatus', 'license', 'siteAccess', 'lastActive', 'deactivatedAt', 'deactivatedBy']);
  for (const attribute of lifecycle.attributes) expect(attribute.mutability).toBe('readOnly');
});
