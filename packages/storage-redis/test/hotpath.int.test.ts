import type { Context, ContextFilter, ContextStore } from '@convokit/core';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRedisStorage } from '../src/index.js';
import { freshPrefix, freshStorage, reportSkip, url } from './support.js';

reportSkip('hotpath.int.test.ts');

const T = 1_800_000_000_000;

function ctxOf(id: string, fields: Partial<Context> = {}): Context {
  return {
    id,
    scope: 'session',
    data: { id },
    metadata: {},
    version: 1,
    createdAt: T,
    updatedAt: T,
    accessCount: 0,
    lastAccessedAt: T,
    ...fields,
  };
}

async function listAll(store: ContextStore, filter: ContextFilter, limit: number, now: number) {
  const out: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 500; pages++) {
    const page = await store.list(filter, { limit, now, ...(cursor ? { cursor } : {}) });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    out.push(...page.items.map((c) => c.id));
    if (page.nextCursor === null) return out;
    cursor = page.nextCursor;
  }
  throw new Error('list never ended');
}

/** Redis's order: createdAt, then id by UTF-8 bytes. */
function byRedisOrder(a: Context, b: Context): number {
  return a.createdAt - b.createdAt || Buffer.compare(Buffer.from(a.id), Buffer.from(b.id));
}

