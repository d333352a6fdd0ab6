import { runStorageConformance } from '@convokit/storage-testkit';
import { describe } from 'vitest';
import { createRedisStorage, type RedisStorage } from '../src/index.js';
import { deleteKeys, freshPrefix, reportSkip, url } from './support.js';

reportSkip('conformance.int.test.ts');

describe.skipIf(!url)('redis', () => {
  // Each case under its own random key prefix, deleted after the case.
  runStorageConformance({
    name: 'redis',
    parts: ['contexts', 'audit'],
    create: ({ clock }) => createRedisStorage({ url, keyPrefix: freshPrefix(), clock }),
    destroy: async (storage) => {
      await storage.close();
      await deleteKeys((storage as RedisStorage).keyPrefix);
    },
  });
});
