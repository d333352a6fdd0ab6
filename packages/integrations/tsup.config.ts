import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

export default defineConfig(
  packageBuild({
    entry: {
      index: 'src/index.ts',
      'navigation/index': 'src/navigation/index.ts',
      'linking/index': 'src/linking/index.ts',
      'enhancement/index': 'src/enhancement/index.ts',
      'chat/index': 'src/chat/index.ts',
    },
  }),
);
