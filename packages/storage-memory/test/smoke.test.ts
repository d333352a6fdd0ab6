import { createManualClock } from '@convokit/core';
import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../src/index.js';

describe('smoke', () => {
  it('works end to end', async () => {
    const s = createMemoryStorage({ clock: createManualClock(1000) });
    const base = { userInput: 'hello world', assistantResponse: 'hi there world', frameworks: [], tools: [], mcpServers: [], outcome: 'ok' as const };
    await s.turns.append([
      { ...base, id: 'a', sessionId: 's1', at: 10 },
      { ...base, id: 'b', sessionId: 's2', at: 20, userInput: 'nothing' },
    ]);
    expect(await s.turns.count()).toBe(2);
    expect((await s.turns.list()).items.map((t) => t.id)).toEqual(['b', 'a']);
    const hits = await s.turns.search('hello world', { mode: 'any' });
    expect(hits.map((h) => h.turn.id)).toEqual(['a', 'b']);
    expect(hits[0]!.snippet).toContain('<mark>hello</mark>');
    const agg = await s.turns.aggregate({ groupBy: ['session'], measures: ['count'] });
    expect(agg.rows).toEqual([{ keys: ['s1'], values: { count: 1 } }, { keys: ['s2'], values: { count: 1 } }]);
  });
});
