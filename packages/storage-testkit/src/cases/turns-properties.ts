import {
  bucketStart,
  dayOfWeek,
  type GroupKey,
  type GroupValue,
  hourOfDay,
  LatencyHistogram,
  matchesTurnFilter,
  normalizeTurnFilter,
  type Turn,
  type TurnFilter,
  type TurnStore,
} from '@convokit/core';
import fc from 'fast-check';
import { expect } from 'vitest';
import { ids, makeTurn } from '../fixtures/builders.js';
import { expectClose } from './aggregate-check.js';
import { byAtThenId, defineCases } from './define.js';

/** Fixed so every adapter is checked against the same inputs, and a failure reproduces. */
const RUNS = { numRuns: 25, seed: 20_260_302, endOnFailure: true } as const;
const END_OF_TIME = 8.64e15;
// Around the month and ISO-week boundary of 2026-03-01 (a Sunday), so buckets split.
const FROM = Date.UTC(2026, 1, 26);
const SPAN = 6 * 86_400_000;

const names = (pool: string[]) => fc.subarray(pool, { minLength: 0, maxLength: pool.length });
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const turnArb = fc.record({
  at: fc.integer({ min: FROM, max: FROM + SPAN }),
  sessionId: fc.constantFrom('s1', 's2', 's3'),
  userId: maybe(fc.constantFrom('u1', 'u2')),
  conversationId: maybe(fc.constantFrom('c1', 'c2')),
  persona: maybe(fc.constantFrom('analyst', 'coach')),
  frameworks: names(['okr', 'pestel', 'swot']),
  tools: names(['chart', 'search']),
  mcpServers: names(['db', 'web']),
  latencyMs: maybe(
    fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.double({ min: 0, max: 5000, noNaN: true })),
  ),
  tokens: maybe(fc.record({ input: fc.nat(1000), output: fc.nat(1000) })),
  outcome: fc.constantFrom('ok' as const, 'error' as const),
  feedback: maybe(fc.constantFrom(-1, -0.5, 0, 0.25, 1)),
});

const turnsArb = fc.array(turnArb, { maxLength: 40 }).map((list) =>
  list.map((fields, i) => {
    const turn: Turn = makeTurn({ id: `p${String(i).padStart(3, '0')}`, ...fields });
    for (const key of Object.keys(turn) as Array<keyof Turn>) if (turn[key] === undefined) delete turn[key];
    return turn;
  }),
);

const filterArb: fc.Arbitrary<TurnFilter> = fc
  .record(
    {
      from: fc.integer({ min: FROM, max: FROM + SPAN }),
      span: fc.integer({ min: 0, max: SPAN }),
      sessionId: fc.oneof(fc.constantFrom('s1', 's2'), fc.constant<string[]>(['s1', 's3'])),
      userId: fc.constantFrom('u1', 'u2'),
      persona: fc.oneof(fc.constantFrom('analyst', 'coach'), fc.constant<string[]>(['analyst', 'coach'])),
      framework: fc.oneof(fc.constantFrom('okr', 'swot'), fc.constant<string[]>(['pestel', 'swot'])),
      tool: fc.constantFrom('chart', 'search'),
      mcpServer: fc.constantFrom('db', 'web'),
      conversationId: fc.constantFrom('c1', 'c2'),
      outcome: fc.constantFrom('ok' as const, 'error' as const),
    },
    { requiredKeys: [] },
  )
  .map(({ from, span, ...rest }) => ({
    ...rest,
    ...(from !== undefined ? { from } : {}),
    ...(from !== undefined && span !== undefined ? { to: from + span } : {}),
  }));

const keyArb = fc.constantFrom<GroupKey>(
  'persona',
  'framework',
  'tool',
  'session',
  'user',
  'outcome',
  'hour',
  'day',
  'week',
  'month',
  'hourOfDay',
  'dayOfWeek',
);

/** The group values of one turn for one key: the reference the adapters are compared with. */
function valuesOf(turn: Turn, key: GroupKey): GroupValue[] {
  switch (key) {
    case 'persona':
      return [turn.persona ?? null];
    case 'framework':
      return turn.frameworks;
    case 'tool':
      return turn.tools;
    case 'mcpServer':
      return turn.mcpServers;
    case 'session':
      return [turn.sessionId];
    case 'user':
      return [turn.userId ?? null];
    case 'conversation':
      return [turn.conversationId ?? null];
    case 'outcome':
      return [turn.outcome];
    case 'hour':
    case 'day':
    case 'week':
    case 'month':
      return [bucketStart(key, turn.at)];
    case 'hourOfDay':
      return [hourOfDay(turn.at)];
    case 'dayOfWeek':
      return [dayOfWeek(turn.at)];
  }
}

