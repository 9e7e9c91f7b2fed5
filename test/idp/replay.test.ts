/**
 * Recorded IdP traffic, replayed against the real app (STYLE.md habit 10, after elimity-com/scim's
 * `internal/idp_test/`). Every `test/idp/okta/*.json` and `test/idp/entra/*.json` file is one request sequence an IdP
 * really sends (IDP-BEHAVIOR.md §A, §B; E-items in `test/idp/E-ITEMS.md`) and one jest test here. Each file gets a
 * fresh app (`makeTestApp`: embedded in-memory store, ORG_DOMAINS=example.com) listening on a loopback port, and its
 * requests go out through node's `http` client, which adds no header of its own except `Host`, `Connection` and
 * `Content-Length`: a GET with no `Content-Type` or `User-Agent` reaches the server exactly so.
 *
 * File format:
 *
 * ```jsonc
 * {
 *   "description": "what the IdP does here, and where IDP-BEHAVIOR.md says so",
 *   "covers": ["E37", "E41"],                        // E-items (documentation; E-ITEMS.md is the index)
 *   "env": { "SCIM_USER_PATCH_RESPONSE": "no-content" }, // optional: extra configuration for makeTestApp (the replay
 *                                                   // turns RATE_LIMIT_PER_SECOND and ADMIN_RATE_LIMIT_PER_SECOND off unless set here)
 *   "headers": { "User-Agent": "Okta SCIM Client 1.0.0" }, // optional: sent with every request of the file
 *   "bodyHeaders": { "Content-Type": "application/scim+json; charset=utf-8" }, // optional: with every request with a body
 *   "steps": [ {
 *     "name": "deactivate (OIN PATCH, no path)",       // unique within the file; failures name it
 *     "method": "PATCH",
 *     "path": "/Users/{{uid}}",                       // relative to /scim/v2; paths starting /scim/ or /admin/ are absolute
 *     "headers": { "Accept": "*\/*" },                 // optional; merged over the file's; a header set to null is not sent
 *     "body": { ... },                                // optional; sent as JSON text, with no Content-Type unless one is given
 *     "repeat": 120,                                  // optional: the step runs N times, {{i}} = 0 … N-1
 *     "parallel": 10,                                 // optional, with repeat: that many iterations in flight at once
 *     "expect": {
 *       "status": 200,
 *       "body": { ... },                              // partial match, see below
 *       "headers": { "content-type": "<re:^application/scim\\+json>" }, // partial match, lower-case names
 *       "capture": { "uid": "id", "u{{i}}": "Resources[0].id", "etag": "header:etag" }
 *     },
 *     "checks": [ { "path": "/accounts/{{uid}}", "expect": { "body": { "accountStatus": "deactivated" } } } ],
 *     "knownBug": "what is wrong in src/, and where"   // optional, see below
 *   } ]
 * }
 * ```
 *
 * - **Authorization.** Every request carries `Authorization: Bearer <SCIM token>` (or the admin token for paths under
 *   `/admin/`) unless the step sets `Authorization` itself (`null`: none at all).
 * - **Substitution.** `{{name}}` in paths, headers, bodies and expectations is replaced by a captured value, innermost
 *   first, so `{{u{{i}}}}` is the user captured as `u7` in iteration 7. A string that is exactly one `{{name}}` takes
 *   the captured value with its JSON type. `{{scimToken}}` and `{{adminToken}}` are predefined. An unknown name fails
 *   the step.
 * - **Generated arrays.** Inside any array of a body or expectation, `{"$for": "j", "in": [0, 100], "item": …}`
 *   expands to the items for j = 0 … 99 (half-open), e.g. Entra's 100-member `Add` batch without 100 literal lines.
 * - **Echoed bodies.** `{"$merge": ["{{user}}", {"active": false}]}` deep-merges its parts (objects key by key, later
 *   parts win, arrays replace): Okta's read-modify-write PUT of the previous GET body, captured as `"user": "$"`.
 * - **Partial match.** Objects: every expected key must match, other keys are ignored. Arrays: same length, element by
 *   element. `"<any>"` is any present value, `"<absent>"` an absent one, `"<re:…>"` a string matching the regular
 *   expression. An object with `$length`, `$includes` (each expected element matches some element) and/or `$excludes`
 *   (no element matches any of these) tests an array without fixing its order. Everything else is compared as JSON.
 * - **Capture.** `"var": "a.b[0].c"` reads the response body (`"$"`: all of it); `"header:<name>"` a response header.
 * - **Checks.** After the step's request (and its captures), each check `GET`s `/admin/api<path>` with the admin token and matches its
 *   `expect` (`status` defaults to 200): the lifecycle effects (seat released, account deactivated).
 * - **knownBug.** A recorded shape the server gets wrong today. The replay asserts that the step (request and checks)
 *   still fails; once it passes, the test fails saying the bug seems fixed and `knownBug` should go. Later steps run
 *   on; a capture of a failed step is skipped.
 *
 * A failure names the file, the step (and iteration), the request, and expected vs actual at the first mismatching
 * JSON path, with the response body.
 */
