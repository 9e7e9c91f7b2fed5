/** Parsers for option values; a bad value is reported by commander as one line naming the option. */
import { InvalidArgumentError } from 'commander';

export const ORG_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/;

export function integerIn(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

export function share(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a fraction from 0 to 1 (e.g. 0.1 for 10%).');
  return n;
}

export function orgName(value: string): string {
  if (!ORG_NAME.test(value)) throw new InvalidArgumentError('letters, digits, . _ - only (at most 64).');
  return value;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function domains(value: string): string[] {
  const items = list(value).map((d) => d.toLowerCase());
  if (items.length === 0) throw new InvalidArgumentError('expected comma-separated domains, e.g. example.com,example.org.');
  const bad = items.find((d) => !DOMAIN.test(d));
  if (bad !== undefined) throw new InvalidArgumentError(`"${bad}" is not a domain name.`);
  return [...new Set(items)];
}

export function groupNames(value: string): string[] {
  const items = list(value);
  if (items.length === 0) throw new InvalidArgumentError('expected comma-separated group displayNames.');
  return items;
}

/** The first 12 hex digits of a token's SHA-256 hash, as `token list` shows it (a longer prefix is accepted). */
export function tokenId(value: string): string {
  const id = value.trim().toLowerCase();
  if (!/^[0-9a-f]{12,64}$/.test(id)) throw new InvalidArgumentError('expected the 12-hex-digit id shown by "token list".');
  return id;
}
