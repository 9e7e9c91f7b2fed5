/**
 * Reading the sync file: a CSV export with a header row and the columns `userName, name, email, externalId, active,
 * groups` (any order, header names case-insensitive; only `userName` is required). Every row is checked here, so a
 * bad row is reported with its line number and never reaches the services.
 *
 * - `userName`: required, unique in the file (case-insensitive; a later duplicate is an error, the first one counts).
 * - `name`: the person's full name as it should be displayed. Stored as `displayName` and `name.formatted`, and split
 *   at the first space into `name.givenName` / `name.familyName` ("Ada King Lovelace" → "Ada" / "King Lovelace"; a
 *   single word is a givenName). Empty: the user has no name attributes.
 * - `email`: the work email (`emails[type eq "work"]`, primary). Empty: no email.
 * - `externalId`: the id in the exporting system. Empty: none.
 * - `active`: true/false, yes/no, 1/0 (any case); empty means true.
 * - `groups`: group displayNames separated by `;`. When the column is present, each listed user's memberships become
 *   exactly these groups (missing groups are created); when the column is absent, memberships are left alone.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { CliError } from '../errors';

export const COLUMNS = ['userName', 'name', 'email', 'externalId', 'active', 'groups'] as const;
type Column = (typeof COLUMNS)[number];

/** A valid row, ready to plan. */
export interface SyncRow {
  /** Line of the row in the file (the header is line 1). */
  line: number;
  userName: string;
  name?: string;
  email?: string;
  externalId?: string;
  active: boolean;
  /** Group displayNames, deduplicated case-insensitively; `undefined` when the file has no `groups` column. */
  groups?: string[];
}

export interface RowError {
  line: number;
  userName?: string;
  reason: string;
}

export interface SyncFile {
  rows: SyncRow[];
  errors: RowError[];
  /** Whether the file has a `groups` column (and so decides memberships). */
  hasGroups: boolean;
  /** Lower-cased userNames of every row that named one, valid or not: such users are never deactivated as absent. */
  mentioned: Set<string>;
}

const MAX_FIELD = 1024;
const EMAIL = /^[^\s@"<>(),;:\\]+@[^\s@"<>(),;:\\]+\.[^\s@"<>(),;:\\]+$/;
const TRUE = new Set(['true', 'yes', '1', 'y']);
const FALSE = new Set(['false', 'no', '0', 'n']);

export const userNameKey = (userName: string) => userName.normalize('NFC').toLowerCase();

/** Reads and checks the file; a file that cannot be read or parsed at all is one {@link CliError}. */
export function readSyncFile(file: string): SyncFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message}`);
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { bom: true, info: true, relax_column_count: true, skip_empty_lines: true, trim: true }) as unknown as typeof records;
  } catch (error) {
    throw new CliError(`${file} is not valid CSV: ${(error as Error).message}`);
  }
  if (records.length === 0) throw new CliError(`${file} is empty: expected a header row with at least userName`);
  const columns = headerOf(file, records[0].record);
  const result: SyncFile = { rows: [], errors: [], hasGroups: columns.includes('groups'), mentioned: new Set() };
  const seen = new Map<string, number>();
  for (const { record, info } of records.slice(1)) {
    const line = info.lines;
    const fields: Partial<Record<Column, string>> = {};
    columns.forEach((column, i) => {
      fields[column] = record[i] ?? '';
    });
    const userName = fields.userName ?? '';
    const fail = (reason: string) => result.errors.push({ line, ...(userName ? { userName } : {}), reason });
    if (userName) result.mentioned.add(userNameKey(userName));
    if (record.length !== columns.length) {
      fail(`expected ${columns.length} fields, found ${record.length}`);
      continue;
    }
    const tooLong = COLUMNS.find((c) => (fields[c]?.length ?? 0) > MAX_FIELD);
    if (tooLong) {
      fail(`${tooLong} is longer than ${MAX_FIELD} characters`);
      continue;
    }
    if (!userName) {
      fail('userName is empty');
      continue;
    }
    if (/\s/.test(userName)) {
      fail(`userName "${userName}" contains whitespace`);
      continue;
    }
    const first = seen.get(userNameKey(userName));
    if (first !== undefined) {
      fail(`duplicate userName "${userName}" (first on row ${first}; that row is the one applied)`);
      continue;
    }
    seen.set(userNameKey(userName), line);
    const email = fields.email || undefined;
    if (email !== undefined && !EMAIL.test(email)) {
      fail(`invalid email "${email}"`);
      continue;
    }
    const activeText = (fields.active ?? '').toLowerCase();
    if (activeText && !TRUE.has(activeText) && !FALSE.has(activeText)) {
      fail(`invalid active "${fields.active}" (expected true or false)`);
      continue;
    }
    let groups: string[] | undefined;
    if (result.hasGroups) {
      const byKey = new Map<string, string>();
      for (const g of (fields.groups ?? '').split(';').map((s) => s.trim()).filter(Boolean)) {
        if (!byKey.has(userNameKey(g))) byKey.set(userNameKey(g), g);
      }
      groups = [...byKey.values()];
    }
    result.rows.push({
      line,
      userName,
      ...(fields.name ? { name: fields.name.replace(/\s+/g, ' ') } : {}),
      ...(email ? { email } : {}),
      ...(fields.externalId ? { externalId: fields.externalId } : {}),
      active: !FALSE.has(activeText),
      ...(groups ? { groups } : {}),
    });
  }
  return result;
}

function headerOf(file: string, header: string[]): Column[] {
  const columns: Column[] = [];
  for (const raw of header) {
    const column = COLUMNS.find((c) => c.toLowerCase() === raw.trim().toLowerCase());
    if (!column) throw new CliError(`${file}: unknown column "${raw}" in the header (expected ${COLUMNS.join(', ')})`);
    if (columns.includes(column)) throw new CliError(`${file}: column "${column}" appears twice in the header`);
    columns.push(column);
  }
  if (!columns.includes('userName')) throw new CliError(`${file}: the header has no userName column (expected ${COLUMNS.join(', ')})`);
  return columns;
}
