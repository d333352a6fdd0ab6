import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

export default defineConfig(
  packageBuild({
    entry: { index: 'src/index.ts', bin: 'src/bin.ts' },
    // The bin is not part of the typed API.
    dts: { entry: { index: 'src/index.ts' } },
  }),
);
