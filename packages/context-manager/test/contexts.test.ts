import type { Storage } from '@convokit/core';
import { ConvokitError, warmAuditEventShapes } from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ChangeEvent, createChatContextManager } from '../src/index.js';
import {
  alice,
  availableBackends,
  bob,
  rejection,
  removeTempDirs,
  root,
  type Setup,
  setup,
  T0,
} from './helpers.js';

afterAll(removeTempDirs);

describe.each(availableBackends())('contexts on $name', (backend) => {
  let s: Setup;
  beforeEach(async () => {
    s = await setup(backend);
  });
  afterEach(async () => {
    await s.close();
  });

  it('create stores a full context owned by the caller, at version 1', async () => {
    const c = await s.manager
      .as(alice)
      .create('session', { topic: 'sales' }, { sessionId: 's1', metadata: { src: 'test' } });
    expect(c).toEqual({
      id: c.id,
      scope: 'session',
      ownerId: 'alice',
      sessionId: 's1',
      data: { topic: 'sales' },
      metadata: { src: 'test' },
      version: 1,
      createdAt: T0,
      updatedAt: T0,
      expiresAt: T0 + 24 * 3_600_000,
      accessCount: 0,
      lastAccessedAt: T0,
    });
    expect(c.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect((await rejection(s.manager.as(alice).create('session', {}, { id: c.id }))).code).toBe('CONFLICT');
  });

  it('get counts the access without a write; unknown ids are undefined', async () => {
    const h = s.manager.as(alice);
    const c = await h.create('conversation', { n: 1 }, { id: 'c1' });
    s.clock.advance(10);
    expect(await h.get('c1')).toMatchObject({
      accessCount: 1,
      lastAccessedAt: T0 + 10,
      version: 1,
      updatedAt: T0,
    });
    s.clock.advance(5);
    const again = await h.get('c1');
    expect(again).toMatchObject({ accessCount: 2, lastAccessedAt: T0 + 15, version: 1 });
    expect(again!.data).toEqual(c.data);
    expect(await h.get('nope')).toBeUndefined();
  });

  it('update bumps the version each time with each strategy', async () => {
    const h = s.manager.as(alice);
    await h.create('session', { a: 1, b: { c: 1, d: 2 }, e: [1, 2] }, { id: 'u' });
    s.clock.advance(1);
    const deep = await h.update('u', { b: { c: 5, d: null }, e: [3] });
    expect(deep).toMatchObject({ version: 2, updatedAt: T0 + 1, data: { a: 1, b: { c: 5 }, e: [3] } });
    const shallow = await h.update('u', { b: { z: 1 }, a: null }, { strategy: 'shallow' });
    expect(shallow).toMatchObject({ version: 3, data: { a: null, b: { z: 1 }, e: [3] } });
    const replaced = await h.update('u', { only: true }, { strategy: 'replace', expectedVersion: 3 });
    expect(replaced).toMatchObject({ version: 4, data: { only: true } });
    expect((await h.get('u'))!.data).toEqual({ only: true });
    const audit = (await s.manager.audit({ contextId: 'u', action: 'update' })).items;
    expect(audit.map((e) => [e.version, [...e.changedKeys].sort()])).toEqual([
      [4, ['a', 'b', 'e', 'only']],
      [3, ['a', 'b']],
      [2, ['b', 'e']],
    ]);
  });

  it('update of an absent context is NOT_FOUND; bad input is VALIDATION and writes nothing', async () => {
    const h = s.manager.as(alice);
    expect((await rejection(h.update('missing', { a: 1 }))).code).toBe('NOT_FOUND');
    await h.create('session', { a: 1 }, { id: 'v' });
    const bad = await rejection(h.update('v', { a: Number.NaN }));
    expect(bad.code).toBe('VALIDATION');
    expect(bad.message).toContain('patch.a');
    expect((await rejection(h.update('v', { a: 1 }, { strategy: 'merge' as 'deep' }))).code).toBe(
      'VALIDATION',
    );
    expect((await rejection(h.update('v', [] as never))).code).toBe('VALIDATION');
    expect((await rejection(h.create('nope' as 'session', {}))).code).toBe('VALIDATION');
    expect((await rejection(h.create('session', { d: new Date() } as never))).details).toMatchObject({
      issues: [{ path: 'data.d' }],
    });
    expect((await rejection(h.create('persona', {}))).details).toMatchObject({
      issues: [{ path: 'persona' }],
    });
    expect((await rejection(h.create('session', {}, { id: '' }))).code).toBe('VALIDATION');
    expect((await rejection(h.create('session', {}, { ttlMs: -1 }))).code).toBe('VALIDATION');
    expect((await h.get('v'))!.version).toBe(1);
    expect(() => s.manager.as({ id: 'x', kind: 'root' as 'admin' })).toThrow(ConvokitError);
  });

  it('list filters, pages by (createdAt, id) and shows only what the caller may read', async () => {
    const a = s.manager.as(alice);
    const b = s.manager.as(bob);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await a.create('session', { i }, { id: `a${i}`, sessionId: i % 2 ? 'odd' : 'even' })).id);
      s.clock.advance(1);
    }
    await b.create('session', {}, { id: 'b0' });
    await s.manager.as(root).create('global', { g: 1 }, { id: 'g0' });
    const p1 = await a.list({ scope: 'session' }, { limit: 2 });
    expect(p1.items.map((c) => c.id)).toEqual(['a0', 'a1']);
    const p2 = await a.list({ scope: 'session' }, { limit: 2, cursor: p1.nextCursor! });
    expect(p2.items.map((c) => c.id)).toEqual(['a2', 'a3']);
    const p3 = await a.list({ scope: 'session' }, { limit: 2, cursor: p2.nextCursor! });
    expect(p3).toMatchObject({ items: [{ id: 'a4' }], nextCursor: null });
    expect((await a.list({ sessionId: 'odd' })).items.map((c) => c.id)).toEqual(['a1', 'a3']);
    // without a scope, the caller sees their own and the global ones, never bob's
    expect((await a.list()).items.map((c) => c.id)).toEqual([...ids, 'g0']);
    expect((await a.list({ scope: 'session', ownerId: 'bob' })).items).toEqual([]);
    expect((await s.manager.as(root).list({ scope: 'session' })).items).toHaveLength(6);
    // a page of unreadable items still yields readable ones later, with a usable cursor
    const mixed = await b.list({}, { limit: 1 });
    expect(mixed.items.map((c) => c.id)).toEqual(['b0']);
  });

  it('a list page may come back short with a cursor; paging on reaches everything readable once', async () => {
    const a = s.manager.as(alice);
    for (let i = 0; i < 45; i++) {
      await a.create('session', {}, { id: `hidden${String(i).padStart(2, '0')}` });
      s.clock.advance(1);
    }
    await s.manager.as(bob).create('session', {}, { id: 'mine1' });
    s.clock.advance(1);
    await s.manager.as(bob).create('session', {}, { id: 'mine2' });
    // no scope filter, so nothing narrows the query: 20 store pages of 1 are read per call
    const b = s.manager.as(bob);
    const first = await b.list({}, { limit: 1 });
    expect(first.items).toEqual([]);
    expect(first.nextCursor).not.toBeNull();
    const seen: string[] = [];
    let cursor: string | null = first.nextCursor;
    let calls = 1;
    while (cursor !== null) {
      const page = await b.list({}, { limit: 1, cursor });
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
      calls++;
    }
    expect(seen).toEqual(['mine1', 'mine2']);
    expect(calls).toBeLessThanOrEqual(4);
  });

  it('children, resolve down the parent chain, and delete with and without cascade', async () => {
    const admin = s.manager.as(root);
    const a = s.manager.as(alice);
    await admin.create('global', { theme: 'dark', ui: { size: 12, font: 'mono' }, lang: 'en' }, { id: 'g' });
    await a.create('conversation', { lang: 'fr', ui: { size: 14 } }, { id: 'conv', parentId: 'g' });
    await a.create('session', { ui: { font: 'serif' }, page: 3 }, { id: 'sess', parentId: 'conv' });
    await a.create('session', { x: 1 }, { id: 'sess2', parentId: 'conv' });
    expect((await a.children('conv')).map((c) => c.id)).toEqual(['sess', 'sess2']);
    expect(await a.resolve('sess')).toEqual({
      id: 'sess',
      version: 1,
      data: { theme: 'dark', lang: 'fr', ui: { size: 14, font: 'serif' }, page: 3 },
      chain: ['sess', 'conv', 'g'],
    });
    expect(await a.resolve('missing')).toBeUndefined();
    // a parent must be live and readable
    expect((await rejection(a.create('session', {}, { parentId: 'nope' }))).code).toBe('NOT_FOUND');
    expect((await rejection(s.manager.as(bob).create('session', {}, { parentId: 'conv' }))).code).toBe(
      'ACCESS_DENIED',
    );

    const conflict = await rejection(a.delete('conv'));
    expect(conflict).toMatchObject({ code: 'CONFLICT', details: { reason: 'has-children' } });
    expect(await a.get('conv')).toBeDefined();
    expect(await a.delete('conv', { cascade: true })).toBe(true);
    for (const id of ['conv', 'sess', 'sess2']) expect(await a.get(id)).toBeUndefined();
    expect(await a.delete('conv')).toBe(false);
    const deletes = (await s.manager.audit({ action: 'delete' })).items.map((e) => e.contextId).sort();
    expect(deletes).toEqual(['conv', 'sess', 'sess2']);
  });

  it('a cascade that reaches a context the caller may not delete deletes nothing', async () => {
    const a = s.manager.as(alice);
    await a.create('session', {}, { id: 'top' });
    await s.manager.as(root).create('session', {}, { id: 'foreign', parentId: 'top', ownerId: 'bob' });
    const error = await rejection(a.delete('top', { cascade: true }));
    expect(error).toMatchObject({ code: 'ACCESS_DENIED', details: { contextId: 'foreign' } });
    expect(await a.get('top')).toBeDefined();
    expect(await s.manager.as(bob).get('foreign')).toBeDefined();
  });

  it('clearScope deletes what the caller may delete in that scope, with descendants', async () => {
    const a = s.manager.as(alice);
    await a.create('navigation', {}, { id: 'n1' });
    await a.create('navigation', {}, { id: 'n2' });
    await a.create('session', {}, { id: 'child', parentId: 'n2' });
    await s.manager.as(bob).create('navigation', {}, { id: 'nb' });
    await a.create('session', {}, { id: 'keep' });
    expect(await a.clearScope('navigation')).toBe(4 - 1);
    expect(await s.manager.as(root).list({ scope: 'navigation' })).toMatchObject({ items: [{ id: 'nb' }] });
    expect(await a.get('keep')).toBeDefined();
    expect(await a.get('child')).toBeUndefined();
    expect(await a.clearScope('global')).toBe(0);
  });

  it("emits 'change' for every create, update and delete; unsubscribe stops it", async () => {
    const events: ChangeEvent[] = [];
    const off = s.manager.on('change', (e) => events.push(e));
    const h = s.manager.as(alice);
    await h.create('session', { a: 1 }, { id: 'e' });
    await h.update('e', { b: 2 });
    await h.delete('e');
    off();
    await h.create('session', {}, { id: 'after' });
    expect(events.map((e) => [e.type, e.context.id, e.principal, e.changedKeys, e.context.version])).toEqual([
      ['create', 'e', 'alice', ['a'], 1],
      ['update', 'e', 'alice', ['b'], 2],
      ['delete', 'e', 'alice', [], 2],
    ]);
  });

  it('a throwing listener does not break the write', async () => {
    s.manager.on('change', () => {
      throw new Error('listener bug');
    });
    const c = await s.manager.as(alice).create('session', {});
    expect(c.version).toBe(1);
    expect(s.manager.getMetrics().counters['listener.errors']).toBe(1);
  });

  it('audits every create, update, delete and denial with principal, time and keys', async () => {
    const h = s.manager.as(alice);
    await h.create('session', { a: 1, b: 2 }, { id: 'x' });
    s.clock.advance(7);
    await h.update('x', { b: 3 });
    s.clock.advance(7);
    await rejection(s.manager.as(bob).get('x'));
    await h.delete('x');
    const events = (await s.manager.audit({ contextId: 'x' })).items.reverse();
    expect(events.map(({ id, ...rest }) => rest)).toEqual([
      {
        at: T0,
        principal: 'alice',
        action: 'create',
        contextId: 'x',
        scope: 'session',
        outcome: 'ok',
        changedKeys: ['a', 'b'],
        version: 1,
      },
      {
        at: T0 + 7,
        principal: 'alice',
        action: 'update',
        contextId: 'x',
        scope: 'session',
        outcome: 'ok',
        changedKeys: ['b'],
        version: 2,
      },
      {
        at: T0 + 14,
        principal: 'bob',
        action: 'deny',
        contextId: 'x',
        scope: 'session',
        outcome: 'denied',
        changedKeys: [],
        attemptedAction: 'read',
      },
      {
        at: T0 + 14,
        principal: 'alice',
        action: 'delete',
        contextId: 'x',
        scope: 'session',
        outcome: 'ok',
        changedKeys: [],
        version: 2,
      },
    ]);
    expect((await s.manager.audit({ principal: 'bob' })).items).toHaveLength(1);
  });

  it('audit events keep within AuditEventSchema bounds: 1000 keys of 256 characters at most', async () => {
    const data: Record<string, number> = {};
    for (let i = 0; i < 1500; i++) data[`k${i}`] = i;
    data['x'.repeat(300)] = 1;
    const changes: ChangeEvent[] = [];
    s.manager.on('change', (e) => changes.push(e));
    await s.manager.as(alice).create('session', data, { id: 'wide' });
    const [event] = (await s.manager.audit({ contextId: 'wide' })).items;
    expect(event!.changedKeys).toHaveLength(1000);
    expect(event!.changedKeys.every((k) => k.length <= 256)).toBe(true);
    expect(changes[0]!.changedKeys).toHaveLength(1501); // listeners get every key, untruncated
  });

  it('get returns the stored context with exactly its fields, the access counted', async () => {
    const h = s.manager.as(alice);
    await h.create('session', { a: 1 }, { id: 'p' });
    await h.create('analytics', { b: 2 }, { id: 'k', parentId: 'p', sessionId: 's9', ttlMs: 500 });
    s.clock.advance(7);
    const bare = await h.get('p');
    expect(bare).toStrictEqual({
      id: 'p',
      scope: 'session',
      ownerId: 'alice',
      data: { a: 1 },
      metadata: {},
      version: 1,
      createdAt: T0,
      updatedAt: T0,
      expiresAt: T0 + 24 * 3_600_000,
      accessCount: 1,
      lastAccessedAt: T0 + 7,
    });
    expect(await h.get('k')).toStrictEqual({
      id: 'k',
      scope: 'analytics',
      ownerId: 'alice',
      sessionId: 's9',
      parentId: 'p',
      data: { b: 2 },
      metadata: {},
      version: 1,
      createdAt: T0,
      updatedAt: T0,
      expiresAt: T0 + 500,
      accessCount: 1,
      lastAccessedAt: T0 + 7,
    });
    const global = await s.manager.as(root).create('global', {}, { id: 'g' });
    expect(global).not.toHaveProperty('expiresAt');
    expect(await h.get('g')).toStrictEqual({ ...global, accessCount: 1, lastAccessedAt: T0 + 7 });
  });

  it('audit events name the right keys when writes of different shapes alternate', async () => {
    const h = s.manager.as(alice);
    for (let i = 0; i < 3; i++) {
      await h.create('session', { x: i, y: i }, { id: `a${i}` });
      await h.update(`a${i}`, { y: -1 }, { strategy: 'shallow' });
      await h.create('session', { z: i }, { id: `b${i}` });
      await h.update(`b${i}`, { z: -1, w: 1 }, { strategy: 'shallow' });
    }
    const events = (await s.manager.audit({}, { limit: 100 })).items.reverse();
    expect(events.map((e) => `${e.action} ${e.contextId} ${e.changedKeys.join(',')}`)).toEqual(
      [0, 1, 2].flatMap((i) => [`create a${i} x,y`, `update a${i} y`, `create b${i} z`, `update b${i} z,w`]),
    );
  });

  it('metrics count ops, latencies and outcomes', async () => {
    const h = s.manager.as(alice);
    await h.create('session', {}, { id: 'm' });
    await h.get('m');
    await h.get('m');
    await rejection(h.update('m', { a: 1 }, { expectedVersion: 9 }));
    await rejection(s.manager.as(bob).get('m'));
    const m = s.manager.getMetrics();
    expect(m.counters).toMatchObject({
      create: 1,
      get: 3,
      update: 1,
      conflicts: 1,
      denied: 1,
      'errors.CONFLICT': 1,
    });
    expect(m.latencies.get!.count).toBe(3);
    expect(m.latencies.get!.p99).toBeGreaterThanOrEqual(0);
    expect(m.latencies.update!.count).toBe(1);
    expect(m.latencies.create!.count).toBe(1);
    // Keys in core Metrics order, the hot operations among the others.
    expect(Object.keys(m.counters)).toEqual(Object.keys(m.counters).sort((a, b) => a.localeCompare(b)));
    expect(Object.keys(m.latencies)).toEqual(['create', 'get', 'update']);
  });

  it('hands the log events built in the field orders core warms (so `at` stays a tagged field)', async () => {
    const audit = s.storage.audit!;
    const append = audit.append.bind(audit);
    const appended: object[] = [];
    audit.append = async (events) => {
      appended.push(...events);
      await append(events);
    };
    const h = s.manager.as(alice);
    await h.create('session', { a: 1 }, { id: 'k' });
    await h.update('k', { a: 2 });
    await rejection(s.manager.as(bob).get('k'));
    await h.delete('k');
    await s.manager.audit();
    const shapes = warmAuditEventShapes().map((o) => Object.keys(o).join());
    expect(appended).toHaveLength(4);
    for (const e of appended) expect(shapes).toContain(Object.keys(e).join());
  });

  it('close flushes the audit trail, is idempotent, and later calls fail', async () => {
    const h = s.manager.as(alice);
    const pending = h.create('session', {}, { id: 'last' });
    await s.manager.close();
    await pending;
    await s.manager.close();
    expect((await rejection(h.get('last'))).details).toMatchObject({ reason: 'closed' });
    // the storage is the caller's and still open: the audit event is there
    const events = await s.storage.audit!.list({ contextId: 'last' });
    expect(events.items.map((e) => e.action)).toEqual(['create']);
  });
});

