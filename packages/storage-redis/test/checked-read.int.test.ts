import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { createChatContextManager } from '@convokit/context-manager';
import { createManualClock } from '@convokit/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRedisStorage, type RedisStorage } from '../src/index.js';
import { deleteKeys, freshPrefix, reportSkip, sessionContext, sleep, url } from './support.js';

reportSkip('checked-read.int.test.ts');

/**
 * A TCP proxy in front of Redis that can hold back what Redis sends to the subscribed connection
 * (the cache's invalidation connection: the one that sent SUBSCRIBE), so a test decides when
 * invalidations, and the answers to the PINGs hits wait for, arrive.
 */
async function holdingProxy(target: URL) {
  const subs = new Set<{ client: Socket; held: Buffer[] }>();
  const sockets = new Set<Socket>();
  let holding = false;
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(Number(target.port || 6379), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const link = { client, held: [] as Buffer[] };
    let sub = false;
    client.on('data', (chunk: Buffer) => {
      if (!sub && chunk.toString('latin1').toLowerCase().includes('subscribe')) {
        sub = true;
        subs.add(link);
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (sub && holding) link.held.push(chunk);
      else client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      subs.delete(link);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: `redis://127.0.0.1:${address.port}`,
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const link of subs) for (const chunk of link.held.splice(0)) link.client.write(chunk);
    },
    /** Invalidation-connection bytes held back so far. */
    heldBytes() {
      let n = 0;
      for (const link of subs) for (const chunk of link.held) n += chunk.length;
      return n;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

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

/** Until the proxy holds back at least one more chunk of the invalidation connection's input. */
async function untilHeld(proxy: { heldBytes(): number }, before: number): Promise<void> {
  for (let i = 0; i < 400 && proxy.heldBytes() <= before; i++) await sleep(5);
  if (proxy.heldBytes() <= before) throw new Error('no invalidation reached the proxy');
}

describe.skipIf(!url)('reads the caller checks by version (versionChecked)', () => {
  let proxy: Awaited<ReturnType<typeof holdingProxy>>;
  const prefixes: string[] = [];
  const stores: RedisStorage[] = [];
  beforeAll(async () => {
    proxy = await holdingProxy(new URL(url!));
  });
  afterAll(async () => {
    proxy?.release();
    for (const s of stores) await s.close();
    await proxy?.close();
    for (const p of prefixes) await deleteKeys(p);
  });

  /** A cached store behind the proxy and another client straight on Redis, on one new prefix. */
  function pair() {
    const keyPrefix = freshPrefix();
    prefixes.push(keyPrefix);
    const cached = createRedisStorage({ url: proxy.url, keyPrefix });
    const other = createRedisStorage({ url, keyPrefix, clientCache: false });
    stores.push(cached, other);
    return { cached, other };
  }

  test('a checked read answers the cached copy without waiting; the compare-and-set catches it', async () => {
    const { cached, other } = pair();
    const now = Date.now();
    await other.contexts.create(sessionContext('c', now));
    await untilHit(cached, 'c');
    const held = proxy.heldBytes();
    proxy.hold();
    try {
      const updated = await other.contexts.update('c', 1, { data: { n: 1 } }, now + 1);
      await untilHeld(proxy, held);
      // The invalidation is held back: the copy is stale, and a checked read answers it at once.
      const before = cached.cacheStats()!;
      const copy = await cached.contexts.get('c', { now: now + 2, versionChecked: true });
      expect(copy).toMatchObject({ version: 1, data: { n: 0 } });
      expect(cached.cacheStats()!.uncheckedHits).toBe(before.uncheckedHits + 1);
      await expect(cached.contexts.update('c', 1, { data: { n: 2 } }, now + 2)).rejects.toMatchObject({
        code: 'CONFLICT',
        details: { expectedVersion: 1, actualVersion: 2 },
      });
      // The failed write dropped the entry: the next read asks Redis (no PING to wait for).
      expect(await cached.contexts.get('c', { now: now + 2 })).toEqual(updated);
    } finally {
      proxy.release();
    }
  });

  test("what this client's update wrote is kept, and another client's later write still reaches it", async () => {
    const { cached, other } = pair();
    const now = Date.now();
    await other.contexts.create(sessionContext('u', now));
    await untilHit(cached, 'u');
    for (let v = 1; v <= 20; v++) {
      const mine = await cached.contexts.update('u', v * 2 - 1, { data: { mine: v } }, now + v);
      const before = cached.cacheStats()!;
      expect(await cached.contexts.get('u')).toEqual(mine);
      expect(cached.cacheStats()!.hits).toBe(before.hits + 1);
      // Another client writes: the next get sees it, though the entry came from this client's write.
      const theirs = await other.contexts.update('u', v * 2, { data: { theirs: v } }, now + v);
      expect(await cached.contexts.get('u')).toEqual(theirs);
    }
    // A touch by another client changes no version: still seen.
    await other.contexts.update('u', 41, { data: { last: true } }, now + 50);
    await cached.contexts.update('u', 42, { data: { mine: 'last' } }, now + 51);
    await other.contexts.touch('u', { at: now + 52 });
    await other.contexts.count();
    expect(await cached.contexts.get('u')).toMatchObject({
      version: 43,
      accessCount: 1,
      lastAccessedAt: now + 52,
    });
  });

  test("another client's touch racing this client's update is never hidden by the entry the update keeps", async () => {
    const { cached, other } = pair();
    const now = Date.now();
    await other.contexts.create(sessionContext('t', now));
    await untilHit(cached, 't');
    let version = 1;
    for (let i = 1; i <= 200; i++) {
      // Sent together: the touch lands before the update or after its check (Redis runs one
      // client's commands that arrive together in one go, so rarely between the two).
      const [mine] = await Promise.all([
        cached.contexts.update('t', version, { data: { i } }, now + i),
        other.contexts.touch('t', { at: now + i }).then(() => other.contexts.count()),
      ]);
      version = mine.version;
      expect(await cached.contexts.get('t')).toEqual(await other.contexts.get('t'));
    }
    expect((await other.contexts.get('t'))!.accessCount).toBe(200);
  });

  test('the manager: an update after an update of the same context reads the cached copy, one round trip', async () => {
    const { cached, other } = pair();
    const clock = createManualClock(Date.now());
    const m = createChatContextManager({ storage: cached, clock, sweepIntervalMs: 0 });
    const alice = m.as({ id: 'owner-1' });
    try {
      await other.contexts.create(sessionContext('r', clock.now(), { data: {} }));
      await untilHit(cached, 'r');
      for (let i = 0; i < 10; i++) await alice.update('r', { [`k${i}`]: i });
      const stats = cached.cacheStats()!;
      expect(stats.uncheckedHits).toBe(10);
      expect(m.getMetrics().counters.retries).toBeUndefined();
      expect((await other.contexts.get('r'))!.data).toEqual(
        Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, i])),
      );
    } finally {
      await m.close();
    }
  });

  test('a checked read of a context expired by its copy asks Redis', async () => {
    const { cached, other } = pair();
    const now = Date.now();
    await other.contexts.create(sessionContext('e', now, { expiresAt: now + 60_000 }));
    await untilHit(cached, 'e');
    const before = cached.cacheStats()!;
    expect(await cached.contexts.get('e', { now: now + 60_000, versionChecked: true })).toBeUndefined();
    expect(cached.cacheStats()!.uncheckedHits).toBe(before.uncheckedHits);
  });

  test('the manager: another client writes between the cached read and the compare-and-set; the retry reads fresh and nothing is lost', async () => {
    const { cached, other } = pair();
    const clock = createManualClock(Date.now());
    const m = createChatContextManager({ storage: cached, clock, sweepIntervalMs: 0 });
    const alice = m.as({ id: 'owner-1' });
    try {
      await other.contexts.create(sessionContext('m', clock.now(), { data: { a: 1 } }));
      await untilHit(cached, 'm');
      const held = proxy.heldBytes();
      proxy.hold();
      try {
        await other.contexts.update('m', 1, { data: { a: 1, b: 2 } }, clock.now());
        await untilHeld(proxy, held);
        const before = cached.cacheStats()!;
        const updated = await alice.update('m', { c: 3 }, { strategy: 'shallow' });
        expect(updated).toMatchObject({ version: 3, data: { a: 1, b: 2, c: 3 } });
        expect(cached.cacheStats()!.uncheckedHits).toBe(before.uncheckedHits + 1);
        expect(m.getMetrics().counters.retries).toBe(1);
        expect(m.getMetrics().counters.conflicts).toBeUndefined();
      } finally {
        proxy.release();
      }
      expect(await other.contexts.get('m')).toMatchObject({ version: 3, data: { a: 1, b: 2, c: 3 } });
    } finally {
      await m.close();
    }
  });

  test('the manager with expectedVersion: the current version wins over an older copy; a deleted context is NOT_FOUND', async () => {
    const { cached, other } = pair();
    const clock = createManualClock(Date.now());
    const m = createChatContextManager({ storage: cached, clock, sweepIntervalMs: 0 });
    const alice = m.as({ id: 'owner-1' });
    try {
      await other.contexts.create(sessionContext('v', clock.now()));
      await other.contexts.create(sessionContext('d', clock.now()));
      await untilHit(cached, 'v');
      await untilHit(cached, 'd');
      const held = proxy.heldBytes();
      proxy.hold();
      try {
        await other.contexts.update('v', 1, { data: { n: 1 } }, clock.now());
        await untilHeld(proxy, held);
        // The copy of v is at version 1: the manager reads again, which waits for the PING and
        // with it the invalidation (released a moment later).
        const later = setTimeout(() => proxy.release(), 50);
        try {
          expect(await alice.update('v', { m: 1 }, { expectedVersion: 2 })).toMatchObject({
            version: 3,
            data: { n: 1, m: 1 },
          });
        } finally {
          clearTimeout(later);
        }
        proxy.hold();
        const heldAgain = proxy.heldBytes();
        expect(await other.contexts.delete('d')).toBe(true);
        await untilHeld(proxy, heldAgain);
        // The copy of d is live: the compare-and-set answers NOT_FOUND, and so does the fresh read.
        const before = cached.cacheStats()!;
        await expect(alice.update('d', { m: 1 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
        expect(cached.cacheStats()!.uncheckedHits).toBe(before.uncheckedHits + 1);
      } finally {
        proxy.release();
      }
      expect(m.getMetrics().counters.conflicts).toBeUndefined();
      expect(await other.contexts.get('d')).toBeUndefined();
      expect((await m.audit({ action: 'update' })).items.map((e) => e.contextId)).toEqual(['v']);
    } finally {
      await m.close();
    }
  });
});
