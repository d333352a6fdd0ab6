import { randomBytes } from 'node:crypto';
import type { Clock, Context } from '@convokit/core';
import { Redis } from 'ioredis';
import { createRedisStorage, type RedisStorage } from '../src/index.js';

export const url = process.env.CONVOKIT_REDIS_URL;

/** Prints why a file's tests did not run, so a skip is never silent. */
export function reportSkip(file: string): void {
  if (!url) console.log(`[storage-redis] ${file}: skipped, CONVOKIT_REDIS_URL is not set`);
}

export function freshPrefix(): string {
  return `ck-test:${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(prefix: string): Promise<void> {
  const admin = new Redis(url!, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
  } finally {
    admin.disconnect();
  }
}

/** A store under its own new prefix; `drop()` closes it and deletes its keys. */
export function freshStorage(options: { clock?: Clock; keyPrefix?: string } = {}): {
  storage: RedisStorage;
  drop(): Promise<void>;
} {
  const keyPrefix = options.keyPrefix ?? freshPrefix();
  const storage = createRedisStorage({ url: url!, keyPrefix, clock: options.clock });
  return {
    storage,
    async drop() {
      await storage.close();
      await deleteKeys(keyPrefix);
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A session-scope context of owner-1 in sess-1, created at `now`, with `fields` over it. */
export function sessionContext(id: string, now: number, fields: Partial<Context> = {}): Context {
  return {
    id,
    scope: 'session',
    ownerId: 'owner-1',
    sessionId: 'sess-1',
    data: { n: 0 },
    metadata: {},
    version: 1,
    createdAt: now,
    updatedAt: now,
    accessCount: 0,
    lastAccessedAt: now,
    ...fields,
  };
}