describe('storage requirements', () => {
  it('a storage without contexts or audit is UNSUPPORTED', async () => {
    const full = createMemoryStorage();
    const { contexts: _c, ...noContexts } = full;
    const partial = { ...noContexts, name: 'partial' } as unknown as Storage;
    const error = (() => {
      try {
        createChatContextManager({ storage: partial });
      } catch (e) {
        return e as ConvokitError;
      }
    })();
    expect(error).toMatchObject({ code: 'UNSUPPORTED', details: { adapter: 'partial', part: 'contexts' } });
    await full.close();
  });

  it('bad options are VALIDATION naming the field', () => {
    const storage = createMemoryStorage();
    const bad = (options: object, path: string) => {
      try {
        createChatContextManager({ storage, ...options });
        throw new Error('accepted');
      } catch (e) {
        expect(ConvokitError.is(e, 'VALIDATION')).toBe(true);
        expect((e as ConvokitError).details.issues).toEqual([expect.objectContaining({ path })]);
      }
    };
    bad({ ttl: { perScope: { nope: 1 } } }, 'ttl.perScope.nope');
    bad({ ttl: { default: 0 } }, 'ttl.default');
    bad({ limits: { maxBytes: -1 } }, 'limits.maxBytes');
    bad({ slidingExpiry: { session: 'yes' } }, 'slidingExpiry.session');
    bad({ sweepIntervalMs: 1.5 }, 'sweepIntervalMs');
    bad({ policy: 'open' }, 'policy');
  });
});
