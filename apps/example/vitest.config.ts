import { defineConfig } from 'vitest/config';
import { workspaceTestConfig } from '../../vitest.shared.js';

export default defineConfig(workspaceTestConfig({ testTimeout: 120_000 }));
