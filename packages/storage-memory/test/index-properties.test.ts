import {
  type AggregateSpecInput,
  AggregateSpecSchema,
  GroupKeySchema,
  MeasureSchema,
  matchesTurnFilter,
  normalizeTurnFilter,
  type Turn,
  type TurnFilter,
  tokenize,
} from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateTurns, createMemoryStorage, type MemoryStorage } from '../src/index.js';

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'Alpha', 'épée'];
const names = (pool: string[]) => fc.uniqueArray(fc.constantFrom(...pool), { maxLength: 3 });
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const turnArb = (id: number): fc.Arbitrary<Turn> =>
  fc
    .record({
      sessionId: fc.constantFrom('s1', 's2', 's3'),
      conversationId: maybe(fc.constantFrom('c1', 'c2')),
      userId: maybe(fc.constantFrom('u1', 'u2')),
      // Few distinct times so ties on `at` (broken by id) are common.
      at: fc.integer({ min: 0, max: 40 }).map((n) => n * 1_800_000),
      userInput: fc.array(fc.constantFrom(...WORDS), { maxLength: 5 }).map((w) => w.join(' ')),
      assistantResponse: fc.array(fc.constantFrom(...WORDS), { maxLength: 5 }).map((w) => w.join(', ')),
      persona: maybe(fc.constantFrom('analyst', 'coach')),
      frameworks: names(['swot', 'pest', 'okr']),
      tools: names(['search', 'chart']),
      mcpServers: names(['m1', 'm2']),
      latencyMs: maybe(fc.integer({ min: 0, max: 5_000 })),
      tokens: maybe(fc.record({ input: fc.nat(100), output: fc.nat(100) })),
      outcome: fc.constantFrom('ok' as const, 'error' as const),
      feedback: maybe(fc.constantFrom(-1, 0, 0.5, 1)),
    })
    .map((t) => {
      const out: Record<string, unknown> = { id: `t${String(id).padStart(3, '0')}` };
      for (const [k, v] of Object.entries(t)) if (v !== undefined) out[k] = v;
      return out as Turn;
    });

const turnsArb = fc
  .integer({ min: 0, max: 60 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => turnArb(i))))
  .chain((turns) => fc.shuffledSubarray(turns, { minLength: turns.length, maxLength: turns.length }));

const oneOrMany = (pool: string[]) =>
  fc.oneof(
    fc.constantFrom(...pool),
    fc.uniqueArray(fc.constantFrom(...pool), { minLength: 1, maxLength: 3 }),
  );

const filterArb: fc.Arbitrary<TurnFilter> = fc
  .record(
    {
      from: fc.integer({ min: 0, max: 40 }).map((n) => n * 1_800_000),
      to: fc.integer({ min: 0, max: 41 }).map((n) => n * 1_800_000),
      sessionId: oneOrMany(['s1', 's2', 's3', 'nope']),
      conversationId: oneOrMany(['c1', 'c2']),
      userId: oneOrMany(['u1', 'u2']),
      persona: oneOrMany(['analyst', 'coach']),
      framework: oneOrMany(['swot', 'pest', 'okr']),
      tool: oneOrMany(['search', 'chart']),
      mcpServer: oneOrMany(['m1', 'm2']),
      outcome: fc.constantFrom('ok' as const, 'error' as const),
    },
    { requiredKeys: [] },
  )
  .map((f) => (f.from !== undefined && f.to !== undefined && f.from > f.to ? { ...f, to: f.from } : f));

const byKey = (a: Turn, b: Turn) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Stores `turns` in a few batches (out of time order), then deletes before `cut`. */
async function load(turns: Turn[], cut: number): Promise<{ store: MemoryStorage; kept: Turn[] }> {
  const store = createMemoryStorage();
  for (let i = 0; i < turns.length; i += 17) await store.turns.append(turns.slice(i, i + 17));
  await store.turns.deleteBefore(cut);
  return { store, kept: turns.filter((t) => t.at >= cut) };
}

async function listAll(store: MemoryStorage, filter: TurnFilter, order: 'asc' | 'desc', limit: number) {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await store.turns.list(filter, { order, limit, cursor });
    ids.push(...page.items.map((t) => t.id));
    if (page.nextCursor === null) return ids;
    cursor = page.nextCursor;
  }
  throw new Error('pagination did not end');
}

const cutArb = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 12 }).map((n) => n * 1_800_000),
);

