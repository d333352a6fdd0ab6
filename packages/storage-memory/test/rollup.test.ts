import {
  type AggregateResult,
  AggregateSpecSchema,
  type GroupKey,
  type Measure,
  MeasureSchema,
  matchesTurnFilter,
  normalizeTurnFilter,
  type Turn,
} from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateTurns } from '../src/aggregate.js';
import type { TurnIndex } from '../src/turn-index.js';
import { indexAfter } from './arbitraries.js';

const HOUR = 3_600_000;
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const turnArb = (id: number, latency: fc.Arbitrary<number>): fc.Arbitrary<Turn> =>
  fc
    .record({
      sessionId: fc.constantFrom('s1', 's2', 's3'),
      userId: maybe(fc.constantFrom('u1', 'u2')),
      // About two weeks, on and off the hour.
      at: fc.oneof(
        fc.integer({ min: 0, max: 400 }).map((n) => n * HOUR),
        fc.integer({ min: 0, max: 400 * HOUR }),
      ),
      persona: maybe(fc.constantFrom('analyst', 'coach', 'zed')),
      frameworks: fc.uniqueArray(fc.constantFrom('swot', 'pest', 'okr', 'moscow'), { maxLength: 4 }),
      latencyMs: maybe(latency),
      tokens: maybe(fc.record({ input: fc.nat(1000), output: fc.nat(1000) })),
      outcome: fc.constantFrom('ok' as const, 'error' as const),
      feedback: maybe(fc.constantFrom(-1, 0, 0.5, 1)),
    })
    .map((t) => {
      const out: Record<string, unknown> = {
        id: `t${String(id).padStart(4, '0')}`,
        userInput: '',
        assistantResponse: '',
        tools: [],
        mcpServers: [],
      };
      for (const [k, v] of Object.entries(t)) if (v !== undefined) out[k] = v;
      return Object.freeze(out) as unknown as Turn;
    });

const turnsArb = (latency: fc.Arbitrary<number>) =>
  fc
    .integer({ min: 0, max: 150 })
    .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => turnArb(i, latency))));

/** Appends in batches (some older than what is stored) with deletions, aligned or not, between. */
const stepsArb = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('append' as const), size: fc.integer({ min: 1, max: 40 }) }),
    fc.record({
      kind: fc.constant('delete' as const),
      before: fc.oneof(
        fc.integer({ min: 0, max: 200 }).map((n) => n * HOUR),
        fc.integer({ min: 0, max: 200 * HOUR }),
      ),
    }),
  ),
  { maxLength: 8 },
);

const TIME: GroupKey[] = ['hour', 'day', 'week', 'month', 'hourOfDay', 'dayOfWeek'];
const groupByArb = fc
  .tuple(
    fc.constantFrom<GroupKey[]>(
      [],
      ['persona'],
      ['framework'],
      ['framework', 'framework'],
      ['framework', 'persona'],
      ['persona', 'framework'],
    ),
    fc.uniqueArray(fc.constantFrom(...TIME), { maxLength: 1 }),
    fc.boolean(),
  )
  .map(([keys, time, timeFirst]) => (timeFirst ? [...time, ...keys] : [...keys, ...time]));

const ADDITIVE = MeasureSchema.options.filter((m) => m !== 'sessions' && m !== 'users');

const specArb = fc.record({
  filter: fc.record(
    {
      // Mostly whole hours (served by the rollups), sometimes not (scanned).
      from: fc.oneof(
        fc.integer({ min: 0, max: 400 }).map((n) => n * HOUR),
        fc.integer({ min: 0, max: 400 * HOUR }),
      ),
      to: fc.oneof(
        fc.integer({ min: 0, max: 401 }).map((n) => n * HOUR),
        fc.integer({ min: 0, max: 401 * HOUR }),
      ),
    },
    { requiredKeys: [] },
  ),
  groupBy: groupByArb,
  measures: fc.uniqueArray(fc.constantFrom(...ADDITIVE), { minLength: 1, maxLength: 14 }),
  orderBy: maybe(
    fc.record({
      measure: fc.constantFrom<Measure>('count', 'lastAt'),
      direction: fc.constantFrom('asc', 'desc'),
    }),
  ),
  limit: maybe(fc.integer({ min: 1, max: 5 })),
});

