import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, test } from 'vitest';
import { createRedisStorage } from '../src/index.js';
import { deleteKeys, freshPrefix, reportSkip, url } from './support.js';

reportSkip('faults.int.test.ts');

const prefixes: string[] = [];

/** A TCP proxy to the real server that can be taken down and brought back on the same port. */
async function proxyTo(target: URL) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const start = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 6379), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as net.AddressInfo).port;
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server!.close(() => resolve());
    });
  await start();
  return { port: () => port, start, stop };
}

describe.skipIf(!url)('faults (redis)', () => {
  afterAll(async () => {
    for (const p of prefixes) await deleteKeys(p);
  });

  test('a closed port gives STORAGE naming the host, within the timeout', async () => {
    const storage = createRedisStorage({
      url: 'redis://127.0.0.1:1',
      connectTimeoutMs: 500,
      commandTimeoutMs: 500,
    });
    const started = Date.now();
    const error = await storage.contexts.get('x').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORAGE', details: { host: '127.0.0.1', port: 1 } });
    expect((error as Error).message).toContain('127.0.0.1:1');
    expect(Date.now() - started).toBeLessThan(2500);
    await storage.close();
    await expect(storage.contexts.get('x')).rejects.toMatchObject({
      code: 'STORAGE',
      details: { reason: 'closed' },
    });
  });

  test('a server that accepts but never answers gives STORAGE within the timeout', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    const storage = createRedisStorage({
      url: `redis://127.0.0.1:${port}`,
      connectTimeoutMs: 300,
      commandTimeoutMs: 300,
    });
    const started = Date.now();
    const error = await storage.contexts.count().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORAGE', details: { port } });
    expect(Date.now() - started).toBeLessThan(2500);
    await storage.close();
    silent.close();
  });

  test('a one-command call (get, update) to a server that never answers fails with STORAGE after the command timeout', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    const storage = createRedisStorage({
      url: `redis://127.0.0.1:${port}`,
      connectTimeoutMs: 300,
      commandTimeoutMs: 300,
    });
    try {
      for (const call of [() => storage.contexts.get('x'), () => storage.contexts.update('x', 1, {}, 1)]) {
        const started = Date.now();
        const error = await call().catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'STORAGE', details: { port } });
        expect((error as Error).message).toContain('timed out');
        expect(Date.now() - started).toBeGreaterThanOrEqual(299);
        expect(Date.now() - started).toBeLessThan(2500);
      }
    } finally {
      await storage.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  test('CLIENT KILL: the next call works on a new connection', async () => {
    const keyPrefix = freshPrefix();
    prefixes.push(keyPrefix);
    const name = `convokit-fault-${randomBytes(4).toString('hex')}`;
    const storage = createRedisStorage({ url, keyPrefix, redis: { connectionName: name } });
    const admin = new Redis(url!);
    try {
      const now = Date.now();
      await storage.contexts.create({
        id: 'k',
        scope: 'global',
        data: {},
        metadata: {},
        version: 1,
        createdAt: now,
        updatedAt: now,
        accessCount: 0,
        lastAccessedAt: now,
      });
      const clients = (await admin.client('LIST')) as string;
      const line = clients.split('\n').find((l) => l.includes(`name=${name}`));
      const id = /id=(\d+)/.exec(line!)![1]!;
      expect(await admin.client('KILL', 'ID', id)).toBe(1);
      expect(await storage.contexts.get('k')).toMatchObject({ id: 'k' });
      expect((await storage.contexts.update('k', 1, { data: { after: true } }, now + 1)).version).toBe(2);
    } finally {
      admin.disconnect();
      await storage.close();
    }
  });

  test('server gone: STORAGE naming it within the timeout; server back: calls work again', async () => {
    const keyPrefix = freshPrefix();
    prefixes.push(keyPrefix);
    const proxy = await proxyTo(new URL(url!));
    const storage = createRedisStorage({
      url: `redis://127.0.0.1:${proxy.port()}`,
      keyPrefix,
      connectTimeoutMs: 500,
      commandTimeoutMs: 500,
    });
    try {
      expect(await storage.contexts.count()).toBe(0);
      await proxy.stop();
      const started = Date.now();
      const error = await storage.contexts.count().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'STORAGE', details: { host: '127.0.0.1', port: proxy.port() } });
      expect(Date.now() - started).toBeLessThan(2500);
      await proxy.start();
      let recovered: unknown;
      // ioredis reconnects on its own schedule (backoff up to 2 s): poll until it has.
      for (let i = 0; i < 40; i++) {
        recovered = await storage.contexts.count().catch((e: unknown) => e);
        if (recovered === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(recovered).toBe(0);
    } finally {
      await storage.close();
      await proxy.stop().catch(() => {});
    }
  });
});