describe.skipIf(!url)('hot paths (redis)', () => {
  let ctx: ReturnType<typeof freshStorage>;
  beforeAll(() => {
    ctx = freshStorage();
  });
  afterAll(() => ctx.drop());

  test('a page behind more than 1,000 entries that do not match comes back whole, in order', async () => {
    const { contexts } = ctx.storage;
    // 1,100 contexts of owner o1 come first in the session index that list({sessionId, ownerId})
    // walks, so the script runs out of its scan budget and the adapter resumes where it stopped.
    for (let k = 0; k < 1100; k += 275) {
      await Promise.all(
        Array.from({ length: 275 }, (_, j) =>
          contexts.create(ctxOf(`skip-${k + j}`, { sessionId: 'big', ownerId: 'o1', createdAt: T + k + j })),
        ),
      );
    }
    await contexts.create(ctxOf('m-b', { sessionId: 'big', ownerId: 'o2', createdAt: T + 5000 }));
    await contexts.create(ctxOf('m-a', { sessionId: 'big', ownerId: 'o2', createdAt: T + 5000 }));
    await contexts.create(ctxOf('m-c', { sessionId: 'big', ownerId: 'o2', createdAt: T + 6000 }));
    // Expired at the `now` of the list: never returned.
    await contexts.create(
      ctxOf('m-x', { sessionId: 'big', ownerId: 'o2', createdAt: T + 5500, expiresAt: T + 1 }),
    );
    const filter = { sessionId: 'big', ownerId: 'o2' };
    const first = await contexts.list(filter, { limit: 2, now: T + 10 });
    expect(first.items.map((c) => c.id)).toEqual(['m-a', 'm-b']);
    expect(first.items[0]).toEqual(ctxOf('m-a', { sessionId: 'big', ownerId: 'o2', createdAt: T + 5000 }));
    expect(first.nextCursor).not.toBeNull();
    const second = await contexts.list(filter, { limit: 2, now: T + 10, cursor: first.nextCursor! });
    expect(second.items.map((c) => c.id)).toEqual(['m-c']);
    expect(second.nextCursor).toBeNull();
    expect(await listAll(contexts, filter, 1, T)).toEqual(['m-a', 'm-b', 'm-x', 'm-c']);
    expect(await contexts.list({ sessionId: 'big', ownerId: 'nobody' }, { now: T })).toEqual({
      items: [],
      nextCursor: null,
    });
  }, 60_000);

  test('paging matches a model: ties on createdAt ordered by id bytes, filters, expiry', async () => {
    const idChars = fc.constantFrom('a', 'b', 'Z', '0', 'é', '中', '😀', '\uE000', '-');
    const row = fc.record({
      id: fc.array(idChars, { minLength: 1, maxLength: 3 }).map((cs) => cs.join('')),
      created: fc.integer({ min: 0, max: 3 }),
      owner: fc.constantFrom('o1', 'o2'),
      persona: fc.constantFrom(undefined, 'p'),
      expires: fc.constantFrom(undefined, 5, 50),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(row, { selector: (r) => r.id, minLength: 0, maxLength: 25 }),
        fc.constantFrom<ContextFilter>(
          {},
          { ownerId: 'o1' },
          { ownerId: 'o2', persona: 'p' },
          { scope: 'session' },
        ),
        fc.integer({ min: 1, max: 7 }),
        async (rows, filter, limit) => {
          const keyPrefix = `${ctx.storage.keyPrefix}p${run++}:`;
          const storage = createRedisStorage({ url: url!, keyPrefix });
          try {
            const all = rows.map((r) =>
              ctxOf(r.id, {
                createdAt: T + r.created,
                ownerId: r.owner,
                ...(r.persona ? { persona: r.persona } : {}),
                ...(r.expires ? { expiresAt: T + r.expires } : {}),
              }),
            );
            await Promise.all(all.map((c) => storage.contexts.create(c)));
            const now = T + 10;
            const expected = all
              .filter((c) => c.expiresAt === undefined || now < c.expiresAt)
              .filter((c) => filter.ownerId === undefined || c.ownerId === filter.ownerId)
              .filter((c) => filter.persona === undefined || c.persona === filter.persona)
              .sort(byRedisOrder)
              .map((c) => c.id);
            expect(await listAll(storage.contexts, filter, limit, now)).toEqual(expected);
          } finally {
            await storage.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);

  test('what update returns is what a read then finds, whichever fields change', async () => {
    const { contexts } = ctx.storage;
    const json = fc.dictionary(
      fc.string({ maxLength: 4 }),
      fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null)),
      { maxKeys: 4 },
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            data: json,
            metadata: json,
            ownerId: fc.constantFrom('o1', 'o2'),
            parentId: fc.constantFrom(null, 'p1'),
            expiresAt: fc.constantFrom(null, T + 5_000_000),
          },
          { requiredKeys: [] },
        ),
        async (changes) => {
          const id = `u${n++}`;
          await contexts.create(ctxOf(id, { metadata: { keep: 1 }, expiresAt: T + 1_000_000 }));
          const updated = await contexts.update(id, 1, changes, T + 7);
          expect(updated).toEqual(await contexts.get(id, { now: T + 8 }));
          expect(updated.version).toBe(2);
          expect(updated.updatedAt).toBe(T + 7);
          expect(updated.data).toEqual(changes.data ?? { id });
          expect(updated.metadata).toEqual(changes.metadata ?? { keep: 1 });
        },
      ),
      { numRuns: 60 },
    );
  });

  test('update hands back data and metadata holding the reply separator (U+001F) and other control characters intact', async () => {
    const { contexts } = ctx.storage;
    const odd = { 'a\u001fb': 'x\u001fy\u0000z', nested: ['\u001f', { '\u001f': '\n\u001e' }], 'é😀': 1 };
    await contexts.create(ctxOf('sep-é😀', { data: odd, metadata: { m: '\u001f' }, sessionId: 's\u00e9' }));
    // Only the owner changes: data and metadata come back in the script's reply, not from the call.
    const updated = await contexts.update('sep-é😀', 1, { ownerId: 'o-\u00fc' }, T + 3);
    expect(updated.data).toEqual(odd);
    expect(updated.metadata).toEqual({ m: '\u001f' });
    expect(updated).toEqual(await contexts.get('sep-é😀', { now: T + 4 }));
    expect(updated).toMatchObject({ id: 'sep-é😀', sessionId: 's\u00e9', ownerId: 'o-\u00fc', version: 2 });
  });

  test('after any mix of create, update, touch and delete the indexes name exactly the live contexts', async () => {
    const owner = fc.constantFrom('o1', 'o2');
    const parent = fc.constantFrom('p1', 'p2');
    const expiry = fc.constantFrom(T + 500_000_000, T + 600_000_000);
    const id = fc.constantFrom('a', 'b', 'c');
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('create' as const),
        id,
        owner,
        parent: fc.option(parent),
        exp: fc.option(expiry),
      }),
      fc.record({
        kind: fc.constant('update' as const),
        id,
        changes: fc.record(
          { ownerId: owner, parentId: fc.option(parent), expiresAt: fc.option(expiry) },
          { requiredKeys: [] },
        ),
      }),
      fc.record({ kind: fc.constant('touch' as const), id, exp: fc.option(expiry, { nil: undefined }) }),
      fc.record({ kind: fc.constant('delete' as const), id }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
        const keyPrefix = `${ctx.storage.keyPrefix}ix${run++}:`;
        const storage = createRedisStorage({ url: url!, keyPrefix });
        const model = new Map<string, Context>();
        try {
          const { contexts } = storage;
          let at = T;
          for (const o of ops) {
            at += 1;
            const had = model.get(o.id);
            if (o.kind === 'create') {
              const c = ctxOf(o.id, { ownerId: o.owner, createdAt: at, updatedAt: at, lastAccessedAt: at });
              if (o.parent !== null) c.parentId = o.parent;
              if (o.exp !== null) c.expiresAt = o.exp;
              if (had) await expect(contexts.create(c)).rejects.toMatchObject({ code: 'CONFLICT' });
              else model.set(o.id, await contexts.create(c));
            } else if (o.kind === 'update') {
              if (!had) {
                await expect(contexts.update(o.id, 1, o.changes, at)).rejects.toMatchObject({
                  code: 'NOT_FOUND',
                });
                continue;
              }
              const updated = await contexts.update(o.id, had.version, o.changes, at);
              const next: Context = { ...had, version: had.version + 1, updatedAt: at };
              if (o.changes.ownerId !== undefined) next.ownerId = o.changes.ownerId;
              if (o.changes.parentId === null) delete next.parentId;
              else if (o.changes.parentId !== undefined) next.parentId = o.changes.parentId;
              if (o.changes.expiresAt === null) delete next.expiresAt;
              else if (o.changes.expiresAt !== undefined) next.expiresAt = o.changes.expiresAt;
              expect(updated).toEqual(next);
              model.set(o.id, next);
            } else if (o.kind === 'touch') {
              await contexts.touch(o.id, o.exp === undefined ? { at } : { at, expiresAt: o.exp });
              if (had) {
                const next = { ...had, accessCount: had.accessCount + 1, lastAccessedAt: at };
                if (o.exp !== undefined) next.expiresAt = o.exp;
                model.set(o.id, next);
              }
            } else {
              expect(await contexts.delete(o.id)).toBe(had !== undefined);
              model.delete(o.id);
            }
          }
          const live = [...model.values()].sort(byRedisOrder);
          const ids = (pick: (c: Context) => boolean) => live.filter(pick).map((c) => c.id);
          for (const id of ['a', 'b', 'c']) expect(await contexts.get(id, { now: T })).toEqual(model.get(id));
          const admin = new Redis(url!);
          try {
            const members = (key: string) => admin.zrange(`${keyPrefix}${key}`, 0, -1);
            expect(await members('ix:all')).toEqual(ids(() => true));
            expect(await members('ix:scope:session')).toEqual(ids(() => true));
            for (const o of ['o1', 'o2'])
              expect(await members(`ix:owner:${o}`)).toEqual(ids((c) => c.ownerId === o));
            for (const p of ['p1', 'p2'])
              expect(await members(`ix:parent:${p}`)).toEqual(ids((c) => c.parentId === p));
            const expiring = live.filter((c) => c.expiresAt !== undefined);
            expect((await members('exp')).sort()).toEqual(expiring.map((c) => c.id).sort());
            expect((await admin.hkeys(`${keyPrefix}expmeta`)).sort()).toEqual(
              expiring.map((c) => c.id).sort(),
            );
            for (const c of live) {
              const ttl = await admin.pexpiretime(`${keyPrefix}ctx:${c.id}`);
              expect(ttl).toBe(c.expiresAt ?? -1);
            }
          } finally {
            admin.disconnect();
          }
        } finally {
          await storage.close();
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  test('touches are written behind yet seen by this client at once and kept across close', async () => {
    const keyPrefix = freshPrefix();
    const first = createRedisStorage({ url: url!, keyPrefix });
    await first.contexts.create(ctxOf('t', { expiresAt: T + 10_000_000 }));
    await first.contexts.touch('t', { at: T + 1 });
    await first.contexts.touch('t', { at: T + 2 });
    expect(await first.contexts.get('t', { now: T + 3 })).toMatchObject({
      accessCount: 2,
      lastAccessedAt: T + 2,
      version: 1,
    });
    // Not awaited: close waits for their answers.
    const slideTo = T + 20_000_000;
    void first.contexts.touch('t', { at: T + 4 });
    void first.contexts.touch('t', { at: T + 5, expiresAt: slideTo });
    await first.close();
    const second = createRedisStorage({ url: url!, keyPrefix });
    try {
      expect(await second.contexts.get('t', { now: T + 6 })).toMatchObject({
        accessCount: 4,
        lastAccessedAt: T + 5,
        expiresAt: slideTo,
      });
      await expect(first.contexts.touch('t', { at: T + 7 })).rejects.toMatchObject({
        code: 'STORAGE',
        details: { reason: 'closed' },
      });
    } finally {
      await second.close();
      const { deleteKeys } = await import('./support.js');
      await deleteKeys(keyPrefix);
    }
  });

  test('get checks its options fully when they are not plainly valid', async () => {
    const { contexts } = ctx.storage;
    await contexts.create(ctxOf('g'));
    for (const bad of [{ now: 1.5 }, { now: -1 }, { now: 5, extra: 1 }, { now: '5' }, 'x']) {
      await expect(contexts.get('g', bad as never)).rejects.toMatchObject({ code: 'VALIDATION' });
    }
    expect((await contexts.get('g', { now: undefined }))?.id).toBe('g');
    expect((await contexts.get('g', {}))?.id).toBe('g');
    expect((await contexts.get('g', null as never))?.id).toBe('g');
    expect(await contexts.get('g', { now: T + 1 })).toEqual(ctxOf('g'));
  });
});
