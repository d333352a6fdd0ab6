import {
  AggregateSpecSchema,
  matchesTurnFilter,
  normalizeTurnFilter,
  personaPreferenceOfRows,
  SESSION_LENGTH_BINS,
  SESSION_USER_GROUPS,
  sessionStatsOfRows,
  summarizeSessionValues,
  USER_PERSONA_GROUPS,
} from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateTurns } from '../src/aggregate.js';
import { filterRows } from '../src/scan.js';
import { Scratch } from '../src/scratch.js';
import { personaPreferenceOfColumns, sessionStatsOfColumns, summarizeSorted } from '../src/session-scan.js';
import { TurnIndex } from '../src/turn-index.js';
import { filterArb, indexAfter, stepsArb, turnsArb } from './arbitraries.js';

const sessionUser = AggregateSpecSchema.parse(SESSION_USER_GROUPS);
const userPersona = AggregateSpecSchema.parse(USER_PERSONA_GROUPS);

describe('session stats and persona preference from the columns', () => {
  // One scratch for every run: arrays left by a larger or differently shaped store must not leak.
  const scratch = new Scratch();

  it('equal core summaries of the grouped rows, for any filter, after appends and deletions', () => {
    fc.assert(
      fc.property(
        turnsArb,
        stepsArb,
        fc.array(filterArb, { minLength: 1, maxLength: 3 }),
        (turns, steps, filters) => {
          const index = indexAfter(turns, steps);
          for (const filter of filters) {
            const f = normalizeTurnFilter(filter);
            const { lo, hi } = index.timeRange(f);
            const matching = index.sorted.filter((t) => matchesTurnFilter(t, f));
            const set = { lo, hi, rows: filterRows(index.columns, lo, hi, f, scratch) };
            expect(sessionStatsOfColumns(index.columns, set, scratch)).toEqual(
              sessionStatsOfRows(aggregateTurns(matching, sessionUser).rows),
            );
            // The filtered rows live in the scratch too: take them again before the second pass.
            const again = { lo, hi, rows: filterRows(index.columns, lo, hi, f, scratch) };
            expect(personaPreferenceOfColumns(index.columns, again, scratch)).toEqual(
              personaPreferenceOfRows(aggregateTurns(matching, userPersona).rows),
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives way when the (user, persona) table would be too large', () => {
    const index = new TurnIndex();
    for (let u = 0; u < 2100; u++) index.columns.users.id(`u${u}`);
    for (let p = 0; p < 2000; p++) index.columns.personas.id(`p${p}`);
    expect(personaPreferenceOfColumns(index.columns, { lo: 0, hi: 0, rows: null }, scratch)).toBeUndefined();
  });
});

describe('summarizeSorted', () => {
  it('is core summarizeSessionValues of the same values, to the last bit', () => {
    const value = fc.oneof(
      fc.integer({ min: 0, max: 20 }),
      fc.double({ min: 0, max: 1e7, noNaN: true, noDefaultInfinity: true }),
    );
    fc.assert(
      fc.property(fc.array(value, { maxLength: 60 }), (values) => {
        const counts = new Map<number, number>();
        for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
        const sorted = Float64Array.from(values).sort();
        expect(summarizeSorted(sorted, SESSION_LENGTH_BINS)).toEqual(
          summarizeSessionValues(counts, SESSION_LENGTH_BINS),
        );
      }),
      { numRuns: 500 },
    );
  });

  it('summarizes by hand-computed figures', () => {
    // Turns per session 1, 1, 2, 4, 12 over bins 1, 2, 3-5, 6-10, 11+.
    const stats = summarizeSorted(Float64Array.of(1, 1, 2, 4, 12), [1, 2, 3, 6, 11]);
    expect(stats).toEqual({ sum: 20, median: 2, p90: 12, max: 12, bins: [2, 1, 1, 0, 1] });
    expect(summarizeSorted(new Float64Array(0), [1, 2])).toEqual({
      sum: 0,
      median: null,
      p90: null,
      max: null,
      bins: [0, 0],
    });
  });
});
