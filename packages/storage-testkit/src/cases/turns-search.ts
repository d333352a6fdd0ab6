import { type SearchHit, SNIPPET_CLOSE, SNIPPET_OPEN, type Turn, tokenize } from '@convokit/core';
import { expect } from 'vitest';
import { expectRejects } from '../expect-error.js';
import { makeTurn } from '../fixtures/builders.js';
import { defineCases } from './define.js';

const day = Date.UTC(2026, 2, 2);

/** Turns whose matches for `pricing` / `strategy` are known by construction. */
export const searchTurns: readonly Turn[] = [
  makeTurn({
    id: 'both',
    at: day + 1000,
    persona: 'analyst',
    userInput: 'What pricing strategy should we use?',
    assistantResponse: 'A value-based PRICING Strategy fits your market.',
  }),
  makeTurn({
    id: 'pricing-only',
    at: day + 2000,
    persona: 'coach',
    userInput: 'Show pricing for plan B',
    assistantResponse: 'Plan B costs ten dollars a month.',
  }),
  makeTurn({
    id: 'strategy-only',
    at: day + 3000,
    persona: 'analyst',
    userInput: 'Explain our strategy',
    assistantResponse: 'Focus on retention first.',
  }),
  makeTurn({
    id: 'response-only',
    at: day + 4000,
    persona: 'analyst',
    userInput: 'Tell me about the plans',
    assistantResponse: 'The plans page lists three tiers; pricing is monthly.',
  }),
  makeTurn({
    id: 'partial-words',
    at: day + 5000,
    userInput: 'Repricing and strategies changed',
    assistantResponse: 'The pricingtool is unaffected by strategic moves.',
  }),
  makeTurn({
    id: 'unrelated',
    at: day + 6000,
    userInput: 'How is the weather',
    assistantResponse: 'Sunny with a naïve café breeze.',
  }),
];

function hitIds(hits: SearchHit[]): string[] {
  return hits.map((hit) => hit.turn.id);
}

