/**
 * Maps driver and mongoose errors onto the storage port's errors, so no MongoDB type leaves the adapter:
 * - a unique-index violation (E11000, whether a `MongoServerError`, a `MongoBulkWriteError` from `insertMany` or a
 *   write error inside one) becomes {@link DuplicateKeyError} with the index name;
 * - "cannot reach / cannot currently write to the server" becomes {@link StoreUnavailableError}, which the HTTP layer
 *   answers with 503 so the client retries later;
 * - anything else (cast errors, validation errors, bugs) is returned unchanged: it is not the store's fault and must
 *   not be disguised as a retryable outage.
 */
import mongoose from 'mongoose';
import { DuplicateKeyError, StoreUnavailableError } from '../port';

const DUPLICATE_KEY = 11000;

/**
 * Error classes that mean the server could not be reached or the connection is gone. Matched by name as well as by
 * class because mongoose wraps the driver's selection error in its own `MongooseServerSelectionError` on connect.
 */
const UNAVAILABLE_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoServerClosedError',
  'MongoPoolClearedError',
  'MongoWaitQueueTimeoutError',
  'MongoOperationTimeoutError',
]);

/** Labels the server or driver attaches to errors that are, by definition, transient. */
const UNAVAILABLE_LABELS = ['RetryableWriteError', 'TransientTransactionError', 'ResetPool', 'NetworkError'];

/**
 * Server error codes of a failover, shutdown or network problem (the driver's "retryable" set plus shutdown codes):
 * the write did not happen because this node cannot serve it right now, not because the request is wrong.
 */
const UNAVAILABLE_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

interface MongoishError {
  name?: string;
  code?: unknown;
  message?: string;
  errmsg?: string;
  keyPattern?: Record<string, unknown>;
  errorResponse?: { keyPattern?: Record<string, unknown>; errmsg?: string };
  writeErrors?: Array<{ code?: unknown; errmsg?: string; err?: { keyPattern?: Record<string, unknown>; errmsg?: string } }>;
  errorLabels?: string[];
  errorLabelSet?: Set<string>;
  hasErrorLabel?: (label: string) => boolean;
  cause?: unknown;
}

/** The first E11000 in `error` (itself or one of its bulk write errors), or undefined. */
function duplicateKeyDetails(error: MongoishError): { message: string; keyPattern?: Record<string, unknown> } | undefined {
  if (error.code === DUPLICATE_KEY) {
    const first = error.writeErrors?.find((w) => w.code === DUPLICATE_KEY);
    return {
      message: first?.errmsg ?? first?.err?.errmsg ?? error.errmsg ?? error.errorResponse?.errmsg ?? error.message ?? '',
      keyPattern: first?.err?.keyPattern ?? error.keyPattern ?? error.errorResponse?.keyPattern,
    };
  }
  const write = error.writeErrors?.find((w) => w.code === DUPLICATE_KEY);
  if (write) return { message: write.errmsg ?? write.err?.errmsg ?? '', keyPattern: write.err?.keyPattern };
  return undefined;
}

/**
 * The index name of an E11000: taken from mongod's message (`... index: orgId_1_userNameKey_1 dup key: ...`), which
 * carries custom names too; otherwise rebuilt from `keyPattern` the way MongoDB names indexes by default.
 */
export function duplicateKeyIndexName(message: string, keyPattern?: Record<string, unknown>): string {
  const match = /index: (\S+) dup key/.exec(message);
  if (match) return match[1];
  if (keyPattern) return Object.entries(keyPattern).map(([k, v]) => `${k}_${String(v)}`).join('_');
  return 'unknown';
}

function hasLabel(error: MongoishError, label: string): boolean {
  if (typeof error.hasErrorLabel === 'function') return error.hasErrorLabel(label);
  return error.errorLabels?.includes(label) ?? false;
}

/** True when `error` means the server is unreachable or cannot serve the operation right now. */
export function isUnavailable(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const e = error as MongoishError;
  const { mongo } = mongoose;
  if (
    error instanceof mongo.MongoNetworkError ||
    error instanceof mongo.MongoServerSelectionError ||
    error instanceof mongo.MongoNotConnectedError ||
    error instanceof mongo.MongoTopologyClosedError
  ) {
    return true;
  }
  if (e.name && UNAVAILABLE_NAMES.has(e.name)) return true;
  if (UNAVAILABLE_LABELS.some((label) => hasLabel(e, label))) return true;
  if (typeof e.code === 'number' && UNAVAILABLE_CODES.has(e.code)) return true;
  return false;
}

/**
 * Translates an error thrown by a mongoose/driver call on `collection` into the port's vocabulary; returns the error
 * itself when it is neither a duplicate key nor an outage. Use as `throw toStoreError(name, error)`.
 */
export function toStoreError(collection: string, error: unknown): unknown {
  if (error instanceof DuplicateKeyError || error instanceof StoreUnavailableError) return error;
  if (error !== null && typeof error === 'object') {
    const duplicate = duplicateKeyDetails(error as MongoishError);
    if (duplicate) return new DuplicateKeyError(collection, duplicateKeyIndexName(duplicate.message, duplicate.keyPattern));
    if (isUnavailable(error)) {
      return new StoreUnavailableError(`MongoDB unavailable (${collection}): ${(error as Error).message}`, { cause: error });
    }
  }
  return error;
}
