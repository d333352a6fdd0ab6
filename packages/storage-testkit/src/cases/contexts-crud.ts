import { type Context, type ContextFilter, type ContextStore, ConvokitError } from '@convokit/core';
import { expect } from 'vitest';
import { expectRejects } from '../expect-error.js';
import { ids, makeContext } from '../fixtures/builders.js';
import { CONFORMANCE_START } from '../start.js';
import { defineCases, tryMutate } from './define.js';

const T = CONFORMANCE_START;

/** Eight contexts with known scopes, owners, sessions, personas and parents; created in id order. */
export const fixtureContexts: readonly Context[] = [
  makeContext({ id: 'c1', scope: 'session', ownerId: 'alice', sessionId: 's1', createdAt: T - 8000 }),
  makeContext({ id: 'c2', scope: 'session', ownerId: 'bob', sessionId: 's1', createdAt: T - 7000 }),
  makeContext({
    id: 'c3',
    scope: 'conversation',
    ownerId: 'alice',
    sessionId: 's2',
    parentId: 'c1',
    createdAt: T - 6000,
  }),
  makeContext({ id: 'c4', scope: 'global', data: { theme: 'dark' }, createdAt: T - 5000 }),
  makeContext({ id: 'c5', scope: 'persona', persona: 'analyst', ownerId: 'alice', createdAt: T - 4000 }),
  makeContext({ id: 'c6', scope: 'analytics', ownerId: 'bob', parentId: 'c1', createdAt: T - 3000 }),
  makeContext({
    id: 'c7',
    scope: 'navigation',
    ownerId: 'alice',
    sessionId: 's1',
    parentId: 'c3',
    createdAt: T - 2000,
  }),
  // Same createdAt as c7: ties by id.
  makeContext({ id: 'c0', scope: 'session', ownerId: 'alice', sessionId: 's1', createdAt: T - 2000 }),
];

async function listAll(store: ContextStore, filter: ContextFilter, limit: number): Promise<Context[]> {
  const out: Context[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await store.list(filter, { limit, ...(cursor ? { cursor } : {}) });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    out.push(...page.items);
    if (page.nextCursor === null) return out;
    cursor = page.nextCursor;
  }
  throw new Error('list never returned nextCursor: null');
}