describe('indexed reads equal a full scan with matchesTurnFilter', () => {
  it('count and every page of list, both orders', async () => {
    await fc.assert(
      fc.asyncProperty(
        turnsArb,
        filterArb,
        cutArb,
        fc.integer({ min: 1, max: 7 }),
        async (turns, filter, cut, limit) => {
          const { store, kept } = await load(turns, cut);
          const f = normalizeTurnFilter(filter);
          const expected = kept.filter((t) => matchesTurnFilter(t, f)).sort(byKey);
          expect(await store.turns.count(filter)).toBe(expected.length);
          expect(await listAll(store, filter, 'asc', limit)).toEqual(expected.map((t) => t.id));
          expect(await listAll(store, filter, 'desc', limit)).toEqual(expected.map((t) => t.id).reverse());
        },
      ),
      { numRuns: 150 },
    );
  });

  it('aggregate', async () => {
    const specArb = fc.record({
      filter: filterArb,
      groupBy: fc.array(fc.constantFrom(...GroupKeySchema.options), { maxLength: 3 }),
      measures: fc.uniqueArray(fc.constantFrom(...MeasureSchema.options), { minLength: 1, maxLength: 16 }),
    });
    await fc.assert(
      fc.asyncProperty(turnsArb, specArb, cutArb, async (turns, input, cut) => {
        const parsed = AggregateSpecSchema.safeParse(input);
        fc.pre(parsed.success);
        const { store, kept } = await load(turns, cut);
        const f = normalizeTurnFilter(input.filter);
        const expected = aggregateTurns(
          kept.filter((t) => matchesTurnFilter(t, f)),
          parsed.data!,
        );
        expect(await store.turns.aggregate(input as AggregateSpecInput)).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('search finds exactly the turns holding all (or any) terms that pass the filter', async () => {
    const queryArb = fc.uniqueArray(fc.constantFrom('alpha', 'BETA', 'gamma', 'delta', 'épée', 'zeta'), {
      minLength: 1,
      maxLength: 3,
    });
    await fc.assert(
      fc.asyncProperty(
        turnsArb,
        filterArb,
        queryArb,
        fc.constantFrom('all' as const, 'any' as const),
        cutArb,
        async (turns, filter, words, mode, cut) => {
          const { store, kept } = await load(turns, cut);
          const f = normalizeTurnFilter(filter);
          const terms = words.map((w) => w.toLowerCase());
          const held = (t: Turn) => {
            const bag = new Set(tokenize(`${t.userInput} ${t.assistantResponse}`));
            return terms.filter((term) => bag.has(term)).length;
          };
          const expected = kept.filter(
            (t) => matchesTurnFilter(t, f) && (mode === 'all' ? held(t) === terms.length : held(t) > 0),
          );
          const hits = await store.turns.search(words.join(' '), { filter, mode, limit: 1000 });
          expect(hits.map((h) => h.turn.id).sort()).toEqual(expected.map((t) => t.id).sort());
          // More distinct terms held always ranks first; scores never go up down the list.
          for (let i = 1; i < hits.length; i++) {
            expect(held(hits[i - 1]!.turn)).toBeGreaterThanOrEqual(held(hits[i]!.turn));
            expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
          }
          for (const hit of hits) expect(hit.snippet).toMatch(/<mark>/);
          // A smaller limit keeps exactly the best of the full ranking, in the same order
          // (unfiltered, so that there is usually more to choose from than the limit).
          const full = await store.turns.search(words.join(' '), { mode, limit: 1000 });
          const top = await store.turns.search(words.join(' '), { mode, limit: 3 });
          expect(top.map((h) => h.turn.id)).toEqual(full.slice(0, 3).map((h) => h.turn.id));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('search indexes turns at the next search', () => {
  it('answers alike whatever searches, appends and deletions came before', async () => {
    const stepArb = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), size: fc.integer({ min: 1, max: 15 }) }),
      fc.record({ kind: fc.constant('search' as const) }),
      fc.record({ kind: fc.constant('delete' as const), cut: cutArb }),
    );
    const queryArb = fc.uniqueArray(fc.constantFrom('alpha', 'beta', 'gamma', 'épée'), {
      minLength: 1,
      maxLength: 3,
    });
    await fc.assert(
      fc.asyncProperty(
        turnsArb,
        fc.array(stepArb, { maxLength: 12 }),
        queryArb,
        fc.constantFrom('all' as const, 'any' as const),
        async (turns, steps, words, mode) => {
          // Store A interleaves appends, searches (each indexes what is queued) and deletions.
          const a = createMemoryStorage();
          let next = 0;
          for (const step of [...steps, { kind: 'append' as const, size: turns.length }]) {
            if (step.kind === 'append') {
              await a.turns.append(turns.slice(next, next + step.size));
              next = Math.min(turns.length, next + step.size);
            } else if (step.kind === 'search') {
              await a.turns.search(words.join(' '), { mode });
            } else {
              await a.turns.deleteBefore(step.cut);
            }
          }
          // Turns appended after a deletion are kept even when older than its cut.
          const kept = new Set((await a.turns.list({}, { limit: 1000 })).items.map((t) => t.id));
          // Store B holds the same turns, appended at once and indexed by one search.
          const b = createMemoryStorage();
          await b.turns.append(turns.filter((t) => kept.has(t.id)));
          const query = words.join(' ');
          const hitsA = await a.turns.search(query, { mode, limit: 1000 });
          const hitsB = await b.turns.search(query, { mode, limit: 1000 });
          expect(hitsA).toEqual(hitsB);
        },
      ),
      { numRuns: 150 },
    );
  });
});
