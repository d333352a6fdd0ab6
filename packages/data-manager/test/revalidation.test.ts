import {
  type ConversationalQueryInput,
  createManualClock,
  type DataResponse,
  type ManualClock,
  type Storage,
  type TurnInput,
  type TurnStore,
} from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ConversationalDataManager,
  createConversationalDataManager,
  type PersonaUsageData,
} from '../src/index.js';
import { FULL, fixtureTurns, NOW, W1, W2, W3 } from './fixtures.js';

const TTL = 1000;
const CTO = { type: 'persona_usage', timeRange: FULL, filters: { persona: 'cto' } } as const;

const turn = (over: Partial<TurnInput>): TurnInput => ({
  sessionId: 'new',
  userInput: 'a',
  assistantResponse: 'b',
  at: FULL.from + 1,
  ...over,
});

/** The store's turns, counting calls per method; `version: 'absent' | 'failing'` changes that member. */
function instrumented(inner: TurnStore, version: 'kept' | 'absent' | 'failing' = 'kept') {
  const calls: Record<string, number> = {};
  const turns = new Proxy(inner, {
    get(target, name, receiver) {
      if (name === 'version' && version === 'absent') return undefined;
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls[String(name)] = (calls[String(name)] ?? 0) + 1;
        if (name === 'version' && version === 'failing') return Promise.reject(new Error('down'));
        return value.apply(target, args);
      };
    },
  });
  return { turns, calls };
}

interface World {
  clock: ManualClock;
  storage: Storage;
  manager: ConversationalDataManager;
  calls: Record<string, number>;
}

let world: World | undefined;
afterEach(async () => {
  await world?.manager.close();
  await world?.storage.close();
  world = undefined;
});

async function setup(version: 'kept' | 'absent' | 'failing' = 'kept'): Promise<World> {
  const clock = createManualClock(NOW);
  const inner = createMemoryStorage({ clock });
  const { turns, calls } = instrumented(inner.turns!, version);
  const storage = { ...inner, turns, close: () => inner.close() } as Storage;
  const manager = createConversationalDataManager({ storage, clock, cache: { ttlMs: TTL } });
  await manager.recordTurns(fixtureTurns());
  world = { clock, storage: inner, manager, calls };
  return world;
}

const turnsOf = (res: DataResponse) => (res.data as PersonaUsageData).totalTurns;

