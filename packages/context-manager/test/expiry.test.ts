import { CONTEXT_SCOPES, HOUR_MS } from '@convokit/core';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_TTL_MS, type ExpireEvent } from '../src/index.js';
import {
  alice,
  availableBackends,
  rejection,
  removeTempDirs,
  root,
  type Setup,
  setup,
  T0,
} from './helpers.js';

afterAll(removeTempDirs);

describe.each(availableBackends())('expiry on $name', (backend) => {
  let s: Setup | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('each scope gets its default TTL unless configured', async () => {
    s = await setup(backend);
    const h = s.manager.as(root);
    for (const scope of CONTEXT_SCOPES) {
      const c = await h.create(scope, {}, { persona: 'p' });
      const ttl = DEFAULT_TTL_MS[scope];
      expect(c.expiresAt).toBe(ttl === null ? undefined : T0 + ttl);
    }
    expect(DEFAULT_TTL_MS).toEqual({
      session: 24 * HOUR_MS,
      conversation: 7 * 24 * HOUR_MS,
      global: null,
      persona: null,
      analytics: 24 * HOUR_MS,
      navigation: HOUR_MS,
    });
  });

  it('ttl.default overrides the built-in defaults, perScope overrides it, ttlMs overrides both', async () => {
    s = await setup(backend, { ttl: { default: 5000, perScope: { session: 100, global: null } } });
    const h = s.manager.as(root);
    expect((await h.create('session', {})).expiresAt).toBe(T0 + 100);
    expect((await h.create('conversation', {})).expiresAt).toBe(T0 + 5000);
    expect((await h.create('persona', {}, { persona: 'p' })).expiresAt).toBe(T0 + 5000);
    expect((await h.create('global', {})).expiresAt).toBeUndefined();
    expect((await h.create('session', {}, { ttlMs: 7 })).expiresAt).toBe(T0 + 7);
    expect((await h.create('session', {}, { ttlMs: null })).expiresAt).toBeUndefined();
  });

  it('an expired context is never returned, listed or written, even before a sweep', async () => {
    s = await setup(backend, { ttl: { perScope: { session: 100, global: null } } });
    const h = s.manager.as(alice);
    await s.manager.as(root).create('global', { base: 1 }, { id: 'g' });
    await h.create('session', { p: 1 }, { id: 'parent', parentId: 'g' });
    await h.create('session', { c: 1 }, { id: 'kid', parentId: 'parent', ttlMs: 1000 });
    s.clock.advance(99);
    expect(await h.get('parent')).toBeDefined();
    s.clock.advance(1); // now == expiresAt: expired
    expect(await h.get('parent')).toBeUndefined();
    expect((await h.list({ scope: 'session' })).items.map((c) => c.id)).toEqual(['kid']);
    expect((await rejection(h.update('parent', { p: 2 }))).code).toBe('NOT_FOUND');
    expect((await rejection(h.extend('parent', 1000))).code).toBe('NOT_FOUND');
    expect(await h.delete('parent')).toBe(false);
    // the chain stops at the expired parent
    expect(await h.resolve('kid')).toMatchObject({ data: { c: 1 }, chain: ['kid'] });
    // not yet swept: its id is still taken
    expect((await rejection(h.create('session', {}, { id: 'parent' }))).code).toBe('CONFLICT');
  });

  it('sweep deletes expired contexts, audits them as expire by system and emits expire', async () => {
    s = await setup(backend, { ttl: { perScope: { session: 100 } } });
    const h = s.manager.as(alice);
    await h.create('session', { secret: 'x' }, { id: 'e1' });
    await h.create('session', {}, { id: 'e2', ttlMs: 50 });
    await h.create('session', {}, { id: 'live', ttlMs: 1000 });
    const expired: ExpireEvent[] = [];
    const off = s.manager.on('expire', (e) => expired.push(e));
    s.clock.advance(100);
    expect(await s.manager.sweep()).toBe(2);
    expect(expired.map((e) => [e.context.id, e.at]).sort()).toEqual([
      ['e1', T0 + 100],
      ['e2', T0 + 100],
    ]);
    const audit = (await s.manager.audit({ action: 'expire' })).items;
    expect(audit.map((e) => [e.contextId, e.principal, e.outcome, e.at, e.changedKeys]).sort()).toEqual([
      ['e1', 'system', 'ok', T0 + 100, []],
      ['e2', 'system', 'ok', T0 + 100, []],
    ]);
    expect(await s.manager.sweep()).toBe(0);
    // swept: the id is free again
    expect((await h.create('session', {}, { id: 'e1' })).version).toBe(1);
    expect(s.manager.getMetrics().counters.expired).toBe(2);
    off();
  });

  it('sliding expiry: reads and writes move expiresAt by the context TTL, other scopes stay put', async () => {
    s = await setup(backend, { ttl: { default: 1000 }, slidingExpiry: { session: true } });
    const h = s.manager.as(alice);
    await h.create('session', {}, { id: 'slide' });
    await h.create('conversation', {}, { id: 'fixed' });
    await h.create('session', {}, { id: 'custom', ttlMs: 200 });
    s.clock.advance(150);
    expect((await h.get('custom'))!.expiresAt).toBe(T0 + 150 + 200);
    s.clock.advance(450);
    expect((await h.get('slide'))!.expiresAt).toBe(T0 + 1600);
    expect((await h.get('fixed'))!.expiresAt).toBe(T0 + 1000);
    s.clock.advance(900); // T0+1500: past the first expiry
    expect(await h.get('fixed')).toBeUndefined();
    expect(await h.get('custom')).toBeUndefined();
    const updated = await h.update('slide', { a: 1 });
    expect(updated.expiresAt).toBe(T0 + 2500);
    s.clock.advance(999);
    expect(await h.get('slide')).toBeDefined(); // slides to T0+3499
    s.clock.advance(1000);
    expect(await h.get('slide')).toBeUndefined();
  });

  it('extend sets expiresAt to now + ttlMs (null: never), as an audited write', async () => {
    s = await setup(backend, { ttl: { default: 1000 }, slidingExpiry: { session: true } });
    const h = s.manager.as(alice);
    await h.create('session', {}, { id: 'x' });
    s.clock.advance(10);
    const extended = await h.extend('x', 5000);
    expect(extended).toMatchObject({ version: 2, expiresAt: T0 + 5010 });
    s.clock.advance(100);
    // the new TTL is the sliding window from now on
    expect((await h.get('x'))!.expiresAt).toBe(T0 + 110 + 5000);
    expect((await h.extend('x', null)).expiresAt).toBeUndefined();
    s.clock.advance(10 * HOUR_MS);
    expect(await h.get('x')).toBeDefined();
    const audit = (await s.manager.audit({ contextId: 'x', action: 'update' })).items;
    expect(audit.map((e) => e.changedKeys)).toEqual([['expiresAt'], ['expiresAt']]);
    expect((await rejection(h.extend('x', 0))).code).toBe('VALIDATION');
  });
});