import fs from 'fs';
import http from 'http';
import path from 'path';
import type { AddressInfo } from 'net';
import { ADMIN_TOKEN, makeTestApp, SCIM_TOKEN } from '../helpers/app';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Expectation {
  status?: number;
  body?: Json;
  headers?: Record<string, Json>;
  capture?: Record<string, string>;
}
interface Check {
  path: string;
  expect: Expectation;
}
interface Step {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string | null>;
  body?: Json;
  repeat?: number;
  parallel?: number;
  expect: Expectation;
  checks?: Check[];
  knownBug?: string;
}
interface Recording {
  description: string;
  covers?: string[];
  env?: Record<string, string>;
  headers?: Record<string, string | null>;
  bodyHeaders?: Record<string, string | null>;
  steps: Step[];
}
interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: Json | undefined;
}

const IDP_DIR = __dirname;
const RECORDINGS = ['okta', 'entra'].flatMap((idp) =>
  fs
    .readdirSync(path.join(IDP_DIR, idp))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => `${idp}/${f}`),
);

/** A step expectation that did not hold, with the JSON path of the first difference. */
class Mismatch extends Error {}

const isObject = (value: unknown): value is JsonObject => value !== null && typeof value === 'object' && !Array.isArray(value);
const show = (value: unknown) => (value === undefined ? 'undefined' : JSON.stringify(value));

// ---------------------------------------------------------------------------------------------------------------
// Substitution and generated arrays

const VAR = /\{\{([^{}]+)\}\}/;
const WHOLE_VAR = /^\{\{([^{}]+)\}\}$/;

function substituteString(text: string, vars: Map<string, Json>): Json {
  let current = text;
  for (;;) {
    const whole = WHOLE_VAR.exec(current);
    if (whole) {
      const name = whole[1].trim();
      if (!vars.has(name)) throw new Mismatch(`unknown variable {{${name}}} (captured so far: ${[...vars.keys()].join(', ')})`);
      return vars.get(name)!;
    }
    const match = VAR.exec(current);
    if (!match) return current;
    const name = match[1].trim();
    if (!vars.has(name)) throw new Mismatch(`unknown variable {{${name}}} (captured so far: ${[...vars.keys()].join(', ')})`);
    const value = vars.get(name)!;
    current = current.slice(0, match.index) + (typeof value === 'string' ? value : JSON.stringify(value)) + current.slice(match.index + match[0].length);
  }
}

function substitute(value: Json, vars: Map<string, Json>): Json {
  if (typeof value === 'string') return substituteString(value, vars);
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      if (isObject(item) && typeof item.$for === 'string') {
        const range = item.in;
        if (!Array.isArray(range) || range.length !== 2 || typeof range[0] !== 'number' || typeof range[1] !== 'number') {
          throw new Mismatch(`$for "${item.$for}" needs "in": [from, to]`);
        }
        const out: Json[] = [];
        for (let j = range[0]; j < range[1]; j++) out.push(substitute(item.item, new Map(vars).set(item.$for, j)));
        return out;
      }
      return [substitute(item, vars)];
    });
  }
  if (isObject(value) && Object.keys(value).length === 1 && Array.isArray(value.$merge)) {
    return (value.$merge.map((part) => substitute(part, vars)) as Json[]).reduce<Json>((merged, part) => deepMerge(merged, part), {});
  }
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [substituteString(k, vars) as string, substitute(v, vars)]));
  return value;
}

/** `part` over `base`: objects merge key by key, anything else (arrays too) replaces. */
function deepMerge(base: Json, part: Json): Json {
  if (!isObject(base) || !isObject(part)) return part;
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(part)) out[key] = key in out ? deepMerge(out[key], value) : value;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Partial match

const ARRAY_MATCHER_KEYS = ['$length', '$includes', '$excludes'];

function matches(expected: Json, actual: unknown): boolean {
  try {
    match(expected, actual, '$');
    return true;
  } catch (error) {
    if (error instanceof Mismatch) return false;
    throw error;
  }
}

