import { runStorageConformance } from '@convokit/storage-testkit';
import { describe } from 'vitest';
import { createPostgresStorage, type PostgresStorage } from '../src/index.js';
import { dropSchema, freshSchema, reportSkip, url } from './support.js';

reportSkip('conformance.int.test.ts');

describe.skipIf(!url)('postgres', () => {
  // Each case gets its own schema, dropped after the case.
  runStorageConformance({
    name: 'postgres',
    create: ({ clock }) => createPostgresStorage({ url, schema: freshSchema(), clock, pool: { max: 4 } }),
    destroy: async (storage) => {
      await storage.close();
      await dropSchema((storage as PostgresStorage).schema);
    },
  });
});
