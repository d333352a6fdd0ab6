import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the child-process tests find this package as plain JavaScript. */
export const CHILD_BUILD_DIR = join(packageDir, 'node_modules', '.child-build');

/**
 * The crash and lock tests run writers in child processes, which need plain JavaScript. This
 * package is bundled, from source and with everything it imports (core and storage-memory from
 * their sources, zod and pino from node_modules), into node_modules/.child-build/index.cjs: never
 * dist, so a parallel `build` of this or any other package cannot pull files from under a child.
 */
export default async function setup(): Promise<void> {
  const packages = join(packageDir, '..');
  await build({
    entry: { index: join(packageDir, 'src', 'index.ts') },
    format: ['cjs'],
    outDir: CHILD_BUILD_DIR,
    target: 'node20',
    platform: 'node',
    dts: false,
    sourcemap: false,
    clean: true,
    silent: true,
    config: false,
    noExternal: [/.*/],
    esbuildOptions(options) {
      options.alias = {
        '@convokit/core': join(packages, 'core', 'src', 'index.ts'),
        '@convokit/storage-memory': join(packages, 'storage-memory', 'src', 'index.ts'),
      };
    },
  });
}
