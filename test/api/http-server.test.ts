/** The server `main.ts` listens with: requests born with express's prototypes must behave exactly as express's own. */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import request from 'supertest';
import { createHttpServer } from '../../src/http/server';
import { makeTestApp, patchBody, userBody, SCIM_TOKEN, SCIM_CONTENT_TYPE, type TestApp } from '../helpers/app';

let t: TestApp;
let server: Server;
let base: string;
const seen: { bornRequest?: object; bornResponse?: object; requestProto?: object; responseProto?: object; ip?: string; query?: unknown } = {};

beforeAll(async () => {
  t = await makeTestApp();
  // Registered after the app's own routes, so only this path reaches it; it reports what express handed the handler.
  t.app.get('/probe', (req, res) => {
    Object.assign(seen, { requestProto: Object.getPrototypeOf(req), responseProto: Object.getPrototypeOf(res), ip: req.ip, query: req.query });
    res.status(202).set('X-Probe', 'yes').json({ hostname: req.hostname, locals: typeof res.locals });
  });
  server = createHttpServer(t.app);
  // Before express sees them: what node built.
  server.prependListener('request', (req, res) => Object.assign(seen, { bornRequest: Object.getPrototypeOf(req), bornResponse: Object.getPrototypeOf(res) }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const scim = (r: request.Test) => r.set('Authorization', `Bearer ${SCIM_TOKEN}`).set('Content-Type', SCIM_CONTENT_TYPE);

test('requests and responses carry express prototypes from birth, with express helpers working', async () => {
  const res = await request(base).get('/probe?a=1&b=two').set('Host', 'scim.example.com');
  expect(res.status).toBe(202);
  expect(res.headers['x-probe']).toBe('yes');
  expect(res.body).toEqual({ hostname: 'scim.example.com', locals: 'object' });
  expect(seen.bornRequest).toBe(t.app.request);
  expect(seen.bornResponse).toBe(t.app.response);
  expect(seen.requestProto).toBe(t.app.request);
  expect(seen.responseProto).toBe(t.app.response);
  expect(seen.query).toEqual({ a: '1', b: 'two' });
  expect(seen.ip).toBe('127.0.0.1');
});

test('a user lifecycle through the server: create, filter, deactivate, conditional read, delete', async () => {
  const created = await scim(request(base).post('/scim/v2/Users')).send(userBody('born@example.com'));
  expect(created.status).toBe(201);
  expect(created.headers.location).toBe(`${base}/scim/v2/Users/${created.body.id}`);

  const found = await scim(request(base).get('/scim/v2/Users')).query({ filter: 'userName eq "BORN@example.com"' });
  expect(found.body.totalResults).toBe(1);
  expect(found.body.Resources[0].id).toBe(created.body.id);

  const patched = await scim(request(base).patch(`/scim/v2/Users/${created.body.id}`)).send(patchBody({ op: 'replace', path: 'active', value: false }));
  expect(patched.status).toBe(200);
  expect(patched.body.active).toBe(false);

  const unchanged = await scim(request(base).get(`/scim/v2/Users/${created.body.id}`)).set('If-None-Match', patched.headers.etag);
  expect(unchanged.status).toBe(304);

  expect((await scim(request(base).delete(`/scim/v2/Users/${created.body.id}`))).status).toBe(204);
  const gone = await scim(request(base).get(`/scim/v2/Users/${created.body.id}`));
  expect(gone.status).toBe(404);
  expect(gone.body.status).toBe('404');
});

test('client mistakes still get SCIM errors: no token, malformed JSON', async () => {
  const anonymous = await request(base).get('/scim/v2/Users');
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer/);

  const malformed = await scim(request(base).post('/scim/v2/Users')).send('{"userName":');
  expect(malformed.status).toBe(400);
  expect(malformed.body.scimType).toBe('invalidSyntax');
});
