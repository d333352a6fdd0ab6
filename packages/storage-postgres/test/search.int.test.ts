import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { turn } from './fixtures.js';
import { freshStorage, reportSkip, url } from './support.js';

reportSkip('search.int.test.ts');

const T0 = Date.UTC(2026, 2, 2, 12);

describe.skipIf(!url)('search (postgres)', () => {
  let ctx: ReturnType<typeof freshStorage>;
  beforeAll(() => {
    ctx = freshStorage();
  });
  afterAll(() => ctx.drop());
  beforeEach(async () => {
    await ctx.storage.turns.deleteBefore(8.64e15);
  });

  test('all / any, whole words, no stemming, case-insensitive', async () => {
    const a = turn({ at: T0, userInput: 'How do I plot Revenue?', assistantResponse: 'Use a bar chart.' });
    const b = turn({ at: T0 + 1, userInput: 'revenue by region', assistantResponse: 'charts are ready' });
    const c = turn({ at: T0 + 2, userInput: 'unrelated', assistantResponse: 'revenues grew' });
    await ctx.storage.turns.append([a, b, c]);
    const ids = async (q: string, mode?: 'all' | 'any') =>
      (await ctx.storage.turns.search(q, mode ? { mode } : {})).map((h) => h.turn.id);
    expect(await ids('REVENUE chart')).toEqual([a.id]);
    // b holds one term, a two; then ties by newest first.
    expect(await ids('revenue chart', 'any')).toEqual([a.id, b.id]);
    expect(await ids('revenue')).toEqual([b.id, a.id]);
    expect(await ids('revenues')).toEqual([c.id]);
    expect(await ids('nothing-here')).toEqual([]);
  });

  test('more occurrences rank higher; snippets mark whole-word matches; filters apply', async () => {
    const once = turn({ at: T0 + 10, userInput: 'latency matters', sessionId: 'x' });
    const twice = turn({ at: T0, userInput: 'latency, latency everywhere', sessionId: 'y' });
    await ctx.storage.turns.append([once, twice]);
    const hits = await ctx.storage.turns.search('latency');
    expect(hits.map((h) => h.turn.id)).toEqual([twice.id, once.id]);
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
    expect(hits[0]!.snippet).toBe('<mark>latency</mark>, <mark>latency</mark> everywhere');
    expect(hits[0]!.turn).toEqual(twice);
    const filtered = await ctx.storage.turns.search('latency', { filter: { sessionId: 'x' }, limit: 5 });
    expect(filtered.map((h) => h.turn.id)).toEqual([once.id]);
    await expect(ctx.storage.turns.search('   ')).rejects.toMatchObject({ code: 'VALIDATION' });
  });

  test('non-ASCII terms and quotes are taken as core tokenize takes them', async () => {
    const t = turn({ at: T0, userInput: "Größe d'été naïve", assistantResponse: 'x' });
    await ctx.storage.turns.append([t]);
    expect((await ctx.storage.turns.search('GRÖSSE')).length).toBe(0);
    expect((await ctx.storage.turns.search('größe ÉTÉ')).map((h) => h.turn.id)).toEqual([t.id]);
    expect((await ctx.storage.turns.search("d'")).map((h) => h.snippet)).toEqual([
      "Größe <mark>d</mark>'été naïve",
    ]);
  });
});
