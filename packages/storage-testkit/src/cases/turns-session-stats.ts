import {
  matchesTurnFilter,
  normalizeTurnFilter,
  type SessionStats,
  sessionStatsOf,
  type Turn,
  type TurnFilter,
  type TurnStore,
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
 * The optional `TurnStore.sessionStats`: per-session figures over the turns matching a filter,
 * equal to core `sessionStatsOf` over those turns, for any filter, after out-of-order appends and
 * after `deleteBefore`. Run only for stores that have the method.
 */

function statsOf(turns: TurnStore): (filter?: TurnFilter) => Promise<SessionStats> {
  return (filter) => turns.sessionStats!(filter);
}

/** The reference: core sessionStatsOf over the matching turns, grouped by session and user. */
export function referenceSessionStats(all: readonly Turn[], filter: TurnFilter = {}): SessionStats {
  const f = normalizeTurnFilter(filter);
  const sessions = new Map<string, { turns: number; firstAt: number; lastAt: number }>();
  const userSessions = new Map<string, Set<string>>();
  for (const t of all) {
    if (!matchesTurnFilter(t, f)) continue;
    const s = sessions.get(t.sessionId);
    if (!s) sessions.set(t.sessionId, { turns: 1, firstAt: t.at, lastAt: t.at });
    else {
      s.turns++;
      s.firstAt = Math.min(s.firstAt, t.at);
      s.lastAt = Math.max(s.lastAt, t.at);
    }
    if (t.userId !== undefined) {
      const set = userSessions.get(t.userId) ?? new Set<string>();
      set.add(t.sessionId);
      userSessions.set(t.userId, set);
    }
  }
  return sessionStatsOf(
    sessions.values(),
    [...userSessions.values()].map((s) => s.size),
  );
}

// s1: three turns by u1 over 10 minutes on day 0; s2: one turn by u1 on day 0; s3: two turns by
// u2 crossing midnight into day 1 (23:50 and 00:20, 30 minutes); s4: 60 turns without a user on
// day 2, one a minute from 09:00 (59 minutes).
const SMALL: Turn[] = [
  makeTurn({ id: 'a1', sessionId: 's1', userId: 'u1', at: D0 + 9 * HOUR, persona: 'analyst' }),
  makeTurn({ id: 'a2', sessionId: 's1', userId: 'u1', at: D0 + 9 * HOUR + 4 * MIN }),
  makeTurn({ id: 'a3', sessionId: 's1', userId: 'u1', at: D0 + 9 * HOUR + 10 * MIN, outcome: 'error' }),
  makeTurn({ id: 'b1', sessionId: 's2', userId: 'u1', at: D0 + 15 * HOUR }),
  makeTurn({ id: 'c1', sessionId: 's3', userId: 'u2', at: D0 + DAY - 10 * MIN, persona: 'analyst' }),
  makeTurn({ id: 'c2', sessionId: 's3', userId: 'u2', at: D0 + DAY + 20 * MIN }),
  ...Array.from({ length: 60 }, (_, i) =>
    makeTurn({
      id: `d${String(i).padStart(2, '0')}`,
      sessionId: 's4',
      at: D0 + 2 * DAY + 9 * HOUR + i * MIN,
    }),
  ),
];

const cases = defineCases('turns', 'turns-session-stats', {
  'hand-computed figures over whole days, a range cutting a session, and a filter': async ({ turns }) => {
    // Appended newest first and in two batches, so totals are merged out of order.
    await turns.append(SMALL.slice(30).reverse());
    await turns.append(SMALL.slice(0, 30).reverse());
    const stats = statsOf(turns);
    // Everything: turns 3, 1, 2, 60 -> sorted 1, 2, 3, 60; lengths 10 min, 0, 30 min, 59 min.
    expect(await stats()).toEqual({
      turns: 66,
      sessions: 4,
      turnsPerSession: { sum: 66, median: 2, p90: 60, max: 60, bins: [1, 1, 1, 0, 0, 0, 1] },
      lengthMs: {
        sum: 99 * MIN,
        median: 10 * MIN,
        p90: 59 * MIN,
        max: 59 * MIN,
        bins: [1, 0, 0, 1, 2, 0, 0],
      },
      users: { active: 2, returning: 1 },
    });
    // Day 0 alone: s3 has one turn there (length 0); u1 has two sessions, u2 one.
    expect(await stats({ from: D0, to: D0 + DAY })).toEqual({
      turns: 5,
      sessions: 3,
      turnsPerSession: { sum: 5, median: 1, p90: 3, max: 3, bins: [2, 0, 1, 0, 0, 0, 0] },
      lengthMs: { sum: 10 * MIN, median: 0, p90: 10 * MIN, max: 10 * MIN, bins: [2, 0, 0, 1, 0, 0, 0] },
      users: { active: 2, returning: 1 },
    });
    // Days 1-2: s3's second turn and s4.
    expect(await stats({ from: D0 + DAY, to: D0 + 3 * DAY })).toEqual({
      turns: 61,
      sessions: 2,
      turnsPerSession: { sum: 61, median: 1, p90: 60, max: 60, bins: [1, 0, 0, 0, 0, 0, 1] },
      lengthMs: { sum: 59 * MIN, median: 0, p90: 59 * MIN, max: 59 * MIN, bins: [1, 0, 0, 0, 1, 0, 0] },
      users: { active: 1, returning: 0 },
    });
    // Inside a day: s4's turns from 09:30 on (30 turns over 29 minutes).
    expect(await stats({ from: D0 + 2 * DAY + 9 * HOUR + 30 * MIN })).toEqual({
      turns: 30,
      sessions: 1,
      turnsPerSession: { sum: 30, median: 30, p90: 30, max: 30, bins: [0, 0, 0, 0, 0, 1, 0] },
      lengthMs: {
        sum: 29 * MIN,
        median: 29 * MIN,
        p90: 29 * MIN,
        max: 29 * MIN,
        bins: [0, 0, 0, 0, 1, 0, 0],
      },
      users: { active: 0, returning: 0 },
    });
    // A filter: persona analyst is a1 (s1) and c1 (s3), one turn each.
    expect(await stats({ persona: 'analyst' })).toEqual({
      turns: 2,
      sessions: 2,
      turnsPerSession: { sum: 2, median: 1, p90: 1, max: 1, bins: [2, 0, 0, 0, 0, 0, 0] },
      lengthMs: { sum: 0, median: 0, p90: 0, max: 0, bins: [2, 0, 0, 0, 0, 0, 0] },
      users: { active: 2, returning: 0 },
    });
    // Nothing matches: zeros and nulls.
    const empty = {
      turns: 0,
      sessions: 0,
      turnsPerSession: { sum: 0, median: null, p90: null, max: null, bins: [0, 0, 0, 0, 0, 0, 0] },
      lengthMs: { sum: 0, median: null, p90: null, max: null, bins: [0, 0, 0, 0, 0, 0, 0] },
      users: { active: 0, returning: 0 },
    };
    expect(await stats({ from: D0 + 5 * DAY, to: D0 + 6 * DAY })).toEqual(empty);
    expect(await stats({ from: D0 + DAY, to: D0 + DAY })).toEqual(empty);
  },

  'deleteBefore: ended sessions leave, a session cut by it counts its remaining turns': async ({ turns }) => {
    await turns.append(SMALL);
    // Cuts s3 (keeps c2) and removes s1, s2.
    await turns.deleteBefore(D0 + DAY);
    const stats = statsOf(turns);
    expect(await stats()).toEqual(referenceSessionStats(SMALL.filter((t) => t.at >= D0 + DAY)));
    expect((await stats()).turnsPerSession).toEqual({
      sum: 61,
      median: 1,
      p90: 60,
      max: 60,
      bins: [1, 0, 0, 0, 0, 0, 1],
    });
    expect(await stats({ from: D0, to: D0 + DAY })).toEqual(referenceSessionStats([]));
  },

  'equals the reference over random turns, appends and deletes, for random filters': async ({ turns }) => {
    const history = new RandomHistory(turns);
    const turnArb = fc.record({
      ...randomTime,
      sessionId: fc.constantFrom('s1', 's2', 's3', 's4', 's5'),
      userId: fc.option(fc.constantFrom('u1', 'u2', 'u3'), { nil: undefined }),
      persona: fc.option(fc.constantFrom('analyst', 'coach'), { nil: undefined }),
    });
    // One store for the whole run: each sample continues from what the previous ones left.
    await fc.assert(
      fc.asyncProperty(historyStepsArb(turnArb), historyFilterArb(48), async (steps, filter) => {
        await history.apply(steps);
        expect(await turns.sessionStats!(filter)).toEqual(referenceSessionStats(history.stored, filter));
        expect(await turns.sessionStats!()).toEqual(referenceSessionStats(history.stored));
      }),
      { numRuns: 40, seed: 20_261_124, endOnFailure: true },
    );
  },
});

export const turnsSessionStatsCases = cases.map((c) => ({ ...c, requires: 'turns.sessionStats' as const }));
