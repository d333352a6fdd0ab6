import type { Turn } from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSqliteStorage } from '../src/index.js';
import { ftsQuery } from '../src/search.js';

const WORDS = [
  'pricing',
  'Strategy',
  'café',
  'cafe',
  'ＮＯＴＥ',
  'note',
  'plan',
  'x2',
  'ünïcode',
  '日本語',
  'the',
];

const turnArb = fc.record({
  user: fc.array(fc.constantFrom(...WORDS), { maxLength: 8 }),
  response: fc.array(fc.constantFrom(...WORDS, 'and', 'or', 'NEAR'), { maxLength: 12 }),
  at: fc.integer({ min: 0, max: 20 }),
  persona: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
  framework: fc.option(fc.constantFrom('okr', 'swot'), { nil: undefined }),
});

function toTurns(raw: Array<typeof turnArb extends fc.Arbitrary<infer T> ? T : never>): Turn[] {
  return raw.map((r, i) => ({
    id: `t${String(i).padStart(3, '0')}`,
    sessionId: 's',
    at: 1_000_000 + r.at,
    userInput: `${r.user.join(' ')}.`,
    assistantResponse: r.response.join(', '),
    frameworks: r.framework ? [r.framework] : [],
    tools: [],
    mcpServers: [],
    outcome: 'ok',
    ...(r.persona ? { persona: r.persona } : {}),
  }));
}

describe('search', () => {
  it('quotes every term, so words like AND, OR and NEAR are searched, not parsed', () => {
    expect(ftsQuery(['and', 'near'], 'all')).toBe('"and" AND "near"');
    expect(ftsQuery(['or', 'x2'], 'any')).toBe('"or" OR "x2"');
  });

  it('matches, ranks, snippets and filters like the memory adapter', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(turnArb, { maxLength: 25 }),
        fc.constantFrom(...WORDS, 'and', 'NEAR'),
        fc.constantFrom(...WORDS),
        fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
        fc.option(fc.constantFrom('okr', 'swot'), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
        async (raw, first, second, persona, framework, cut) => {
          const turns = toTurns(raw);
          const sqlite = createSqliteStorage({ path: ':memory:' });
          const memory = createMemoryStorage();
          try {
            await sqlite.turns.append(turns);
            await memory.turns.append(turns);
            if (cut !== undefined) {
              await sqlite.turns.deleteBefore(1_000_000 + cut);
              await memory.turns.deleteBefore(1_000_000 + cut);
            }
            const filter = { ...(persona ? { persona } : {}), ...(framework ? { framework } : {}) };
            // One term: BM25 orders by term frequency and length alone, so the order must match
            // exactly, as long as nothing was deleted: FTS5 (contentless_delete) keeps deleted rows in
            // its document count and average length, so after `deleteBefore` near-equal scores may
            // swap (see the README). Then the same hits with the same snippets.
            const one = await sqlite.turns.search(first, { filter, limit: 50 });
            const oneRef = await memory.turns.search(first, { filter, limit: 50 });
            const byId = (hits: typeof one) =>
              hits.map((h) => [h.turn.id, h.turn, h.snippet] as const).sort(([a], [b]) => (a < b ? -1 : 1));
            if (cut === undefined) {
              expect(one.map((h) => h.turn)).toEqual(oneRef.map((h) => h.turn));
              expect(one.map((h) => h.snippet)).toEqual(oneRef.map((h) => h.snippet));
            } else {
              expect(byId(one)).toEqual(byId(oneRef));
            }
            // Two terms: the same hits; `any` puts turns holding both first.
            for (const mode of ['all', 'any'] as const) {
              const two = await sqlite.turns.search(`${first} ${second}`, { filter, mode, limit: 50 });
              const twoRef = await memory.turns.search(`${first} ${second}`, { filter, mode, limit: 50 });
              expect(two.map((h) => h.turn.id).sort()).toEqual(twoRef.map((h) => h.turn.id).sort());
              const matched = (hits: typeof two) => hits.map((h) => Math.floor(h.score));
              expect(matched(two)).toEqual(matched(twoRef));
            }
          } finally {
            await sqlite.close();
            await memory.close();
          }
        },
      ),
      { numRuns: 80 },
    );
  });
});
