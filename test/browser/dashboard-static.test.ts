/**
 * How the app serves the dashboard (no browser needed): `/admin` redirects to `/admin/`, the files come with a strict
 * Content-Security-Policy, and the admin API behind the same prefix is not shadowed by the static files.
 */
import request from 'supertest';
import { makeTestApp, ADMIN_TOKEN } from '../helpers/app';

describe('dashboard files', () => {
  test('/admin redirects to /admin/, which serves the page with a strict CSP and no inline script or style', async () => {
    const { app } = await makeTestApp();
    const redirect = await request(app).get('/admin');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('/admin/');

    const page = await request(app).get('/admin/').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    );
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.text).toContain('<script type="module" src="dashboard.js"></script>');
    expect(page.text).not.toMatch(/<script>|<style|style="|\son[a-z]+="/);

    const script = await request(app).get('/admin/dashboard.js').expect(200);
    expect(script.headers['content-type']).toMatch(/^application\/javascript/);
    await request(app).get('/admin/dashboard.css').expect(200).expect('Content-Type', /^text\/css/);
    await request(app).get('/admin/serve.js').expect(404);
  });

  test('the admin API under the same prefix still answers, and still needs the token', async () => {
    const { app } = await makeTestApp();
    const refused = await request(app).get('/admin/api/seats');
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ status: '401', detail: expect.any(String) });
    const seats = await request(app).get('/admin/api/seats').set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(200);
    expect(seats.body).toEqual({ seats: 10, used: 0, available: 10 });
  });
});
