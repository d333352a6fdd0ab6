import { type Context, createManualClock } from '@convokit/core';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { freshStorage, reportSkip, url } from './support.js';

reportSkip('contexts.int.test.ts');

const T0 = Date.UTC(2026, 2, 2, 12);
const clock = createManualClock(T0);

function ctxOf(id: string, fields: Partial<Context> = {}): Context {
  return {
    id,
    scope: 'session',
    data: { chart: { type: 'bar' } },
    metadata: {},
    version: 1,
    createdAt: clock.now(),
    updatedAt: clock.now(),
    accessCount: 0,
    lastAccessedAt: clock.now(),
    ...fields,
  };
}

describe.skipIf(!url)('contexts and audit (postgres)', () => {
  let ctx: ReturnType<typeof freshStorage>;
  beforeAll(() => {
    ctx = freshStorage({ clock });
  });
  afterAll(() => ctx.drop());
  beforeEach(async () => {
    clock.set(T0);
    await ctx.storage.contexts.deleteExpired(8.64e15);
    for (const c of (await ctx.storage.contexts.list({}, { limit: 1000 })).items)
      await ctx.storage.contexts.delete(c.id);
  });

  test('versioned update: CONFLICT names the version, NOT_FOUND when missing or expired', async () => {
    const { contexts } = ctx.storage;
    await contexts.create(ctxOf('a', { expiresAt: T0 + 1000, parentId: 'p' }));
    await expect(contexts.create(ctxOf('a'))).rejects.toMatchObject({ code: 'CONFLICT' });
    const v2 = await contexts.update(
      'a',
      1,
      { data: { x: 1 }, parentId: null, expiresAt: T0 + 2000 },
      T0 + 5,
    );
    expect(v2).toEqual({
      ...ctxOf('a'),
      data: { x: 1 },
      version: 2,
      updatedAt: T0 + 5,
      expiresAt: T0 + 2000,
    });
    await expect(contexts.update('a', 1, { data: {} }, T0 + 6)).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { actualVersion: 2 },
    });
    await expect(contexts.update('nope', 1, { data: {} }, T0)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(contexts.update('a', 2, { data: {} }, T0 + 2000)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    // Expired but not swept: still blocks its id.
    await expect(contexts.create(ctxOf('a'))).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(contexts.update('a', 2, { version: 9 } as never, T0)).rejects.toMatchObject({
      code: 'VALIDATION',
    });
  });

  test('expiry is judged at the injected clock or the given now, and swept oldest first', async () => {
    const { contexts } = ctx.storage;
    await contexts.create(ctxOf('late', { expiresAt: T0 + 300 }));
    await contexts.create(ctxOf('early', { expiresAt: T0 + 100 }));
    await contexts.create(ctxOf('never'));
    expect(await contexts.count()).toBe(3);
    clock.set(T0 + 100);
    expect(await contexts.get('early')).toBeUndefined();
    expect(await contexts.get('early', { now: T0 + 99 })).toMatchObject({ id: 'early' });
    expect(await contexts.count()).toBe(2);
    expect(await contexts.delete('early')).toBe(false);
    await contexts.touch('late', { at: T0 + 150, expiresAt: T0 + 400 });
    await contexts.touch('early', { at: T0 + 150 });
    expect(await contexts.get('late')).toMatchObject({
      accessCount: 1,
      lastAccessedAt: T0 + 150,
      expiresAt: T0 + 400,
      version: 1,
    });
    const swept = await contexts.deleteExpired(T0 + 1000, { limit: 1 });
    expect(swept.map((c) => c.id)).toEqual(['early']);
    expect(swept[0]!.accessCount).toBe(0);
    expect((await contexts.deleteExpired(T0 + 1000)).map((c) => c.id)).toEqual(['late']);
    expect(await contexts.deleteExpired(T0 + 1000)).toEqual([]);
  });

  test('list by each index, keyset pages, delete with expected version', async () => {
    const { contexts } = ctx.storage;
    for (let i = 0; i < 5; i++) {
      await contexts.create(
        ctxOf(`c${i}`, { ownerId: i % 2 ? 'odd' : 'even', persona: 'p', createdAt: T0 + (i % 2) }),
      );
    }
    const even = await contexts.list({ ownerId: 'even', persona: 'p' }, { limit: 2 });
    expect(even.items.map((c) => c.id)).toEqual(['c0', 'c2']);
    const rest = await contexts.list(
      { ownerId: 'even', persona: 'p' },
      { limit: 2, cursor: even.nextCursor! },
    );
    expect(rest).toEqual({ items: [expect.objectContaining({ id: 'c4' })], nextCursor: null });
    expect((await contexts.list({}, { limit: 10 })).items.map((c) => c.id)).toEqual([
      'c0',
      'c2',
      'c4',
      'c1',
      'c3',
    ]);
    expect(await contexts.count({ ownerId: 'odd' })).toBe(2);
    await expect(contexts.delete('c1', { expectedVersion: 3 })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await contexts.delete('c1', { expectedVersion: 1 })).toBe(true);
    expect(await contexts.delete('c1')).toBe(false);
  });

  test('audit: append all or none, newest first, filters and pages', async () => {
    const { audit } = ctx.storage;
    const ev = (id: string, at: number, action: 'create' | 'read' = 'create') => ({
      id,
      at,
      principal: 'u1',
      action,
      contextId: 'c',
      scope: 'session' as const,
      outcome: 'ok' as const,
      changedKeys: action === 'create' ? ['chart'] : [],
    });
    await audit.append([ev('e1', T0), ev('e2', T0 + 1, 'read'), ev('e3', T0 + 1)]);
    await expect(audit.append([ev('e4', T0), ev('e1', T0)])).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(audit.append([ev('e5', T0), ev('e5', T0)])).rejects.toMatchObject({ code: 'VALIDATION' });
    const page = await audit.list({}, { limit: 2 });
    expect(page.items.map((e) => e.id)).toEqual(['e3', 'e2']);
    const next = await audit.list({}, { limit: 2, cursor: page.nextCursor! });
    expect(next).toEqual({ items: [ev('e1', T0)], nextCursor: null });
    expect((await audit.list({ action: 'create', from: T0 + 1 })).items.map((e) => e.id)).toEqual(['e3']);
  });
  test('gets issued together are answered by one statement, each as if alone', async () => {
    const { contexts } = ctx.storage;
    await contexts.create(ctxOf('g1'));
    await contexts.create(ctxOf('g2', { expiresAt: T0 + 100 }));
    await contexts.create(ctxOf('g3', { ownerId: 'o3', data: { n: 3 } }));
    // Same tick: one batch. g2 is live at T0 but expired at T0 + 100; g1 asked twice.
    const got = await Promise.all([
      contexts.get('g1'),
      contexts.get('missing'),
      contexts.get('g2'),
      contexts.get('g2', { now: T0 + 100 }),
      contexts.get('g3'),
      contexts.get('g1'),
    ]);
    expect(got).toEqual([
      ctxOf('g1'),
      undefined,
      ctxOf('g2', { expiresAt: T0 + 100 }),
      undefined,
      ctxOf('g3', { ownerId: 'o3', data: { n: 3 } }),
      ctxOf('g1'),
    ]);
    // Two calls for one id get their own objects.
    expect(got[0]).not.toBe(got[5]);
    // A read issued after a write sees it, batched or not.
    const [, after] = await Promise.all([
      contexts.update('g1', 1, { data: { v: 2 } }, T0 + 1),
      contexts.get('g1').then(() => contexts.get('g1')),
    ]);
    expect(after?.version).toBe(2);
    // A bad option fails that call alone, before anything is sent.
    const mixed = await Promise.allSettled([contexts.get('g3'), contexts.get('g3', { now: -1 } as never)]);
    expect(mixed[0]).toMatchObject({ status: 'fulfilled', value: { id: 'g3' } });
    expect(mixed[1]).toMatchObject({ status: 'rejected', reason: { code: 'VALIDATION' } });
  });
});
