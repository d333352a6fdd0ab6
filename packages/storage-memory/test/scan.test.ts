import {
  AggregateSpecSchema,
  GroupKeySchema,
  MeasureSchema,
  matchesTurnFilter,
  normalizeTurnFilter,
} from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateTurns } from '../src/aggregate.js';
import { aggregateColumns } from '../src/scan.js';
import { compareTimed } from '../src/sorted.js';
import { TurnIndex } from '../src/turn-index.js';
import { filterArb, indexAfter, maybe, stepsArb, turnsArb } from './arbitraries.js';

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

describe('the column scan answers as aggregateTurns over the same turns', () => {
  it('for any spec, after appends in any order and deletions', () => {
    fc.assert(
      fc.property(turnsArb, stepsArb, specArb, (turns, steps, input) => {
        const parsed = AggregateSpecSchema.safeParse(input);
        fc.pre(parsed.success);
        const spec = parsed.data!;
        const index = indexAfter(turns, steps);
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
