/**
 * Progress of `sync` on stderr: a cli-progress bar when stderr is a terminal, plain lines otherwise (a bar's
 * carriage returns are noise in a log file or a CI job).
 */
import { SingleBar, Presets } from 'cli-progress';

export interface Progress {
  start(total: number): void;
  /** `done` changes applied so far, `failed` of them failed. */
  update(done: number, failed: number): void;
  stop(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    const bar = new SingleBar(
      { stream, format: 'sync [{bar}] {percentage}% | {value}/{total} changes | {failed} failed | ETA {eta}s', hideCursor: true, clearOnComplete: false },
      Presets.shades_classic,
    );
    return {
      start: (total) => bar.start(total, 0, { failed: 0 }),
      update: (done, failed) => bar.update(done, { failed }),
      stop: () => bar.stop(),
    };
  }
  let total = 0;
  return {
    start: (n) => {
      total = n;
    },
    update: (done, failed) => {
      stream.write(`sync: ${done}/${total} changes applied${failed > 0 ? ` (${failed} failed)` : ''}\n`);
    },
    stop: () => undefined,
  };
}
