/**
 * Environment → typed configuration, validated once at start-up (DESIGN.md §5). A bad value stops the process with
 * a message naming the variable, instead of surfacing later as a confusing runtime error.
 */
import { z } from 'zod';

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().default('./data'),
  MONGODB_URI: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Public base URL (e.g. https://scim.example.com) used in `Location` and `meta.location`; derived from the request when unset. */
  PUBLIC_URL: z.string().url().optional(),
  SCIM_BOOTSTRAP_TOKEN: z.string().min(16, 'SCIM_BOOTSTRAP_TOKEN must be at least 16 characters').optional(),
  ADMIN_BOOTSTRAP_TOKEN: z.string().min(16, 'ADMIN_BOOTSTRAP_TOKEN must be at least 16 characters').optional(),
  SSO_BOOTSTRAP_SECRET: z.string().min(32, 'SSO_BOOTSTRAP_SECRET must be at least 32 characters').optional(),
  ORG_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'ORG_NAME: letters, digits, . _ - only').default('default'),
  ORG_DOMAINS: z.string().optional(),
  ORG_SEATS: z.coerce.number().int().min(0).default(10),
  ORG_LICENSE_MODE: z.enum(['provision', 'groups']).default('provision'),
  ORG_LICENSE_GROUPS: z.string().optional(),
  ORG_DEPROVISION: z.enum(['account', 'enterprise']).default('account'),
  /** Largest accepted JSON body for ordinary SCIM requests (a 10k-member group PUT needs more than 1 MB). */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
  /** What a successful user PATCH answers: `resource` (200 with the user) or `no-content` (204). README "IdP compatibility choices". */
  SCIM_USER_PATCH_RESPONSE: z.enum(['resource', 'no-content']).default('resource'),
  /** Group writes naming ids that are no account of the organization: `reject` (400 naming the id) or `ignore` (skip them). */
  SCIM_UNKNOWN_MEMBERS: z.enum(['reject', 'ignore']).default('reject'),
  /** How often lifecycle policies (inactivity, deletions, invitations) run; 0 turns the scheduler off. */
  POLICY_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(3600),
  /** SCIM requests per second per organization, sustained (README "Rate limits"); 0 turns the SCIM limit off. */
  RATE_LIMIT_PER_SECOND: z.coerce.number().int().min(0).default(50),
  /** SCIM requests per organization accepted at once; default twice the per-second rate. */
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).optional(),
  /** Admin API requests per second per organization; 0 turns the admin limit off. */
  ADMIN_RATE_LIMIT_PER_SECOND: z.coerce.number().int().min(0).default(20),
  ADMIN_RATE_LIMIT_BURST: z.coerce.number().int().min(1).optional(),
  /** Refused SSO attempts per minute per client IP and organization before further attempts get 429; 0 turns it off. */
  SSO_FAILED_LOGINS_PER_MINUTE: z.coerce.number().int().min(0).default(10),
});

/** A per-organization token-bucket-like limit: `perSecond` sustained, `burst` at once; `perSecond: 0` = no limit. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

function rateLimit(perSecond: number, burst: number | undefined, name: string): RateLimit {
  if (burst !== undefined && perSecond > 0 && burst < perSecond) {
    throw new Error(`invalid configuration: ${name}_BURST (${burst}) must be at least ${name}_PER_SECOND (${perSecond})`);
  }
  return { perSecond, burst: burst ?? 2 * perSecond };
}

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  mongodbUri?: string;
  logLevel: string;
  publicUrl?: string;
  maxBodyBytes: number;
  policyIntervalMs: number;
  /** RFC 7644 §3.5.2 allows either; the default `resource` is what the Entra SCIM Validator expects. */
  userPatchResponse?: 'resource' | 'no-content';
  unknownMembers?: 'reject' | 'ignore';
  /** Per process: several processes behind a load balancer each keep their own counters. */
  rateLimits?: {
    scim: RateLimit;
    admin: RateLimit;
    /** Refused SSO attempts per minute per client IP and organization; 0 = no limit. */
    ssoFailuresPerMinute: number;
  };
  bootstrap: {
    scimToken?: string;
    adminToken?: string;
    ssoSecret?: string;
    org: {
      name: string;
      domains: string[];
      seats: number;
      licenseMode: 'provision' | 'groups';
      licenseGroups: string[];
      deprovision: 'account' | 'enterprise';
    };
  };
}

/** Reads and validates the environment; throws an Error listing every invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: e.DATA_DIR,
    mongodbUri: e.MONGODB_URI || undefined,
    logLevel: e.LOG_LEVEL,
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ''),
    maxBodyBytes: e.MAX_BODY_BYTES,
    policyIntervalMs: e.POLICY_INTERVAL_SECONDS * 1000,
    userPatchResponse: e.SCIM_USER_PATCH_RESPONSE,
    unknownMembers: e.SCIM_UNKNOWN_MEMBERS,
    rateLimits: {
      scim: rateLimit(e.RATE_LIMIT_PER_SECOND, e.RATE_LIMIT_BURST, 'RATE_LIMIT'),
      admin: rateLimit(e.ADMIN_RATE_LIMIT_PER_SECOND, e.ADMIN_RATE_LIMIT_BURST, 'ADMIN_RATE_LIMIT'),
      ssoFailuresPerMinute: e.SSO_FAILED_LOGINS_PER_MINUTE,
    },
    bootstrap: {
      scimToken: e.SCIM_BOOTSTRAP_TOKEN,
      adminToken: e.ADMIN_BOOTSTRAP_TOKEN,
      ssoSecret: e.SSO_BOOTSTRAP_SECRET,
      org: {
        name: e.ORG_NAME,
        domains: list(e.ORG_DOMAINS).map((d) => d.toLowerCase()),
        seats: e.ORG_SEATS,
        licenseMode: e.ORG_LICENSE_MODE,
        licenseGroups: list(e.ORG_LICENSE_GROUPS).map((g) => g.toLowerCase()),
        deprovision: e.ORG_DEPROVISION,
      },
    },
  };
}
