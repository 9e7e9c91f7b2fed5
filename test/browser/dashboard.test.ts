/**
 * The admin dashboard (`/admin`) in headless Chromium, driven by playwright-core, against the real server started as
 * a process: sign-in, the seat gauge, a deactivation through a row action and its confirmation dialog, the
 * Deactivated tab (struck-through name with a "D" badge), an API error in the banner, and the CSV export.
 *
 * Needs Debian's chromium at /usr/bin/chromium (`apt-get install -y chromium`; `.ci/run` installs it). Without it this
 * file fails in CI (CI is set) and is skipped, saying so, elsewhere.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { killAll, removeDir, startServer, tempDir, type ServerProcess } from '../helpers/server-process';
import { buildServerQuickly } from './build';

// Browser globals used in functions evaluated in the page (the tests compile without the DOM lib).
declare const getComputedStyle: (element: unknown) => { textDecorationLine: string };
declare const sessionStorage: { getItem: (key: string) => string | null };

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ADMIN_TOKEN = 'browser-admin-token-0123456789abcdef';
const SCIM_TOKEN = 'browser-scim-token-0123456789abcdef';
const PEOPLE = [
  { userName: 'ada@example.com', givenName: 'Ada', familyName: 'Lovelace' },
  { userName: 'grace@example.com', givenName: 'Grace', familyName: 'Hopper' },
  { userName: 'alan@example.com', givenName: 'Alan', familyName: 'Turing' },
];

const haveChromium = existsSync(CHROMIUM);
const skipLocally = !haveChromium && !process.env.CI;
if (skipLocally) {
  console.warn(`SKIPPED test/browser/dashboard.test.ts: ${CHROMIUM} not found (apt-get install -y chromium). In CI (CI set) this fails instead.`);
}

jest.setTimeout(20_000);

(skipLocally ? describe.skip : describe)('admin dashboard in Chromium', () => {
  let server: ServerProcess;
  let outDir = '';
  let dataDir = '';
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  const ids = new Map<string, string>();
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  async function call(method: string, path: string, token: string, body?: unknown, contentType = 'application/json') {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': contentType } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** Waits until `selector` matches an element whose text is exactly `text`. */
  const waitForText = (selector: string, text: string) =>
    page.locator(selector, { hasText: new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\s*$`) }).first().waitFor();
  const gauge = () => page.locator('#seat-gauge').textContent();
  const row = (text: string) => page.locator('#table tbody tr', { hasText: text });

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`${CHROMIUM} not found: the dashboard browser test needs Debian's chromium (apt-get install -y chromium)`);
    ({ outDir } = buildServerQuickly());
    dataDir = tempDir();
    server = await startServer(`${outDir}/src/main.js`, {
      DATA_DIR: dataDir,
      ADMIN_BOOTSTRAP_TOKEN: ADMIN_TOKEN,
      SCIM_BOOTSTRAP_TOKEN: SCIM_TOKEN,
      ORG_DOMAINS: 'example.com',
      ORG_SEATS: '5',
      LOG_LEVEL: 'info',
    });
    for (const p of PEOPLE) {
      const created = await call(
        'POST',
        '/scim/v2/Users',
        SCIM_TOKEN,
        {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: p.userName,
          displayName: `${p.givenName} ${p.familyName}`,
          name: { givenName: p.givenName, familyName: p.familyName },
          emails: [{ value: p.userName, type: 'work', primary: true }],
          active: true,
        },
        'application/scim+json',
      );
      expect(created.status).toBe(201);
      ids.set(p.userName, created.body.id as string);
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${message.text()} (${message.location().url})`);
    });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await killAll();
    for (const dir of [outDir, dataDir]) if (dir) removeDir(dir);
  });

  test('is served with a strict Content-Security-Policy', async () => {
    const res = await fetch(`${server.url}/admin/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(await res.text()).not.toMatch(/<script>|style=/);
  });

  test('a wrong token is refused with a clear error; the admin token signs in and shows 3 / 5 seats', async () => {
    await page.goto(`${server.url}/admin`);
    expect(new URL(page.url()).pathname).toBe('/admin/');
    await page.getByLabel('Admin token').fill('not-the-admin-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#signin-error', { hasText: 'That admin token was not accepted' }).waitFor();
    expect(await page.locator('#app').isHidden()).toBe(true);

    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByLabel('Admin token').press('Enter');
    await waitForText('#seat-gauge', '3 / 5');
    expect(await page.locator('#seat-available').textContent()).toBe('2 available');
    // The token stays for this tab only.
    expect(await page.evaluate((key) => sessionStorage.getItem(key), 'scim-admin-token')).toBe(ADMIN_TOKEN);
  });

  test('the tabs work from the keyboard', async () => {
    const licensed = page.getByRole('tab', { name: 'Licensed members' });
    await licensed.focus();
    await page.keyboard.press('ArrowDown');
    const free = page.getByRole('tab', { name: 'Free managed accounts' });
    expect(await free.getAttribute('aria-selected')).toBe('true');
    await waitForText('#panel-title', 'Free managed accounts');
    await page.keyboard.press('ArrowUp');
    expect(await licensed.getAttribute('aria-selected')).toBe('true');
  });

  test('deactivating a licensed member asks first, frees the seat and lists them struck through with a D badge', async () => {
    await page.getByRole('tab', { name: 'Licensed members' }).click();
    await waitForText('#panel-title', 'Licensed members');
    await row('ada@example.com').waitFor();
    expect(await page.locator('#table tbody tr').count()).toBe(3);

    const deactivate = row('ada@example.com').getByRole('button', { name: 'Deactivate: Ada Lovelace' });
    const dialog = page.getByRole('dialog');
    // Escape cancels: nothing happens.
    await deactivate.click();
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await gauge()).toBe('3 / 5');

    await deactivate.click();
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Ada Lovelace can no longer log in');
    await dialog.getByRole('button', { name: 'Deactivate' }).click();
    await waitForText('#seat-gauge', '2 / 5');
    await waitForText('#status', 'Deactivated Ada Lovelace.');
    await row('ada@example.com').waitFor({ state: 'detached' });
    expect(await page.locator('#table tbody tr').count()).toBe(2);

    await page.getByRole('tab', { name: 'Deactivated' }).click();
    const ada = row('Ada Lovelace');
    await ada.waitFor();
    const name = ada.locator('.name');
    expect(await name.textContent()).toBe('Ada Lovelace');
    expect(await name.evaluate((el) => getComputedStyle(el).textDecorationLine)).toBe('line-through');
    expect(await ada.locator('.badge-d').textContent()).toBe('D');
    expect(await ada.getByRole('button').allTextContents()).toEqual(['Reactivate', 'Schedule deletion']);
    // The API agrees.
    expect((await call('GET', `/admin/api/accounts/${ids.get('ada@example.com')}`, ADMIN_TOKEN)).body).toMatchObject({ accountStatus: 'deactivated', license: 'revoked' });
  });

  test("an API refusal is shown in the banner with the API's detail", async () => {
    const grace = ids.get('grace@example.com')!;
    expect((await call('POST', '/admin/api/workspaces', ADMIN_TOKEN, { name: 'Compilers', enterprise: true, admins: [grace] })).status).toBe(201);
    await page.getByRole('tab', { name: 'Licensed members' }).click();
    await row('grace@example.com').getByRole('button', { name: 'Deactivate: Grace Hopper' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Deactivate' }).click();
    const banner = page.getByRole('alert').filter({ hasText: 'last active admin' });
    await banner.waitFor();
    expect(await banner.textContent()).toContain('workspace "Compilers"');
    expect(await banner.textContent()).toContain('HTTP 409');
    expect(await gauge()).toBe('2 / 5');
    await page.getByRole('button', { name: 'Dismiss' }).click();
    await banner.waitFor({ state: 'hidden' });
  });

  test('the managed-accounts CSV downloads with the bearer token', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export managed accounts (CSV)' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^managed-accounts-\d{4}-\d{2}-\d{2}\.csv$/);
    const rows = parse(readFileSync(await download.path(), 'utf8'), { columns: true }) as Array<Record<string, string>>;
    const byEmail = Object.fromEntries(rows.map((r) => [r.Email, r]));
    expect(Object.keys(byEmail).sort()).toEqual(['ada@example.com', 'alan@example.com', 'grace@example.com']);
    expect(byEmail['ada@example.com']).toMatchObject({ Name: 'Ada Lovelace', Status: 'deactivated', Billable: 'No', License: 'revoked' });
    expect(byEmail['grace@example.com']).toMatchObject({ Name: 'Grace Hopper', Status: 'active', Billable: 'Yes', License: 'licensed' });
    expect(byEmail['alan@example.com']).toMatchObject({ Status: 'active', Billable: 'Yes' });
  });

  test('the audit log names the deactivated account, struck through', async () => {
    await page.getByRole('tab', { name: 'Audit log' }).click();
    const event = row('account.deactivated');
    await event.waitFor();
    expect(await event.locator('.name.is-deactivated').textContent()).toBe('Ada Lovelace');
    expect(await event.textContent()).toContain('accountStatus: active → deactivated');
  });

  test('nothing was blocked by the CSP and no script failed', () => {
    expect(pageErrors).toEqual([]);
    // The refused sign-in and the refused deactivation log their 401 and 409 responses; nothing else may.
    expect(consoleErrors.filter((e) => !/status of (401|409)/.test(e))).toEqual([]);
  });
});
