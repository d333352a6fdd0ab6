import { createManualClock, type TurnInput } from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createConversationalDataManager,
  type EngagementData,
  type FrameworkAnalyticsData,
  type HistoryData,
  type PerformanceMetricsData,
  type PersonaUsageData,
} from '../src/index.js';
import { FULL, NOW } from './fixtures.js';

const FRAMEWORKS = ['okr', 'swot', 'raci', 'porter'];

const turnArb: fc.Arbitrary<TurnInput> = fc
  .record({
    at: fc.integer({ min: FULL.from, max: FULL.to - 1 }),
    sessionId: fc.constantFrom('s1', 's2', 's3', 's4', 's5'),
    userId: fc.option(fc.constantFrom('u1', 'u2', 'u3'), { nil: undefined }),
    persona: fc.option(fc.constantFrom('cto', 'pm', 'eng'), { nil: undefined }),
    frameworks: fc.subarray(FRAMEWORKS),
    latencyMs: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
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
    return turn;
  });

function managerWith() {
  const clock = createManualClock(NOW);
  const storage = createMemoryStorage({ clock });
  const manager = createConversationalDataManager({ storage, clock });
  return { storage, manager };
}

describe('properties', () => {
  it('per-persona turn counts sum to the total; shares sum to 1', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(turnArb, { minLength: 1, maxLength: 40 }), async (turns) => {
        const { storage, manager } = managerWith();
        await manager.recordTurns(turns);
        const res = await manager.query<PersonaUsageData>({
          type: 'persona_usage',
          timeRange: FULL,
          aggregation: 'weekly',
        });
        const d = res.data!;
        expect(d.totalTurns).toBe(turns.length);
        expect(d.personas.reduce((s, p) => s + p.turns, 0)).toBe(turns.length);
        expect(Math.abs(d.personas.reduce((s, p) => s + p.share, 0) - 1)).toBeLessThan(1e-9);
        const inSeries = d.series.reduce((s, pt) => s + pt.values.reduce((t, v) => t + v.turns, 0), 0);
        expect(inSeries).toBe(turns.length);
        for (const persona of ['cto', 'pm', 'eng']) {
          const expected = turns.filter((t) => t.persona === persona).length;
          expect(d.personas.find((p) => p.persona === persona)?.turns ?? 0).toBe(expected);
        }

        const fw = await manager.query<FrameworkAnalyticsData>({
          type: 'framework_analytics',
          timeRange: FULL,
        });
        const detections = turns.reduce((s, t) => s + (t.frameworks?.length ?? 0), 0);
        expect(fw.data!.totalDetections).toBe(detections);
        if (detections > 0) {
          expect(Math.abs(fw.data!.frameworks.reduce((s, f) => s + f.share, 0) - 1)).toBeLessThan(1e-9);
        }
        const eng = await manager.query<EngagementData>({ type: 'engagement_patterns', timeRange: FULL });
        expect(eng.data!.hourOfDay.reduce((a, b) => a + b, 0)).toBe(turns.length);
        expect(eng.data!.dayOfWeek.reduce((a, b) => a + b, 0)).toBe(turns.length);
        expect(eng.data!.turnsPerSession.bins.reduce((a, b) => a + b.sessions, 0)).toBe(
          eng.data!.totals.sessions,
        );
        await storage.close();
      }),
      { numRuns: 40 },
    );
  });

  it('a query after a write never returns the pre-write answer', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(turnArb, { maxLength: 20 }), turnArb, async (turns, extra) => {
        const { storage, manager } = managerWith();
        if (turns.length > 0) await manager.recordTurns(turns);
        const ask = async () => ({
          persona: (await manager.query<PersonaUsageData>({ type: 'persona_usage', timeRange: FULL })).data!
            .totalTurns,
          perf: (
            await manager.query<PerformanceMetricsData>({ type: 'performance_metrics', timeRange: FULL })
          ).data!.overall.turns,
          engagement: (await manager.query<EngagementData>({ type: 'engagement_patterns', timeRange: FULL }))
            .data!.totals.turns,
          history: (
            await manager.query<HistoryData>({
              type: 'conversation_history',
              timeRange: FULL,
              options: { view: 'turns' },
            })
          ).totalRecords,
          detections: (
            await manager.query<FrameworkAnalyticsData>({ type: 'framework_analytics', timeRange: FULL })
          ).data!.totalDetections,
          session: (await manager.getSessionContext(extra.sessionId)).data?.turns ?? 0,
        });
        const before = await ask();
        await ask(); // now every answer is cached
        await manager.recordTurn(extra);
        const after = await ask();
        expect(after).toEqual({
          persona: before.persona + 1,
          perf: before.perf + 1,
          engagement: before.engagement + 1,
          history: before.history + 1,
          detections: before.detections + (extra.frameworks?.length ?? 0),
          session: before.session + 1,
        });
        await storage.close();
      }),
      { numRuns: 30 },
    );
  });
});
