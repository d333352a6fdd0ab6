import { createManualClock } from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { describe, expect, it } from 'vitest';
import { createConversationalDataManager } from '../src/index.js';

const turn = (id: string, userInput: string) => ({
  id,
  sessionId: 's',
  at: 1000,
  userInput,
  assistantResponse: 'a',
});

describe('recordTurns with ifExists', () => {
  it("'skip' stores only new ids and returns them; the stored turn is left as it was", async () => {
    const storage = createMemoryStorage({ clock: createManualClock(5000) });
    const dm = createConversationalDataManager({ storage, cache: false });
    await dm.recordTurns([turn('t1', 'first')]);
    const stored = await dm.recordTurns([turn('t1', 'changed'), turn('t2', 'second')], { ifExists: 'skip' });
    expect(stored.map((t) => t.id)).toEqual(['t2']);
    expect((await storage.turns.get('t1'))?.userInput).toBe('first');
    expect(await storage.turns.count()).toBe(2);
    await dm.close();
  });

  it("the default 'error' rejects the whole batch with CONFLICT and writes nothing", async () => {
    const storage = createMemoryStorage({ clock: createManualClock(5000) });
    const dm = createConversationalDataManager({ storage, cache: false });
    await dm.recordTurns([turn('t1', 'first')]);
    await expect(dm.recordTurns([turn('t2', 'second'), turn('t1', 'again')])).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect(await storage.turns.count()).toBe(1);
    await expect(dm.recordTurns([turn('t3', 'x')], { ifExists: 'maybe' as never })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    await dm.close();
  });
});
