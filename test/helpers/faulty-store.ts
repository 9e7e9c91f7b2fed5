/**
 * Fault injection for API tests: a real in-memory embedded store behind a Proxy that makes chosen collection methods
 * (or `ping`) fail, and an app built over it with an optional capturing logger.
 */
import pino from 'pino';
import type { Express } from 'express';
import { createApp } from '../../src/http/app';
import { openEmbeddedStore } from '../../src/store/embedded';
import { createLogger, type Logger } from '../../src/logger';
import { loadConfig } from '../../src/config';
import { bootstrap } from '../../src/services/organizations';
import type { Collection, Store } from '../../src/store/port';
import { ADMIN_TOKEN, SCIM_TOKEN, scimClient } from './app';

type CollectionName = Exclude<keyof Store, 'kind' | 'ping' | 'close'>;
type CollectionMethod = keyof Collection<{ _id: string }>;

export const READS: CollectionMethod[] = ['findOne', 'find', 'findReadOnly', 'count'];
export const WRITES: CollectionMethod[] = ['insertOne', 'insertMany', 'updateOne', 'updateMany', 'deleteOne', 'deleteMany'];
export const ALL_METHODS: CollectionMethod[] = [...READS, ...WRITES];

/** What fails, and with what. `fail` is switchable at run time (`faults.active = false` heals the store). */
export interface Faults {
  active: boolean;
  /** Collection → methods that throw `error()` while `active`. */
  collections: Partial<Record<CollectionName, CollectionMethod[]>>;
  /** Whether `ping` throws `error()` while `active`. */
  ping?: boolean;
  error: () => unknown;
  /** Calls that failed, as `collection.method`, to prove the fault was really hit. */
  hits: string[];
}

export function faults(init: Omit<Faults, 'hits' | 'active'> & { active?: boolean }): Faults {
  return { active: true, hits: [], ...init };
}

/** `inner` with the faults of `f` applied; everything else passes through to the real store. */
export function faultyStore(inner: Store, f: Faults): Store {
  const wrapped = new Map<string, unknown>();
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === 'ping') {
        return async () => {
          if (f.active && f.ping) {
            f.hits.push('ping');
            throw f.error();
          }
          return target.ping();
        };
      }
      const failing = typeof prop === 'string' ? f.collections[prop as CollectionName] : undefined;
      if (!failing) return value;
      if (!wrapped.has(prop as string)) {
        const collection = value as Collection<{ _id: string }>;
        wrapped.set(
          prop as string,
          new Proxy(collection, {
            get(c, method, r) {
              const real = Reflect.get(c, method, r);
              if (typeof real !== 'function') return real;
              return async (...args: unknown[]) => {
                if (f.active && failing.includes(method as CollectionMethod)) {
                  f.hits.push(`${String(prop)}.${String(method)}`);
                  throw f.error();
                }
                return (real as (...a: unknown[]) => unknown).apply(c, args);
              };
            },
          }),
        );
      }
      return wrapped.get(prop as string);
    },
  });
}

/** A pino logger writing JSON lines into memory, with no redaction: what the code logs is what ends up here. */
export function capturingLogger(level = 'info'): { logger: Logger; lines: string[]; text: () => string } {
  const lines: string[] = [];
  const logger = pino({ level, base: undefined }, { write: (line: string) => void lines.push(line) });
  return { logger, lines, text: () => lines.join('') };
}

export interface FaultyApp {
  app: Express;
  /** The real store underneath (never failing). */
  inner: Store;
  store: Store;
  faults: Faults;
  scim: ReturnType<typeof scimClient>;
}

/** The real app over `faultyStore(inner, f)`; the organization and token are bootstrapped on the healthy store. */
export async function makeFaultyApp(f: Faults, logger: Logger = createLogger('silent')): Promise<FaultyApp> {
  const config = loadConfig({
    SCIM_BOOTSTRAP_TOKEN: SCIM_TOKEN,
    ADMIN_BOOTSTRAP_TOKEN: ADMIN_TOKEN,
    ORG_DOMAINS: 'example.com',
    LOG_LEVEL: 'silent',
  });
  const inner = await openEmbeddedStore();
  await bootstrap(inner, config);
  const store = faultyStore(inner, f);
  const app = createApp({ config, store, logger });
  return { app, inner, store, faults: f, scim: scimClient(app) };
}
