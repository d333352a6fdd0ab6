import type { Context, GetContextByIdOptions, Storage } from '@convokit/core';
import { createManualClock } from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { describe, expect, it } from 'vitest';
import { createChatContextManager } from '../src/index.js';
import { alice, bob, rejection, root, T0 } from './helpers.js';

/**
 * A store with a client-side cache that lags, as storage-redis's may: a `get` with the
 * `versionChecked` hint answers the copy pinned by `pin` (taken when pinned), a plain `get` reads
 * the store. Every get's options are recorded.
 */
function laggingStore() {
  const clock = createManualClock(T0);
  const base = createMemoryStorage({ clock });
  const pinned = new Map<string, Context>();
  const reads: Array<{ id: string; checked: boolean }> = [];
  const contexts = new Proxy(base.contexts, {
    get(target, prop, receiver) {
      if (prop === 'get') {
        return async (id: string, options?: GetContextByIdOptions) => {
          const checked = options?.versionChecked === true;
          reads.push({ id, checked });
          const copy = pinned.get(id);
          if (checked && copy !== undefined) return structuredClone(copy);
          return target.get(id, options);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const storage = {
    ...base,
    name: base.name,
    contexts,
    audit: base.audit,
    close: () => base.close(),
  } as Storage;
  return {
    clock,
    base,
    storage,
    reads,
    /** From now on, checked reads of `id` answer the context as stored now. */
    async pin(id: string) {
      pinned.set(id, (await base.contexts.get(id))!);
    },
  };
}

describe('an update whose first read comes from a lagging cache (versionChecked)', () => {
  it('a stale copy: the compare-and-set fails, the retry reads fresh, nothing is lost, no conflict surfaces', async () => {
    const s = laggingStore();
    const m = createChatContextManager({ storage: s.storage, clock: s.clock, sweepIntervalMs: 0 });
    await m.as(alice).create('session', { a: 1 }, { id: 'c' });
    await s.pin('c');
    // Another process writes after the copy was cached.
    await s.base.contexts.update('c', 1, { data: { a: 1, b: 2 } }, T0);
    s.reads.length = 0;
    const updated = await m.as(alice).update('c', { c: 3 }, { strategy: 'shallow' });
    expect(updated).toMatchObject({ version: 3, data: { a: 1, b: 2, c: 3 } });
    expect((await s.base.contexts.get('c'))?.data).toEqual({ a: 1, b: 2, c: 3 });
    expect(s.reads).toEqual([
      { id: 'c', checked: true },
      { id: 'c', checked: false },
    ]);
    expect(m.getMetrics().counters.retries).toBe(1);
    expect(m.getMetrics().counters.conflicts).toBeUndefined();
    expect((await m.audit({ contextId: 'c', action: 'update' })).items.map((e) => e.version)).toEqual([3]);
    await m.close();
  });

  it('a current copy: one read, no retry', async () => {
    const s = laggingStore();
    const m = createChatContextManager({ storage: s.storage, clock: s.clock, sweepIntervalMs: 0 });
    await m.as(alice).create('session', { a: 1 }, { id: 'c' });
    await s.pin('c');
    s.reads.length = 0;
    expect(await m.as(alice).update('c', { b: 2 })).toMatchObject({ version: 2, data: { a: 1, b: 2 } });
    expect(s.reads).toEqual([{ id: 'c', checked: true }]);
    expect(m.getMetrics().counters.retries).toBeUndefined();
    await m.close();
  });

  it('expectedVersion of the current version succeeds though the copy is older (no false CONFLICT)', async () => {
    const s = laggingStore();
    const m = createChatContextManager({ storage: s.storage, clock: s.clock, sweepIntervalMs: 0 });
    await m.as(alice).create('session', { a: 1 }, { id: 'c' });
    await s.pin('c');
    await s.base.contexts.update('c', 1, { data: { a: 2 } }, T0);
    const updated = await m.as(alice).update('c', { b: 1 }, { expectedVersion: 2 });
    expect(updated).toMatchObject({ version: 3, data: { a: 2, b: 1 } });
    expect(m.getMetrics().counters.conflicts).toBeUndefined();
    await m.close();
  });

  it('expectedVersion of the stale copy is CONFLICT with the stored version, counted once', async () => {
    const s = laggingStore();
    const m = createChatContextManager({ storage: s.storage, clock: s.clock, sweepIntervalMs: 0 });
    await m.as(alice).create('session', { a: 1 }, { id: 'c' });
    await s.pin('c');
    await s.base.contexts.update('c', 1, { data: { a: 2 } }, T0);
    s.reads.length = 0;
    const error = await rejection(m.as(alice).update('c', { b: 1 }, { expectedVersion: 1 }));
    expect(error).toMatchObject({
      code: 'CONFLICT',
      details: { contextId: 'c', expectedVersion: 1, actualVersion: 2 },
    });
    // The copy's compare-and-set lost; the fresh read decided.
    expect(s.reads).toEqual([
      { id: 'c', checked: true },
      { id: 'c', checked: false },
    ]);
    expect(m.getMetrics().counters.conflicts).toBe(1);
    expect((await s.base.contexts.get('c'))?.data).toEqual({ a: 2 });
    await m.close();
  });

  it('a context deleted or expired since the copy: NOT_FOUND, nothing written or audited', async () => {
    const s = laggingStore();
    const m = createChatContextManager({ storage: s.storage, clock: s.clock, sweepIntervalMs: 0 });
    await m.as(alice).create('session', { a: 1 }, { id: 'gone' });
    await m.as(alice).create('session', { a: 1 }, { id: 'expired' });
    await s.pin('gone');
    await s.pin('expired');
    await s.base.contexts.delete('gone');
    await s.base.contexts.update('expired', 1, { expiresAt: T0 }, T0);
    for (const id of ['gone', 'expired']) {
      expect(await rejection(m.as(alice).update(id, { b: 2 }))).toMatchObject({ code: 'NOT_FOUND' });
    }
    expect(await s.base.contexts.get('gone')).toBeUndefined();
    expect(await s.base.contexts.get('expired', { now: T0 - 1 })).toMatchObject({
      version: 2,
      data: { a: 1 },
    });
    expect((await m.audit({ action: 'update' })).items).toEqual([]);
    expect(m.getMetrics().counters.retries).toBeUndefined();
    await m.close();
  });

  it('a copy the policy denies but the current context allows: updated, no denial audited', async () => {
    const s = laggingStore();
    const m = createChatContextManager({ storage: s.storage, clock: s.clock, sweepIntervalMs: 0 });
    await m.as(root).create('session', {}, { id: 'moved', ownerId: 'bob' });
    await s.pin('moved');
    await s.base.contexts.update('moved', 1, { ownerId: 'alice' }, T0);
    expect(await m.as(alice).update('moved', { a: 1 })).toMatchObject({ version: 3, ownerId: 'alice' });
    expect(m.getMetrics().counters.denied).toBeUndefined();
    expect((await m.audit({ action: 'deny' })).items).toEqual([]);
    await m.close();
  });

  it('a copy the policy allows but the current context denies: ACCESS_DENIED, audited once', async () => {
    const s = laggingStore();
    const m = createChatContextManager({ storage: s.storage, clock: s.clock, sweepIntervalMs: 0 });
    await m.as(alice).create('session', { a: 1 }, { id: 'taken' });
    await s.pin('taken');
    await s.base.contexts.update('taken', 1, { ownerId: 'bob' }, T0);
    expect(await rejection(m.as(alice).update('taken', { a: 2 }))).toMatchObject({ code: 'ACCESS_DENIED' });
    expect((await m.audit({ action: 'deny' })).items).toHaveLength(1);
    expect(await m.as(bob).get('taken')).toMatchObject({ version: 2, data: { a: 1 } });
    await m.close();
  });

  it('a write that changes nothing on the copy is decided on the current context', async () => {
    const s = laggingStore();
    const m = createChatContextManager({ storage: s.storage, clock: s.clock, sweepIntervalMs: 0 });
    const other = createChatContextManager({ storage: s.base, clock: s.clock, sweepIntervalMs: 0 });
    await m.as(alice).createChart({ chartId: 'sales', chartType: 'bar' }, { id: 'chart' });
    await s.pin('chart');
    await other.as(alice).pushNavigation('chart', { level: 'year', value: 2025 });
    // On the copy the navigation is empty and a pop writes nothing; the chart has a step to pop.
    const popped = await m.as(alice).popNavigation('chart');
    expect(popped.popped).toMatchObject({ level: 'year', value: 2025 });
    expect(popped.context.version).toBe(3);
    expect(popped.chart.navigation).toEqual([]);
    await other.close();
    await m.close();
  });

  it('with maxUpdateAttempts 1 the first read is a plain one', async () => {
    const s = laggingStore();
    const m = createChatContextManager({
      storage: s.storage,
      clock: s.clock,
      sweepIntervalMs: 0,
      maxUpdateAttempts: 1,
    });
    await m.as(alice).create('session', { a: 1 }, { id: 'c' });
    await s.pin('c');
    await s.base.contexts.update('c', 1, { data: { a: 2 } }, T0);
    s.reads.length = 0;
    expect(await m.as(alice).update('c', { b: 1 })).toMatchObject({ version: 3, data: { a: 2, b: 1 } });
    expect(s.reads).toEqual([{ id: 'c', checked: false }]);
    await m.close();
  });
});
