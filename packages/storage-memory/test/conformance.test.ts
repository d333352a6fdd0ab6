import { runStorageConformance } from '@convokit/storage-testkit';
import { createMemoryStorage } from '../src/index.js';

runStorageConformance({ name: 'memory', create: ({ clock }) => createMemoryStorage({ clock }) });
