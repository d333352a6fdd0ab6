import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the child-process tests find this package as plain JavaScript. */
export const CHILD_BUILD_DIR = join(packageDir, 'node_modules', '.child-build');

/**
 * The crash and lock tests run writers in child processes, which need plain JavaScript. This
 * package is built into node_modules/.child-build (never dist, so a parallel `build` is not
 * disturbed); its dependencies are used from their dist, which turbo builds before `test`
 * (`^build`) and which is built here when missing.
 */
export default async function setup(): Promise<void> {
  for (const [name, dir] of [
    ['@convokit/core', 'core'],
    ['@convokit/storage-memory', 'storage-memory'],
  ] as const) {
    if (!existsSync(join(packageDir, '..', dir, 'dist', 'index.js'))) {
      execFileSync('pnpm', ['--filter', name, 'build'], { cwd: packageDir, stdio: 'inherit' });
    }
  }
  await build({
    entry: { index: join(packageDir, 'src', 'index.ts') },
    format: ['esm'],
    outDir: CHILD_BUILD_DIR,
    target: 'node20',
    platform: 'node',
    dts: false,
    clean: true,
    silent: true,
    config: false,
    external: [/^@convokit\//],
  });
}
