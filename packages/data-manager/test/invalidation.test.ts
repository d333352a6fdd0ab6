import {
  type ConversationalQueryInput,
  createManualClock,
  type DataResponse,
  matchesTurnFilter,
  normalizeTurnFilter,
  type Storage,
  type TurnFilter,
  type TurnInput,
  type TurnStore,
} from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createConversationalDataManager, type PersonaUsageData } from '../src/index.js';
import { day, FULL, fixtureTurns, NOW, W1, W2, W3 } from './fixtures.js';
import { fixtureManager, type Setup } from './helpers.js';

/** The parts of a response a cache must reproduce: timing, cache flags and live manager figures aside. */
function comparable(res: DataResponse): unknown {
  const data = res.data as Record<string, unknown> | null;
  const { manager: _m, ...rest } = data ?? {};
  return {
    success: res.success,
    data: data === null ? null : rest,
    totalRecords: res.totalRecords,
    period: res.metadata.period,
    // A cursor carries the query's fingerprint (its time range as given): compare presence only.
    nextCursor: res.metadata.nextCursor == null ? null : 'more',
    error: res.error?.code,
  };
}

const turn = (over: Partial<TurnInput>): TurnInput => ({
  sessionId: 'new',
  userInput: 'a',
  assistantResponse: 'b',
  ...over,
});

let setup: Setup | undefined;
afterEach(async () => {
  await setup?.manager.close();
  await setup?.storage.close();
  setup = undefined;
});

describe('precise invalidation', () => {
  it('a turn outside the period or not matching the filters keeps the answer; a matching one is folded in', async () => {
    setup = await fixtureManager();
    const { manager } = setup;
    const q = { type: 'persona_usage', timeRange: W1, filters: { persona: 'pm' } } as const;
    const before = await manager.query<PersonaUsageData>(q);
    expect(before.data!.totalTurns).toBe(3); // t03, t04, t05

    await manager.recordTurn(turn({ at: W1.to, persona: 'pm' })); // after the period (to is exclusive)
    await manager.recordTurn(turn({ at: W1.from - 1, persona: 'pm' })); // before it
    await manager.recordTurn(turn({ at: W1.from, persona: 'cto' })); // other persona
    await manager.recordTurn(turn({ at: W1.from })); // no persona: does not match a persona filter
    const kept = await manager.query<PersonaUsageData>(q);
    expect(kept.metadata.cacheHit).toBe(true);
    expect(kept.data!.totalTurns).toBe(3);

    await manager.recordTurn(turn({ at: W1.to - 1, persona: 'pm' }));
    const after = await manager.query<PersonaUsageData>(q);
    // Folded, not recomputed: a hit, with the new turn counted.
    expect(after.metadata.cacheHit).toBe(true);
    expect(manager.getMetrics().cache).toMatchObject({ folded: 1, misses: 1 });
    expect(after.data!.totalTurns).toBe(4);
    const fresh = createConversationalDataManager({
      storage: setup.storage,
      clock: setup.clock,
      cache: false,
    });
    expect(comparable(after)).toEqual(comparable(await fresh.query(q)));
  });

  it('a turn in the previous period changes framework_analytics (folded) and drops strategic_insights', async () => {
    setup = await fixtureManager();
    const { manager } = setup;
    const fa = { type: 'framework_analytics', timeRange: W3 } as const;
    const si = { type: 'strategic_insights', timeRange: W3 } as const;
    const pu = { type: 'persona_usage', timeRange: W3 } as const;
    await Promise.all([manager.query(fa), manager.query(si), manager.query(pu)]);
    // In W2: the previous period of W3 only.
    await manager.recordTurn(turn({ at: W2.from, frameworks: ['okr'] }));
    expect((await manager.query(pu)).metadata.cacheHit).toBe(true);
    const faAfter = await manager.query<{ previousTotalDetections: number }>(fa);
    // Folded: the previous period's per-framework counts take the new turn without a recomputation.
    expect(faAfter.metadata.cacheHit).toBe(true);
    expect(manager.getMetrics().cache.folded).toBe(1);
    const fresh = createConversationalDataManager({
      storage: setup.storage,
      clock: setup.clock,
      cache: false,
    });
    expect(comparable(faAfter)).toEqual(comparable(await fresh.query(fa)));
    // W2 held t06..t10: 2 + 1 + 2 + 1 + 0 detections, and now one more.
    expect(faAfter.data!.previousTotalDetections).toBe(7);
    expect((await manager.query(si)).metadata.cacheHit).toBe(false);
  });

  it('a query without `to` ends at "now": a later turn drops it even though it falls after the old end', async () => {
    setup = await fixtureManager({ cache: { ttlMs: 60_000, maxEntries: 100 } });
    const { manager, clock } = setup;
    const q = { type: 'persona_usage' } as const;
    const first = await manager.query<PersonaUsageData>(q);
    clock.advance(1000);
    await manager.recordTurn(turn({})); // at = now, after the first answer's period ended
    const second = await manager.query<PersonaUsageData>(q);
    expect(second.metadata.cacheHit).toBe(false);
    expect(second.data!.totalTurns).toBe(first.data!.totalTurns + 1);
  });

  it('an explicit `from` without `to`: the previous period grows backwards with now, so earlier turns drop it', async () => {
    setup = await fixtureManager({ cache: { ttlMs: 60_000, maxEntries: 100 } });
    const { manager, clock } = setup;
    // Period [Mar 16, now + 1), previous period of equal length before it.
    const q = { type: 'framework_analytics', timeRange: { from: W3.from } } as const;
    await manager.query(q);
    clock.advance(1000);
    // Before the first answer's previous period, inside the next one.
    const prevFrom = W3.from - (NOW + 1 - W3.from);
    await manager.recordTurn(turn({ at: prevFrom - 500, frameworks: ['okr'] }));
    const fresh = createConversationalDataManager({ storage: setup.storage, clock, cache: false });
    const again = await manager.query(q);
    expect(again.metadata.cacheHit).toBe(false);
    expect(comparable(again)).toEqual(comparable(await fresh.query(q)));
  });

  it('getSessionContext is dropped only by turns of its session; search by any turn', async () => {
    setup = await fixtureManager();
    const { manager } = setup;
    await manager.getSessionContext('s1');
    await manager.search('okr');
    await manager.recordTurn(turn({ sessionId: 's2', at: day(4) }));
    expect((await manager.getSessionContext('s1')).metadata.cacheHit).toBe(true);
    expect((await manager.search('okr')).metadata.cacheHit).toBe(false);
    await manager.recordTurn(turn({ sessionId: 's1', at: day(22) }));
    const s1 = await manager.getSessionContext('s1');
    expect(s1.metadata.cacheHit).toBe(false);
    expect(s1.totalRecords).toBe(4);
  });

  it('an answer computed while a matching write lands is not stored; one the write cannot change is', async () => {
    const clock = createManualClock(NOW);
    const inner = createMemoryStorage({ clock });
    const gated = gatedStorage(inner);
    const manager = createConversationalDataManager({ storage: gated.storage, clock });
    await manager.recordTurns(fixtureTurns());
    const matching = { type: 'persona_usage', timeRange: W1 } as const;
    const other = { type: 'persona_usage', timeRange: W2 } as const;

    gated.hold();
    const pendingA = manager.query<PersonaUsageData>(matching);
    const pendingB = manager.query<PersonaUsageData>(other);
    await gated.waiting();
    // Lands while both computations are running (their reads were made before it).
    const write = manager.recordTurn(turn({ at: W1.from }));
    gated.release();
    await Promise.all([pendingA, pendingB, write]);

    const a = await manager.query<PersonaUsageData>(matching);
    expect(a.metadata.cacheHit).toBe(false);
    expect(a.data!.totalTurns).toBe(6);
    expect((await manager.query(other)).metadata.cacheHit).toBe(true);
    await manager.close();
    await inner.close();
  });
});

