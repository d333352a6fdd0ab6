import type { Context } from '@convokit/core';
import { expect } from 'vitest';
import { expectRejects } from '../expect-error.js';
import { ids, makeContext } from '../fixtures/builders.js';
import { CONFORMANCE_START } from '../start.js';
import { defineCases } from './define.js';

const T = CONFORMANCE_START;

export const contextsExpiryCases = defineCases('contexts', 'contexts-expiry', {
  'a context is visible until expiresAt and invisible from then on, by the injected clock': async ({
    contexts,
    clock,
  }) => {
    await contexts.create(makeContext({ id: 'a', expiresAt: T + 1000 }));
    await contexts.create(makeContext({ id: 'forever' }));
    clock.set(T + 999);
    expect(await contexts.get('a')).toBeDefined();
    expect(await contexts.count()).toBe(2);
    clock.set(T + 1000);
    expect(await contexts.get('a')).toBeUndefined();
    expect(ids((await contexts.list()).items)).toEqual(['forever']);
    expect(await contexts.count()).toBe(1);
    expect(await contexts.count({ scope: 'session' })).toBe(1);
  },

  'an explicit now overrides the clock for get, list and count': async ({ contexts, clock }) => {
    await contexts.create(makeContext({ id: 'a', expiresAt: T + 1000 }));
    expect(await contexts.get('a', { now: T + 1000 })).toBeUndefined();
    expect(await contexts.count({}, { now: T + 1000 })).toBe(0);
    expect((await contexts.list({}, { now: T + 1000 })).items).toEqual([]);
    clock.set(T + 5000);
    expect(await contexts.get('a', { now: T + 10 })).toBeDefined();
    expect(await contexts.count({}, { now: T + 10 })).toBe(1);
    expect(ids((await contexts.list({}, { now: T + 10 })).items)).toEqual(['a']);
  },

  'update of an expired context is NOT_FOUND': async ({ contexts }) => {
    await contexts.create(makeContext({ id: 'a', expiresAt: T + 1000 }));
    await expectRejects(() => contexts.update('a', 1, { data: { x: 1 } }, T + 1000), 'NOT_FOUND');
    expect(await contexts.get('a', { now: T })).toMatchObject({ version: 1, data: {} });
  },

  'create over an expired but unswept id is CONFLICT': async ({ contexts, clock }) => {
    await contexts.create(makeContext({ id: 'a', expiresAt: T + 1000, data: { old: true } }));
    clock.set(T + 2000);
    expect(await contexts.get('a')).toBeUndefined();
    await expectRejects(
      () => contexts.create(makeContext({ id: 'a', createdAt: T + 2000, data: { new: true } })),
      'CONFLICT',
    );
    // After the sweep the id is free again.
    expect(ids(await contexts.deleteExpired(T + 2000))).toEqual(['a']);
    await contexts.create(makeContext({ id: 'a', createdAt: T + 2000, data: { new: true } }));
    expect((await contexts.get('a'))?.data).toEqual({ new: true });
  },

  'delete of an expired context reports false': async ({ contexts, clock }) => {
    await contexts.create(makeContext({ id: 'a', expiresAt: T + 1000 }));
    clock.set(T + 1000);
    expect(await contexts.delete('a')).toBe(false);
  },

  'touch slides expiresAt forward and keeps the context alive': async ({ contexts, clock }) => {
    await contexts.create(makeContext({ id: 'a', expiresAt: T + 1000 }));
    await contexts.touch('a', { at: T + 500, expiresAt: T + 5000 });
    clock.set(T + 3000);
    const stored = await contexts.get('a');
    expect(stored).toMatchObject({
      expiresAt: T + 5000,
      accessCount: 1,
      lastAccessedAt: T + 500,
      version: 1,
    });
    clock.set(T + 5000);
    expect(await contexts.get('a')).toBeUndefined();
  },

  'touch does not revive an expired context': async ({ contexts, clock }) => {
    await contexts.create(makeContext({ id: 'a', expiresAt: T + 1000 }));
    clock.set(T + 2000);
    await contexts.touch('a', { at: T + 2000, expiresAt: T + 10_000 });
    expect(await contexts.get('a')).toBeUndefined();
    expect(ids(await contexts.deleteExpired(T + 2000))).toEqual(['a']);
  },

  'deleteExpired removes exactly the expired contexts and returns them': async ({ contexts, clock }) => {
    const expiring = [
      makeContext({ id: 'e1', expiresAt: T + 300 }),
      makeContext({ id: 'e2', expiresAt: T + 100, data: { keep: 'me' } }),
      makeContext({ id: 'e3', expiresAt: T + 200 }),
    ];
    const live = [makeContext({ id: 'l1', expiresAt: T + 301 }), makeContext({ id: 'l2' })];
    for (const context of [...expiring, ...live]) await contexts.create(context);
    clock.set(T + 10_000); // the clock is not what decides: deleteExpired takes its own now
    const removed = await contexts.deleteExpired(T + 300);
    expect([...ids(removed)].sort()).toEqual(['e1', 'e2', 'e3']);
    for (const context of removed) expect(context).toEqual(expiring.find((e) => e.id === context.id));
    clock.set(T);
    expect(ids((await contexts.list()).items).sort()).toEqual(['l1', 'l2']);
    for (const id of ['e1', 'e2', 'e3']) expect(await contexts.get(id), id).toBeUndefined();
    expect(await contexts.deleteExpired(T + 300)).toEqual([]);
  },

  'deleteExpired with a limit removes the oldest expiries first': async ({ contexts }) => {
    for (const [id, offset] of [
      ['d', 400],
      ['b', 200],
      ['e', 500],
      ['a', 100],
      ['c', 300],
    ] as const) {
      await contexts.create(makeContext({ id, expiresAt: T + offset }));
    }
    expect(ids(await contexts.deleteExpired(T + 1000, { limit: 2 }))).toEqual(['a', 'b']);
    expect(ids(await contexts.deleteExpired(T + 1000, { limit: 2 }))).toEqual(['c', 'd']);
    expect(ids(await contexts.deleteExpired(T + 1000, { limit: 2 }))).toEqual(['e']);
    expect(await contexts.count({}, { now: T })).toBe(0);
  },

  'concurrent sweeps return each expired context exactly once': async ({ contexts }) => {
    for (let i = 0; i < 12; i++) {
      await contexts.create(makeContext({ id: `e${String(i).padStart(2, '0')}`, expiresAt: T + 10 + i }));
    }
    await contexts.create(makeContext({ id: 'live', expiresAt: T + 1_000_000 }));
    const sweeps = await Promise.all(
      Array.from({ length: 4 }, () => contexts.deleteExpired(T + 500, { limit: 5 })),
    );
    const again = await contexts.deleteExpired(T + 500);
    const all = [...sweeps.flat(), ...again].map((c) => c.id).sort();
    expect(all).toEqual(Array.from({ length: 12 }, (_, i) => `e${String(i).padStart(2, '0')}`));
    expect(ids((await contexts.list({}, { now: T })).items)).toEqual(['live']);
  },

  'deleteExpired with values: false deletes the same contexts and returns them without data and metadata':
    async ({ contexts }) => {
      const expiring = [
        makeContext({ id: 'e2', expiresAt: T + 200, data: { a: 1 }, metadata: { tag: 'x' }, ownerId: 'u1' }),
        makeContext({ id: 'e1', expiresAt: T + 100, sessionId: 's1', persona: 'analyst', parentId: 'p' }),
        makeContext({ id: 'e0', expiresAt: T + 200, version: 3, accessCount: 2, lastAccessedAt: T + 50 }),
      ];
      const live = makeContext({ id: 'live', expiresAt: T + 301, data: { stay: true } });
      for (const context of [...expiring, live]) await contexts.create(context);
      const withoutValues = ({ data: _data, metadata: _metadata, ...rest }: Context) => rest;
      // Oldest expiry first, ties by id; every field but the two values exactly as stored.
      expect(await contexts.deleteExpired(T + 300, { limit: 2, values: false })).toStrictEqual(
        [expiring[1]!, expiring[2]!].map(withoutValues),
      );
      expect(await contexts.deleteExpired(T + 300, { values: false })).toStrictEqual([
        withoutValues(expiring[0]!),
      ]);
      expect(await contexts.deleteExpired(T + 300, { values: false })).toEqual([]);
      expect(await contexts.get('live', { now: T })).toEqual(live);
      expect(await contexts.count({}, { now: T })).toBe(1);
      // values: true is the default: whole contexts.
      expect(await contexts.deleteExpired(T + 301, { values: true })).toEqual([live]);
    },

  'deleteExpired on an empty store returns nothing': async ({ contexts }) => {
    expect(await contexts.deleteExpired(T)).toEqual([]);
  },

  'update can set and clear expiry': async ({ contexts, clock }) => {
    await contexts.create(makeContext({ id: 'a' }));
    await contexts.update('a', 1, { expiresAt: T + 100 }, T + 1);
    clock.set(T + 100);
    expect(await contexts.get('a')).toBeUndefined();
    clock.set(T + 50);
    await contexts.update('a', 2, { expiresAt: null }, T + 50);
    clock.set(T + 1_000_000);
    expect((await contexts.get('a'))?.version).toBe(3);
  },
});
