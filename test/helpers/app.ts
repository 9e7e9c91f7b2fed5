/** Builds the real app on an in-memory embedded store with a bootstrapped organization, for supertest. */
import request from 'supertest';
import type { Express } from 'express';
import { createApp } from '../../src/http/app';
import { openEmbeddedStore } from '../../src/store/embedded';
import { createLogger } from '../../src/logger';
import { loadConfig, type Config } from '../../src/config';
import { bootstrap } from '../../src/services/organizations';
import type { Store } from '../../src/store/port';
import type { OrganizationDoc } from '../../src/store/documents';

export const SCIM_TOKEN = 'test-scim-token-0123456789abcdef';
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const SCIM_CONTENT_TYPE = 'application/scim+json';

export interface TestApp {
  app: Express;
  store: Store;
  org: OrganizationDoc;
  config: Config;
  /** An authenticated supertest agent bound to the app. */
  scim: ReturnType<typeof scimClient>;
}

function scimClient(app: Express, token = SCIM_TOKEN) {
  const auth = (r: request.Test) => r.set('Authorization', `Bearer ${token}`);
  return {
    get: (path: string) => auth(request(app).get(`/scim/v2${path}`)),
    post: (path: string, body?: object) => auth(request(app).post(`/scim/v2${path}`)).set('Content-Type', SCIM_CONTENT_TYPE).send(body),
    put: (path: string, body?: object) => auth(request(app).put(`/scim/v2${path}`)).set('Content-Type', SCIM_CONTENT_TYPE).send(body),
    patch: (path: string, body?: object) => auth(request(app).patch(`/scim/v2${path}`)).set('Content-Type', SCIM_CONTENT_TYPE).send(body),
    delete: (path: string) => auth(request(app).delete(`/scim/v2${path}`)),
  };
}

export async function makeTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const config = loadConfig({
    SCIM_BOOTSTRAP_TOKEN: SCIM_TOKEN,
    ADMIN_BOOTSTRAP_TOKEN: ADMIN_TOKEN,
    ORG_DOMAINS: 'example.com',
    LOG_LEVEL: 'silent',
    // Rate limits off: test files send hundreds of requests a second through one app, far above any IdP's pace, and
    // a faster machine would trip the limits sooner. test/api/rate-limit.test.ts turns them on.
    RATE_LIMIT_PER_SECOND: '0',
    ADMIN_RATE_LIMIT_PER_SECOND: '0',
    SSO_FAILED_LOGINS_PER_MINUTE: '0',
    ...env,
  });
  const store = await openEmbeddedStore();
  const org = (await bootstrap(store, config))!;
  const app = createApp({ config, store, logger: createLogger('silent') });
  return { app, store, org, config, scim: scimClient(app) };
}

export { scimClient };

/** A minimal valid SCIM user. */
export function userBody(userName: string, extra: Record<string, unknown> = {}) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName,
    name: { givenName: 'Ada', familyName: 'Lovelace' },
    emails: [{ value: userName, type: 'work', primary: true }],
    active: true,
    ...extra,
  };
}

export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const patchBody = (...Operations: object[]) => ({ schemas: [PATCH_SCHEMA], Operations });
