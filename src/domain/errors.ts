/**
 * Domain errors carry a stable code; the HTTP edge maps codes to statuses in one table
 * (`http/error-handler.ts`), so the domain never knows about HTTP.
 */
export type DomainErrorCode = 'conflict' | 'version_mismatch' | 'not_found' | 'invalid' | 'forbidden' | 'unauthenticated';

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
