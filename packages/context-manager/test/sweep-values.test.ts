import {
  createManualClock,
  type ExpireAuditCountOptions,
  type ExpireAuditOptions,
  type ExpireDeferredOptions,
  ulidAdd,
} from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { createSqliteStorage } from '@convokit/storage-sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { createChatContextManager } from '../src/index.js';
import { removeTempDirs, T0, tempDir } from './helpers.js';

const alice = { id: 'alice', kind: 'user' as const };

afterEach(removeTempDirs);

describe.each([
  ['memory', () => createMemoryStorage({ clock: createManualClock(T0) })],
  ['sqlite', () => createSqliteStorage({ path: `${tempDir()}/s.db` })],
] as const)('sweep on %s asks for values only when someone listens', (_name, open) => {
  it('without expire listeners: values: false, every deletion still audited with its version', async () => {
    const clock = createManualClock(T0);
    const storage = await open();
    const contexts = storage.contexts!;
    const asked: unknown[] = [];
    const original = contexts.deleteExpired.bind(contexts);
    contexts.deleteExpired = (async (now: number, options?: { limit?: number; values?: boolean }) => {
      asked.push(['deleteExpired', options?.values]);
      return original(now, options);
    }) as typeof contexts.deleteExpired;
    // A store that deletes and audits in one write (both here) is asked through that method instead.
    const audited = contexts.deleteExpiredAudited?.bind(contexts);
    if (audited) {
      contexts.deleteExpiredAudited = (async (now: number, options: ExpireAuditOptions) => {
        asked.push(['deleteExpiredAudited', options.values]);
        return audited(now, options);
      }) as typeof contexts.deleteExpiredAudited;
    }
    // One that writes the events from the deleted rows itself (sqlite) is asked through that one.
    const counted = contexts.deleteExpiredAuditedCount?.bind(contexts);
    if (counted) {
      contexts.deleteExpiredAuditedCount = async (now: number, options: ExpireAuditCountOptions) => {
        asked.push(['deleteExpiredAuditedCount', options.event]);
        return counted(now, options);
      };
    }
    // One that expires logically (sqlite) is asked through that one, the manager's generator reserving the ids.
    const deferred = contexts.deleteExpiredDeferred?.bind(contexts);
    if (deferred) {
      contexts.deleteExpiredDeferred = async (now: number, options: ExpireDeferredOptions) => {
        asked.push(['deleteExpiredDeferred', options.event]);
        return deferred(now, options);
      };
    }
    const manager = createChatContextManager({ storage, clock, sweepIntervalMs: 0 });
    const h = manager.as(alice);
    await h.create('session', { secret: 's' }, { id: 'a', ttlMs: 1000 });
    await h.update('a', { more: 1 }, { strategy: 'shallow' });
    await h.create('session', { secret: 't' }, { id: 'b', ttlMs: 5000 });
    clock.advance(2000);
    expect(await manager.sweep()).toBe(1);
    const shared = { at: T0 + 2000, principal: 'system', action: 'expire', outcome: 'ok', changedKeys: [] };
    expect(asked).toEqual([
      deferred
        ? ['deleteExpiredDeferred', shared]
        : counted
          ? ['deleteExpiredAuditedCount', shared]
          : [audited ? 'deleteExpiredAudited' : 'deleteExpired', false],
    ]);
    expect(audited).toBeDefined();
    const expired = (await manager.audit({ action: 'expire' })).items;
    expect(expired.map((e) => [e.contextId, e.principal, e.scope, e.version, e.changedKeys])).toEqual([
      ['a', 'system', 'session', 2, []],
    ]);
    expect(await h.get('b')).toBeDefined();
    await manager.close();
    await storage.close();
  });

  it('with an expire listener: whole contexts, emitted with their data, and audited', async () => {
    const clock = createManualClock(T0);
    const storage = await open();
    const manager = createChatContextManager({ storage, clock, sweepIntervalMs: 0 });
    const seen: unknown[] = [];
    manager.on('expire', (event) => seen.push([event.context.id, event.context.data, event.context.version]));
    const h = manager.as(alice);
    await h.create('session', { secret: 's' }, { id: 'a', ttlMs: 1000 });
    clock.advance(2000);
    expect(await manager.sweep()).toBe(1);
    expect(seen).toEqual([['a', { secret: 's' }, 1]]);
    expect((await manager.audit({ action: 'expire' })).items.map((e) => e.contextId)).toEqual(['a']);
    await manager.close();
    await storage.close();
  });
});

