import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, test } from 'vitest';
import { createRedisStorage } from '../src/index.js';
import { deleteKeys, freshPrefix, reportSkip, url } from './support.js';

reportSkip('faults.int.test.ts');

const prefixes: string[] = [];

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
});
