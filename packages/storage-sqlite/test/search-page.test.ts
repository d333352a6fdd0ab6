import type { Turn } from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSqliteStorage } from '../src/index.js';
import { pickPage, TIE_MARGIN } from '../src/search.js';

/** The page edge: search keeps the best `limit` hits, and equal scores across the edge go newest first. */

function turn(id: string, at: number, userInput: string, persona?: string): Turn {
  return {
    id,
    sessionId: 's',
    at,
    userInput,
    assistantResponse: 'ok',
    frameworks: [],
    tools: [],
    mcpServers: [],
    outcome: 'ok',
    ...(persona ? { persona } : {}),
  };
}

describe('search page edge', () => {
  it('a tie on the score across the limit is broken by newest at, then larger id', async () => {
    // Twelve turns with the same text score the same; `at` repeats so that ids decide some places.
    const turns = Array.from({ length: 12 }, (_, i) =>
      turn(`t${String(i).padStart(2, '0')}`, 1_000 + Math.floor(i / 2), 'needle in hay', i % 3 ? 'a' : 'b'),
    );
    // One shorter turn scores better than all of them and stays first.
    turns.push(turn('best', 1, 'needle'));
    const sqlite = createSqliteStorage({ path: ':memory:' });
    try {
      await sqlite.turns.append(turns);
      const ids = async (limit: number, persona?: string) =>
        (await sqlite.turns.search('needle', { limit, ...(persona ? { filter: { persona } } : {}) })).map(
          (h) => h.turn.id,
        );
      // at: t10/t11 = 1005, t08/t09 = 1004, t06/t07 = 1003 ...
      expect(await ids(1)).toEqual(['best']);
      expect(await ids(4)).toEqual(['best', 't11', 't10', 't09']);
      expect(await ids(6)).toEqual(['best', 't11', 't10', 't09', 't08', 't07']);
      // persona 'b' holds t00, t03, t06, t09 (i % 3 === 0); 'best' has none.
      expect(await ids(2, 'b')).toEqual(['t09', 't06']);
      expect(await ids(20, 'b')).toEqual(['t09', 't06', 't03', 't00']);
    } finally {
      await sqlite.close();
    }
  });

  it('more ties than the bounded statement keeps fall back to the exact statement', async () => {
    const n = TIE_MARGIN + 20;
    // Same text, so the same score; ids ascend with `at`, so the newest are the largest ids.
    const turns = Array.from({ length: n }, (_, i) =>
      turn(`t${String(i).padStart(3, '0')}`, 5_000 + i, 'same words'),
    );
    const sqlite = createSqliteStorage({ path: ':memory:' });
    try {
      // Appended oldest last, so storage order is the reverse of the tie-break order.
      await sqlite.turns.append([...turns].reverse());
      const hits = await sqlite.turns.search('words', { limit: 3 });
      expect(hits.map((h) => h.turn.id)).toEqual(
        [n - 1, n - 2, n - 3].map((i) => `t${String(i).padStart(3, '0')}`),
      );
      const all = await sqlite.turns.search('words', { limit: 1000 });
      expect(all).toHaveLength(n);
    } finally {
      await sqlite.close();
    }
  });

  it('pickPage accepts a bounded page only when the dropped scores are strictly worse', () => {
    const keep = 2 + TIE_MARGIN;
    // Rows in rank order: [seq, bm25]; `last` is the worst score kept.
    const rows = (n: number, last: number) =>
      Array.from({ length: n }, (_, i) => [i + 1, i === n - 1 ? last : -3 + i / 1000]);
    // Fewer kept than asked for: every hit was seen.
    expect(pickPage(rows(5, -1), 2, keep, 1)).toEqual([
      { seq: 1, rank: -3, matched: 1 },
      { seq: 2, rank: -3 + 1 / 1000, matched: 1 },
    ]);
    // All kept: the worst kept must be worse (greater) than the last on the page.
    expect(pickPage(rows(keep, -1), 2, keep, 1)).toHaveLength(2);
    expect(pickPage(rows(keep, -3 + 1 / 1000), 2, keep, 1)).toBeUndefined();
    // Unbounded statements and empty results always answer; `any` rows carry their own count.
    expect(pickPage(rows(keep, -3 + 1 / 1000), 2, undefined, 1)).toHaveLength(2);
    expect(pickPage([], 2, keep, 1)).toEqual([]);
    expect(pickPage([[7, -2, 1]], 2, undefined, 2)).toEqual([{ seq: 7, rank: -2, matched: 1 }]);
  });

  it('small pages equal the memory adapter’s, filtered or not', async () => {
    const words = ['alpha', 'beta', 'gamma'];
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            words: fc.array(fc.constantFrom(...words), { minLength: 1, maxLength: 4 }),
            at: fc.integer({ min: 0, max: 5 }),
            persona: fc.constantFrom('a', 'b'),
          }),
          { maxLength: 30 },
        ),
        fc.integer({ min: 1, max: 6 }),
        fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
        async (raw, limit, persona) => {
          const turns = raw.map((r, i) =>
            turn(`t${String(i).padStart(2, '0')}`, r.at, r.words.join(' '), r.persona),
          );
          const sqlite = createSqliteStorage({ path: ':memory:' });
          const memory = createMemoryStorage();
          try {
            await sqlite.turns.append(turns);
            await memory.turns.append(turns);
            const options = { limit, ...(persona ? { filter: { persona } } : {}) };
            // One term: the BM25 of the two adapters orders alike (same tf and length, one idf),
            // up to rounding: scores equal in exact arithmetic (seed -1145039045: tf 3 of 5 terms
            // and tf 2 of 3 terms both give 1.375) may land either side in floating point, so the
            // order is checked wherever memory's score is not within 1e-9 of a neighbour's.
            const got = await sqlite.turns.search('alpha', options);
            const want = await memory.turns.search('alpha', options);
            const next = await memory.turns.search('alpha', { ...options, limit: limit + 1 });
            expect(got.length).toBe(want.length);
            const near = (a: number, b: number | undefined) => b !== undefined && Math.abs(a - b) < 1e-9;
            got.forEach((hit, i) => {
              // Scores themselves differ between the adapters (idf), so ties are judged on memory's.
              const score = next[i]!.score;
              if (!near(score, next[i - 1]?.score) && !near(score, next[i + 1]?.score)) {
                expect(hit.turn.id).toBe(next[i]!.turn.id);
              }
            });
          } finally {
            await sqlite.close();
            await memory.close();
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