describe('sweep on a store that deletes and audits in one write (sqlite)', () => {
  it('a batch whose audit cannot be stored deletes nothing; the next sweep deletes and audits it', async () => {
    const clock = createManualClock(T0);
    const storage = createSqliteStorage({ path: `${tempDir()}/s.db`, clock });
    // The first expire event reuses the create event's id: its append is a CONFLICT.
    const ids = ['e-create', 'e-create', 'e-expire'];
    const manager = createChatContextManager({
      storage,
      clock,
      sweepIntervalMs: 0,
      idGenerator: () => ids.shift() ?? 'e-spare',
    });
    const h = manager.as(alice);
    await h.create('session', { secret: 's' }, { id: 'a', ttlMs: 1000 });
    clock.advance(2000);
    const seen: string[] = [];
    manager.on('expire', (event) => seen.push(event.context.id));

    await expect(manager.sweep()).rejects.toMatchObject({ code: 'CONFLICT' });
    // Not deleted, not emitted, not audited; still invisible, being expired.
    expect(await storage.contexts.count({}, { now: T0 })).toBe(1);
    expect(await h.get('a')).toBeUndefined();
    expect(seen).toEqual([]);
    expect((await manager.audit()).items.map((e) => [e.id, e.action])).toEqual([['e-create', 'create']]);

    expect(await manager.sweep()).toBe(1);
    expect(seen).toEqual(['a']);
    expect(await storage.contexts.count({}, { now: T0 })).toBe(0);
    expect((await manager.audit()).items.map((e) => [e.id, e.action, e.contextId])).toEqual([
      ['e-expire', 'expire', 'a'],
      ['e-create', 'create', 'a'],
    ]);
    await manager.close();
    await storage.close();
  });

  it('without expire listeners too: the events are written by the store, all or nothing', async () => {
    const clock = createManualClock(T0);
    const storage = createSqliteStorage({ path: `${tempDir()}/s.db`, clock });
    expect(storage.contexts.deleteExpiredAuditedCount).toBeDefined();
    const ids = ['e-create-a', 'e-create-b', 'e-create-a', 'e-create-b', 'e-expire-a', 'e-expire-b'];
    const manager = createChatContextManager({
      storage,
      clock,
      sweepIntervalMs: 0,
      idGenerator: () => ids.shift() ?? 'e-spare',
    });
    const h = manager.as(alice);
    await h.create('session', { secret: 's' }, { id: 'a', ttlMs: 1000 });
    await h.create('conversation', { secret: 't' }, { id: 'b', ttlMs: 1000 });
    clock.advance(2000);

    // Both expire events would reuse create ids: nothing is deleted or audited.
    await expect(manager.sweep()).rejects.toMatchObject({ code: 'CONFLICT', details: { id: 'e-create-a' } });
    expect(await storage.contexts.count({}, { now: T0 })).toBe(2);
    expect((await manager.audit()).items.map((e) => e.id)).toEqual(['e-create-b', 'e-create-a']);

    expect(await manager.sweep()).toBe(2);
    expect(await storage.contexts.count({}, { now: T0 })).toBe(0);
    const expired = (await manager.audit({ action: 'expire' })).items;
    expect(expired).toEqual([
      {
        id: 'e-expire-b',
        at: T0 + 2000,
        principal: 'system',
        action: 'expire',
        contextId: 'b',
        scope: 'conversation',
        outcome: 'ok',
        changedKeys: [],
        version: 1,
      },
      {
        id: 'e-expire-a',
        at: T0 + 2000,
        principal: 'system',
        action: 'expire',
        contextId: 'a',
        scope: 'session',
        outcome: 'ok',
        changedKeys: [],
        version: 1,
      },
    ]);
    await manager.close();
    await storage.close();
  });
});

describe('sweep on a store that expires logically (sqlite)', () => {
  it('events with consecutive ids in expiry order, listed before they are written; the id free for a create', async () => {
    const clock = createManualClock(T0);
    const path = `${tempDir()}/s.db`;
    const storage = createSqliteStorage({ path, clock });
    const manager = createChatContextManager({ storage, clock, sweepIntervalMs: 0 });
    const h = manager.as(alice);
    await h.create('session', { n: 1 }, { id: 'late', ttlMs: 1500 });
    await h.create('session', { n: 2 }, { id: 'b', ttlMs: 1000 });
    await h.create('session', { n: 3 }, { id: 'a', ttlMs: 1000 });
    await h.create('session', { n: 4 }, { id: 'live', ttlMs: 9000 });
    clock.advance(2000);
    expect(await manager.sweep()).toBe(3);
    // Gone at once, events not yet written; the id is free for a create at once.
    expect(await h.get('a')).toBeUndefined();
    await h.create('session', { n: 5 }, { id: 'a', ttlMs: 9000 });
    const events = (await manager.audit()).items.reverse();
    expect(events.map((e) => [e.action, e.contextId])).toEqual([
      ['create', 'late'],
      ['create', 'b'],
      ['create', 'a'],
      ['create', 'live'],
      ['expire', 'a'],
      ['expire', 'b'],
      ['expire', 'late'],
      ['create', 'a'],
    ]);
    const expired = events.filter((e) => e.action === 'expire').map((e) => e.id);
    expect(expired).toEqual([0, 1, 2].map((k) => ulidAdd(expired[0]!, k)));
    expect((await h.get('a'))?.data).toEqual({ n: 5 });
    await manager.close();
    await storage.close();
  });
});
