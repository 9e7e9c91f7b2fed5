/**
 * Structured JSON logs (pino). Log lines carry ids, methods, routes and statuses — never a token, a request body or a
 * personal attribute: the redaction list is a second line of defence for fields that must never appear.
 */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level = 'info'): Logger {
  return pino({
    level,
    base: undefined,
    redact: {
      paths: ['authorization', 'token', 'password', 'email', 'userName', '*.authorization', '*.token', '*.password'],
      censor: '[redacted]',
    },
  });
}
