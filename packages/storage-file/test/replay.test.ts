import type { Turn } from '@convokit/core';
import { describe, expect, it } from 'vitest';
import { createFileStorage } from '../src/index.js';
import { tempDirectory } from './helpers.js';

const turn = (i: number, over: Partial<Turn> = {}): Turn => ({
  id: `t${String(i).padStart(4, '0')}`,
  sessionId: `s${i % 3}`,
  at: 1_000 + i,
  userInput: i % 2 ? 'alpha beta' : 'gamma',
  assistantResponse: 'delta',
  frameworks: i % 4 ? ['swot'] : [],
  tools: [],
  mcpServers: [],
  outcome: 'ok',
  ...over,
});

describe('replayed turns', () => {
  it('equal what was written, are frozen all the way down, and are searchable', async () => {
    const directory = tempDirectory();
    const written = [
      turn(1, { tokens: { input: 1, output: 2 }, metadata: { tags: ['x', { y: 1 }] } }),
      ...Array.from({ length: 30 }, (_, i) => turn(i + 2)),
    ];
    const writer = await createFileStorage({ directory, compactAfterRecords: false });
    // Single appends and a batch: several records joined into one replay batch.
    for (const t of written.slice(0, 10)) await writer.turns.append([t]);
    await writer.turns.append(written.slice(10));
    const before = (await writer.turns.list({}, { order: 'asc', limit: 100 })).items;
    const searchBefore = await writer.turns.search('alpha', { limit: 100 });
    await writer.close();

    const reader = await createFileStorage({ directory });
    const after = (await reader.turns.list({}, { order: 'asc', limit: 100 })).items;
    expect(after).toEqual(before);
    expect(after).toHaveLength(31);
    expect(await reader.turns.search('alpha', { limit: 100 })).toEqual(searchBefore);
    expect(await reader.turns.count({ framework: 'swot' })).toBe(
      before.filter((t) => t.frameworks.length).length,
    );

    const first = (await reader.turns.get('t0001'))!;
    const meta = first.metadata as { tags: [string, { y: number }] };
    for (const value of [first, first.frameworks, first.tools, first.tokens, meta, meta.tags, meta.tags[1]]) {
      expect(Object.isFrozen(value)).toBe(true);
    }
    expect(() => {
      (first as { userInput: string }).userInput = 'changed';
    }).toThrow(TypeError);
    expect((await reader.turns.get('t0001'))!.userInput).toBe('alpha beta');
    await reader.close();
  });
});
