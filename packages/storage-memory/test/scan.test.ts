import {
  AggregateSpecSchema,
  GroupKeySchema,
  MeasureSchema,
  matchesTurnFilter,
  normalizeTurnFilter,
  type Turn,
} from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateTurns } from '../src/aggregate.js';
import { aggregateColumns } from '../src/scan.js';
import { compareTimed } from '../src/sorted.js';
import { TurnIndex } from '../src/turn-index.js';

const HOUR = 3_600_000;
const names = (pool: string[]) => fc.uniqueArray(fc.constantFrom(...pool), { maxLength: 4 });
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const turnArb = (id: number): fc.Arbitrary<Turn> =>
  fc
    .record({
      sessionId: fc.constantFrom('s1', 's2', 's3', 's4'),
      conversationId: maybe(fc.constantFrom('c1', 'c2')),
      userId: maybe(fc.constantFrom('u1', 'u2', 'u3')),
      // Spread over about three weeks, on and off the hour.
      at: fc.oneof(
        fc.integer({ min: 0, max: 500 }).map((n) => n * HOUR),
        fc.integer({ min: 0, max: 500 * HOUR }),
      ),
      persona: maybe(fc.constantFrom('analyst', 'coach', 'zed')),
      frameworks: names(['swot', 'pest', 'okr', 'moscow']),
      tools: names(['search', 'chart']),
      mcpServers: names(['m1', 'm2']),
      latencyMs: maybe(fc.oneof(fc.integer({ min: 0, max: 50_000 }), fc.constantFrom(0.0004, 0.25, 99.5))),
      tokens: maybe(fc.record({ input: fc.nat(1000), output: fc.nat(1000) })),
      outcome: fc.constantFrom('ok' as const, 'error' as const),
      feedback: maybe(fc.constantFrom(-1, 0, 0.5, 1)),
    })
    .map((t) => {
      const out: Record<string, unknown> = {
        id: `t${String(id).padStart(4, '0')}`,
        userInput: '',
        assistantResponse: '',
      };
      for (const [k, v] of Object.entries(t)) if (v !== undefined) out[k] = v;
      return Object.freeze(out) as unknown as Turn;
    });

const turnsArb = fc
  .integer({ min: 0, max: 120 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => turnArb(i))));

const filterArb = fc.record(
  {
    from: fc.integer({ min: 0, max: 500 * HOUR }),
    to: fc.integer({ min: 0, max: 501 * HOUR }),
    sessionId: fc.constantFrom('s1', ['s2', 's3'], 'nope'),
    userId: fc.constantFrom('u1', ['u2', 'u3']),
    persona: fc.constantFrom('analyst', ['coach', 'zed']),
    framework: fc.constantFrom('swot', ['okr', 'moscow']),
    tool: fc.constantFrom('chart'),
    outcome: fc.constantFrom('ok' as const, 'error' as const),
  },
  { requiredKeys: [] },
);

const specArb = fc.record({
  filter: filterArb,
  groupBy: fc.array(fc.constantFrom(...GroupKeySchema.options), { maxLength: 3 }),
  measures: fc.uniqueArray(fc.constantFrom(...MeasureSchema.options), { minLength: 1, maxLength: 16 }),
  orderBy: maybe(
    fc.record({
      measure: fc.constantFrom(...MeasureSchema.options),
      direction: fc.constantFrom('asc', 'desc'),
    }),
  ),
  offset: fc.nat(4),
  // Small limits over many groups take the bounded top-k path.
  limit: maybe(fc.integer({ min: 1, max: 6 })),
});

/** Appends in a few batches (some out of time order) with deletions between them. */
const stepsArb = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('append' as const), size: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ kind: fc.constant('delete' as const), before: fc.integer({ min: 0, max: 200 * HOUR }) }),
  ),
  { maxLength: 8 },
);

describe('the column scan answers as aggregateTurns over the same turns', () => {
  it('for any spec, after appends in any order and deletions', () => {
    fc.assert(
      fc.property(turnsArb, stepsArb, specArb, (turns, steps, input) => {
        const parsed = AggregateSpecSchema.safeParse(input);
        fc.pre(parsed.success);
        const spec = parsed.data!;
        const index = new TurnIndex();
        let next = 0;
        for (const step of [...steps, { kind: 'append' as const, size: turns.length }]) {
          if (step.kind === 'append') {
            index.add(turns.slice(next, next + step.size).sort(compareTimed));
            next += step.size;
          } else {
            index.removeBefore(step.before);
          }
        }
        index.ready();
        const f = normalizeTurnFilter(spec.filter);
        const { lo, hi } = index.timeRange(f);
        const expected = aggregateTurns(
          index.sorted.filter((t) => matchesTurnFilter(t, f)),
          spec,
        );
        expect(aggregateColumns(index.columns, lo, hi, f, spec)).toEqual(expected);
        // The fallbacks a large store takes: lookup chains, sets of ids, histogram maps.
        const tight = { denseCells: 0, markBytes: 3, histogramCells: 0 };
        expect(aggregateColumns(index.columns, lo, hi, f, spec, tight)).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('answers alike whether or not aggregates ran between the appends (which leave rows for the next one)', () => {
    fc.assert(
      fc.property(
        turnsArb,
        stepsArb,
        // Whether an aggregate (which brings the columns up to date) runs after each step.
        fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }),
        specArb,
        (turns, steps, defers, input) => {
          const parsed = AggregateSpecSchema.safeParse(input);
          fc.pre(parsed.success);
          const spec = parsed.data!;
          const eager = new TurnIndex();
          const mixed = new TurnIndex();
          let next = 0;
          [...steps, { kind: 'append' as const, size: turns.length }].forEach((step, k) => {
            if (step.kind === 'append') {
              const batch = turns.slice(next, next + step.size).sort(compareTimed);
              eager.add(batch);
              eager.ready();
              mixed.add(batch);
              next += step.size;
            } else {
              eager.removeBefore(step.before);
              eager.ready();
              mixed.removeBefore(step.before);
            }
            if (defers[k % defers.length]) mixed.ready();
          });
          mixed.ready();
          const f = normalizeTurnFilter(spec.filter);
          const { lo, hi } = mixed.timeRange(f);
          const expected = aggregateTurns(
            mixed.sorted.filter((t) => matchesTurnFilter(t, f)),
            spec,
          );
          expect(aggregateColumns(mixed.columns, lo, hi, f, spec)).toEqual(expected);
          expect(mixed.rollup.answer(spec, f)).toEqual(eager.rollup.answer(spec, f));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps the columns in step with the sorted turns', () => {
    fc.assert(
      fc.property(turnsArb, stepsArb, (turns, steps) => {
        const index = new TurnIndex();
        let next = 0;
        for (const step of [...steps, { kind: 'append' as const, size: turns.length }]) {
          if (step.kind === 'append') {
            index.add(turns.slice(next, next + step.size).sort(compareTimed));
            next += step.size;
          } else {
            index.removeBefore(step.before);
          }
          index.ready();
          const c = index.columns;
          expect(c.length).toBe(index.sorted.length);
          index.sorted.forEach((t, i) => {
            expect(c.at[i]).toBe(t.at);
            expect(c.sessions.names[c.session[i]!]).toBe(t.sessionId);
            const { offsets, values, dict } = c.frameworks;
            expect(Array.from(values.subarray(offsets[i]!, offsets[i + 1]!), (id) => dict.names[id])).toEqual(
              t.frameworks,
            );
          });
        }
      }),
      { numRuns: 200 },
    );
  });
});
