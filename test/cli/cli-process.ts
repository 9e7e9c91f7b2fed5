/**
 * Runs the compiled CLI as a child process. The CLI's import graph (src/cli/index.ts and what it reaches) is compiled
 * once into a temporary directory, without type checking (`npm run typecheck` does that): a fast build that does not
 * depend on unrelated files compiling.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openEmbeddedStore } from '../../src/store/embedded';
import type { Store } from '../../src/store/port';

const ROOT = path.resolve(__dirname, '../..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Compiles the CLI; returns the path of the compiled `index.js` and the directory to remove afterwards. */
export function buildCli(): { entry: string; outDir: string } {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'scim-cli-build-'));
  const tsconfig = path.join(outDir, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: path.join(ROOT, 'tsconfig.build.json'),
      compilerOptions: { outDir: path.join(outDir, 'out'), rootDir: ROOT, sourceMap: false, noCheck: true, typeRoots: [path.join(ROOT, 'node_modules/@types')] },
      files: [path.join(ROOT, 'src/cli/index.ts')],
      include: [],
    }),
  );
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  const result = spawnSync(process.execPath, [tsc, '-p', tsconfig], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`CLI build failed:\n${result.stdout}\n${result.stderr}`);
  return { entry: path.join(outDir, 'out', 'src', 'cli', 'index.js'), outDir };
}

/** Runs `node <entry> ...args` with only the given environment (plus PATH and NODE_PATH); resolves when it exits. */
export function runCli(entry: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...args], {
      cwd: os.tmpdir(),
      env: { PATH: process.env.PATH ?? '', NODE_PATH: path.join(ROOT, 'node_modules'), LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Per test file: builds the CLI once (beforeAll), hands out temporary data directories, and removes all of it
 * afterwards. `entry()` is the compiled CLI, valid once the build has run.
 */
export function cliFixture(prefix: string): { entry: () => string; newDataDir: () => string } {
  let entry = '';
  let buildDir = '';
  const dirs: string[] = [];
  beforeAll(() => {
    ({ entry, outDir: buildDir } = buildCli());
  }, 120_000);
  afterAll(() => {
    removeDir(buildDir);
    for (const dir of dirs) removeDir(dir);
  });
  return {
    entry: () => entry,
    newDataDir: () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
  };
}

/** Opens the store of `dataDir` in this process (no CLI running on it), runs `work`, closes it. */
export async function inStore<T>(dataDir: string, work: (store: Store) => Promise<T>): Promise<T> {
  const store = await openEmbeddedStore({ dataDir });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
