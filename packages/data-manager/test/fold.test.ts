import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ConversationalQueryInput,
  createManualClock,
  type DataResponse,
  type Storage,
  type Turn,
  type TurnInput,
} from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { createSqliteStorage } from '@convokit/storage-sqlite';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createConversationalDataManager, type PersonaUsageData } from '../src/index.js';
import { MAX_FOLD_STATE_ROWS, QueryCache } from '../src/query-cache.js';
import { day, FULL, NOW, W2, W3 } from './fixtures.js';

/**
 * Folding (turns written through the manager merged into cached answers) must give exactly what
 * a fresh, uncached computation gives, on every adapter: random stored turns, random cached
 * queries, random written batches. Latencies and feedback are fractional on purpose (float sums
 * are where a naive merge would drift).
 */

const dir = mkdtempSync(join(tmpdir(), 'convokit-fold-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FRAMEWORKS = ['okr', 'swot', 'raci'];
const PERSONAS = ['cto', 'pm', 'eng'];

const turnArb = (range: { from: number; to: number }): fc.Arbitrary<TurnInput> =>
  fc
    .record({
      at: fc.integer({ min: range.from, max: range.to - 1 }),
      sessionId: fc.constantFrom('s1', 's2', 's3', 's4', 's5', 's6'),
      userId: fc.option(fc.constantFrom('u1', 'u2', 'u3'), { nil: undefined }),
      persona: fc.option(fc.constantFrom(...PERSONAS), { nil: undefined }),
      frameworks: fc.subarray(FRAMEWORKS),
      latencyMs: fc.option(
        fc.integer({ min: 0, max: 50_000 }).map((n) => n / 10),
        { nil: undefined },
      ),
      feedback: fc.option(fc.constantFrom(-1, -0.3, 0.1, 0.5, 1), { nil: undefined }),
      tokens: fc.option(fc.record({ input: fc.nat(500), output: fc.nat(500) }), { nil: undefined }),
      outcome: fc.constantFrom('ok', 'error'),
    })
    .map((r) => {
      const turn: TurnInput = {
        at: r.at,
        sessionId: r.sessionId,
        userInput: 'question',
        assistantResponse: 'answer',
        frameworks: r.frameworks,
        outcome: r.outcome as 'ok' | 'error',
      };
      if (r.userId) turn.userId = r.userId;
      if (r.persona) turn.persona = r.persona;
      if (r.latencyMs !== undefined) turn.latencyMs = r.latencyMs;
      if (r.feedback !== undefined) turn.feedback = r.feedback;
      if (r.tokens) turn.tokens = r.tokens;
      return turn;
    });

const filtersArb = fc.constantFrom<Record<string, unknown>>(
  {},
  { persona: 'pm' },
  { persona: ['cto', 'eng'] },
  { framework: 'okr' },
  { userId: 'u1' },
  { outcome: 'error' },
  { sessionId: ['s1', 's2'] },
);

const queryArb: fc.Arbitrary<ConversationalQueryInput> = fc
  .record({
    type: fc.constantFrom(
      'persona_usage',
      'framework_analytics',
      'performance_metrics',
      'engagement_patterns',
    ),
    timeRange: fc.constantFrom(FULL, W3, { from: W2.from, to: W3.to }),
    aggregation: fc.constantFrom('hourly', 'daily', 'weekly', 'monthly'),
    filters: filtersArb,
  })
  .map((q) => q as ConversationalQueryInput);

/** The parts of a response a cache must reproduce: timing, cache flags and live manager figures aside. */
function comparable(res: DataResponse): unknown {
  const data = res.data as Record<string, unknown> | null;
  const { manager: _m, ...rest } = data ?? {};
  return {
    success: res.success,
    data: data === null ? null : rest,
    totalRecords: res.totalRecords,
    metadata: { ...res.metadata, cacheHit: null },
    error: res.error?.code,
  };
}

let n = 0;
const ADAPTERS: Array<[string, () => Promise<Storage> | Storage]> = [
  ['memory', () => createMemoryStorage({ clock: createManualClock(NOW) })],
  ['sqlite', () => createSqliteStorage({ path: join(dir, `fold-${n++}.db`), clock: createManualClock(NOW) })],
];

describe.each(ADAPTERS)('folding on %s', (_name, open) => {
  it('a folded answer equals a fresh uncached computation', async () => {
    let folded = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(turnArb(FULL), { minLength: 0, maxLength: 30 }),
        fc.uniqueArray(queryArb, { minLength: 1, maxLength: 6, selector: (q) => JSON.stringify(q) }),
        fc.array(fc.array(turnArb({ from: W2.from, to: FULL.to }), { minLength: 1, maxLength: 4 }), {
          minLength: 1,
          maxLength: 3,
        }),
        async (stored, queries, batches) => {
          const storage = await open();
          const clock = createManualClock(NOW);
          const manager = createConversationalDataManager({ storage, clock });
          const fresh = createConversationalDataManager({ storage, clock, cache: false });
          try {
            if (stored.length > 0) await manager.recordTurns(stored);
            for (const q of queries) await manager.query(q);
            for (const batch of batches) {
              await manager.recordTurns(batch);
              for (const q of queries) {
                const cached = await manager.query(q);
                expect(comparable(cached)).toEqual(comparable(await fresh.query(q)));
              }
            }
            folded += manager.getMetrics().cache.folded;
          } finally {
            await manager.close();
            await fresh.close();
            await storage.close();
          }
        },
      ),
      { numRuns: 40 },
    );
    // The property is about folded answers: make sure the runs folded some.
    expect(folded).toBeGreaterThan(20);
  }, 120_000);
});