describe('revalidation after the TTL (store with a turns version)', () => {
  it('an expired answer no write could change is served again without computing it', async () => {
    const { clock, manager, calls } = await setup();
    const first = await manager.query(CTO);
    const aggregates = calls.aggregate!;
    clock.advance(TTL + 1);
    const again = await manager.query(CTO);
    expect(again.metadata.cacheHit).toBe(true);
    expect(again.data).toEqual(first.data);
    expect(calls.aggregate).toBe(aggregates);
    // Served for another TTL from the revalidation on, without asking the store again.
    const versionCalls = calls.version;
    clock.advance(TTL);
    expect((await manager.query(CTO)).metadata.cacheHit).toBe(true);
    expect(calls.version).toBe(versionCalls);
    expect(manager.getMetrics().cache).toMatchObject({ hits: 2, misses: 1, revalidated: 1 });
  });

  it('own writes that cannot change it keep it; one that can is folded in at once', async () => {
    const { clock, manager, calls } = await setup();
    const before = turnsOf(await manager.query(CTO));
    await manager.recordTurn(turn({ persona: 'pm' }));
    await manager.recordTurns([turn({ persona: 'eng' }), turn({ persona: 'pm', at: FULL.to })]);
    clock.advance(TTL + 1);
    const aggregates = calls.aggregate;
    const kept = await manager.query(CTO);
    expect(kept.metadata.cacheHit).toBe(true);
    expect(calls.aggregate).toBe(aggregates);
    expect(turnsOf(kept)).toBe(before);
    await manager.recordTurn(turn({ persona: 'cto' }));
    // Never served without the new turn: folded into the answer before it is served again.
    const folded = await manager.query(CTO);
    expect(folded.metadata.cacheHit).toBe(true);
    expect(turnsOf(folded)).toBe(before + 1);
    expect(manager.getMetrics().cache).toMatchObject({ revalidated: 1, folded: 1, misses: 1 });
    // A turn without a persona cannot be narrowed to its (null) persona group: dropped at once.
    const all = { ...CTO, filters: {} };
    const total = (await manager.query<PersonaUsageData>(all)).data!.totalTurns;
    await manager.recordTurn(turn({}));
    const dropped = await manager.query<PersonaUsageData>(all);
    expect(dropped.metadata.cacheHit).toBe(false);
    expect(dropped.data!.totalTurns).toBe(total + 1);
  });

  it('a write by another writer forces a recompute after the TTL, even one that cannot change it', async () => {
    const { clock, storage, manager } = await setup();
    const other = createConversationalDataManager({ storage, clock });
    const first = await manager.query(CTO);
    await other.recordTurn(turn({ persona: 'pm' }));
    clock.advance(TTL + 1);
    const again = await manager.query(CTO);
    expect(again.metadata.cacheHit).toBe(false);
    expect(again.data).toEqual(first.data);
    expect(manager.getMetrics().cache.revalidated).toBe(0);
    await other.close();
  });

  it('an append that stored nothing does not claim the version another writer made', async () => {
    const { clock, storage, manager } = await setup();
    const other = createConversationalDataManager({ storage, clock });
    const [mine] = await manager.recordTurns([turn({ persona: 'pm' })]);
    await manager.query(CTO);
    await other.recordTurn(turn({ persona: 'eng' }));
    // Nothing stored: the append reports the other writer's version as the current one.
    expect(await manager.recordTurns([mine!], { ifExists: 'skip' })).toEqual([]);
    clock.advance(TTL + 1);
    expect((await manager.query(CTO)).metadata.cacheHit).toBe(false);
    await other.close();
  });

  it('an answer over a period ending at "now" is recomputed: its period moved', async () => {
    const { clock, manager } = await setup();
    const live = { type: 'persona_usage', timeRange: { from: FULL.from } } as const;
    await manager.query(live);
    clock.advance(TTL + 1);
    const again = await manager.query(live);
    expect(again.metadata.cacheHit).toBe(false);
    expect(again.metadata.period!.to).toBe(NOW + TTL + 2);
  });

  it('session context and search are revalidated too (they do not depend on the clock)', async () => {
    const { clock, manager, calls } = await setup();
    await manager.getSessionContext('s1');
    await manager.search('answer');
    clock.advance(TTL + 1);
    const searches = calls.search;
    expect((await manager.getSessionContext('s1')).metadata.cacheHit).toBe(true);
    expect((await manager.search('answer')).metadata.cacheHit).toBe(true);
    expect(calls.search).toBe(searches);
    expect(manager.getMetrics().cache.revalidated).toBe(2);
  });
});

describe('without a usable turns version, the TTL decides as before', () => {
  it('a store without version(): recomputed after the TTL, never asked for a version', async () => {
    const { clock, manager, calls } = await setup('absent');
    await manager.query(CTO);
    clock.advance(TTL + 1);
    expect((await manager.query(CTO)).metadata.cacheHit).toBe(false);
    expect(calls.version).toBeUndefined();
    expect(manager.getMetrics().cache.revalidated).toBe(0);
  });

  it('version() failing: recomputed, and the query still succeeds', async () => {
    const { clock, manager, calls } = await setup('failing');
    await manager.query(CTO);
    clock.advance(TTL + 1);
    const again = await manager.query(CTO);
    expect(again.success).toBe(true);
    expect(again.metadata.cacheHit).toBe(false);
    expect(calls.version).toBeGreaterThan(0);
    expect(manager.getMetrics().counters['storage.failures'] ?? 0).toBe(0);
  });
});

// ---- property: with own and foreign writes and time moving, no answer is stale beyond the rules ----