const contextFilters: ReadonlyArray<{ filter: ContextFilter; ids: string[] }> = [
  { filter: {}, ids: ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c0', 'c7'] },
  { filter: { scope: 'session' }, ids: ['c1', 'c2', 'c0'] },
  { filter: { ownerId: 'alice' }, ids: ['c1', 'c3', 'c5', 'c0', 'c7'] },
  { filter: { sessionId: 's1' }, ids: ['c1', 'c2', 'c0', 'c7'] },
  { filter: { persona: 'analyst' }, ids: ['c5'] },
  { filter: { parentId: 'c1' }, ids: ['c3', 'c6'] },
  { filter: { scope: 'session', ownerId: 'alice', sessionId: 's1' }, ids: ['c1', 'c0'] },
  { filter: { scope: 'global', ownerId: 'alice' }, ids: [] },
];

export const contextsCrudCases = defineCases('contexts', 'contexts-crud', {
  'create stores the context as given and get returns it': async ({ contexts }) => {
    const context = makeContext({
      id: 'ctx',
      scope: 'conversation',
      ownerId: 'alice',
      sessionId: 's1',
      persona: 'analyst',
      parentId: 'root',
      data: { chart: { type: 'bar', series: [1, 2, 3] }, note: null, ok: true },
      metadata: { source: 'test' },
      expiresAt: CONFORMANCE_START + 60_000,
    });
    expect(await contexts.create(context)).toEqual(context);
    expect(await contexts.get('ctx')).toEqual(context);
  },

  'create keeps a minimal context without adding fields': async ({ contexts }) => {
    const context = makeContext({ id: 'min' });
    await contexts.create(context);
    const stored = await contexts.get('min');
    expect(stored).toEqual(context);
    expect(Object.keys(stored ?? {}).sort()).toEqual(Object.keys(context).sort());
  },

  'create with an existing id is CONFLICT and keeps the first': async ({ contexts }) => {
    await contexts.create(makeContext({ id: 'dup', data: { first: true } }));
    await expectRejects(
      () => contexts.create(makeContext({ id: 'dup', data: { second: true } })),
      'CONFLICT',
    );
    expect((await contexts.get('dup'))?.data).toEqual({ first: true });
    expect(await contexts.count()).toBe(1);
  },

  'get of an unknown id is undefined': async ({ contexts }) => {
    expect(await contexts.get('missing')).toBeUndefined();
  },

  'delete removes a context and reports whether it did': async ({ contexts }) => {
    await contexts.create(makeContext({ id: 'a' }));
    await contexts.create(makeContext({ id: 'b' }));
    expect(await contexts.delete('a')).toBe(true);
    expect(await contexts.get('a')).toBeUndefined();
    expect(await contexts.delete('a')).toBe(false);
    expect(await contexts.delete('never')).toBe(false);
    expect(ids((await contexts.list()).items)).toEqual(['b']);
    expect(await contexts.count()).toBe(1);
  },

  'delete with expectedVersion deletes only at that version': async ({ contexts }) => {
    await contexts.create(makeContext({ id: 'a' }));
    await contexts.update('a', 1, { data: { x: 1 } }, CONFORMANCE_START + 1);
    const error = await expectRejects(() => contexts.delete('a', { expectedVersion: 1 }), 'CONFLICT');
    expect(error.details.actualVersion).toBe(2);
    expect(await contexts.get('a')).toBeDefined();
    expect(await contexts.delete('a', { expectedVersion: 2 })).toBe(true);
    expect(await contexts.get('a')).toBeUndefined();
  },

  'an id can be created again after delete': async ({ contexts }) => {
    await contexts.create(makeContext({ id: 'a', data: { n: 1 } }));
    await contexts.delete('a');
    await contexts.create(makeContext({ id: 'a', data: { n: 2 } }));
    expect((await contexts.get('a'))?.data).toEqual({ n: 2 });
  },

  'list orders by createdAt then id, and filters by each field (AND)': async ({ contexts }) => {
    for (const context of fixtureContexts) await contexts.create(context);
    for (const { filter, ids: expected } of contextFilters) {
      expect(ids(await listAll(contexts, filter, 50)), `list ${JSON.stringify(filter)}`).toEqual(expected);
      expect(await contexts.count(filter), `count ${JSON.stringify(filter)}`).toBe(expected.length);
    }
  },

  'list pages cover every context once': async ({ contexts }) => {
    for (const context of fixtureContexts) await contexts.create(context);
    for (const limit of [1, 3, 8]) {
      expect(ids(await listAll(contexts, {}, limit)), `limit ${limit}`).toEqual(contextFilters[0]!.ids);
      expect(ids(await listAll(contexts, { ownerId: 'alice' }, limit)), `alice, limit ${limit}`).toEqual(
        contextFilters[2]!.ids,
      );
    }
    const last = await contexts.list({}, { limit: 4 });
    const rest = await contexts.list({}, { limit: 4, cursor: last.nextCursor! });
    expect(rest.items).toHaveLength(4);
    expect(rest.nextCursor).toBeNull();
  },

  'contexts created between pages never repeat or skip earlier ones': async ({ contexts, clock }) => {
    for (const context of fixtureContexts) await contexts.create(context);
    const seen: string[] = [];
    let cursor: string | undefined;
    let round = 0;
    do {
      const page = await contexts.list({}, { limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...ids(page.items));
      cursor = page.nextCursor ?? undefined;
      round++;
      await contexts.create(makeContext({ id: `new-${round}`, createdAt: clock.now() + round }));
      await contexts.create(makeContext({ id: `old-${round}`, createdAt: CONFORMANCE_START - 100_000 }));
    } while (cursor && round < 100);
    expect(seen.filter((id) => /^c\d$/.test(id))).toEqual(contextFilters[0]!.ids);
    expect(new Set(seen).size).toBe(seen.length);
  },

  'a context cursor used with another filter is VALIDATION': async ({ contexts }) => {
    for (const context of fixtureContexts) await contexts.create(context);
    const page = await contexts.list({ ownerId: 'alice' }, { limit: 2 });
    expect(page.nextCursor).not.toBeNull();
    await expectRejects(
      () => contexts.list({ ownerId: 'bob' }, { limit: 2, cursor: page.nextCursor! }),
      'VALIDATION',
    );
    await expectRejects(() => contexts.list({}, { cursor: 'garbage' }), 'VALIDATION');
  },

  'default page size is 50': async ({ contexts }) => {
    for (let i = 0; i < 55; i++) {
      await contexts.create(makeContext({ id: `p${String(i).padStart(2, '0')}`, createdAt: T + i }));
    }
    const first = await contexts.list();
    expect(first.items).toHaveLength(50);
    const rest = await contexts.list({}, { cursor: first.nextCursor! });
    expect(ids(rest.items)).toEqual(['p50', 'p51', 'p52', 'p53', 'p54']);
    expect(rest.nextCursor).toBeNull();
  },

  'list and count of an empty store': async ({ contexts }) => {
    expect(await contexts.list()).toEqual({ items: [], nextCursor: null });
    expect(await contexts.count()).toBe(0);
  },

  'mutating the input after create does not change the store': async ({ contexts }) => {
    const input = makeContext({ id: 'm', data: { nested: { n: 1 }, list: [1] }, metadata: { m: 1 } });
    const snapshot = structuredClone(input);
    await contexts.create(input);
    (input.data.nested as { n: number }).n = 2;
    (input.data.list as number[]).push(2);
    input.metadata.m = 2;
    input.version = 7;
    expect(await contexts.get('m')).toEqual(snapshot);
  },

  'mutating a context handed out (create, get, list, update) does not change the store': async ({
    contexts,
  }) => {
    const original = makeContext({ id: 'm', data: { nested: { n: 1 }, list: [1] }, metadata: { m: 1 } });
    const created = await contexts.create(original);
    const got = await contexts.get('m');
    const listed = (await contexts.list()).items[0];
    for (const handed of [created, got, listed]) {
      expect(handed).toBeDefined();
      tryMutate(() => {
        (handed!.data.nested as { n: number }).n = 99;
      });
      tryMutate(() => {
        (handed!.data.list as number[]).push(99);
      });
      tryMutate(() => {
        handed!.metadata.m = 99;
      });
      tryMutate(() => {
        handed!.version = 99;
      });
      expect(await contexts.get('m')).toEqual(original);
    }
    const updated = await contexts.update('m', 1, { data: { fresh: { n: 1 } } }, CONFORMANCE_START + 5);
    const after = structuredClone(await contexts.get('m'));
    tryMutate(() => {
      (updated.data.fresh as { n: number }).n = 99;
    });
    expect(await contexts.get('m')).toEqual(after);
  },

  'mutating the changes after update does not change the store': async ({ contexts }) => {
    await contexts.create(makeContext({ id: 'm' }));
    const changes = { data: { nested: { n: 1 } } };
    await contexts.update('m', 1, changes, CONFORMANCE_START + 5);
    changes.data.nested.n = 2;
    expect((await contexts.get('m'))?.data).toEqual({ nested: { n: 1 } });
  },

  'touch counts an access without a new version': async ({ contexts }) => {
    await contexts.create(makeContext({ id: 'a', data: { x: 1 } }));
    await contexts.touch('a', { at: CONFORMANCE_START + 10 });
    await contexts.touch('a', { at: CONFORMANCE_START + 20 });
    const touched = await contexts.get('a');
    expect(touched?.accessCount).toBe(2);
    expect(touched?.lastAccessedAt).toBe(CONFORMANCE_START + 20);
    expect(touched?.version).toBe(1);
    expect(touched?.updatedAt).toBe(CONFORMANCE_START);
    expect(touched?.data).toEqual({ x: 1 });
    // A touch is not a write: the version-1 update still applies.
    const updated = await contexts.update('a', 1, { data: { x: 2 } }, CONFORMANCE_START + 30);
    expect(updated.version).toBe(2);
    expect(updated.accessCount).toBe(2);
  },

  'touches around an update never undo it': async ({ contexts }) => {
    await contexts.create(makeContext({ id: 'a', data: { v: 1 } }));
    for (let i = 1; i <= 5; i++) await contexts.touch('a', { at: CONFORMANCE_START + i });
    await contexts.update('a', 1, { data: { v: 2 } }, CONFORMANCE_START + 10);
    await contexts.touch('a', { at: CONFORMANCE_START + 20 });
    const stored = await contexts.get('a');
    expect(stored).toMatchObject({
      data: { v: 2 },
      version: 2,
      accessCount: 6,
      lastAccessedAt: CONFORMANCE_START + 20,
    });
    expect(stored?.updatedAt).toBe(CONFORMANCE_START + 10);
  },

  'concurrent creates of one id: exactly one wins': async ({ contexts }) => {
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        contexts.create(makeContext({ id: 'same', data: { creator: i } })),
      ),
    );
    for (const r of results) {
      if (r.status === 'rejected' && !ConvokitError.is(r.reason, 'CONFLICT')) throw r.reason;
    }
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(winners).toHaveLength(1);
    expect((await contexts.get('same'))?.data).toEqual({ creator: winners[0] });
  },

  'touch of an unknown id is ignored': async ({ contexts }) => {
    await contexts.touch('missing', { at: CONFORMANCE_START });
    expect(await contexts.get('missing')).toBeUndefined();
    expect(await contexts.count()).toBe(0);
  },
});