/** A storage whose reads wait while held (appends go through), to interleave a write with a query. */
function gatedStorage(inner: Storage) {
  const turns = inner.turns as TurnStore;
  let gate: Promise<void> | null = null;
  let open: () => void = () => {};
  let arrived: () => void = () => {};
  let arrival = new Promise<void>((r) => {
    arrived = r;
  });
  const wait = async () => {
    if (gate) {
      arrived();
      await gate;
    }
  };
  const store: TurnStore = {
    append: (b, o) => turns.append(b, o),
    deleteBefore: (b) => turns.deleteBefore(b),
    get: async (id) => {
      await wait();
      return turns.get(id);
    },
    search: async (t, o) => {
      await wait();
      return turns.search(t, o);
    },
    // Read first, then wait: the answer holds pre-write data when the write lands.
    aggregate: async (spec) => {
      const result = await turns.aggregate(spec);
      await wait();
      return result;
    },
    list: async (f, o) => {
      const result = await turns.list(f, o);
      await wait();
      return result;
    },
    count: async (f) => {
      const result = await turns.count(f);
      await wait();
      return result;
    },
  };
  return {
    storage: { ...inner, name: 'gated', turns: store } as Storage,
    hold() {
      gate = new Promise<void>((r) => {
        open = r;
      });
      arrival = new Promise<void>((r) => {
        arrived = r;
      });
    },
    waiting: () => arrival,
    release() {
      gate = null;
      open();
    },
  };
}

// ---- property: after random writes, every cached answer equals a fresh computation ----

const PERSONAS = ['cto', 'pm', 'eng'];
const FRAMEWORKS = ['okr', 'swot', 'raci', 'porter'];
const RANGES = [FULL, W1, W2, W3, { from: day(10), to: day(11) }];