function match(expected: Json, actual: unknown, at: string): void {
  if (expected === '<any>') {
    if (actual === undefined) throw new Mismatch(`${at}: expected a value, got none`);
    return;
  }
  if (expected === '<absent>') {
    if (actual !== undefined) throw new Mismatch(`${at}: expected no value, got ${show(actual)}`);
    return;
  }
  if (typeof expected === 'string' && expected.startsWith('<re:') && expected.endsWith('>')) {
    const re = new RegExp(expected.slice(4, -1));
    if (typeof actual !== 'string' || !re.test(actual)) throw new Mismatch(`${at}: expected a string matching /${re.source}/, got ${show(actual)}`);
    return;
  }
  if (isObject(expected) && Object.keys(expected).length > 0 && Object.keys(expected).every((k) => ARRAY_MATCHER_KEYS.includes(k))) {
    if (!Array.isArray(actual)) throw new Mismatch(`${at}: expected an array, got ${show(actual)}`);
    if (expected.$length !== undefined && actual.length !== expected.$length) throw new Mismatch(`${at}: expected ${show(expected.$length)} elements, got ${actual.length}`);
    for (const [n, wanted] of ((expected.$includes as Json[] | undefined) ?? []).entries()) {
      if (!actual.some((element) => matches(wanted, element))) throw new Mismatch(`${at}.$includes[${n}]: no element matches ${show(wanted)}`);
    }
    for (const [n, unwanted] of ((expected.$excludes as Json[] | undefined) ?? []).entries()) {
      const found = actual.find((element) => matches(unwanted, element));
      if (found !== undefined) throw new Mismatch(`${at}.$excludes[${n}]: element ${show(found)} matches ${show(unwanted)}`);
    }
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) throw new Mismatch(`${at}: expected an array, got ${show(actual)}`);
    if (actual.length !== expected.length) throw new Mismatch(`${at}: expected ${expected.length} elements, got ${actual.length}: ${show(actual)}`);
    expected.forEach((element, n) => match(element, actual[n], `${at}[${n}]`));
    return;
  }
  if (isObject(expected)) {
    if (!isObject(actual as Json)) throw new Mismatch(`${at}: expected an object, got ${show(actual)}`);
    for (const [key, value] of Object.entries(expected)) match(value, (actual as JsonObject)[key], `${at}.${key}`);
    return;
  }
  if (actual !== expected) throw new Mismatch(`${at}: expected ${show(expected)}, got ${show(actual)}`);
}

