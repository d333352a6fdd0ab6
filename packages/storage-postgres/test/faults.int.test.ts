import { randomBytes } from 'node:crypto';
import net from 'node:net';
import postgres from 'postgres';
import { afterAll, describe, expect, test } from 'vitest';
import { createPostgresStorage } from '../src/index.js';
import { dropSchema, freshSchema, reportSkip, url } from './support.js';

reportSkip('faults.int.test.ts');

/** A TCP proxy to the real server that can be taken down and brought back on the same port. */
async function proxyTo(target: URL) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const start = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 5432), target.hostname);
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

const schemas: string[] = [];

describe.skipIf(!url)('faults (postgres)', () => {
  afterAll(async () => {
    for (const s of schemas) await dropSchema(s);
  });

  test('a closed port gives STORAGE naming the host, at once', async () => {
    const storage = createPostgresStorage({
      url: 'postgres://postgres@127.0.0.1:1/test',
      pool: { connectTimeoutMs: 1000 },
    });
    const started = Date.now();
    const error = await storage.contexts.get('x').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORAGE', details: { host: '127.0.0.1', port: 1 } });
    expect((error as Error).message).toContain('127.0.0.1:1');
    expect(Date.now() - started).toBeLessThan(3000);
    await storage.close();
    await expect(storage.contexts.get('x')).rejects.toMatchObject({
      code: 'STORAGE',
      details: { reason: 'closed' },
    });
  });

  test('a server that accepts but never answers times out within connectTimeoutMs', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    const storage = createPostgresStorage({
      url: `postgres://postgres@127.0.0.1:${port}/test`,
      pool: { connectTimeoutMs: 500 },
    });
    const started = Date.now();
    const error = await storage.turns.count().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STORAGE', details: { host: '127.0.0.1', port } });
    expect(Date.now() - started).toBeLessThan(2500);
    await storage.close();
    silent.close();
  });

  test('a terminated backend costs nothing; the next call works', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const app = `convokit_fault_${randomBytes(4).toString('hex')}`;
    const storage = createPostgresStorage({
      url,
      schema,
      pool: { max: 1 },
      connection: { connection: { application_name: app } },
    });
    const admin = postgres(url!, { max: 1, onnotice: () => {} });
    try {
      expect(await storage.contexts.count()).toBe(0);
      const killed = await admin.unsafe(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1`,
        [app],
      );
      expect(killed.length).toBe(1);
      expect(await storage.contexts.count()).toBe(0);
      await storage.contexts.create({
        id: 'after',
        scope: 'global',
        data: {},
        metadata: {},
        version: 1,
        createdAt: 1,
        updatedAt: 1,
        accessCount: 0,
        lastAccessedAt: 1,
      });
      expect(await storage.contexts.get('after', { now: 2 })).toMatchObject({ id: 'after' });
    } finally {
      await admin.end({ timeout: 5 });
      await storage.close();
    }
  });

  test('server gone: STORAGE naming it; server back: calls work again', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const proxy = await proxyTo(new URL(url!));
    const target = new URL(url!);
    target.hostname = '127.0.0.1';
    target.port = String(proxy.port());
    const storage = createPostgresStorage({
      url: target.toString(),
      schema,
      pool: { max: 2, connectTimeoutMs: 1000 },
    });
    try {
      expect(await storage.turns.count()).toBe(0);
      await proxy.stop();
      const started = Date.now();
      const error = await storage.turns.count().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'STORAGE', details: { host: '127.0.0.1', port: proxy.port() } });
      expect(Date.now() - started).toBeLessThan(3000);
      await proxy.start();
      expect(await storage.turns.count()).toBe(0);
    } finally {
      await storage.close();
      await proxy.stop().catch(() => {});
    }
  });
});
