import {
  matchesTurnFilter,
  normalizeTurnFilter,
  type PersonaPreference,
  personaPreferenceOf,
  type Turn,
  type TurnFilter,
} from '@convokit/core';
import fc from 'fast-check';
import { expect } from 'vitest';
import { makeTurn } from '../fixtures/builders.js';
import { defineCases } from './define.js';
import {
  D0,
  DAY,
  HOUR,
  historyFilterArb,
  historyStepsArb,
  MIN,
  RandomHistory,
  randomTime,
} from './random-history.js';

/**
 * The optional `TurnStore.personaPreference`: users per preferred persona over the turns matching
 * a filter, equal to core `personaPreferenceOf` over those turns' (user, persona) counts, for any
 * filter, after out-of-order appends and after `deleteBefore`. Run only for stores that have it.
 */

/** The reference: core personaPreferenceOf over the matching turns' (user, persona) counts. */
export function referencePersonaPreference(all: readonly Turn[], filter: TurnFilter = {}): PersonaPreference {
  const f = normalizeTurnFilter(filter);
  const counts: Array<[string, string, number]> = [];
  for (const t of all) {
    if (!matchesTurnFilter(t, f) || t.userId === undefined || t.persona === undefined) continue;
    counts.push([t.userId, t.persona, 1]);
  }
  return personaPreferenceOf(counts);
}

let id = 0;
const turn = (userId: string | undefined, persona: string | undefined, at: number, sessionId = 's1') =>
  makeTurn({
    id: `p${String(id++).padStart(4, '0')}`,
    sessionId,
    at,
    ...(userId === undefined ? {} : { userId }),
    ...(persona === undefined ? {} : { persona }),
  });

// Day 0: u1 eng x2, cto x1; u2 cto x1, eng x1 (tie: cto); u3 only turns without a persona.
// Day 1 (from 10:00): u1 cto x3; u4 ops x1; a turn without a user (ops).
const SMALL: Turn[] = [
  turn('u1', 'eng', D0 + 9 * HOUR),
  turn('u1', 'eng', D0 + 9 * HOUR + MIN),
  turn('u1', 'cto', D0 + 10 * HOUR),
  turn('u2', 'eng', D0 + 11 * HOUR, 's2'),
  turn('u2', 'cto', D0 + 12 * HOUR, 's2'),
  turn('u3', undefined, D0 + 13 * HOUR, 's3'),
  turn('u3', undefined, D0 + 14 * HOUR, 's3'),
  turn('u1', 'cto', D0 + DAY + 10 * HOUR, 's4'),
  turn('u1', 'cto', D0 + DAY + 11 * HOUR, 's4'),
  turn('u1', 'cto', D0 + DAY + 12 * HOUR, 's4'),
  turn('u4', 'ops', D0 + DAY + 13 * HOUR, 's5'),
  turn(undefined, 'ops', D0 + DAY + 14 * HOUR, 's6'),
];

const cases = defineCases('turns', 'turns-persona-preference', {
  'hand-computed preferences over whole days, part of a day, and a filter': async ({ turns }) => {
    // Appended newest first and in two batches.
    await turns.append(SMALL.slice(6).reverse());
    await turns.append(SMALL.slice(0, 6).reverse());
    const pref = (filter?: TurnFilter) => turns.personaPreference!(filter);
    // All: u1 eng 2 / cto 4 -> cto; u2 tie -> cto; u4 ops; u3 none.
    expect(await pref()).toEqual({
      users: 3,
      personas: [
        { persona: 'cto', users: 2 },
        { persona: 'ops', users: 1 },
      ],
    });
    // Day 0: u1 eng (2 to 1), u2 cto (tie by name).
    expect(await pref({ from: D0, to: D0 + DAY })).toEqual({
      users: 2,
      personas: [
        { persona: 'cto', users: 1 },
        { persona: 'eng', users: 1 },
      ],
    });
    // From 09:30 on day 0: u1 eng 1 / cto 4 -> cto.
    expect(await pref({ from: D0 + 9 * HOUR + 30 * MIN, to: D0 + 2 * DAY })).toEqual({
      users: 3,
      personas: [
        { persona: 'cto', users: 2 },
        { persona: 'ops', users: 1 },
      ],
    });
    // Up to 10:30 on day 1 (u1's first cto of day 1 in): u1 eng 2 / cto 2 -> cto by name.
    expect(await pref({ to: D0 + DAY + 10 * HOUR + 30 * MIN })).toEqual({
      users: 2,
      personas: [{ persona: 'cto', users: 2 }],
    });
    // A filter: only persona eng.
    expect(await pref({ persona: 'eng' })).toEqual({ users: 2, personas: [{ persona: 'eng', users: 2 }] });
    expect(await pref({ userId: 'u3' })).toEqual({ users: 0, personas: [] });
    expect(await pref({ from: D0 + 5 * DAY, to: D0 + 6 * DAY })).toEqual({ users: 0, personas: [] });
  },

  'deleteBefore: deleted turns no longer count, also inside a day': async ({ turns }) => {
    await turns.append(SMALL);
    // Deletes u1's two eng turns: u1 cto 4 -> cto; u2 tie -> cto.
    await turns.deleteBefore(D0 + 9 * HOUR + 30 * MIN);
    expect(await turns.personaPreference!()).toEqual(
      referencePersonaPreference(SMALL.filter((t) => t.at >= D0 + 9 * HOUR + 30 * MIN)),
    );
    // Day 0 is now u1 cto 1, u2 tie -> cto for both.
    expect(await turns.personaPreference!({ from: D0, to: D0 + DAY })).toEqual({
      users: 2,
      personas: [{ persona: 'cto', users: 2 }],
    });
    await turns.deleteBefore(D0 + DAY);
    expect(await turns.personaPreference!({ from: D0, to: D0 + DAY })).toEqual({ users: 0, personas: [] });
  },

  'equals the reference over random turns, appends and deletes, for random filters': async ({ turns }) => {
    const history = new RandomHistory(turns);
    const turnArb = fc.record({
      ...randomTime,
      sessionId: fc.constantFrom('s1', 's2', 's3'),
      userId: fc.option(fc.constantFrom('u1', 'u2', 'u 3', 'U4', 'é5'), { nil: undefined }),
      // Ties are frequent with few turns, and go by JavaScript string order: 'Zed' before
      // 'analyst', and '\u{1F600}' (a surrogate pair) before '\uFB01', which byte (UTF-8) or code
      // point order puts the other way round.
      persona: fc.option(fc.constantFrom('analyst', 'coach', 'Zed', 'ß', '\uFB01', '\u{1F600}'), {
        nil: undefined,
      }),
    });
    // One store for the whole run: each sample continues from what the previous ones left.
    await fc.assert(
      fc.asyncProperty(historyStepsArb(turnArb), historyFilterArb(60), async (steps, filter) => {
        await history.apply(steps);
        expect(await turns.personaPreference!(filter)).toEqual(
          referencePersonaPreference(history.stored, filter),
        );
        expect(await turns.personaPreference!()).toEqual(referencePersonaPreference(history.stored));
      }),
      { numRuns: 40, seed: 20_261_125, endOnFailure: true },
    );
  },
});

export const turnsPersonaPreferenceCases = cases.map((c) => ({
  ...c,
  requires: 'turns.personaPreference' as const,
}));