function reference(index: TurnIndex, input: unknown) {
  const parsed = AggregateSpecSchema.safeParse(input);
  fc.pre(parsed.success);
  const spec = parsed.data!;
  const f = normalizeTurnFilter(spec.filter);
  return {
    spec,
    f,
    expected: aggregateTurns(
      index.sorted.filter((t) => matchesTurnFilter(t, f)),
      spec,
    ),
  };
}

const aligned = (f: { from?: number; to?: number }) =>
  (f.from === undefined || f.from % HOUR === 0) && (f.to === undefined || f.to % HOUR === 0);

describe('hour rollups answer as a scan of the turns', () => {
  it('exactly, for whole-hour ranges, after appends in any order and deletions anywhere', () => {
    fc.assert(
      fc.property(turnsArb(fc.integer({ min: 0, max: 60_000 })), stepsArb, specArb, (turns, steps, input) => {
        const index = indexAfter(turns, steps);
        const { spec, f, expected } = reference(index, input);
        const rolled = index.rollup.answer(spec, f);
        const percentiles = spec.measures.some((m) => m.startsWith('latencyP'));
        // Pairs and (framework, persona) keep no histograms.
        const twoKeys = spec.groupBy.filter((k) => !TIME.includes(k)).length === 2;
        if (aligned(spec.filter) && !(percentiles && twoKeys)) expect(rolled).toBeDefined();
        if (!aligned(spec.filter)) expect(rolled).toBeUndefined();
        if (rolled !== undefined) expect(rolled).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('within summation rounding for fractional latencies', () => {
    const close = (a: AggregateResult, b: AggregateResult) => {
      expect(a.totalGroups).toBe(b.totalGroups);
      expect(a.rows.map((r) => r.keys)).toEqual(b.rows.map((r) => r.keys));
      a.rows.forEach((row, i) => {
        for (const [m, v] of Object.entries(row.values)) {
          const w = b.rows[i]!.values[m as Measure];
          if (v === null || w === null || w === undefined) expect(v).toBe(w);
          else expect(Math.abs(v - w)).toBeLessThanOrEqual(Math.max(1e-9, Math.abs(w) * 1e-9));
        }
      });
    };
    fc.assert(
      fc.property(
        turnsArb(fc.double({ min: 0, max: 10_000, noNaN: true })),
        stepsArb,
        specArb.filter((s) => s.orderBy === undefined || s.orderBy.measure === 'count'),
        (turns, steps, input) => {
          const index = indexAfter(turns, steps);
          const { spec, f, expected } = reference(index, input);
          const rolled = index.rollup.answer(spec, f);
          if (rolled !== undefined) close(rolled, expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('are not used for filters on other fields or for distinct counts', () => {
    const index = indexAfter([], []);
    const ask = (input: unknown) => {
      const spec = AggregateSpecSchema.parse(input);
      return index.rollup.answer(spec, normalizeTurnFilter(spec.filter));
    };
    expect(ask({ measures: ['count'] })).toEqual({
      rows: [{ keys: [], values: { count: 0 } }],
      totalGroups: 1,
    });
    expect(ask({ filter: { persona: 'x' }, measures: ['count'] })).toBeUndefined();
    expect(ask({ measures: ['sessions'] })).toBeUndefined();
    expect(ask({ groupBy: ['session'], measures: ['count'] })).toBeUndefined();
    expect(ask({ groupBy: ['framework', 'framework'], measures: ['latencyP95'] })).toBeUndefined();
    expect(ask({ filter: { from: 1 }, measures: ['count'] })).toBeUndefined();
  });
});
