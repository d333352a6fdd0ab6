import type { Turn } from '@convokit/core';
import fc from 'fast-check';
import { compareTimed } from '../src/sorted.js';
import { TurnIndex } from '../src/turn-index.js';

/** Random turns, filters and append/delete steps for the engine's property tests. */
export const HOUR = 3_600_000;
const names = (pool: string[]) => fc.uniqueArray(fc.constantFrom(...pool), { maxLength: 4 });
export const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

export const turnArb = (id: number): fc.Arbitrary<Turn> =>
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

export const turnsArb = fc
  .integer({ min: 0, max: 120 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => turnArb(i))));

export const filterArb = fc.record(
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

/** Appends in a few batches (some out of time order) with deletions between them. */
export const stepsArb = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('append' as const), size: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ kind: fc.constant('delete' as const), before: fc.integer({ min: 0, max: 200 * HOUR }) }),
  ),
  { maxLength: 8 },
);

export type Step = { kind: 'append'; size: number } | { kind: 'delete'; before: number };

/** An index after `steps` (appends sorted in batches, deletions between), then the rest of `turns`. */
export function indexAfter(turns: readonly Turn[], steps: readonly Step[]): TurnIndex {
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
  return index;
}