/** Every marked word is one of `terms` (case-insensitively), and at least one word is marked. */
function expectMarked(snippet: string, terms: string[]): void {
  const marked = [
    ...snippet.matchAll(new RegExp(`${escapeRegExp(SNIPPET_OPEN)}(.*?)${escapeRegExp(SNIPPET_CLOSE)}`, 'g')),
  ].map((m) => m[1] ?? '');
  expect(marked.length, `snippet ${JSON.stringify(snippet)} marks a match`).toBeGreaterThan(0);
  for (const word of marked)
    expect(terms, `marked word ${JSON.stringify(word)}`).toContain(tokenize(word).join(' '));
  // Every whole-word match shown is marked: what is left outside the marks holds no term.
  const unmarked = snippet.split(
    new RegExp(`${escapeRegExp(SNIPPET_OPEN)}.*?${escapeRegExp(SNIPPET_CLOSE)}`, 'g'),
  );
  for (const part of unmarked) {
    for (const word of tokenize(part)) {
      expect(terms, `unmarked ${JSON.stringify(word)} in snippet ${JSON.stringify(snippet)}`).not.toContain(
        word,
      );
    }
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export const turnsSearchCases = defineCases('turns', 'turns-search', {
  "mode 'all' (the default) returns only turns holding every term": async ({ turns }) => {
    await turns.append(searchTurns);
    expect(hitIds(await turns.search('pricing strategy'))).toEqual(['both']);
    expect(hitIds(await turns.search('pricing strategy', { mode: 'all' }))).toEqual(['both']);
  },

  "mode 'any': a turn with all terms ranks above turns with some": async ({ turns }) => {
    await turns.append(searchTurns);
    const hits = await turns.search('pricing strategy', { mode: 'any' });
    expect(hitIds(hits)[0]).toBe('both');
    expect([...hitIds(hits)].sort()).toEqual(['both', 'pricing-only', 'response-only', 'strategy-only']);
    for (const hit of hits.slice(1)) expect(hits[0]!.score).toBeGreaterThan(hit.score);
  },

  'hits are ordered by score, highest first': async ({ turns }) => {
    await turns.append(searchTurns);
    const hits = await turns.search('pricing strategy plans', { mode: 'any' });
    expect(hits.length).toBeGreaterThan(2);
    for (const hit of hits) expect(typeof hit.score === 'number' && Number.isFinite(hit.score)).toBe(true);
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
  },

  'terms match case-insensitively, whole words only, in input and response': async ({ turns }) => {
    await turns.append(searchTurns);
    expect([...hitIds(await turns.search('PRICING'))].sort()).toEqual([
      'both',
      'pricing-only',
      'response-only',
    ]);
    expect(hitIds(await turns.search('price'))).toEqual([]);
    expect(hitIds(await turns.search('strategies'))).toEqual(['partial-words']);
    expect(hitIds(await turns.search('Café'))).toEqual(['unrelated']);
    expect(hitIds(await turns.search('tiers'))).toEqual(['response-only']);
  },

  "terms are what core's tokenize makes: NFKC, lower-cased runs of letters and digits of any script": async ({
    turns,
  }) => {
    await turns.append([
      makeTurn({ id: 'fullwidth', userInput: 'Ｆｕｌｌｗｉｄｔｈ letters', assistantResponse: 'ok' }),
      makeTurn({ id: 'cjk', userInput: '日本語 のテキスト', assistantResponse: 'ok' }),
      makeTurn({ id: 'decomposed', userInput: 'a nai\u0308ve plan', assistantResponse: 'ok' }),
      makeTurn({ id: 'apostrophe', userInput: "don't stop", assistantResponse: 'ok' }),
      makeTurn({ id: 'digits', userInput: 'model x2y and 2026', assistantResponse: 'ok' }),
    ]);
    expect(hitIds(await turns.search('fullwidth'))).toEqual(['fullwidth']);
    expect(hitIds(await turns.search('日本語'))).toEqual(['cjk']);
    expect(hitIds(await turns.search('NAÏVE'))).toEqual(['decomposed']);
    expect(hitIds(await turns.search('don'))).toEqual(['apostrophe']);
    expect(hitIds(await turns.search('x2y 2026'))).toEqual(['digits']);
    expect(hitIds(await turns.search('x2'))).toEqual([]);
  },

  'punctuation in the query is ignored: terms are runs of letters and digits': async ({ turns }) => {
    await turns.append(searchTurns);
    expect(hitIds(await turns.search('"pricing", strategy!?'))).toEqual(['both']);
  },

  'snippets mark every shown match with SNIPPET_OPEN/CLOSE': async ({ turns }) => {
    await turns.append(searchTurns);
    const hits = await turns.search('pricing strategy', { mode: 'any' });
    for (const hit of hits) expectMarked(hit.snippet, ['pricing', 'strategy']);
    const responseOnly = hits.find((hit) => hit.turn.id === 'response-only');
    expect(responseOnly?.snippet).toMatch(/<mark>pricing<\/mark>/);
    const both = hits.find((hit) => hit.turn.id === 'both');
    expect(both?.snippet.toLowerCase()).toMatch(/<mark>pricing<\/mark>/);
  },

  'covering more terms beats repeating one term': async ({ turns }) => {
    await turns.append([
      makeTurn({
        id: 'repeats',
        at: day + 2,
        userInput: 'pricing pricing pricing pricing pricing pricing pricing pricing',
        assistantResponse: 'pricing pricing pricing',
      }),
      makeTurn({
        id: 'covers',
        at: day + 1,
        userInput:
          'We discussed pricing at length, then the board asked about a broader strategy for next year',
        assistantResponse: 'Noted, the board will review it in the spring planning session with finance.',
      }),
    ]);
    expect(hitIds(await turns.search('pricing strategy', { mode: 'any' }))).toEqual(['covers', 'repeats']);
  },

  'a match far into a long text is shown and marked in an excerpt': async ({ turns }) => {
    const long = `${'filler words '.repeat(200)}the zebra crossing${' trailing text'.repeat(200)}`;
    await turns.append([makeTurn({ id: 'long', userInput: long, assistantResponse: 'ok' })]);
    const [hit] = await turns.search('zebra');
    expect(hit?.snippet).toContain(`${SNIPPET_OPEN}zebra${SNIPPET_CLOSE}`);
    expect(hit!.snippet.length).toBeLessThan(long.length / 4);
  },

  'hits carry the stored turn': async ({ turns }) => {
    await turns.append(searchTurns);
    const [hit] = await turns.search('retention');
    expect(hit?.turn).toEqual(searchTurns[2]);
  },

  'the filter applies to search': async ({ turns }) => {
    await turns.append(searchTurns);
    expect(hitIds(await turns.search('pricing', { filter: { persona: 'coach' } }))).toEqual(['pricing-only']);
    expect(
      [
        ...hitIds(await turns.search('pricing strategy', { mode: 'any', filter: { persona: 'analyst' } })),
      ].sort(),
    ).toEqual(['both', 'response-only', 'strategy-only']);
    expect(hitIds(await turns.search('pricing', { filter: { from: day + 2000, to: day + 4000 } }))).toEqual([
      'pricing-only',
    ]);
    expect(hitIds(await turns.search('pricing', { filter: { persona: 'nobody' } }))).toEqual([]);
  },

  'limit caps the hits and keeps the best ones': async ({ turns }) => {
    await turns.append(searchTurns);
    const all = await turns.search('pricing strategy', { mode: 'any' });
    const top = await turns.search('pricing strategy', { mode: 'any', limit: 1 });
    expect(hitIds(top)).toEqual(['both']);
    expect(hitIds(await turns.search('pricing strategy', { mode: 'any', limit: 2 }))).toEqual(
      hitIds(all).slice(0, 2),
    );
  },

  'default limit is 20': async ({ turns }) => {
    await turns.append(
      Array.from({ length: 25 }, (_, i) =>
        makeTurn({ id: `n${String(i).padStart(2, '0')}`, at: day + i, userInput: 'needle' }),
      ),
    );
    expect(await turns.search('needle')).toHaveLength(20);
    expect(await turns.search('needle', { limit: 25 })).toHaveLength(25);
  },

  'equal scores are ordered newest first, then by id descending': async ({ turns }) => {
    const text = { userInput: 'identical words here', assistantResponse: 'same answer' };
    await turns.append([
      makeTurn({ id: 'g1', at: day + 10, ...text }),
      makeTurn({ id: 'g2', at: day + 20, ...text }),
      makeTurn({ id: 'g3', at: day + 20, ...text }),
    ]);
    const hits = await turns.search('identical');
    expect(hitIds(hits)).toEqual(['g3', 'g2', 'g1']);
    expect(hits[0]!.score).toBe(hits[2]!.score);
  },

  'no match gives an empty list': async ({ turns }) => {
    expect(await turns.search('anything')).toEqual([]);
    await turns.append(searchTurns);
    expect(await turns.search('zeppelin')).toEqual([]);
    expect(await turns.search('pricing zeppelin')).toEqual([]);
  },

  'deleted turns are no longer found': async ({ turns }) => {
    await turns.append(searchTurns);
    await turns.deleteBefore(day + 2500);
    expect([...hitIds(await turns.search('pricing', { mode: 'any' }))].sort()).toEqual(['response-only']);
  },

  'a query without letters or digits is VALIDATION': async ({ turns }) => {
    await turns.append(searchTurns);
    await expectRejects(() => turns.search('!!! ...'), 'VALIDATION');
    await expectRejects(() => turns.search(''), 'VALIDATION');
  },
});
