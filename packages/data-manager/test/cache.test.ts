import { createManualClock } from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { createConversationalDataManager, type PersonaUsageData } from '../src/index.js';
import { FULL, NOW } from './fixtures.js';
import { fixtureManager, type Setup } from './helpers.js';

let setup: Setup | undefined;
afterEach(async () => {
  await setup?.manager.close();
  await setup?.storage.close();
});

const Q = { type: 'persona_usage', timeRange: FULL } as const;

describe('query cache', () => {
  it('serves a repeat from the cache, keyed by the canonical query', async () => {
    setup = await fixtureManager();
    const first = await setup.manager.query(Q);
    expect(first.metadata.cacheHit).toBe(false);
    // Same query, other key order, defaults spelled out, ISO time instead of epoch ms.
    const second = await setup.manager.query({
      aggregation: 'daily',
      timeRange: { to: new Date(FULL.to).toISOString(), from: FULL.from },
      type: 'persona_usage',
      filters: {},
    });
    expect(second.metadata.cacheHit).toBe(true);
    expect(second.data).toEqual(first.data);
    const m = setup.manager.getMetrics();
    expect(m.cache).toMatchObject({ enabled: true, hits: 1, misses: 1, hitRate: 0.5, size: 1 });
    expect(m.counters['queries.persona_usage']).toBe(2);
  });

  it('answers are frozen: a caller cannot corrupt the cache', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<PersonaUsageData>(Q);
    expect(() => {
      (res.data!.personas[0] as { turns: number }).turns = 99;
    }).toThrow(TypeError);
  });

  it('expires after the TTL on the injected clock (a period ending at "now" is recomputed)', async () => {
    setup = await fixtureManager({ cache: { ttlMs: 1000, maxEntries: 10 } });
    const live = { type: 'persona_usage', timeRange: { from: FULL.from } } as const;
    await setup.manager.query(live);
    setup.clock.advance(1000); // served until more than ttlMs old
    expect((await setup.manager.query(live)).metadata.cacheHit).toBe(true);
    setup.clock.advance(1);
    expect((await setup.manager.query(live)).metadata.cacheHit).toBe(false);
    expect(setup.manager.getMetrics().cache).toMatchObject({ hits: 1, misses: 2, revalidated: 0 });
  });

  it('a write through another manager (another process) shows after at most the TTL', async () => {
    const clock = createManualClock(NOW);
    const storage = createMemoryStorage({ clock });
    const reader = createConversationalDataManager({ storage, clock, cache: { ttlMs: 5000 } });
    const writer = createConversationalDataManager({ storage, clock });
    const turns = async () => (await reader.query<PersonaUsageData>(Q)).data!.totalTurns;
    await writer.recordTurn({ sessionId: 's', at: FULL.from, userInput: 'a', assistantResponse: 'b' });
    expect(await turns()).toBe(1);
    await writer.recordTurn({ sessionId: 's', at: FULL.from + 1, userInput: 'a', assistantResponse: 'b' });
    expect(await turns()).toBe(1); // stale, within the TTL
    clock.advance(5001);
    expect(await turns()).toBe(2);
    await storage.close();
  });

  it('recording through the manager invalidates at once', async () => {
    setup = await fixtureManager();
    const before = await setup.manager.query<PersonaUsageData>(Q);
    await setup.manager.recordTurn({
      sessionId: 'new',
      at: FULL.from,
      userInput: 'a',
      assistantResponse: 'b',
    });
    const after = await setup.manager.query<PersonaUsageData>(Q);
    expect(after.metadata.cacheHit).toBe(false);
    expect(after.data!.totalTurns).toBe(before.data!.totalTurns + 1);
  });

  it('an answer computed while a write happened is not cached', async () => {
    setup = await fixtureManager();
    const pending = setup.manager.query<PersonaUsageData>(Q);
    await setup.manager.recordTurn({
      sessionId: 'new',
      at: FULL.from,
      userInput: 'a',
      assistantResponse: 'b',
    });
    await pending;
    const after = await setup.manager.query<PersonaUsageData>(Q);
    expect(after.metadata.cacheHit).toBe(false);
    expect(after.data!.totalTurns).toBe(21);
  });

  it('maxEntries bounds the cache (least recently used goes)', async () => {
    setup = await fixtureManager({ cache: { ttlMs: 60_000, maxEntries: 2 } });
    const q = (limit: number) => ({ ...Q, aggregation: 'session', pagination: { limit } }) as const;
    await setup.manager.query(q(1));
    await setup.manager.query(q(2));
    await setup.manager.query(q(1)); // touch 1
    await setup.manager.query(q(3)); // evicts 2
    expect(setup.manager.getMetrics().cache.size).toBe(2);
    expect((await setup.manager.query(q(1))).metadata.cacheHit).toBe(true);
    expect((await setup.manager.query(q(2))).metadata.cacheHit).toBe(false);
  });

  it('clearCache and cache: false', async () => {
    setup = await fixtureManager();
    await setup.manager.query(Q);
    setup.manager.clearCache();
    expect((await setup.manager.query(Q)).metadata.cacheHit).toBe(false);
    await setup.manager.close();
    await setup.storage.close();
    setup = await fixtureManager({ cache: false });
    await setup.manager.query(Q);
    expect((await setup.manager.query(Q)).metadata.cacheHit).toBe(false);
    expect(setup.manager.getMetrics().cache).toMatchObject({
      enabled: false,
      hits: 0,
      misses: 0,
      hitRate: null,
    });
  });

  it('search and session context are cached and invalidated the same way', async () => {
    setup = await fixtureManager();
    await setup.manager.getSessionContext('s5');
    expect((await setup.manager.getSessionContext('s5')).metadata.cacheHit).toBe(true);
    await setup.manager.search('okr');
    expect((await setup.manager.search('okr')).metadata.cacheHit).toBe(true);
    await setup.manager.recordTurn({ sessionId: 's5', userInput: 'okr again', assistantResponse: 'b' });
    const ctx = await setup.manager.getSessionContext('s5');
    expect(ctx.metadata.cacheHit).toBe(false);
    expect(ctx.data!.turns).toBe(4);
    expect((await setup.manager.search('okr')).data).toHaveLength(3);
  });
});

describe('concurrent identical queries', () => {
  it('share one computation; the joiners count as hits', async () => {
    setup = await fixtureManager();
    const turns = setup.storage.turns!;
    let calls = 0;
    const aggregate = turns.aggregate.bind(turns);
    (turns as { aggregate: typeof aggregate }).aggregate = (spec) => {
      calls += 1;
      return aggregate(spec);
    };
    const [a, b, c] = await Promise.all([
      setup.manager.query(Q),
      setup.manager.query(Q),
      setup.manager.query(Q),
    ]);
    expect(calls).toBe(3); // one persona_usage: per persona, distinct counts, daily series
    expect([a.metadata.cacheHit, b.metadata.cacheHit, c.metadata.cacheHit]).toEqual([false, true, true]);
    expect(b.data).toEqual(a.data);
    expect(setup.manager.getMetrics().cache).toMatchObject({ hits: 2, misses: 1 });
  });

  it('a call that starts after a write does not join a computation from before it', async () => {
    setup = await fixtureManager();
    const before = setup.manager.query<PersonaUsageData>(Q);
    await setup.manager.recordTurn({
      sessionId: 'new',
      at: FULL.from,
      userInput: 'a',
      assistantResponse: 'b',
    });
    const after = await setup.manager.query<PersonaUsageData>(Q);
    expect(after.metadata.cacheHit).toBe(false);
    expect(after.data!.totalTurns).toBe(21);
    await before;
  });
});
