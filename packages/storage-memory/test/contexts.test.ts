import { ConvokitError, createManualClock } from '@convokit/core';
import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../src/index.js';
import { context } from './helpers.js';

describe('contexts', () => {
  it('get honours expiry against options.now, else the clock, even before a sweep', async () => {
    const clock = createManualClock(1_000);
    const s = createMemoryStorage({ clock });
    await s.contexts.create(context({ id: 'c1', expiresAt: 2_000 }));
    expect(await s.contexts.get('c1')).toBeDefined();
    expect(await s.contexts.get('c1', { now: 1_999 })).toBeDefined();
    expect(await s.contexts.get('c1', { now: 2_000 })).toBeUndefined();
    clock.set(2_000);
    expect(await s.contexts.get('c1')).toBeUndefined();
    expect(await s.contexts.count()).toBe(0);
    // Still there until swept: create with the same id conflicts.
    await expect(s.contexts.create(context({ id: 'c1' }))).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('update is compare-and-set on version; NOT_FOUND for missing or expired', async () => {
    const s = createMemoryStorage({ clock: createManualClock(1_000) });
    await s.contexts.create(
      context({ id: 'c1', ownerId: 'o1', parentId: 'p', expiresAt: 9_000, data: { a: 1 } }),
    );
    const v2 = await s.contexts.update('c1', 1, { data: { a: 2 }, parentId: null, ownerId: 'o2' }, 1_500);
    expect(v2).toMatchObject({
      version: 2,
      updatedAt: 1_500,
      createdAt: 1_000,
      data: { a: 2 },
      ownerId: 'o2',
    });
    expect(v2).not.toHaveProperty('parentId');
    const stale = await s.contexts.update('c1', 1, { data: {} }, 1_600).catch((e: unknown) => e);
    expect(ConvokitError.is(stale, 'CONFLICT')).toBe(true);
    expect((stale as ConvokitError).details.actualVersion).toBe(2);
    const v3 = await s.contexts.update('c1', 2, { expiresAt: null }, 1_700);
    expect(v3).not.toHaveProperty('expiresAt');
    expect(v3.data).toEqual({ a: 2 });
    await expect(s.contexts.update('nope', 1, {}, 1_800)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await s.contexts.create(context({ id: 'c2', expiresAt: 2_000 }));
    await expect(s.contexts.update('c2', 1, {}, 2_000)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Indexes follow changed owner and parent.
    expect(await s.contexts.count({ ownerId: 'o1' })).toBe(0);
    expect(await s.contexts.count({ ownerId: 'o2' })).toBe(1);
    expect(await s.contexts.count({ parentId: 'p' })).toBe(0);
  });

  it('concurrent updaters with the same expected version: exactly one wins', async () => {
    const s = createMemoryStorage();
    await s.contexts.create(context({ id: 'c1' }));
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => s.contexts.update('c1', 1, { data: { i } }, 2_000)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await s.contexts.get('c1', { now: 2_000 }))!.version).toBe(2);
  });

  it('touch counts the access and slides expiry without changing version or updatedAt', async () => {
    const s = createMemoryStorage();
    await s.contexts.create(context({ id: 'c1', expiresAt: 2_000 }));
    await s.contexts.touch('c1', { at: 1_500, expiresAt: 3_000 });
    const c = (await s.contexts.get('c1', { now: 2_500 }))!;
    expect(c).toMatchObject({
      accessCount: 1,
      lastAccessedAt: 1_500,
      expiresAt: 3_000,
      version: 1,
      updatedAt: 1_000,
    });
    await s.contexts.touch('c1', { at: 3_000 }); // expired by then: ignored
    await s.contexts.touch('missing', { at: 1 });
    expect((await s.contexts.get('c1', { now: 2_500 }))!.accessCount).toBe(1);
    // The sweep follows the moved expiry, not the old one.
    expect(await s.contexts.deleteExpired(2_500)).toEqual([]);
    expect((await s.contexts.deleteExpired(3_000)).map((x) => x.id)).toEqual(['c1']);
  });

  it('delete: live only, optional expected version', async () => {
    const s = createMemoryStorage({ clock: createManualClock(1_000) });
    await s.contexts.create(context({ id: 'c1' }));
    await s.contexts.create(context({ id: 'c2', expiresAt: 1_000 }));
    await expect(s.contexts.delete('c1', { expectedVersion: 2 })).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { actualVersion: 1 },
    });
    expect(await s.contexts.delete('c1', { expectedVersion: 1 })).toBe(true);
    expect(await s.contexts.delete('c1')).toBe(false);
    expect(await s.contexts.delete('c2')).toBe(false);
  });

  it('list: filters by each field, ordered by (createdAt, id), keyset pages, cursor bound to its filter', async () => {
    const s = createMemoryStorage({ clock: createManualClock(0) });
    for (let i = 0; i < 12; i++) {
      await s.contexts.create(
        context({
          id: `c${String(i).padStart(2, '0')}`,
          scope: i % 2 ? 'analytics' : 'session',
          ownerId: `o${i % 3}`,
          sessionId: `s${i % 4}`,
          persona: i < 6 ? 'analyst' : undefined,
          parentId: i > 0 ? 'c00' : undefined,
          createdAt: 100 - (i % 5), // out of id order on purpose
          expiresAt: i === 11 ? 50 : undefined,
        }),
      );
    }
    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await s.contexts.list({ scope: 'analytics' }, { limit: 2, cursor, now: 60 });
      all.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    // analytics: c01 (99), c03 (97), c05 (100), c07 (98), c09 (96), c11 expired
    expect(all).toEqual(['c09', 'c03', 'c07', 'c01', 'c05']);
    expect(await s.contexts.count({ ownerId: 'o0', scope: 'session' }, { now: 60 })).toBe(2); // c00, c06
    expect(await s.contexts.count({ persona: 'analyst', sessionId: 's1' }, { now: 60 })).toBe(2); // c01, c05
    expect(await s.contexts.count({ parentId: 'c00' }, { now: 10 })).toBe(11);
    expect(await s.contexts.count({ parentId: 'c00' }, { now: 60 })).toBe(10);
    const first = await s.contexts.list({ scope: 'analytics' }, { limit: 2, now: 60 });
    await expect(
      s.contexts.list({ scope: 'session' }, { cursor: first.nextCursor!, now: 60 }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    });
  });

  it('deleteExpired removes exactly the expired ones, oldest expiry first, up to limit', async () => {
    const s = createMemoryStorage();
    const expiries = [500, 300, undefined, 300, 900, 100];
    for (const [i, expiresAt] of expiries.entries())
      await s.contexts.create(context({ id: `c${i}`, expiresAt }));
    const first = await s.contexts.deleteExpired(500, { limit: 2 });
    expect(first.map((c) => c.id)).toEqual(['c5', 'c1']);
    const rest = await s.contexts.deleteExpired(500);
    expect(rest.map((c) => c.id)).toEqual(['c3', 'c0']);
    expect(await s.contexts.deleteExpired(500)).toEqual([]);
    expect((await s.contexts.list({}, { now: 0 })).items.map((c) => c.id)).toEqual(['c2', 'c4']);
  });

  it('sliding expiry does not let stale sweep entries pile up or resurface', async () => {
    const s = createMemoryStorage();
    await s.contexts.create(context({ id: 'c1', expiresAt: 10 }));
    for (let at = 1; at <= 5_000; at++) await s.contexts.touch('c1', { at, expiresAt: at + 10 });
    expect(await s.contexts.deleteExpired(5_009)).toEqual([]);
    const swept = await s.contexts.deleteExpired(5_010);
    expect(swept.map((c) => [c.id, c.accessCount])).toEqual([['c1', 5_000]]);
  });
});
