import { ConvokitError, createIdGenerator, createManualClock } from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { describe, expect, it } from 'vitest';
import { createConversationalDataManager } from '../src/index.js';
import { NOW } from './fixtures.js';

function setup() {
  const clock = createManualClock(NOW);
  const storage = createMemoryStorage({ clock });
  const manager = createConversationalDataManager({ storage, clock });
  return { clock, storage, manager };
}

describe('recordTurn / recordTurns', () => {
  it('assigns a time-ordered id and at = now when absent, fills defaults, returns the stored turn', async () => {
    const { storage, manager, clock } = setup();
    const a = await manager.recordTurn({
      sessionId: 's',
      userInput: 'hi',
      assistantResponse: 'hello',
      frameworks: ['okr', 'okr'],
    });
    clock.advance(5);
    const b = await manager.recordTurn({ sessionId: 's', userInput: 'x', assistantResponse: 'y' });
    expect(a).toMatchObject({ at: NOW, frameworks: ['okr'], tools: [], mcpServers: [], outcome: 'ok' });
    expect(a.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(b.id > a.id).toBe(true);
    expect(b.at).toBe(NOW + 5);
    expect(await storage.turns.get(a.id)).toEqual(a);
  });

  it('keeps given ids and times; a custom id generator is used', async () => {
    const clock = createManualClock(NOW);
    const storage = createMemoryStorage({ clock });
    let n = 0;
    const manager = createConversationalDataManager({ storage, clock, idGenerator: () => `id-${++n}` });
    const [x, y] = await manager.recordTurns([
      { id: 'mine', at: 5, sessionId: 's', userInput: 'a', assistantResponse: 'b' },
      { sessionId: 's', userInput: 'a', assistantResponse: 'b' },
    ]);
    expect([x!.id, x!.at, y!.id, y!.at]).toEqual(['mine', 5, 'id-1', NOW]);
    expect(createIdGenerator).toBeTypeOf('function');
  });

  it('bad input is VALIDATION naming the turn and field; nothing is written', async () => {
    const { storage, manager } = setup();
    const error = await manager
      .recordTurns([
        { sessionId: 's', userInput: 'a', assistantResponse: 'b' },
        { sessionId: 's', userInput: 'a', assistantResponse: 'b', feedback: 3 },
      ])
      .catch((e: unknown) => e);
    expect(ConvokitError.is(error, 'VALIDATION')).toBe(true);
    expect((error as ConvokitError).details).toMatchObject({
      where: 'recordTurns[1]',
      issues: [{ path: 'feedback' }],
    });
    expect(await storage.turns.count()).toBe(0);
    await expect(manager.recordTurns('nope' as never)).rejects.toMatchObject({ code: 'VALIDATION' });
    expect(manager.getMetrics().counters['validation.errors']).toBe(1);
  });

  it('a duplicate id is CONFLICT from the store, the whole batch refused', async () => {
    const { storage, manager } = setup();
    await manager.recordTurn({ id: 'dup', sessionId: 's', userInput: 'a', assistantResponse: 'b' });
    await expect(
      manager.recordTurns([
        { id: 'fresh', sessionId: 's', userInput: 'a', assistantResponse: 'b' },
        { id: 'dup', sessionId: 's', userInput: 'a', assistantResponse: 'b' },
      ]),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await storage.turns.count()).toBe(1);
    expect(manager.getMetrics().circuit.consecutiveFailures).toBe(0);
  });

  it('an empty batch writes nothing; a huge one is LIMIT', async () => {
    const { manager } = setup();
    expect(await manager.recordTurns([])).toEqual([]);
    const many = Array.from({ length: 10_001 }, () => ({
      sessionId: 's',
      userInput: 'a',
      assistantResponse: 'b',
    }));
    await expect(manager.recordTurns(many)).rejects.toMatchObject({ code: 'LIMIT' });
    expect(manager.getMetrics().counters['turns.recorded']).toBeUndefined();
  });
});
