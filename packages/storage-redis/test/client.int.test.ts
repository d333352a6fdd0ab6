import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AdapterRedis } from '../src/client.js';
import { reportSkip, sleep, url } from './support.js';

reportSkip('deadline.int.test.ts');

describe('AdapterRedis against a server that never answers', () => {
  let silent: net.Server;
  let port = 0;
  const sockets = new Set<net.Socket>();
  beforeAll(async () => {
    silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    port = (silent.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  });

  test('each command fails after its own deadline, not before, within one sweep interval after', async () => {
    // 300 ms: the sweep runs every 30 ms.
    const redis = new AdapterRedis(
      `redis://127.0.0.1:${port}`,
      { lazyConnect: true, maxRetriesPerRequest: 1 },
      300,
    );
    redis.on('error', () => {});
    try {
      const started = performance.now();
      const settled = (p: Promise<unknown>) =>
        p.then(
          () => ({ error: undefined, at: performance.now() - started }),
          (error: Error) => ({ error, at: performance.now() - started }),
        );
      const first = settled(redis.get('a'));
      await sleep(120);
      const second = settled(redis.get('b'));
      const [a, b] = await Promise.all([first, second]);
      expect(a.error?.message).toBe('Command timed out');
      expect(b.error?.message).toBe('Command timed out');
      // Timer granularity allows a millisecond early; a loaded machine some lateness.
      expect(a.at).toBeGreaterThanOrEqual(299);
      expect(b.at).toBeGreaterThanOrEqual(120 + 299);
      expect(a.at).toBeLessThan(300 + 30 + 400);
      expect(b.at).toBeLessThan(420 + 30 + 400);
    } finally {
      redis.disconnect();
    }
  });
});

describe.skipIf(!url)('AdapterRedis against Redis', () => {
  test('answered commands are released as new ones are sent; nothing pending once idle', async () => {
    const redis = new AdapterRedis(url, { maxRetriesPerRequest: 1 }, 5_000);
    try {
      for (let i = 0; i < 2_000; i++) await redis.ping();
      // Only the last command can still be held (it is dropped when the next one is sent or
      // swept); the connection's setup commands Redis refused (CLIENT SETINFO before 7.2) too.
      expect(redis.pendingCount).toBeLessThanOrEqual(1);
      await expect(redis.hget('not-a-hash-in-any-test', 'f')).resolves.toBeNull();
      await expect(redis.call('NO-SUCH-COMMAND')).rejects.toThrow();
      await redis.ping();
      expect(redis.pendingCount).toBeLessThanOrEqual(1);
      const replies = await Promise.all(Array.from({ length: 64 }, () => redis.ping()));
      expect(replies).toEqual(Array(64).fill('PONG'));
      await sleep(250);
      expect(redis.pendingCount).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});

describe.skipIf(!url)('AdapterRedis write batching', () => {
  test('commands sent in one tick leave in one corked write, and every caller gets its own reply', async () => {
    const redis = new AdapterRedis(url, { maxRetriesPerRequest: 1 }, 5_000);
    const prefix = `ck-test:batch:${process.pid}:`;
    try {
      await redis.ping();
      const first = redis.ping();
      // The socket stays corked until the end of the tick, collecting this tick's commands.
      expect(redis.stream.writableCorked).toBe(1);
      const more = Array.from({ length: 300 }, (_, i) => redis.set(`${prefix}${i}`, `v${i}`));
      expect(redis.stream.writableCorked).toBe(1);
      await Promise.all([first, ...more]);
      expect(redis.stream.writableCorked).toBe(0);
      // Many callers at once, each awaiting its own reads: replies match their commands.
      const got = await Promise.all(
        Array.from({ length: 300 }, async (_, i) => [
          await redis.get(`${prefix}${i}`),
          await redis.strlen(`${prefix}${i}`),
        ]),
      );
      expect(got).toEqual(Array.from({ length: 300 }, (_, i) => [`v${i}`, `v${i}`.length]));
    } finally {
      await redis.del(...Array.from({ length: 300 }, (_, i) => `${prefix}${i}`));
      redis.disconnect();
    }
  });

  test('without a timeout nothing is tracked and commands still work', async () => {
    const redis = new AdapterRedis(url, { maxRetriesPerRequest: 1 }, undefined);
    try {
      const replies = await Promise.all(Array.from({ length: 20 }, () => redis.ping()));
      expect(replies).toEqual(Array(20).fill('PONG'));
      expect(redis.pendingCount).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});
