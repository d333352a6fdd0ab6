import { randomBytes } from 'node:crypto';
import type { Context } from '@convokit/core';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRedisStorage, type RedisStorage } from '../src/index.js';
import { deleteKeys, freshPrefix, reportSkip, sessionContext, sleep, url } from './support.js';

reportSkip('cache.int.test.ts');

/** Reads `id` until the cache answers it (tracking comes up a round trip or two after the first get). */
async function untilHit(storage: RedisStorage, id: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const before = storage.cacheStats()!.hits;
    await storage.contexts.get(id);
    if (storage.cacheStats()!.hits > before) return;
    await sleep(5);
  }
  throw new Error(`${id} never came from the cache`);
}

/** The CLIENT LIST line of the connection named `name`. */
async function clientLine(admin: Redis, name: string): Promise<string> {
  const list = (await admin.client('LIST')) as string;
  const line = list.split('\n').find((l) => l.includes(` name=${name} `));
  if (line === undefined) throw new Error(`no connection named ${name}`);
  return line;
}

const field = (line: string, key: string) => new RegExp(`(?:^| )${key}=(\\S*)`).exec(line)![1]!;

describe.skipIf(!url)('client-side cache (redis)', () => {
  const prefixes: string[] = [];
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(url!);
  });
  afterAll(async () => {
    admin.disconnect();
    for (const p of prefixes) await deleteKeys(p);
  });

  function pair(options: { clientCache?: false | { maxEntries?: number; maxChars?: number } } = {}) {
    const keyPrefix = freshPrefix();
    prefixes.push(keyPrefix);
    const name = `convokit-cache-${randomBytes(4).toString('hex')}`;
    const cached = createRedisStorage({ url, keyPrefix, redis: { connectionName: name }, ...options });
    // Another client of the same Redis (as another process would be), without a cache.
    const other = createRedisStorage({ url, keyPrefix, clientCache: false });
    return {
      name,
      cached,
      other,
      async close() {
        await cached.close();
        await other.close();
      },
    };
  }

  test("every get after another client's update, touch, delete or re-create sees it, hits included", async () => {
    const { cached, other, close } = pair();
    try {
      const now = Date.now();
      await other.contexts.create(sessionContext('c', now));
      await untilHit(cached, 'c');
      let version = 1;
      for (let i = 1; i <= 150; i++) {
        // Twice: the first read after a change comes from Redis, the second from the cache.
        expect((await cached.contexts.get('c'))!.version).toBe(version);
        expect((await cached.contexts.get('c'))!.version).toBe(version);
        switch (i % 4) {
          case 0: {
            const updated = await other.contexts.update('c', version, { data: { n: i } }, now + i);
            version = updated.version;
            expect(await cached.contexts.get('c')).toEqual(updated);
            break;
          }
          case 1: {
            await other.contexts.touch('c', { at: now + i });
            // A touch is written behind: this client's next call has it.
            await other.contexts.count();
            expect((await cached.contexts.get('c'))!.lastAccessedAt).toBe(now + i);
            break;
          }
          case 2: {
            expect(await other.contexts.delete('c')).toBe(true);
            expect(await cached.contexts.get('c')).toBeUndefined();
            await other.contexts.create(sessionContext('c', now, { data: { n: i } }));
            version = 1;
            expect((await cached.contexts.get('c'))!.data).toEqual({ n: i });
            break;
          }
          default: {
            const updated = await other.contexts.update('c', version, { expiresAt: now - 1 }, now + i);
            expect(await cached.contexts.get('c')).toBeUndefined();
            version = (await other.contexts.update('c', updated.version, { expiresAt: null }, now - 2))
              .version;
          }
        }
      }
      const stats = cached.cacheStats()!;
      // Two of the three reads per round could hit; the rest asked Redis.
      expect(stats.hits).toBeGreaterThanOrEqual(150);
      expect(stats.misses).toBeGreaterThanOrEqual(150);
    } finally {
      await close();
    }
  });

  test('gets made together share one check and each sees a write that completed before it', async () => {
    const { cached, other, close } = pair();
    try {
      const now = Date.now();
      const ids = ['g0', 'g1', 'g2', 'g3', 'g4', 'g5', 'g6', 'g7'];
      for (const id of ids) await other.contexts.create(sessionContext(id, now));
      for (const id of ids) await untilHit(cached, id);
      const latest = new Map<string, Context>();
      for (const id of ids) latest.set(id, (await other.contexts.get(id))!);
      for (let round = 1; round <= 40; round++) {
        const changed = ids[round % ids.length]!;
        const before = latest.get(changed)!;
        latest.set(
          changed,
          await other.contexts.update(changed, before.version, { data: { n: round } }, now + round),
        );
        const seen = await Promise.all(ids.map((id) => cached.contexts.get(id)));
        expect(seen).toEqual(ids.map((id) => latest.get(id)));
      }
      expect(cached.cacheStats()!.hits).toBeGreaterThan(40 * 6);
    } finally {
      await close();
    }
  });

  test('its own writes are seen at once, touches included', async () => {
    const { cached, close } = pair();
    try {
      const now = Date.now();
      await cached.contexts.create(sessionContext('own', now));
      await untilHit(cached, 'own');
      const updated = await cached.contexts.update('own', 1, { data: { n: 1 } }, now + 1);
      expect(await cached.contexts.get('own')).toEqual(updated);
      await cached.contexts.touch('own', { at: now + 2 });
      expect(await cached.contexts.get('own')).toMatchObject({ accessCount: 1, lastAccessedAt: now + 2 });
      await untilHit(cached, 'own');
      expect(await cached.contexts.delete('own')).toBe(true);
      expect(await cached.contexts.get('own')).toBeUndefined();
    } finally {
      await close();
    }
  });

  test('a hit hands out a fresh copy and honours expiresAt against the call’s now', async () => {
    const { cached, close } = pair();
    try {
      const now = Date.now();
      await cached.contexts.create(
        sessionContext('exp', now, { expiresAt: now + 600_000, data: { list: [1] } }),
      );
      await untilHit(cached, 'exp');
      const a = (await cached.contexts.get('exp'))!;
      (a.data.list as number[]).push(2);
      expect((await cached.contexts.get('exp'))!.data).toEqual({ list: [1] });
      const hits = cached.cacheStats()!.hits;
      expect(await cached.contexts.get('exp', { now: now + 600_000 })).toBeUndefined();
      expect(await cached.contexts.get('exp', { now: now + 599_999 })).toMatchObject({ id: 'exp' });
      expect(cached.cacheStats()!.hits).toBe(hits + 2);
    } finally {
      await close();
    }
  });

  test('a context within a second of expiring by the system clock is read from Redis', async () => {
    const { cached, other, close } = pair();
    try {
      const now = Date.now();
      await other.contexts.create(sessionContext('soon', now, { expiresAt: now + 900 }));
      const misses = cached.cacheStats()!.misses;
      for (let i = 0; i < 5; i++)
        expect(await cached.contexts.get('soon', { now })).toMatchObject({ id: 'soon' });
      expect(cached.cacheStats()!).toMatchObject({ hits: 0, misses: misses + 5, entries: 0 });
    } finally {
      await close();
    }
  });

  test('a killed data connection: the cache empties, tracking comes back, other clients’ writes are still seen', async () => {
    const { cached, other, name, close } = pair();
    try {
      const now = Date.now();
      await other.contexts.create(sessionContext('k', now));
      await untilHit(cached, 'k');
      expect(field(await clientLine(admin, name), 'flags')).toContain('t');
      expect(await admin.client('KILL', 'ID', field(await clientLine(admin, name), 'id'))).toBe(1);
      expect((await cached.contexts.get('k'))!.version).toBe(1);
      const updated = await other.contexts.update('k', 1, { data: { n: 1 } }, now + 1);
      expect(await cached.contexts.get('k')).toEqual(updated);
      await untilHit(cached, 'k');
      expect(field(await clientLine(admin, name), 'flags')).toContain('t');
      const again = await other.contexts.update('k', 2, { data: { n: 2 } }, now + 2);
      expect(await cached.contexts.get('k')).toEqual(again);
    } finally {
      await close();
    }
  });

  test('a killed invalidation connection: no hits until it is back, and no stale answer', async () => {
    const { cached, other, name, close } = pair();
    try {
      const now = Date.now();
      await other.contexts.create(sessionContext('i', now));
      await untilHit(cached, 'i');
      const redir = field(await clientLine(admin, name), 'redir');
      expect(Number(redir)).toBeGreaterThan(0);
      expect(await admin.client('KILL', 'ID', redir)).toBe(1);
      const updated = await other.contexts.update('i', 1, { data: { n: 1 } }, now + 1);
      expect(await cached.contexts.get('i')).toEqual(updated);
      await untilHit(cached, 'i');
      // Tracking now redirects to the new invalidation connection.
      expect(field(await clientLine(admin, name), 'redir')).not.toBe(redir);
      const again = await other.contexts.update('i', 2, { data: { n: 2 } }, now + 2);
      expect(await cached.contexts.get('i')).toEqual(again);
    } finally {
      await close();
    }
  });

  test('memory stays within maxEntries and maxChars, least recently used out first (fast-check)', async () => {
    const { cached, other, close } = pair({ clientCache: { maxEntries: 4, maxChars: 600 } });
    try {
      const now = Date.now();
      for (let i = 0; i < 8; i++)
        await other.contexts.create(sessionContext(`m${i}`, now, { data: { s: 'x'.repeat(20 * i) } }));
      await untilHit(cached, 'm0');
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 30 }),
          async (reads) => {
            for (const i of reads)
              expect((await cached.contexts.get(`m${i}`))!.data).toEqual({ s: 'x'.repeat(20 * i) });
            const stats = cached.cacheStats()!;
            expect(stats.entries).toBeLessThanOrEqual(4);
            expect(stats.chars).toBeLessThanOrEqual(600);
          },
        ),
        { numRuns: 25 },
      );
      // The one just read stays; with four small ones read after it, the oldest of five goes.
      for (const i of [1, 0, 2, 3, 4]) await cached.contexts.get(`m${i}`);
      const hits = cached.cacheStats()!.hits;
      await cached.contexts.get('m0');
      expect(cached.cacheStats()!.hits).toBe(hits + 1);
      await cached.contexts.get('m1');
      expect(cached.cacheStats()!.hits).toBe(hits + 1);
    } finally {
      await close();
    }
  });

  test('clientCache: false: no tracking, no second connection, no stats', async () => {
    const { cached, other, name, close } = pair({ clientCache: false });
    try {
      const now = Date.now();
      await other.contexts.create(sessionContext('off', now));
      for (let i = 0; i < 5; i++) await cached.contexts.get('off');
      expect(cached.cacheStats()).toBeUndefined();
      const line = await clientLine(admin, name);
      expect(field(line, 'flags')).not.toContain('t');
      expect(field(line, 'redir')).toBe('-1');
    } finally {
      await close();
    }
  });

  test('bad clientCache options are VALIDATION before anything connects', () => {
    for (const bad of [
      { maxEntries: 0 },
      { maxEntries: 1.5 },
      { maxChars: -1 },
      { maxEntries: Number.NaN },
      { other: 1 },
      'yes',
      null,
      [],
    ]) {
      expect(() => createRedisStorage({ url, clientCache: bad as never })).toThrow(
        expect.objectContaining({ code: 'VALIDATION' }),
      );
    }
  });
});
