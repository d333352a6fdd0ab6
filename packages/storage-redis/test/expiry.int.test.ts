import type { Context } from '@convokit/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freshStorage, reportSkip, sessionContext, sleep, url } from './support.js';

reportSkip('expiry.int.test.ts');

/** The contexts here carry values, to check none leaks into the indexes. */
const ctxOf = (id: string, now: number, fields: Partial<Context> = {}): Context =>
  sessionContext(id, now, { data: { secret: 1 }, metadata: { m: true }, ...fields });

describe.skipIf(!url)('native expiry (redis)', () => {
  let ctx: ReturnType<typeof freshStorage>;
  let admin: Redis;
  beforeAll(() => {
    ctx = freshStorage();
    admin = new Redis(url!);
  });
  afterAll(async () => {
    admin.disconnect();
    await ctx.drop();
  });

  test('a key Redis expires leaves no trace in reads; the sweep still reports it for the audit', async () => {
    const { contexts } = ctx.storage;
    const P = ctx.storage.keyPrefix;
    const now = Date.now();
    await contexts.create(ctxOf('short', now, { expiresAt: now + 1500 }));
    await contexts.create(ctxOf('long', now, { expiresAt: now + 600_000 }));
    await contexts.update('short', 1, { data: { secret: 2 }, ownerId: 'owner-2' }, now + 1);
    expect(await admin.pttl(`${P}ctx:short`)).toBeGreaterThan(0);
    expect(await admin.pttl(`${P}ctx:long`)).toBeGreaterThan(100_000);
    // Gone in Redis itself, not only filtered by time.
    for (let i = 0; i < 100 && (await admin.exists(`${P}ctx:short`)) === 1; i++) await sleep(50);
    expect(await admin.exists(`${P}ctx:short`)).toBe(0);
    expect(await contexts.get('short', { now: now + 100 })).toBeUndefined();
    expect((await contexts.list({ sessionId: 'sess-1' }, { now: now + 100 })).items.map((c) => c.id)).toEqual(
      ['long'],
    );
    expect(await contexts.count({ ownerId: 'owner-2' }, { now: now + 100 })).toBe(0);
    // Reads pruned the index entries they walked.
    expect(await admin.zscore(`${P}ix:session:sess-1`, 'short')).toBeNull();
    // Not yet swept: the id stays taken, as for any expired context.
    await expect(contexts.create(ctxOf('short', now))).rejects.toMatchObject({ code: 'CONFLICT' });
    const swept = await contexts.deleteExpired(Date.now());
    expect(swept).toEqual([
      {
        ...ctxOf('short', now, { expiresAt: now + 1500 }),
        ownerId: 'owner-2',
        version: 2,
        updatedAt: now + 1,
        data: {},
        metadata: {},
      },
    ]);
    expect(await admin.zscore(`${P}ix:owner:owner-2`, 'short')).toBeNull();
    expect(await admin.zscore(`${P}ix:all`, 'short')).toBeNull();
    expect(await admin.hexists(`${P}expmeta`, 'short')).toBe(0);
    await contexts.create(ctxOf('short', now));
    expect(await contexts.get('short')).toMatchObject({ id: 'short', version: 1 });
    await contexts.delete('short');
    await contexts.delete('long');
  });

  test('removing expiresAt or sliding it moves the native expiry too', async () => {
    const { contexts } = ctx.storage;
    const P = ctx.storage.keyPrefix;
    const now = Date.now();
    await contexts.create(ctxOf('slide', now, { expiresAt: now + 200 }));
    await contexts.touch('slide', { at: now + 1, expiresAt: now + 600_000 });
    expect(await admin.pttl(`${P}ctx:slide`)).toBeGreaterThan(100_000);
    await contexts.update('slide', 1, { expiresAt: null }, now + 2);
    expect(await admin.pttl(`${P}ctx:slide`)).toBe(-1);
    expect(await admin.zscore(`${P}exp`, 'slide')).toBeNull();
    // An expiry already past by the server's clock is not set natively: the record waits for a sweep.
    await contexts.update('slide', 2, { expiresAt: now - 1000 }, now + 3);
    expect(await admin.pttl(`${P}ctx:slide`)).toBe(-1);
    expect(await contexts.get('slide')).toBeUndefined();
    expect((await contexts.deleteExpired(now)).map((c) => [c.id, c.data])).toEqual([
      ['slide', { secret: 1 }],
    ]);
  });
});