describe('what folds', () => {
  it('the dashboard panels fold a written turn; a hit counts no recomputation', async () => {
    const clock = createManualClock(NOW);
    const storage = createMemoryStorage({ clock });
    const manager = createConversationalDataManager({ storage, clock });
    const base = { sessionId: 's1', userId: 'u1', userInput: 'q', assistantResponse: 'a' };
    await manager.recordTurns([
      { ...base, at: day(20), persona: 'pm', frameworks: ['okr'], latencyMs: 100.5 },
      { ...base, at: day(21), persona: 'cto', frameworks: ['okr', 'swot'], latencyMs: 200.25 },
    ]);
    const q = { type: 'persona_usage', timeRange: W3, aggregation: 'weekly' } as const;
    const first = await manager.query<PersonaUsageData>(q);
    expect(first.data!.totalTurns).toBe(2);
    // A new session and user for persona pm: turns, sessions, users and latency of pm change.
    await manager.recordTurn({
      ...base,
      sessionId: 's2',
      userId: 'u2',
      at: day(22),
      persona: 'pm',
      latencyMs: 300.1,
    });
    const second = await manager.query<PersonaUsageData>(q);
    expect(second.metadata.cacheHit).toBe(true);
    const pm = second.data!.personas.find((p) => p.persona === 'pm')!;
    expect(pm).toMatchObject({ turns: 2, sessions: 2, users: 2, share: 2 / 3, latencyCount: 2 });
    expect(pm.latencyAvg).toBe((100.5 + 300.1) / 2);
    expect(second.data!.totalTurns).toBe(3);
    expect(manager.getMetrics().cache).toMatchObject({ hits: 1, misses: 1, folded: 1 });
    // A turn without a persona cannot be narrowed to its persona group: the answer is dropped.
    await manager.recordTurn({ ...base, at: day(22) });
    const third = await manager.query<PersonaUsageData>(q);
    expect(third.metadata.cacheHit).toBe(false);
    expect(third.data!.totalTurns).toBe(4);
    // conversation_history reads pages of turns: never folded.
    const h = { type: 'conversation_history', timeRange: W3 } as const;
    await manager.query(h);
    await manager.recordTurn({ ...base, at: day(22) });
    expect((await manager.query(h)).metadata.cacheHit).toBe(false);
    await manager.close();
    await storage.close();
  });
});

describe('fold state memory', () => {
  it('all entries together keep at most MAX_FOLD_STATE_ROWS rows of fold state', () => {
    const clock = createManualClock(NOW);
    const cache = new QueryCache<{ n: number }>({ ttlMs: 60_000, maxEntries: 10 }, clock);
    const big = Math.floor(MAX_FOLD_STATE_ROWS / 2);
    const turn: Turn = {
      id: 't',
      at: day(20),
      sessionId: 's1',
      userInput: 'q',
      assistantResponse: 'a',
      frameworks: [],
      tools: [],
      mcpServers: [],
      outcome: 'ok',
    };
    cache.set('a', { n: 1 }, [{}], cache.generation, 1, { state: 'A', rows: big });
    cache.set('b', { n: 2 }, [{}], cache.generation, 1, { state: 'B', rows: big });
    expect(cache.foldRows).toBe(2 * big);
    // Past the bound: stored, without fold state.
    cache.set('c', { n: 3 }, [{}], cache.generation, 1, { state: 'C', rows: big });
    expect(cache.foldRows).toBe(2 * big);
    expect(cache.get('c')).toEqual({ n: 3 });
    // A write: a and b keep the turn pending (not served unfolded), c is dropped.
    cache.invalidate([turn], 2);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.toFold('a')?.pending).toHaveLength(1);
    expect(cache.toFold('c')).toBeUndefined();
    expect(cache.size).toBe(2);
    // Dropping entries frees their rows.
    cache.clear();
    expect(cache.foldRows).toBe(0);
  });
});