function read(source: Response, where: string): Json | undefined {
  if (where.startsWith('header:')) {
    const value = source.headers[where.slice('header:'.length).toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }
  let current: unknown = source.body;
  if (where === '$') return current as Json | undefined;
  for (const part of where.replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current as Json | undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP: node's client, so that only the recorded headers are sent

const agent = new http.Agent({ keepAlive: true });

function send(port: number, method: string, target: string, headers: Record<string, string>, payload?: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: Json | undefined;
        try {
          body = text === '' ? undefined : (JSON.parse(text) as Json);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (payload !== undefined) req.setHeader('Content-Length', Buffer.byteLength(payload));
    req.end(payload);
  });
}

const fullPath = (p: string) => (p.startsWith('/scim/') || p.startsWith('/admin/') ? p : `/scim/v2${p}`);

function headersFor(target: string, layers: (Record<string, string | null> | undefined)[], vars: Map<string, Json>): Record<string, string> {
  const merged: Record<string, string | null> = {};
  for (const layer of layers) {
    for (const [name, value] of Object.entries(layer ?? {})) {
      for (const existing of Object.keys(merged)) if (existing.toLowerCase() === name.toLowerCase()) delete merged[existing];
      merged[name] = value;
    }
  }
  if (!Object.keys(merged).some((name) => name.toLowerCase() === 'authorization')) {
    merged.Authorization = `Bearer ${target.startsWith('/admin/') ? ADMIN_TOKEN : SCIM_TOKEN}`;
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(merged)) if (value !== null) out[name] = String(substituteString(value, vars));
  return out;
}

function expectResponse(expectation: Expectation, res: Response, vars: Map<string, Json>): void {
  const status = expectation.status;
  if (status !== undefined && res.status !== status) throw new Mismatch(`status: expected ${status}, got ${res.status}`);
  if (expectation.headers) {
    const wanted = substitute(expectation.headers as Json, vars) as JsonObject;
    for (const [name, value] of Object.entries(wanted)) match(value, res.headers[name.toLowerCase()], `headers.${name.toLowerCase()}`);
  }
  if (expectation.body !== undefined) match(substitute(expectation.body, vars), res.body, '$');
}

// ---------------------------------------------------------------------------------------------------------------
// One recording

interface Outcome {
  steps: number;
  knownBugs: number;
}

/** One request of a step (one iteration of a repeat) with its checks and captures; the failure text, if any. */
async function runOnce(step: Step, index: number, i: number, vars: Map<string, Json>, port: number, recording: Recording, file: string): Promise<string | undefined> {
  const local = new Map(vars);
  if (step.repeat !== undefined) local.set('i', i);
  const label = `step ${index + 1} "${step.name}"${step.repeat !== undefined ? ` (iteration i=${i})` : ''}`;
  let request = `${step.method} ${step.path}`;
  let res: Response | undefined;
  try {
    const target = fullPath(substituteString(step.path, local) as string);
    const payload = step.body === undefined ? undefined : JSON.stringify(substitute(step.body, local));
    const headers = headersFor(target, [recording.headers, payload !== undefined ? recording.bodyHeaders : undefined, step.headers], local);
    request = `${step.method} ${target}${payload !== undefined ? `\n  request body: ${payload.length > 600 ? `${payload.slice(0, 600)}… (${payload.length} chars)` : payload}` : ''}`;
    res = await send(port, step.method, target, headers, payload);
    expectResponse(step.expect, res, local);
    for (const [name, where] of Object.entries(step.expect.capture ?? {})) {
      const value = read(res, where);
      if (value === undefined) throw new Mismatch(`capture ${name}: nothing at ${where}`);
      const key = substituteString(name, local) as string;
      vars.set(key, value);
      local.set(key, value);
    }
    for (const check of step.checks ?? []) {
      const checkPath = `/admin/api${substituteString(check.path, local) as string}`;
      const checked = await send(port, 'GET', checkPath, headersFor(checkPath, [], local));
      try {
        expectResponse({ status: 200, ...check.expect }, checked, local);
      } catch (error) {
        if (error instanceof Mismatch) throw new Mismatch(`check GET ${checkPath}: ${error.message}\n  check response: ${checked.status} ${checked.text.slice(0, 1500)}`);
        throw error;
      }
    }
    return undefined;
  } catch (error) {
    if (!(error instanceof Mismatch)) throw error;
    const response = res ? `\n  response: ${res.status} ${res.text.length > 1500 ? `${res.text.slice(0, 1500)}…` : res.text}` : '';
    return `${file} › ${label}\n  ${request}\n  ${error.message}${response}`;
  }
}

async function replay(file: string): Promise<Outcome> {
  const recording = JSON.parse(fs.readFileSync(path.join(IDP_DIR, file), 'utf8')) as Recording;
  const names = recording.steps.map((s) => s.name);
  const duplicate = names.find((name, n) => names.indexOf(name) !== n);
  if (duplicate) throw new Error(`${file}: step name "${duplicate}" is used twice`);

  // The replay sends as fast as the loopback allows, faster than any IdP paces itself: the rate limits are off
  // unless a recording sets them.
  const t = await makeTestApp({ RATE_LIMIT_PER_SECOND: '0', ADMIN_RATE_LIMIT_PER_SECOND: '0', ...recording.env });
  const server = t.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const vars = new Map<string, Json>([
    ['scimToken', SCIM_TOKEN],
    ['adminToken', ADMIN_TOKEN],
  ]);
  const outcome: Outcome = { steps: 0, knownBugs: 0 };

  try {
    for (const [index, step] of recording.steps.entries()) {
      const iterations = step.repeat ?? 1;
      const batch = Math.max(1, step.parallel ?? 1);
      let failure: string | undefined;
      for (let from = 0; from < iterations && failure === undefined; from += batch) {
        const indices = Array.from({ length: Math.min(batch, iterations - from) }, (_, k) => from + k);
        const failures = await Promise.all(indices.map((i) => runOnce(step, index, i, vars, port, recording, file)));
        failure = failures.find((f) => f !== undefined);
      }
      if (step.knownBug !== undefined) {
        if (failure === undefined) {
          throw new Error(`${file} › step ${index + 1} "${step.name}" passes now, but is marked knownBug ("${step.knownBug}"): the bug seems fixed, remove "knownBug"`);
        }
        outcome.knownBugs++;
        continue;
      }
      if (failure !== undefined) throw new Error(failure);
      outcome.steps++;
    }
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return outcome;
}

const totals = { files: 0, steps: 0, knownBugs: 0 };

describe('recorded IdP traffic (test/idp/*/*.json)', () => {
  afterAll(() => {
    agent.destroy();
    if (process.env.REPLAY_SUMMARY) process.stdout.write(`replayed ${totals.files} files: ${totals.steps} steps pass, ${totals.knownBugs} known bugs\n`);
  });

  test('there are recordings of both IdPs', () => {
    expect(RECORDINGS.filter((f) => f.startsWith('okta/')).length).toBeGreaterThan(0);
    expect(RECORDINGS.filter((f) => f.startsWith('entra/')).length).toBeGreaterThan(0);
  });

  test.each(RECORDINGS)('%s', async (file) => {
    const outcome = await replay(file);
    totals.files++;
    totals.steps += outcome.steps;
    totals.knownBugs += outcome.knownBugs;
  });
});
