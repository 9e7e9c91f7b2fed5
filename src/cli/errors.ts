/**
 * How the CLI fails: a {@link CliError} carries the one-line message an operator reads and the exit code a script
 * checks. Anything else that escapes a command is reported as one line too (never a stack trace, unless
 * `SCIM_CLI_DEBUG=1`).
 */

/** Exit codes of every command. */
export const EXIT = {
  ok: 0,
  /** Bad input (unknown organization, missing file, bad flag), a refused operation, or rows that could not be applied. */
  failed: 1,
  /** `sync` refused to apply a plan that deactivates too many accounts (see `--max-deactivate-share`, `--force`). */
  refused: 2,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The one-line text for any error that reached the top level. */
export function describeError(error: unknown): string {
  if (error instanceof CliError) return error.message;
  if (error instanceof Error) {
    if (error.name === 'StoreUnavailableError') return `the store is unavailable: ${error.message}`;
    if (error.name === 'DomainError' || error.name === 'ScimError') return error.message;
    return `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`.split('\n')[0];
  }
  return String(error);
}
