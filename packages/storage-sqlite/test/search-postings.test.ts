import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distinctTerms, normalizeTurnFilter, type SearchHit, type Turn } from '@convokit/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStorage } from '../src/index.js';
import { ftsPage, searchHitsOf } from '../src/search.js';
import { bucketLow, classOf, lengthBucket } from '../src/search-codec.js';
import { SEGMENTS_PER_LEVEL } from '../src/search-postings.js';
import { scoreFromPostings } from '../src/search-rank.js';
import { openConnection } from '../src/storage.js';

/**
 * The postings path (search-rank.ts) against the FTS5 statements it stands in for: same hits,
 * order, scores (bit for bit) and snippets, over appends that fill several merge levels, long
 * and short turns (exact and shared length buckets), repeated terms (every tf class), turns
 * with non-ASCII terms (scored by FTS5 itself), and deletes.
 */

const dir = mkdtempSync(join(tmpdir(), 'convokit-search-postings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'omega', 'x1'];

function turn(i: number, at: number, userInput: string, assistantResponse: string): Turn {
  return {
    id: `t${String(i).padStart(5, '0')}`,
    sessionId: 's',
    at,
    userInput,
    assistantResponse,
    frameworks: [],
    tools: [],
    mcpServers: [],
    outcome: 'ok',
  };
}

/** What search returned before the postings: the FTS5 statements, page rows, snippets. */
function ftsSearch(path: string, text: string, limit: number): SearchHit[] {
  const conn = openConnection({ path, readonly: true });
  try {
    const terms = distinctTerms(text);
    const hits = ftsPage(conn, terms, 'all', normalizeTurnFilter(undefined), limit);
    return hits?.length ? searchHitsOf(conn, hits, terms) : [];
  } finally {
    conn.db.close();
  }
}

/** A turn's words; about one turn in `accentOneIn` holds a non-ASCII term. */
const turnArb = (accentOneIn: number) =>
  fc.record({
    user: fc.array(fc.constantFrom(...WORDS), { minLength: 0, maxLength: 6 }),
    // Filler words make some turns longer than EXACT_LENGTHS (64 tokens).
    filler: fc.constantFrom(0, 0, 0, 2, 70, 140),
    response: fc.array(fc.constantFrom(...WORDS), { minLength: 0, maxLength: 4 }),
    at: fc.integer({ min: 0, max: 20 }),
    // A non-ASCII term is scored by FTS5; past IRREGULAR_MAX (64) such turns every search falls back to it.
    accent: fc.integer({ min: 0, max: accentOneIn - 1 }),
  });

describe('search from postings', () => {
  it('length buckets: exact below 64, quarter powers of two above, lows inside their bucket', () => {
    expect([0, 1, 63].map(lengthBucket)).toEqual([0, 1, 63]);
    // 64..79 -> 64, 80..95 -> 65, 96..111 -> 66, 112..127 -> 67, 128..159 -> 68
    expect([64, 79, 80, 95, 96, 112, 127, 128, 159, 160].map(lengthBucket)).toEqual([
      64, 64, 65, 65, 66, 67, 67, 68, 68, 69,
    ]);
    expect([64, 65, 66, 67, 68, 69].map(bucketLow)).toEqual([64, 80, 96, 112, 128, 160]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 30 }), (n) => {
        const b = lengthBucket(n);
        expect(bucketLow(b)).toBeLessThanOrEqual(n);
        expect(bucketLow(b + 1)).toBeGreaterThan(n);
      }),
    );
    expect([classOf(1, 10), classOf(2, 10), classOf(3, 10), classOf(9, 10)]).toEqual([30, 31, 32, 32]);
  });

  it('by hand: FTS5 bm25 with its own N and average length, ranked, scored, snipped', async () => {
    const path = join(dir, `hand-${files++}.db`);
    const storage = createSqliteStorage({ path });
    try {
      // Lengths 3, 2, 4, 1, 5 tokens (avgdl 15 / 5 = 3); "alpha" in the first (tf 2) and third (tf 1).
      await storage.turns.append([
        turn(0, 1, 'alpha beta', 'alpha'),
        turn(1, 2, 'beta gamma', ''),
        turn(2, 3, 'alpha delta delta', 'gamma'),
        turn(3, 4, 'omega', ''),
        turn(4, 5, 'beta beta beta', 'gamma gamma'),
      ]);
      const idf = Math.log((5 - 2 + 0.5) / (2 + 0.5));
      const bm25 = (tf: number, len: number) =>
        idf * ((tf * (1.2 + 1)) / (tf + 1.2 * (1 - 0.75 + (0.75 * len) / 3)));
      const hits = await storage.turns.search('alpha');
      expect(hits.map((h) => h.turn.id)).toEqual(['t00000', 't00002']);
      const want = [bm25(2, 3), bm25(1, 4)].map((b) => 1 + b / (1 + b));
      for (const [i, h] of hits.entries()) expect(h.score).toBeCloseTo(want[i]!, 12);
      expect(hits.map((h) => h.snippet)).toEqual([
        '<mark>alpha</mark> beta',
        '<mark>alpha</mark> delta delta',
      ]);
      // Both terms: only the third turn holds alpha and gamma; gamma's n is 3.
      const both = await storage.turns.search('gamma alpha');
      const gammaIdf = Math.log((5 - 3 + 0.5) / (3 + 0.5));
      expect(both.map((h) => h.turn.id)).toEqual(['t00002']);
      // ln(2.5 / 3.5) < 0: FTS5 takes 1e-6 for gamma.
      expect(gammaIdf).toBeLessThan(0);
      const w = (i: number, tf: number, len: number) =>
        i * ((tf * (1.2 + 1)) / (tf + 1.2 * (1 - 0.75 + (0.75 * len) / 3)));
      const b = w(1e-6, 1, 4) + w(idf, 1, 4);
      expect(both[0]!.score).toBeCloseTo(2 + b / (1 + b), 12);
    } finally {
      await storage.close();
    }
  });

  /**
   * Runs the property over `runs` stores of `minBatches`..`maxBatches` appends; returns the deepest
   * level seen and how many searches the postings answered. About one turn in `accentOneIn` holds
   * a non-ASCII term; with `cuts`, some stores also take deleteBefore calls as they fill.
   */
  async function sameAsFts(
    minBatches: number,
    maxBatches: number,
    runs: number,
    accentOneIn = 30,
    cuts = true,
  ) {
    let deepest = 0;
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(turnArb(accentOneIn), { minLength: 1, maxLength: 10 }), {
          minLength: minBatches,
          maxLength: maxBatches,
          size: 'max',
        }),
        cuts ? fc.option(fc.integer({ min: 0, max: 21 }), { nil: undefined }) : fc.constant(undefined),
        // At least one query the postings can answer (no non-ASCII term) in every run.
        fc
          .tuple(
            fc.subarray(['alpha', 'beta gamma', 'x1', 'omega alpha delta', 'gamma x1'], { minLength: 1 }),
            fc.boolean(),
          )
          .map(([ascii, accented]) => (accented ? [...ascii, 'café'] : ascii)),
        fc.integer({ min: 1, max: 25 }),
        async (batches, cut, queries, limit) => {
          const path = join(dir, `p-${files++}.db`);
          const storage = createSqliteStorage({ path });
          try {
            let i = 0;
            for (const batch of batches) {
              await storage.turns.append(
                batch.map((b) =>
                  turn(
                    i++,
                    b.at,
                    [...b.user, ...Array<string>(b.filler).fill('filler')].join(' '),
                    [...b.response, ...(b.accent === 0 ? ['café'] : [])].join(' '),
                  ),
                ),
              );
              if (cut !== undefined && i % 50 === 0) await storage.turns.deleteBefore(cut);
            }
            if (cut !== undefined) await storage.turns.deleteBefore(cut);
            const conn = openConnection({ path, readonly: true });
            try {
              deepest = Math.max(
                deepest,
                conn.db.prepare('SELECT ifnull(max(level), 0) FROM search_postings').pluck().get() as number,
              );
              for (const q of queries) if (scoreFromPostings(conn, distinctTerms(q), limit)) answered++;
            } finally {
              conn.db.close();
            }
            for (const q of queries) {
              const want = ftsSearch(path, q, limit);
              const got = await storage.turns.search(q, { limit });
              expect(got).toEqual(want);
              // Bit for bit: toEqual uses Object.is on numbers.
              for (const [k, h] of got.entries()) expect(Object.is(h.score, want[k]!.score)).toBe(true);
            }
          } finally {
            await storage.close();
          }
        },
      ),
      { numRuns: runs },
    );
    return { deepest, answered };
  }

  it("seqs that deleteBefore freed and SQLite hands out again get their own lengths, not the deleted turns'", async () => {
    const path = join(dir, `reuse-${files++}.db`);
    const storage = createSqliteStorage({ path });
    try {
      // Seqs 1-2 stay; seqs 3-4 and 5-6 (two appends, two lengths rows) are deleted by time.
      await storage.turns.append([turn(0, 10, 'alpha', ''), turn(1, 10, 'beta', '')]);
      await storage.turns.append([turn(2, 1, 'alpha beta gamma', ''), turn(3, 1, 'gamma', '')]);
      await storage.turns.append([turn(4, 1, 'delta', ''), turn(5, 1, 'alpha omega', '')]);
      await storage.turns.deleteBefore(5);
      // Seqs 3-7 again: lengths 1, 2, 3, 4, 5 tokens, where the deleted turns had 3, 1, 1, 2.
      const words = (n: number) => ['alpha', ...Array<string>(n - 1).fill('x1')].join(' ');
      await storage.turns.append([1, 2, 3, 4, 5].map((n, k) => turn(10 + k, 20, words(n), '')));
      for (let round = 0; round < 2; round++) {
        for (const q of ['alpha', 'alpha x1']) {
          const got = await storage.turns.search(q, { limit: 10 });
          expect(got).toEqual(ftsSearch(path, q, 10));
          expect(got).toHaveLength(q === 'alpha' ? 6 : 4);
        }
        // Then past a level-0 merge, which reads every level-0 posting's length.
        for (let k = 0; k < SEGMENTS_PER_LEVEL; k++)
          await storage.turns.append([turn(100 * (round + 1) + k, 30, 'omega', '')]);
      }
    } finally {
      await storage.close();
    }
  });

  it('same hits, order, scores and snippets as the FTS5 statements, across level-0 merges and deletes', async () => {
    const { deepest, answered } = await sameAsFts(1, 3 * SEGMENTS_PER_LEVEL, 30);
    expect(deepest).toBe(1);
    expect(answered).toBeGreaterThan(20);
  }, 240_000);

  it('the same past a second merge level (SEGMENTS_PER_LEVEL squared appends)', async () => {
    const n = SEGMENTS_PER_LEVEL * SEGMENTS_PER_LEVEL;
    // Its two stores must reach level 2 and be answered from the postings, which random input did
    // not always give (about one run in 20 failed): a deleteBefore past every turn's time, repeated
    // as the store fills, kept the levels at 0 (deletes and merges are the test above's); and with
    // 1,200-2,700 turns, one in 30 with an accent passed IRREGULAR_MAX (20-74 such turns seen), so
    // every search fell back to FTS5. Here: no cuts, and one turn in 200 with an accent (~10).
    const { deepest, answered } = await sameAsFts(n + 1, n + 20, 2, 200, false);
    expect(deepest).toBe(2);
    expect(answered).toBeGreaterThan(0);
  }, 240_000);
});
