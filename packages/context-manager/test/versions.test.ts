import type { Storage } from '@convokit/core';
import { ConvokitError, createManualClock } from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { afterAll, describe, expect, it } from 'vitest';
import { createChatContextManager } from '../src/index.js';
import { alice, availableBackends, rejection, removeTempDirs, setup, T0 } from './helpers.js';

afterAll(removeTempDirs);

describe.each(availableBackends())('versions on $name', (backend) => {
  it('every write bumps the version by one; reads do not', async () => {
    const s = await setup(backend);
    try {
      const h = s.manager.as(alice);
      await h.create('session', { a: 1 }, { id: 'v' });
      await h.get('v');
      expect((await h.update('v', { a: 2 })).version).toBe(2);
      expect((await h.update('v', { a: 2 })).version).toBe(3); // a write even when nothing differs
      expect((await h.extend('v', 1000)).version).toBe(4);
      await h.get('v');
      expect((await h.get('v'))!.version).toBe(4);
    } finally {
      await s.close();
    }
  });

  it('expectedVersion: a stale version is CONFLICT with the actual version; of racers, exactly one wins', async () => {
    const s = await setup(backend);
    try {
      const h = s.manager.as(alice);
      await h.create('session', {}, { id: 'cas' });
      await h.update('cas', { x: 1 });
      const stale = await rejection(h.update('cas', { x: 2 }, { expectedVersion: 1 }));
      expect(stale).toMatchObject({ code: 'CONFLICT', details: { expectedVersion: 1, actualVersion: 2 } });
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => h.update('cas', { [`k${i}`]: i }, { expectedVersion: 2 })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(ConvokitError.is(r.reason, 'CONFLICT')).toBe(true);
      }
      const final = (await h.get('cas'))!;
      expect(final.version).toBe(3);
      expect(Object.keys(final.data).filter((k) => k.startsWith('k'))).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  it('without expectedVersion, 200 concurrent updates of one context all land', async () => {
    const s = await setup(backend);
    try {
      const h = s.manager.as(alice);
      await h.create('session', {}, { id: 'hot' });
      const n = 200;
      await Promise.all(Array.from({ length: n }, (_, i) => h.update('hot', { [`k${i}`]: i })));
      const final = (await h.get('hot'))!;
      expect(final.version).toBe(n + 1);
      expect(Object.keys(final.data)).toHaveLength(n);
      for (let i = 0; i < n; i++) expect(final.data[`k${i}`]).toBe(i);
      expect(
        (await s.manager.audit({ contextId: 'hot', action: 'update' }, { limit: 1000 })).items,
      ).toHaveLength(n);
    } finally {
      await s.close();
    }
  });
});

describe('compare-and-set retries between managers sharing one store', () => {
  it('two managers racing on the same contexts lose nothing, and the retries show in metrics', async () => {
    const clock = createManualClock(T0);
    const storage = createMemoryStorage({ clock });
    const m1 = createChatContextManager({ storage, clock, sweepIntervalMs: 0 });
    const m2 = createChatContextManager({ storage, clock, sweepIntervalMs: 0 });
    const ids = ['x', 'y', 'z'];
    for (const id of ids) await m1.as(alice).create('session', {}, { id });
    const n = 60;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        ids.map((id) => (i % 2 ? m1 : m2).as(alice).update(id, { [`k${i}`]: { by: i % 2 ? 'm1' : 'm2' } })),
      ).flat(),
    );
    for (const id of ids) {
      const c = (await m1.as(alice).get(id))!;
      expect(c.version).toBe(n + 1);
      expect(Object.keys(c.data)).toHaveLength(n);
    }
    const retries = (m1.getMetrics().counters.retries ?? 0) + (m2.getMetrics().counters.retries ?? 0);
    expect(retries).toBeGreaterThan(0);
    await m1.close();
    await m2.close();
    await storage.close();
  });

  it('gives up with CONFLICT after maxUpdateAttempts when the context keeps changing', async () => {
    const clock = createManualClock(T0);
    const base = createMemoryStorage({ clock });
    let updates = 0;
    const contexts = new Proxy(base.contexts, {
      get(target, prop, receiver) {
        if (prop === 'update') {
          return async () => {
            updates++;
            throw new ConvokitError('CONFLICT', 'always stale', { actualVersion: 99 });
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
    const m = createChatContextManager({ storage, clock, sweepIntervalMs: 0, maxUpdateAttempts: 4 });
    await m.as(alice).create('session', {}, { id: 'busy' });
    const error = await rejection(m.as(alice).update('busy', { a: 1 }));
    expect(error).toMatchObject({ code: 'CONFLICT', details: { contextId: 'busy', attempts: 4 } });
    expect(updates).toBe(4);
    expect(m.getMetrics().counters).toMatchObject({ retries: 3, conflicts: 1 });
    expect((await m.audit({ action: 'update' })).items).toEqual([]);
    await m.close();
    await base.close();
  });
});
