/**
 * SCIM errors (RFC 7644 §3.12). Every failure a client can see is one of these by the time it is rendered: the
 * translation table in `http/error-handler.ts` turns store and domain errors into them.
 */

/** `scimType` values of RFC 7644 §3.12, table 9. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** A client-visible SCIM error; `detail` must name what was wrong and where, never internals. */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly scimType: ScimType | undefined,
    readonly detail: string,
    /** Extra response headers, e.g. `Retry-After`. */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'ScimError';
  }

  /** The response body; `status` is a string as RFC 7644 §3.12 shows it. */
  toJSON(): Record<string, unknown> {
    return {
      schemas: [ERROR_SCHEMA],
      status: String(this.status),
      ...(this.scimType ? { scimType: this.scimType } : {}),
      detail: this.detail,
    };
  }
}

/** Shorthands for the errors raised most often. */
export const badRequest = (scimType: ScimType, detail: string) => new ScimError(400, scimType, detail);

/** scimmy reports a value its schema refuses (wrong type, non-canonical) as a TypeError: to the client, 400 `invalidValue`. */
export const refusedValue = (error: unknown): unknown => (error instanceof TypeError ? badRequest('invalidValue', error.message) : error);
export const notFound = (detail: string) => new ScimError(404, undefined, detail);
