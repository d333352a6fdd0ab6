import { createManualClock } from '@convokit/core';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { turn } from './fixtures.js';
import { freshStorage, reportSkip, url } from './support.js';

reportSkip('turns.int.test.ts');

const T0 = Date.UTC(2026, 2, 2, 12);

describe.skipIf(!url)('turns (postgres)', () => {
  let ctx: ReturnType<typeof freshStorage>;
  beforeAll(() => {
    ctx = freshStorage({ clock: createManualClock(T0) });
  });
  afterAll(() => ctx.drop());
  beforeEach(async () => {
    await ctx.storage.turns.deleteBefore(8.64e15);
  });

  test('append is all or nothing; skip reports stored ids', async () => {
    const a = turn({
      at: T0,
      frameworks: ['react'],
      metadata: { nul: 'a\u0000b', nested: [1, { x: null }] },
    });
    const b = turn({ at: T0 + 1 });
    // The turns version: +1 per append that stores a turn, the same after one that stores none.
    const v = await ctx.storage.turns.version!();
    expect(await ctx.storage.turns.append([a])).toEqual({ appended: 1, skippedIds: [], version: v + 1 });
    await expect(ctx.storage.turns.append([b, a])).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { ids: [a.id] },
    });
    expect(await ctx.storage.turns.count()).toBe(1);
    expect(await ctx.storage.turns.append([b, a], { ifExists: 'skip' })).toEqual({
      appended: 1,
      skippedIds: [a.id],
      version: v + 2,
    });
    expect(await ctx.storage.turns.append([a, b], { ifExists: 'skip' })).toEqual({
      appended: 0,
      skippedIds: [a.id, b.id],
      version: v + 2,
    });
    expect(await ctx.storage.turns.get(a.id)).toEqual(a);
    expect(await ctx.storage.turns.count({ framework: ['react', 'vue'] })).toBe(1);
    await expect(ctx.storage.turns.append([b, b])).rejects.toMatchObject({ code: 'VALIDATION' });
    await expect(ctx.storage.turns.append([{ ...b, id: 'z', at: -1 }])).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    expect(await ctx.storage.turns.get('missing')).toBeUndefined();
  });

  test('keyset pages neither repeat nor skip while turns arrive between pages', async () => {
    const first = Array.from({ length: 7 }, (_, i) => turn({ at: T0 + (i % 3), sessionId: 'k' }));
    await ctx.storage.turns.append(first);
    const seen: string[] = [];
    let cursor: string | undefined;
    let round = 0;
    do {
      const page = await ctx.storage.turns.list({ sessionId: 'k' }, { limit: 3, order: 'asc', cursor });
      seen.push(...page.items.map((t) => t.id));
      cursor = page.nextCursor ?? undefined;
      round += 1;
      // A newer turn arrives: it may show at the end, but must not disturb the stored ones.
      await ctx.storage.turns.append([turn({ at: T0 + 100 + round, sessionId: 'k' })]);
    } while (cursor);
    const expected = [...first].sort((x, y) => x.at - y.at || (x.id < y.id ? -1 : 1)).map((t) => t.id);
    expect(seen.slice(0, 7)).toEqual(expected);
    expect(new Set(seen).size).toBe(seen.length);
    const desc = await ctx.storage.turns.list({ sessionId: 'k' }, { limit: 2 });
    await expect(
      ctx.storage.turns.list({ sessionId: 'other' }, { cursor: desc.nextCursor! }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    await expect(
      ctx.storage.turns.list({ sessionId: 'k' }, { cursor: desc.nextCursor!, order: 'asc' }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    });
  });

  test('deleteBefore removes turns, their names and their search entries', async () => {
    await ctx.storage.turns.append([
      turn({ at: T0, tools: ['sql'], userInput: 'gone soon' }),
      turn({ at: T0 + 5, tools: ['sql'], userInput: 'stays' }),
    ]);
    expect(await ctx.storage.turns.deleteBefore(T0 + 5)).toBe(1);
    expect(await ctx.storage.turns.count({ tool: 'sql' })).toBe(1);
    expect(await ctx.storage.turns.search('gone')).toEqual([]);
    const agg = await ctx.storage.turns.aggregate({ groupBy: ['tool'], measures: ['count'] });
    expect(agg.rows).toEqual([{ keys: ['sql'], values: { count: 1 } }]);
  });
});
