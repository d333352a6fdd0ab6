import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Turn } from '@convokit/core';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStorage } from '../src/index.js';
import { TIE_MARGIN } from '../src/search.js';

/**
 * Search against the plain full ranking: one SQL statement over the same file that scores every
 * match with FTS5 bm25 and sorts all of them by (bm25, newest at, larger id). Texts come from a
 * few templates, so many turns tie exactly (same terms, same length), often more than TIE_MARGIN,
 * which sends search to its second statement.
 */

const dir = mkdtempSync(join(tmpdir(), 'convokit-search-exact-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const TEMPLATES = [
  'alpha beta',
  'alpha alpha gamma',
  'beta gamma delta alpha',
  'gamma',
  'alpha beta gamma delta epsilon',
  'delta delta beta',
];
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];

const batchArb = fc.array(
  fc.record({
    template: fc.nat({ max: TEMPLATES.length - 1 }),
    copies: fc.integer({ min: 1, max: 40 }),
    extra: fc.option(fc.constantFrom(...WORDS), { nil: undefined }),
    at: fc.integer({ min: 0, max: 6 }),
    persona: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
  }),
  { minLength: 1, maxLength: 8 },
);

type Batch = typeof batchArb extends fc.Arbitrary<infer T> ? T : never;

function toTurns(batch: Batch): Turn[] {
  const turns: Turn[] = [];
  for (const b of batch) {
    for (let i = 0; i < b.copies; i++) {
      turns.push({
        id: `t${String(turns.length).padStart(4, '0')}`,
        sessionId: 's',
        at: 1_000 + b.at,
        userInput: TEMPLATES[b.template]!,
        assistantResponse: b.extra ?? '',
        frameworks: [],
        tools: [],
        mcpServers: [],
        outcome: 'ok',
        ...(b.persona ? { persona: b.persona } : {}),
      });
    }
  }
  return turns;
}

interface Plain {
  id: string;
  score: number;
}

/** Every match scored and sorted in one statement; `any` puts more matched terms first (stable sort). */
function plainRanking(
  path: string,
  terms: string[],
  mode: 'all' | 'any',
  persona: string | undefined,
  from: number | undefined,
  limit: number,
): Plain[] {
  const db = new Database(path, { readonly: true });
  try {
    const clauses = [...(persona ? ['t.persona = ?'] : []), ...(from !== undefined ? ['t.at >= ?'] : [])];
    const params = [...(persona ? [persona] : []), ...(from !== undefined ? [from] : [])];
    const match = terms.map((t) => `"${t}"`).join(mode === 'all' ? ' AND ' : ' OR ');
    const rows = db
      .prepare(
        `SELECT t.seq, t.id, bm25(turns_fts) AS score FROM turns_fts JOIN turns t ON t.seq = turns_fts.rowid
         WHERE turns_fts MATCH ?${clauses.map((c) => ` AND ${c}`).join('')}
         ORDER BY score, t.at DESC, t.id DESC`,
      )
      .all(match, ...params) as Array<{ seq: number; id: string; score: number }>;
    const holders = terms.map(
      (term) =>
        new Set(db.prepare('SELECT rowid FROM turns_fts WHERE turns_fts MATCH ?').pluck().all(`"${term}"`)),
    );
    const matched = (seq: number) =>
      mode === 'all' ? terms.length : holders.filter((s) => s.has(seq)).length;
    return rows
      .map((r) => ({ r, m: matched(r.seq) }))
      .sort((a, b) => b.m - a.m)
      .slice(0, limit)
      .map(({ r, m }) => {
        const bm25 = Math.max(0, -r.score);
        return { id: r.id, score: m + bm25 / (1 + bm25) };
      });
  } finally {
    db.close();
  }
}

describe('search equals the plain full ranking', () => {
  it('same hits, same order, same scores; filtered, after deletes, past the tie margin', async () => {
    await fc.assert(
      fc.asyncProperty(
        batchArb,
        fc.uniqueArray(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 3 }),
        fc.constantFrom('all' as const, 'any' as const),
        fc.integer({ min: 1, max: 30 }),
        fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
        async (batch, terms, mode, limit, persona, from, cut) => {
          const path = join(dir, `db-${files++}.sqlite`);
          const storage = createSqliteStorage({ path });
          try {
            await storage.turns.append(toTurns(batch));
            if (cut !== undefined) await storage.turns.deleteBefore(1_000 + cut);
            const filter = {
              ...(persona ? { persona } : {}),
              ...(from !== undefined ? { from: 1_000 + from } : {}),
            };
            const hits = await storage.turns.search(terms.join(' '), { mode, limit, filter });
            const want = plainRanking(
              path,
              terms,
              mode,
              persona,
              from === undefined ? undefined : 1_000 + from,
              limit,
            );
            expect(hits.map((h) => ({ id: h.turn.id, score: h.score }))).toEqual(want);
          } finally {
            await storage.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('the generator does reach the fallback: more ties with the limit-th hit than TIE_MARGIN', async () => {
    const path = join(dir, `db-${files++}.sqlite`);
    const storage = createSqliteStorage({ path });
    try {
      const copies = TIE_MARGIN + 10;
      await storage.turns.append(
        toTurns([{ template: 0, copies, extra: undefined, at: 3, persona: undefined }]),
      );
      const hits = await storage.turns.search('alpha', { limit: 5 });
      // All tie on bm25 and at: larger id first.
      expect(hits.map((h) => h.turn.id)).toEqual(
        [1, 2, 3, 4, 5].map((k) => `t${String(copies - k).padStart(4, '0')}`),
      );
      expect(hits.map((h) => ({ id: h.turn.id, score: h.score }))).toEqual(
        plainRanking(path, ['alpha'], 'all', undefined, undefined, 5),
      );
    } finally {
      await storage.close();
    }
  });
});