const QUERIES: ConversationalQueryInput[] = [
  CTO,
  { type: 'persona_usage', timeRange: W1, aggregation: 'weekly' },
  { type: 'framework_analytics', timeRange: W3 },
  { type: 'performance_metrics', timeRange: FULL, filters: { persona: 'pm' } },
  { type: 'engagement_patterns', timeRange: W2 },
  { type: 'strategic_insights', timeRange: W3 },
  { type: 'conversation_history', timeRange: FULL, filters: { sessionId: 's1' }, options: { view: 'turns' } },
  { type: 'persona_usage', timeRange: { from: FULL.from } },
];

const writeArb: fc.Arbitrary<TurnInput> = fc
  .record({
    at: fc.integer({ min: FULL.from - 7 * 86_400_000, max: FULL.to + 86_400_000 }),
    sessionId: fc.constantFrom('s1', 's3', 'x1'),
    userId: fc.option(fc.constantFrom('u1', 'u9'), { nil: undefined }),
    persona: fc.option(fc.constantFrom('cto', 'pm', 'eng'), { nil: undefined }),
    frameworks: fc.subarray(['okr', 'swot', 'moat']),
    latencyMs: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
    outcome: fc.constantFrom('ok', 'error'),
  })
  .map(({ userId, persona, latencyMs, ...r }) => {
    const t = turn({ ...r, outcome: r.outcome as 'ok' | 'error' });
    if (userId) t.userId = userId;
    if (persona) t.persona = persona;
    if (latencyMs !== undefined) t.latencyMs = latencyMs;
    return t;
  });

type Op =
  | { kind: 'own'; turns: TurnInput[] }
  | { kind: 'foreign'; turns: TurnInput[] }
  | { kind: 'advance'; ms: number }
  | { kind: 'ask'; query: number };

// Mostly questions, so answers get cached, expire and are asked again.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('own' as const),
      turns: fc.array(writeArb, { minLength: 1, maxLength: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('foreign' as const),
      turns: fc.array(writeArb, { minLength: 1, maxLength: 2 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 2 * TTL }) }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('ask' as const),
      query: fc.integer({ min: 0, max: QUERIES.length - 1 }),
    }),
  },
);

function comparable(res: DataResponse): unknown {
  const { manager: _m, ...data } = (res.data ?? {}) as Record<string, unknown>;
  return { success: res.success, data, totalRecords: res.totalRecords, period: res.metadata.period };
}

describe('property: revalidated answers are exact', () => {
  it('every answer equals a fresh one, except within the TTL after another writer wrote', async () => {
    let revalidated = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        const clock = createManualClock(NOW);
        const storage = createMemoryStorage({ clock });
        const cached = createConversationalDataManager({ storage, clock, cache: { ttlMs: TTL } });
        const other = createConversationalDataManager({ storage, clock, cache: false });
        const fresh = createConversationalDataManager({ storage, clock, cache: false });
        let foreignAt = Number.NEGATIVE_INFINITY;
        try {
          await cached.recordTurns(fixtureTurns());
          for (const op of ops) {
            if (op.kind === 'own') await cached.recordTurns(op.turns);
            else if (op.kind === 'foreign') {
              await other.recordTurns(op.turns);
              foreignAt = clock.now();
            } else if (op.kind === 'advance') clock.advance(op.ms);
            else {
              const q = QUERIES[op.query]!;
              const a = await cached.query(q);
              // Another writer's turns may stay unseen for up to the TTL (documented), no longer.
              if (a.metadata.cacheHit && clock.now() - foreignAt <= TTL) continue;
              const pinned = { ...q, timeRange: a.metadata.period! } as ConversationalQueryInput;
              expect(comparable(a)).toEqual(comparable(await fresh.query(pinned)));
            }
          }
          revalidated += cached.getMetrics().cache.revalidated;
        } finally {
          await cached.close();
          await other.close();
          await fresh.close();
          await storage.close();
        }
      }),
      { numRuns: 80 },
    );
    // The property is only worth something if revalidation happened in it.
    expect(revalidated).toBeGreaterThan(0);
  }, 120_000);
});