const queryArb: fc.Arbitrary<ConversationalQueryInput> = fc
  .record({
    type: fc.constantFrom(
      'conversation_history',
      'persona_usage',
      'framework_analytics',
      'performance_metrics',
      'engagement_patterns',
      'strategic_insights',
    ),
    range: fc.option(fc.constantFrom(...RANGES), { nil: undefined }),
    persona: fc.option(fc.constantFrom(...PERSONAS), { nil: undefined }),
    framework: fc.option(fc.constantFrom(...FRAMEWORKS), { nil: undefined }),
    sessionId: fc.option(fc.constantFrom('s1', 's3', 's5', 'x1'), { nil: undefined }),
    userId: fc.option(fc.constantFrom('u1', 'u2'), { nil: undefined }),
    outcome: fc.option(fc.constantFrom('ok', 'error'), { nil: undefined }),
    aggregation: fc.constantFrom('daily', 'weekly', 'session'),
    view: fc.constantFrom('sessions', 'turns'),
  })
  .map((r) => {
    const filters: Record<string, string> = {};
    if (r.persona) filters.persona = r.persona;
    if (r.framework) filters.framework = r.framework;
    if (r.sessionId) filters.sessionId = r.sessionId;
    if (r.userId) filters.userId = r.userId;
    if (r.outcome) filters.outcome = r.outcome;
    const q: Record<string, unknown> = { type: r.type, filters, aggregation: r.aggregation };
    if (r.range) q.timeRange = r.range;
    if (r.type === 'conversation_history') q.options = { view: r.view };
    return q as ConversationalQueryInput;
  });

const writeArb: fc.Arbitrary<TurnInput> = fc
  .record({
    // Before the data, inside it, and at "now" (the end of queries without a time range).
    at: fc.oneof(
      fc.integer({ min: day(1) - 7 * 86_400_000, max: FULL.to - 1 }),
      fc.constant(NOW),
      fc.constantFrom(W1.from, W2.from, W3.from, W3.to - 1),
    ),
    sessionId: fc.constantFrom('s1', 's3', 's5', 'x1', 'x2'),
    userId: fc.option(fc.constantFrom('u1', 'u2', 'u9'), { nil: undefined }),
    persona: fc.option(fc.constantFrom(...PERSONAS, 'cfo'), { nil: undefined }),
    frameworks: fc.subarray([...FRAMEWORKS, 'moat']),
    latencyMs: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
    outcome: fc.constantFrom('ok', 'error'),
  })
  .map((r) => {
    const t = turn({
      at: r.at,
      sessionId: r.sessionId,
      frameworks: r.frameworks,
      outcome: r.outcome as 'ok' | 'error',
    });
    if (r.userId) t.userId = r.userId;
    if (r.persona) t.persona = r.persona;
    if (r.latencyMs !== undefined) t.latencyMs = r.latencyMs;
    return t;
  });

describe('property: a cached answer after a write equals a fresh one', () => {
  it('holds for random queries and random recorded turns (clock moving between them)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(queryArb, { minLength: 1, maxLength: 6 }),
        fc.array(fc.array(writeArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 5000 }),
        writeArb,
        async (queries, batches, advance, lateInput) => {
          const { at: _at, ...lateTurn } = lateInput;
          const clock = createManualClock(NOW);
          const storage = createMemoryStorage({ clock });
          const cached = createConversationalDataManager({ storage, clock });
          const fresh = createConversationalDataManager({ storage, clock, cache: false });
          try {
            await cached.recordTurns(fixtureTurns());
            for (const q of queries) await cached.query(q);
            for (const batch of batches) {
              // Time moves on: a query without `to` computed now ends later than its cached answer.
              // Both figures are read at the same clock below, so only a stale answer can differ.
              await cached.recordTurns(batch);
              for (const q of queries) {
                const a = await cached.query(q);
                if (!a.metadata.cacheHit) continue; // recomputed: nothing to check
                // A hit is an answer from before; it must equal the figures computed over the
                // same period from the store as it is now.
                const period = a.metadata.period!;
                const pinned = { ...(q as object), timeRange: period } as ConversationalQueryInput;
                const b = await fresh.query(pinned);
                expect(comparable(a)).toEqual(comparable(b));
              }
            }
            // Time moves on, then a turn lands at the new "now": after the period of every
            // cached answer without `to`, inside the period a fresh computation would cover.
            clock.advance(advance);
            const late = await cached.recordTurn(lateTurn);
            for (const q of queries) {
              const a = await cached.query(q);
              if (!a.metadata.cacheHit) continue;
              const live = (q as { timeRange?: { to?: number } }).timeRange?.to === undefined;
              const filters = normalizeTurnFilter((q as { filters: TurnFilter }).filters);
              // Still served: then the late turn must be one this query can never count.
              if (live) expect(matchesTurnFilter(late!, filters)).toBe(false);
              const period = a.metadata.period!;
              const pinned = { ...(q as object), timeRange: period } as ConversationalQueryInput;
              expect(comparable(a)).toEqual(comparable(await fresh.query(pinned)));
            }
          } finally {
            await cached.close();
            await fresh.close();
            await storage.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});