async function reset(turns: TurnStore, batch: Turn[]): Promise<void> {
  await turns.deleteBefore(END_OF_TIME);
  expect(await turns.count()).toBe(0);
  await turns.append(batch);
}

export const turnsPropertyCases = defineCases('turns', 'turns-properties', {
  "random filters select exactly what core's matchesTurnFilter selects": async ({ turns }) => {
    await fc.assert(
      fc.asyncProperty(
        turnsArb,
        filterArb,
        fc.integer({ min: 1, max: 7 }),
        fc.boolean(),
        async (batch, filter, limit, asc) => {
          await reset(turns, batch);
          const order = asc ? 'asc' : 'desc';
          const f = normalizeTurnFilter(filter);
          const expected = batch.filter((t) => matchesTurnFilter(t, f)).sort(byAtThenId);
          if (!asc) expected.reverse();
          const seen: Turn[] = [];
          let cursor: string | undefined;
          for (let pages = 0; pages <= batch.length + 1; pages++) {
            const page = await turns.list(filter, { limit, order, ...(cursor ? { cursor } : {}) });
            seen.push(...page.items);
            if (page.nextCursor === null) break;
            cursor = page.nextCursor;
          }
          expect(ids(seen)).toEqual(ids(expected));
          expect(await turns.count(filter)).toBe(expected.length);
          const agg = await turns.aggregate({ filter, measures: ['count'] });
          expect(agg.rows[0]?.values.count).toBe(expected.length);
        },
      ),
      RUNS,
    );
  },

  'random aggregates agree with a per-turn reference (percentiles from LatencyHistogram)': async ({
    turns,
  }) => {
    await fc.assert(
      fc.asyncProperty(turnsArb, keyArb, async (batch, key) => {
        await reset(turns, batch);
        const groups = new Map<string, { key: GroupValue; turns: Turn[] }>();
        for (const turn of batch) {
          for (const value of valuesOf(turn, key)) {
            const id = JSON.stringify(value);
            const group = groups.get(id) ?? { key: value, turns: [] };
            group.turns.push(turn);
            groups.set(id, group);
          }
        }
        const result = await turns.aggregate({
          groupBy: [key],
          measures: ['count', 'errors', 'sessions', 'tokensIn', 'latencyP95', 'latencyAvg', 'feedbackAvg'],
        });
        expect(result.totalGroups).toBe(groups.size);
        expect(result.rows.map((row) => row.keys[0] ?? null).sort()).toEqual(
          [...groups.values()].map((g) => g.key).sort(),
        );
        for (const row of result.rows) {
          const group = groups.get(JSON.stringify(row.keys[0]))!;
          const where = `${key}=${JSON.stringify(row.keys[0])}`;
          const list = group.turns;
          expect(row.values.count, `${where} count`).toBe(list.length);
          expect(row.values.errors, `${where} errors`).toBe(list.filter((t) => t.outcome === 'error').length);
          expect(row.values.sessions, `${where} sessions`).toBe(new Set(list.map((t) => t.sessionId)).size);
          expect(row.values.tokensIn, `${where} tokensIn`).toBe(
            list.reduce((s, t) => s + (t.tokens?.input ?? 0), 0),
          );
          const latencies = list.flatMap((t) => (t.latencyMs === undefined ? [] : [t.latencyMs]));
          const feedback = list.flatMap((t) => (t.feedback === undefined ? [] : [t.feedback]));
          if (latencies.length === 0) {
            expect(row.values.latencyP95, `${where} latencyP95`).toBeNull();
            expect(row.values.latencyAvg, `${where} latencyAvg`).toBeNull();
          } else {
            const histogram = new LatencyHistogram();
            for (const value of latencies) histogram.add(value);
            expectClose(row.values.latencyP95, histogram.quantile(0.95)!, `${where} latencyP95`);
            expectClose(row.values.latencyAvg, histogram.mean!, `${where} latencyAvg`);
          }
          if (feedback.length === 0) expect(row.values.feedbackAvg, `${where} feedbackAvg`).toBeNull();
          else
            expectClose(
              row.values.feedbackAvg,
              feedback.reduce((a, b) => a + b, 0) / feedback.length,
              `${where} feedbackAvg`,
            );
        }
      }),
      RUNS,
    );
  },
});
