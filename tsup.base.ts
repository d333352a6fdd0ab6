import type { Options } from 'tsup';

/**
 * The one build shape every published package uses: ESM and CJS side by side, each with
 * its own declaration file (`.d.ts` for import, `.d.cts` for require), so both kinds of
 * consumer get types that match the module they load.
 */
export function packageBuild(overrides: Options = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    treeshake: true,
    ...overrides,
  };
}
