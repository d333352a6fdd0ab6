import type { Turn, TurnFilter, TurnStore } from '@convokit/core';
import fc from 'fast-check';
import { makeTurn } from '../fixtures/builders.js';

/**
 * Random histories for the properties of the optional per-filter turn summaries (`sessionStats`,
 * `personaPreference`): out-of-order appends over a few days from D0 and now and then a
 * `deleteBefore`, replayed on the store while a plain array mirrors what it holds, and filters
 * over those days.
 */

export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
export const D0 = Date.UTC(2026, 2, 2);

/** A turn of a random history: its day (0-3 after D0), minute and ms, and who it belongs to. */
export interface RandomTurn {
  day: number;
  minute: number;
  ms: number;
  sessionId: string;
  userId: string | undefined;
  persona: string | undefined;
}

type Step = { append: RandomTurn[] } | { deleteBefore: number };

/** The when of a random turn: days 0-3, any minute and ms, so sessions cross midnight and some run long; the caller adds who. */
export const randomTime = {
  day: fc.integer({ min: 0, max: 3 }),
  minute: fc.integer({ min: 0, max: 24 * 60 - 1 }),
  ms: fc.integer({ min: 0, max: 59_999 }),
};

/** One to four steps: mostly an append of 1-8 turns in any order, sometimes a deleteBefore. */
export function historyStepsArb(turn: fc.Arbitrary<RandomTurn>): fc.Arbitrary<Step[]> {
  const step = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.array(turn, { minLength: 1, maxLength: 8 }).map((t): Step => ({ append: t })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ day: fc.integer({ min: 0, max: 3 }), minute: fc.integer({ min: 0, max: 24 * 60 }) })
        .map((d): Step => ({ deleteBefore: D0 + d.day * DAY + d.minute * MIN })),
    },
  );
  return fc.array(step, { minLength: 1, maxLength: 4 });
}

/**
 * Filters over the history's days: none, whole-day ranges (some empty, some past the data), open
 * ends, hour ranges of up to `maxHours` (not aligned to days), and a persona, a user or sessions.
 */
export function historyFilterArb(maxHours: number): fc.Arbitrary<TurnFilter> {
  return fc.oneof(
    fc.constant({}),
    fc
      .record({ from: fc.integer({ min: -1, max: 4 }), days: fc.integer({ min: 0, max: 5 }) })
      .map(({ from, days }) => ({ from: D0 + from * DAY, to: D0 + (from + days) * DAY })),
    fc.integer({ min: 0, max: 4 }).map((d) => ({ from: D0 + d * DAY })),
    fc.integer({ min: 0, max: 4 }).map((d) => ({ to: D0 + d * DAY })),
    fc
      .record({ from: fc.integer({ min: 0, max: 4 * 24 }), hours: fc.integer({ min: 0, max: maxHours }) })
      .map(({ from, hours }) => ({ from: D0 + from * HOUR, to: D0 + (from + hours) * HOUR })),
    fc.constantFrom<TurnFilter>({ persona: 'analyst' }, { userId: 'u1' }, { sessionId: ['s1', 's2'] }),
  );
}

/** A store being given a random history, and the turns it holds (one per property run: samples continue). */
export class RandomHistory {
  readonly stored: Turn[] = [];
  #next = 0;

  constructor(private readonly turns: TurnStore) {}

  async apply(steps: readonly Step[]): Promise<void> {
    for (const step of steps) {
      if ('append' in step) {
        const batch = step.append.map((t) =>
          makeTurn({
            id: `r${String(this.#next++).padStart(5, '0')}`,
            sessionId: t.sessionId,
            at: D0 + t.day * DAY + t.minute * MIN + t.ms,
            ...(t.userId === undefined ? {} : { userId: t.userId }),
            ...(t.persona === undefined ? {} : { persona: t.persona }),
          }),
        );
        await this.turns.append(batch);
        this.stored.push(...batch);
      } else {
        await this.turns.deleteBefore(step.deleteBefore);
        for (let i = this.stored.length - 1; i >= 0; i--)
          if (this.stored[i]!.at < step.deleteBefore) this.stored.splice(i, 1);
      }
    }
  }
}
