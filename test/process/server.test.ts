/**
 * The built server as an operator runs it: `node dist/src/main.js` with environment configuration, on 127.0.0.1.
 * Restarts keep data, SIGTERM lets an in-flight request finish and exits 0, bad configuration stops the process with a
 * message naming the variable.
 */
import net from 'node:net';
import { buildServer, exitWithin, killAll, removeDir, spawnServer, startServer, stopServer, tempDir, type ServerProcess } from '../helpers/server-process';

const TOKEN = 'process-test-token-0123456789abcdef';
const SCIM = 'application/scim+json';
const PUBLIC_URL = 'https://scim.example.test';

jest.setTimeout(20_000);

let main: string;
let outDir: string;
const dirs: string[] = [];

beforeAll(() => {
  ({ main, outDir } = buildServer());
}, 60_000);

afterAll(async () => {
  await killAll();
  for (const dir of [...dirs, outDir]) if (dir) removeDir(dir);
});

function dataDir(): string {
  const dir = tempDir();
  dirs.push(dir);
  return dir;
}

async function scim(server: ServerProcess, method: string, path: string, body?: unknown, token = TOKEN) {
  const res = await fetch(`${server.url}/scim/v2${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': SCIM } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const userBody = (userName: string) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  userName,
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  emails: [{ value: userName, type: 'work', primary: true }],
  active: true,
});

test('data survives a restart: same ids, versions and members after SIGTERM and a new start on the same DATA_DIR', async () => {
  const env = { DATA_DIR: dataDir(), SCIM_BOOTSTRAP_TOKEN: TOKEN, ORG_DOMAINS: 'example.com', PUBLIC_URL };
  const first = await startServer(main, env);
  const user = await scim(first, 'POST', '/Users', userBody('ada@example.com'));
  expect(user.status).toBe(201);
  // A second write, so the version persisted is not just the initial one.
  const patched = await scim(first, 'PATCH', `/Users/${user.body.id}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', path: 'title', value: 'Analyst' }],
  });
  expect(patched.status).toBe(200);
  const group = await scim(first, 'POST', '/Groups', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName: 'Engineering',
    members: [{ value: user.body.id }],
  });
  expect(group.status).toBe(201);
  const userBefore = await scim(first, 'GET', `/Users/${user.body.id}`);
  const groupBefore = await scim(first, 'GET', `/Groups/${group.body.id}`);
  expect(userBefore.body.meta.version).toBe('W/"2"');
  expect(groupBefore.body.members).toEqual([expect.objectContaining({ value: user.body.id })]);

  expect(await stopServer(first)).toBe(0);
  expect(first.stdout()).toContain('shutting down');

  const second = await startServer(main, env);
  // The data it loaded is collected before it serves (npm start's --expose-gc): the line comes before "listening".
  const log = second.stdout();
  expect(log.indexOf('start-up garbage collected')).toBeGreaterThan(log.indexOf('collection loaded'));
  expect(log.indexOf('start-up garbage collected')).toBeLessThan(log.indexOf('listening'));
  const userAfter = await scim(second, 'GET', `/Users/${user.body.id}`);
  const groupAfter = await scim(second, 'GET', `/Groups/${group.body.id}`);
  expect(userAfter.status).toBe(200);
  expect(userAfter.body).toEqual(userBefore.body);
  expect(userAfter.headers.get('etag')).toBe(userBefore.headers.get('etag'));
  expect(groupAfter.status).toBe(200);
  expect(groupAfter.body).toEqual(groupBefore.body);
  // The bootstrap ran again on the existing data: still one organization's users, no duplicates.
  const list = await scim(second, 'GET', '/Users');
  expect(list.body.totalResults).toBe(1);
  // And a conflicting create is still a conflict: the unique index came back with the data.
  expect((await scim(second, 'POST', '/Users', userBody('ADA@example.com'))).status).toBe(409);
  expect(await stopServer(second)).toBe(0);
});

/** Reads from `socket` until `done(received)` is true; rejects when the socket ends first. */
function readUntil(socket: net.Socket, done: (received: string) => boolean, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', finish);
      if (error) reject(error);
      else resolve(received);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.toString('utf8');
      if (done(received)) finish();
    };
    const onEnd = () => (done(received) ? finish() : finish(new Error(`socket ended early; received: ${received}`)));
    const timer = setTimeout(() => finish(new Error(`timed out; received: ${received}`)), timeoutMs);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', finish);
  });
}

