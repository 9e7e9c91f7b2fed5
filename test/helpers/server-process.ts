/**
 * Runs the built server (`dist`-style output of tsconfig.build.json) as a child process on 127.0.0.1, for
 * process-level tests: restarts, signals, configuration errors. Every child started here is tracked so a test file can
 * kill all of them in `afterAll`, even after a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** The node flags of `npm start` (`node [flags] dist/src/main.js`): the server runs here as it is deployed. */
export const START_FLAGS: string[] = (() => {
  const start = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const flags = /\bnode((?: --\S+)*) dist\/src\/main\.js/.exec(start);
  if (!flags) throw new Error(`cannot find "node [flags] dist/src/main.js" in the start script: ${start}`);
  return flags[1].split(' ').filter(Boolean);
})();

export interface ServerProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` once listening. */
  url: string;
  port: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  exited: Promise<number | string>;
  /** Resolves when `text` appears on stdout. */
  waitForOutput: (text: string | RegExp, timeoutMs?: number) => Promise<void>;
}

const children = new Set<ChildProcess>();

/**
 * Compiles `src` with tsconfig.build.json into a fresh temporary directory (not `dist/`, which other runs may be
 * using) and returns the path of `main.js`. Dependencies resolve from the project's node_modules through NODE_PATH.
 */
export function buildServer(): { main: string; outDir: string } {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'scim-build-'));
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', outDir], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`build failed:\n${result.stdout}\n${result.stderr}`);
  return { main: path.join(outDir, 'src', 'main.js'), outDir };
}

export function tempDir(prefix = 'scim-data-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The environment a child gets: only what is given here (plus PATH and NODE_PATH), never the test runner's. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', NODE_PATH: path.join(ROOT, 'node_modules'), HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env };
}

/** Starts `main` without waiting for anything. */
export function spawnServer(main: string, env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, [...START_FLAGS, main], { cwd: os.tmpdir(), env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  const watchers = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const w of watchers) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      for (const w of watchers) w();
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  const server: ServerProcess = {
    child,
    url: '',
    port: 0,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput: (text, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const matches = () => (typeof text === 'string' ? out.includes(text) : text.test(out));
        const check = () => {
          if (matches()) done(resolve);
          else if (child.exitCode !== null || child.signalCode !== null) {
            done(() => reject(new Error(`server exited (${child.exitCode ?? child.signalCode}) before printing ${text}\nstdout: ${out}\nstderr: ${err}`)));
          }
        };
        const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${text}\nstdout: ${out}\nstderr: ${err}`))), timeoutMs);
        const done = (finish: () => void) => {
          clearTimeout(timer);
          watchers.delete(check);
          finish();
        };
        watchers.add(check);
        check();
      }),
  };
  return server;
}

/** Starts the server and waits until it listens; fills in `port` and `url` from its start-up log line. */
export async function startServer(main: string, env: Record<string, string>): Promise<ServerProcess> {
  const server = spawnServer(main, env);
  await server.waitForOutput(/"port":(\d+)[^\n]*listening/);
  const port = Number(/"port":(\d+)[^\n]*listening/.exec(server.stdout())![1]);
  server.port = port;
  server.url = `http://127.0.0.1:${port}`;
  return server;
}

/** The exit code (or signal) of `server` if it exits within `timeoutMs`, else `'still running'`. */
export async function exitWithin(server: ServerProcess, timeoutMs = 5000): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('still running'), timeoutMs);
  });
  try {
    return await Promise.race([server.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends SIGTERM and resolves with the exit code, or `'still running'` after `timeoutMs`. */
export function stopServer(server: ServerProcess, timeoutMs = 5000): Promise<number | string> {
  server.child.kill('SIGTERM');
  return exitWithin(server, timeoutMs);
}

/** SIGKILLs every child still running (for `afterAll`). */
export async function killAll(): Promise<void> {
  const running = [...children];
  await Promise.all(
    running.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}
