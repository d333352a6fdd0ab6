import { type AuditEvent, type Context, createManualClock } from '@convokit/core';
import { makeExpireEvent } from '@convokit/storage-testkit';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPostgresStorage, type PostgresStorage } from '../src/index.js';
import { freshStorage, reportSkip, url } from './support.js';

reportSkip('expire-audited.int.test.ts');

const T0 = Date.UTC(2026, 2, 2, 12);
const clock = createManualClock(T0);

function ctxOf(id: string, expiresAt: number): Context {
  return {
    id,
    scope: 'session',
    data: { v: id },
    metadata: {},
    version: 1,
    createdAt: T0,
    updatedAt: T0,
    accessCount: 0,
    lastAccessedAt: T0,
    expiresAt,
  };
}

const expireEvent =
  (prefix: string) =>
  (c: Omit<Context, 'data' | 'metadata'>): AuditEvent =>
    makeExpireEvent(c, `${prefix}-${c.id}`, T0 + 10_000);

describe.skipIf(!url)('contexts.deleteExpiredAudited (postgres)', () => {
  let ctx: ReturnType<typeof freshStorage>;
  /** A second pool on the same schema: sees only what was committed. */
  let other: PostgresStorage;
  beforeAll(() => {
    ctx = freshStorage({ clock });
    other = createPostgresStorage({ url: url!, schema: ctx.storage.schema, clock });
  });
  afterAll(async () => {
    await other.close();
    await ctx.drop();
  });

  test('a stored id on a later event rolls back the deletes the same transaction made', async () => {
    const { contexts, audit } = ctx.storage;
    await contexts.create(ctxOf('r1', T0 + 100));
    await contexts.create(ctxOf('r2', T0 + 200));
    await contexts.create(ctxOf('r3', T0 + 300));
    // The second event of the sweep (r2's) takes an id already stored; r1's is fresh.
    await audit.append([{ ...expireEvent('x')(ctxOf('r2', 0)), at: T0 }]);
    await expect(
      contexts.deleteExpiredAudited!(T0 + 1_000, { values: false, event: expireEvent('x') }),
    ).rejects.toMatchObject({ code: 'CONFLICT', details: { ids: ['x-r2'] } });
    // Nothing deleted, nothing appended, seen from the other pool too.
    expect((await other.contexts.list({}, { now: T0 })).items.map((c) => c.id)).toEqual(['r1', 'r2', 'r3']);
    expect((await other.audit.list()).items.map((e) => e.id)).toEqual(['x-r2']);
    // The rows are neither gone nor left locked: a sweep from the other pool takes all three.
    const deleted = await other.contexts.deleteExpiredAudited!(T0 + 1_000, { event: expireEvent('y') });
    expect(deleted.map((c) => [c.id, c.data])).toEqual([
      ['r1', { v: 'r1' }],
      ['r2', { v: 'r2' }],
      ['r3', { v: 'r3' }],
    ]);
    expect((await audit.list({ action: 'expire', from: T0 + 1 })).items.map((e) => e.id)).toEqual([
      'y-r3',
      'y-r2',
      'y-r1',
    ]);
    expect(await contexts.count({}, { now: T0 })).toBe(0);
  });

  test('an event that throws after the DELETE ran rolls it back', async () => {
    const { contexts } = ctx.storage;
    await contexts.create(ctxOf('t1', T0 + 100));
    await contexts.create(ctxOf('t2', T0 + 200));
    const failure = new Error('no event for t2');
    const make = expireEvent('t');
    await expect(
      contexts.deleteExpiredAudited!(T0 + 1_000, {
        values: false,
        event: (c) => {
          if (c.id === 't2') throw failure;
          return make(c);
        },
      }),
    ).rejects.toBe(failure);
    expect((await other.contexts.list({}, { now: T0 })).items.map((c) => c.id)).toEqual(['t1', 't2']);
    expect((await other.audit.list({ contextId: 't1' })).items).toEqual([]);
    expect((await contexts.deleteExpired(T0 + 1_000)).map((c) => c.id)).toEqual(['t1', 't2']);
  });

  test('two pools sweeping at once split the contexts: each deleted once, with one event', async () => {
    const { contexts, audit } = ctx.storage;
    const n = 40;
    for (let i = 0; i < n; i++) await contexts.create(ctxOf(`s${String(i).padStart(2, '0')}`, T0 + 1 + i));
    const sweepAll = async (store: PostgresStorage, prefix: string) => {
      const ids: string[] = [];
      for (;;) {
        const batch = await store.contexts.deleteExpiredAudited!(T0 + 1_000, {
          limit: 7,
          values: false,
          event: expireEvent(prefix),
        });
        if (batch.length === 0) return ids;
        ids.push(...batch.map((c) => c.id));
      }
    };
    const [a, b] = await Promise.all([sweepAll(ctx.storage, 'pa'), sweepAll(other, 'pb')]);
    const all = [...a, ...b].sort();
    expect(all).toEqual(Array.from({ length: n }, (_, i) => `s${String(i).padStart(2, '0')}`));
    const events = (await audit.list({ action: 'expire' }, { limit: 1000 })).items.filter((e) =>
      e.contextId.startsWith('s'),
    );
    expect(events.map((e) => e.contextId).sort()).toEqual(all);
    expect(
      events
        .filter((e) => e.id.startsWith('pa-'))
        .map((e) => e.contextId)
        .sort(),
    ).toEqual(a.sort());
  });
});