describe('the sweep timer', () => {
  it("is unref'd, sweeps on its interval and stops on close", async () => {
    const spy = vi.spyOn(globalThis, 'setInterval');
    const s = await setup(undefined, { sweepIntervalMs: 10, ttl: { default: 50 } });
    const timer = spy.mock.results.find((r) => r.type === 'return')!.value as NodeJS.Timeout;
    spy.mockRestore();
    expect(timer.hasRef()).toBe(false);
    const seen: string[] = [];
    s.manager.on('expire', (e) => seen.push(e.context.id));
    await s.manager.as(alice).create('session', {}, { id: 'soon' });
    s.clock.advance(50);
    await vi.waitFor(() => expect(seen).toEqual(['soon']), { timeout: 2000, interval: 5 });
    await s.manager.close();
    const sweeps = s.manager.getMetrics().latencies.sweep!.count;
    await new Promise((r) => setTimeout(r, 50));
    expect(s.manager.getMetrics().latencies.sweep!.count).toBe(sweeps);
    await s.storage.close();
  });
});

describe('sweep batches', () => {
  // The delete-then-append path of stores without deleteExpiredAudited: memory has the method,
  // hidden here so these tests reach deleteExpired.
  it('keeps asking the store for batches of 5000 until one comes back short', async () => {
    const s = await setup();
    const store = s.storage.contexts!;
    store.deleteExpiredAudited = undefined;
    const asked: number[] = [];
    const batches = [5000, 5000, 7];
    const original = store.deleteExpired.bind(store);
    store.deleteExpired = async (now, options) => {
      asked.push(options?.limit ?? -1);
      const n = batches.shift() ?? 0;
      const reported = Array.from({ length: n }, (_, i) => ({
        id: `x${asked.length}-${i}`,
        scope: 'session' as const,
        data: {},
        metadata: {},
        version: 1,
        createdAt: now,
        updatedAt: now,
        accessCount: 0,
        lastAccessedAt: now,
      }));
      await original(now, options);
      return reported;
    };
    expect(await s.manager.sweep()).toBe(10_007);
    expect(asked).toEqual([5000, 5000, 5000]);
    expect((await s.manager.audit({ action: 'expire' }, { limit: 10 })).items).toHaveLength(10);
    await s.close();
  });

  it('appends the expire events of a whole sweep in one batch, before the sweep resolves', async () => {
    const s = await setup();
    const h = s.manager.as(alice);
    for (let i = 0; i < 7; i++) await h.create('session', { i }, { id: `c${i}`, ttlMs: 1000 });
    await s.manager.audit(); // flushes the create events
    const audit = s.storage.audit!;
    const appends: string[][] = [];
    const original = audit.append.bind(audit);
    audit.append = async (events) => {
      appends.push(events.map((e) => `${e.action}:${e.contextId}`));
      await original(events);
    };
    const store = s.storage.contexts!;
    store.deleteExpiredAudited = undefined;
    const deleteExpired = store.deleteExpired.bind(store);
    // Three batches from the store (3 real contexts padded to full batches, 3 likewise, then the
    // last one): the events still go out together.
    let calls = 0;
    store.deleteExpired = async (now) => {
      const real = await deleteExpired(now, { limit: 3 });
      if (++calls > 2) return real;
      const pad = Array.from({ length: 5000 - real.length }, (_, i) => ({
        ...real[0]!,
        id: `p${calls}-${i}`,
      }));
      return [...real, ...pad];
    };
    s.clock.advance(2000);
    expect(await s.manager.sweep()).toBe(10_001);
    expect(appends).toHaveLength(1);
    expect(appends[0]).toHaveLength(10_001);
    const real = appends[0]!.filter((e) => /^expire:c\d$/.test(e));
    expect(real).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `expire:c${i}`));
    await s.close();
  });

  it('audits what was deleted even when a later batch fails', async () => {
    const s = await setup();
    const h = s.manager.as(alice);
    for (let i = 0; i < 4; i++) await h.create('session', { i }, { id: `c${i}`, ttlMs: 1000 });
    const store = s.storage.contexts!;
    store.deleteExpiredAudited = undefined;
    const deleteExpired = store.deleteExpired.bind(store);
    let calls = 0;
    store.deleteExpired = async (now) => {
      calls++;
      if (calls === 1) {
        const first = await deleteExpired(now, { limit: 5000 });
        // Report a full batch so the sweep asks again, then fail.
        const padding = Array.from({ length: 5000 - first.length }, (_, i) => ({
          ...first[0]!,
          id: `pad${i}`,
        }));
        return [...first, ...padding];
      }
      throw new Error('disk gone');
    };
    s.clock.advance(2000);
    await expect(s.manager.sweep()).rejects.toThrow('disk gone');
    for (const id of ['c0', 'c1', 'c2', 'c3']) {
      const events = await s.manager.audit({ action: 'expire', contextId: id });
      expect(events.items.map((e) => e.principal)).toEqual(['system']);
    }
    await s.close();
  });
});
