/**
 * A fast build of the server for browser tests: `src` transpiled file by file with swc (the compiler jest already
 * runs the sources through) into a temporary directory, with every non-TypeScript file (the dashboard's HTML, CSS and
 * JS) copied alongside, as `npm run build` does. `tsc -p tsconfig.build.json` takes ~20 s here, most of it type
 * checking, which `npm run typecheck` does anyway; this takes about one.
 */
import { transformFileSync } from '@swc/core';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

function emit(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    if (entry.isDirectory()) {
      emit(source, path.join(to, entry.name));
    } else if (entry.name.endsWith('.d.ts')) {
      continue;
    } else if (entry.name.endsWith('.ts')) {
      const { code } = transformFileSync(source, {
        swcrc: false,
        configFile: false,
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
      });
      writeFileSync(path.join(to, entry.name.replace(/\.ts$/, '.js')), code);
    } else {
      copyFileSync(source, path.join(to, entry.name));
    }
  }
}

/** Builds `src` into a fresh temporary directory and returns the path of `main.js` (run it with NODE_PATH set). */
export function buildServerQuickly(): { main: string; outDir: string } {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'scim-swc-build-'));
  emit(path.join(ROOT, 'src'), path.join(outDir, 'src'));
  return { main: path.join(outDir, 'src', 'main.js'), outDir };
}
