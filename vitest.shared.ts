import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ViteUserConfig } from 'vitest/config';

const root = dirname(fileURLToPath(import.meta.url));

/**
 * Tests import sibling packages by name; this maps each `@convokit/*` name to its source so a
 * package's tests never wait on (or race with) another package's build.
 */
function workspaceAliases(): { find: RegExp; replacement: string }[] {
  const aliases: { find: RegExp; replacement: string }[] = [];
  for (const dir of readdirSync(join(root, 'packages'))) {
    let name: string;
    try {
      name = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')).name;
    } catch {
      continue; // not a package folder
    }
    const escaped = name.replace(/[/.]/g, (c) => `\\${c}`);
    const src = join(root, 'packages', dir, 'src');
    // A subpath export `@convokit/x/foo` lives in `src/foo/index.ts`.
    aliases.push({
      find: new RegExp(`^${escaped}/(?!package\\.json$)(.+)$`),
      replacement: `${src}/$1/index.ts`,
    });
    aliases.push({ find: new RegExp(`^${escaped}$`), replacement: join(src, 'index.ts') });
  }
  return aliases;
}

export function workspaceTestConfig(overrides: ViteUserConfig['test'] = {}): ViteUserConfig {
  return {
    resolve: { alias: workspaceAliases() },
    test: {
      include: ['test/**/*.test.ts'],
      // Generous: CI shares two cores between packages' suites, and property tests scale with load.
      testTimeout: 60_000,
      hookTimeout: 60_000,
      ...overrides,
    },
  };
}
