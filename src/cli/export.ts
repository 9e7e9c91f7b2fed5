/**
 * `export --org <name> --kind managed-accounts|site-users [--out file.csv]`: the dashboard's CSV exports from the
 * command line, streamed page by page by `writeAccountsCsv` (never the whole organization in memory). CSV goes to
 * stdout unless `--out` names a file; a row counter runs on stderr when stderr is a terminal.
 */
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { Transform, type Writable } from 'node:stream';
import type { Store } from '../store/port';
import type { OrganizationDoc } from '../store/documents';
import { writeAccountsCsv, type ExportKind } from '../services/exports';
import { CliError } from './errors';

export const EXPORT_KINDS: ExportKind[] = ['managed-accounts', 'site-users'];

/** How often the terminal counter is redrawn. */
const REDRAW_MS = 100;

/**
 * Passes CSV through unchanged and counts records: a record ends at a line break outside quotes (a quoted field may
 * contain line breaks; `""` inside quotes toggles twice, so the parity stays right).
 */
class RecordCounter extends Transform {
  records = 0;
  private quoted = false;
  constructor(private readonly onRecord: (records: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null, data?: Buffer) => void) {
    for (const byte of chunk) {
      if (byte === 0x22) this.quoted = !this.quoted;
      else if (byte === 0x0a && !this.quoted) this.records++;
    }
    this.onRecord(this.records);
    callback(null, chunk);
  }
}

export interface ExportIo {
  stdout: Writable;
  stderr: NodeJS.WriteStream | Writable;
}

/** Writes the export; returns the number of account rows (the header not counted). */
export async function runExport(store: Store, org: OrganizationDoc, kind: ExportKind, out: string | undefined, io: ExportIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const tty = (io.stderr as NodeJS.WriteStream).isTTY === true;
  let drawn = 0;
  const draw = (records: number, final = false) => {
    const now = Date.now();
    if (!tty || (!final && now - drawn < REDRAW_MS)) return;
    drawn = now;
    io.stderr.write(`\rexport: ${Math.max(0, records - 1)} rows${final ? '\n' : ''}`);
  };
  const counter = new RecordCounter((records) => draw(records));

  // A file is written next to its final name and renamed at the end: an interrupted export leaves no half file.
  const target = out ? path.resolve(out) : undefined;
  const partial = target ? `${target}.partial-${process.pid}` : undefined;
  let sink: Writable;
  if (partial) {
    sink = createWriteStream(partial, { flags: 'wx' });
    await Promise.race([once(sink, 'open'), once(sink, 'error').then(([error]) => Promise.reject(error as Error))]).catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`cannot write ${out}: ${error.code === 'ENOENT' ? 'no such directory' : error.code === 'EACCES' ? 'permission denied' : error.message}`);
    });
  } else {
    sink = io.stdout;
  }
  // A reader that stops early (`| head`) is not an error; a failing file is, once the export has drained.
  let failure: NodeJS.ErrnoException | undefined;
  sink.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') failure ??= error;
    counter.resume();
  });
  counter.pipe(sink);
  try {
    const rows = await writeAccountsCsv(store, org._id, kind, counter);
    if (failure) throw new CliError(`cannot write ${out ?? 'to stdout'}: ${failure.message}`);
    if (partial) {
      if (!sink.writableFinished) await once(sink, 'finish');
      renameSync(partial, target!);
    }
    draw(counter.records, true);
    return rows;
  } catch (error) {
    if (partial) rmSync(partial, { force: true });
    throw error;
  }
}