test('graceful shutdown: a request in flight when SIGTERM arrives completes, new connections are refused, exit 0', async () => {
  const env = { DATA_DIR: dataDir(), SCIM_BOOTSTRAP_TOKEN: TOKEN, PUBLIC_URL };
  const server = await startServer(main, env);
  const body = JSON.stringify(userBody('inflight@example.com'));
  const socket = net.connect(server.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  // `Expect: 100-continue`: the server answers "100 Continue" only once it has parsed the request and handed it to the
  // app, so after that answer the request is provably in flight, and the body is still ours to send.
  socket.write(
    `POST /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAuthorization: Bearer ${TOKEN}\r\n` +
      `Content-Type: ${SCIM}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`,
  );
  await readUntil(socket, (r) => r.includes('100 Continue'));

  server.child.kill('SIGTERM');
  await server.waitForOutput('shutting down');
  // The listener is closed: a new connection is not served while the old request is still open (refused, or reset
  // when it raced into the backlog of the closing listener).
  const probe = await new Promise<string>((resolve) => {
    const socket = net.connect(server.port, '127.0.0.1');
    socket.setTimeout(3000, () => socket.destroy(new Error('no answer')));
    socket.once('connect', () => socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(`served: ${chunk.toString('utf8').split('\r\n')[0]}`);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.once('end', () => resolve('closed without an answer'));
  });
  expect(['ECONNREFUSED', 'ECONNRESET', 'closed without an answer']).toContain(probe);
  expect(server.child.exitCode).toBeNull();

  socket.write(body);
  const response = await readUntil(socket, (r) => /\r\n\r\n[\s\S]*\}$/.test(r.split('HTTP/1.1 201')[1] ?? ''));
  expect(response).toMatch(/HTTP\/1\.1 201 Created/);
  const created = JSON.parse(response.slice(response.lastIndexOf('\r\n\r\n') + 4));
  expect(created.userName).toBe('inflight@example.com');
  socket.destroy();

  expect(await exitWithin(server)).toBe(0);

  // The request that completed during shutdown was persisted.
  const again = await startServer(main, env);
  const found = await scim(again, 'GET', `/Users/${created.id}`);
  expect(found.status).toBe(200);
  expect(found.body.userName).toBe('inflight@example.com');
  expect(await stopServer(again)).toBe(0);
});

describe('invalid configuration stops the process with a message naming the variable, and no stack trace', () => {
  test.each([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['SCIM_BOOTSTRAP_TOKEN', { SCIM_BOOTSTRAP_TOKEN: 'short-tk' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'not a url' }],
    ['ORG_LICENSE_MODE', { ORG_LICENSE_MODE: 'everyone' }],
  ])('%s=%j', async (variable, env) => {
    const server = spawnServer(main, { DATA_DIR: dataDir(), ...env });
    const code = await exitWithin(server);
    expect(code).not.toBe('still running');
    expect(code).not.toBe(0);
    const stderr = server.stderr();
    expect(stderr).toContain(variable);
    expect(stderr).toMatch(/invalid configuration/);
    expect(stderr).not.toMatch(/^\s+at /m);
    // A secret given in a bad value is not echoed back.
    expect(stderr).not.toContain('short-tk');
    expect(server.stdout()).not.toContain('listening');
  });
});

test('with no bootstrap token the server starts, serves /healthz and /readyz, and answers 401 on /scim/v2/Users', async () => {
  const server = await startServer(main, { DATA_DIR: dataDir() });
  const health = await fetch(`${server.url}/healthz`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: 'ok' });
  expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  const users = await fetch(`${server.url}/scim/v2/Users`);
  expect(users.status).toBe(401);
  expect(users.headers.get('www-authenticate')).toMatch(/^Bearer/);
  expect(users.headers.get('content-type')).toContain(SCIM);
  expect(await users.json()).toMatchObject({ status: '401' });
  // Not even a syntactically valid token works: there is no organization at all.
  expect((await scim(server, 'GET', '/Users', undefined, 'some-token-0123456789abcdef-xyz')).status).toBe(401);
  expect(await stopServer(server)).toBe(0);
});

test('in the running process, a hostile filter is a fast 400 and does not pollute the process (prototypes protected)', async () => {
  const server = await startServer(main, { DATA_DIR: dataDir(), SCIM_BOOTSTRAP_TOKEN: TOKEN });
  const start = Date.now();
  const redos = await scim(server, 'GET', '/Users?filter=' + encodeURIComponent('userName eq "' + '\\a'.repeat(40)));
  expect(redos.status).toBe(400);
  expect(Date.now() - start).toBeLessThan(1000);
  expect((await scim(server, 'GET', '/Users?filter=' + encodeURIComponent('__proto__.toString eq "x"'))).status).toBe(400);
  // Still serving, and rendering (String({}) would throw in a polluted process).
  expect((await scim(server, 'POST', '/Users', userBody('after@example.com'))).status).toBe(201);
  expect(await stopServer(server)).toBe(0);
});

describe('a port already in use', () => {
  let holder: net.Server;
  let port: number;
  beforeAll(async () => {
    holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    port = (holder.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  test('stops the process with a non-zero code instead of hanging', async () => {
    const server = spawnServer(main, { DATA_DIR: dataDir(), PORT: String(port) });
    const code = await exitWithin(server);
    expect(code).not.toBe('still running');
    expect(code).not.toBe(0);
    expect(server.stderr()).toContain('already in use');
  });

  test('says PORT is in use in one line, without a stack trace', async () => {
    const server = spawnServer(main, { DATA_DIR: dataDir(), PORT: String(port) });
    await exitWithin(server);
    expect(server.stderr()).toContain('PORT');
    expect(server.stderr()).not.toMatch(/^\s+at /m);
  });
});
