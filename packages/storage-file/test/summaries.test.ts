import { createManualClock, type Turn } from '@convokit/core';
import { describe, expect, it } from 'vitest';
import { createFileStorage } from '../src/index.js';
import { tempDirectory } from './helpers.js';

const clock = createManualClock(Date.UTC(2026, 0, 1));
const base = {
  userInput: 'q',
  assistantResponse: 'a',
  frameworks: [],
  tools: [],
  mcpServers: [],
  outcome: 'ok' as const,
};
// s1: u1 with 2 turns 60 s apart (coach, coach); s2: u1, one turn (analyst); s3: u2, one turn (analyst).
const turns: Turn[] = [
  { ...base, id: 't1', sessionId: 's1', userId: 'u1', persona: 'coach', at: clock.now() },
  { ...base, id: 't2', sessionId: 's1', userId: 'u1', persona: 'coach', at: clock.now() + 60_000 },
  { ...base, id: 't3', sessionId: 's2', userId: 'u1', persona: 'analyst', at: clock.now() + 120_000 },
  { ...base, id: 't4', sessionId: 's3', userId: 'u2', persona: 'analyst', at: clock.now() + 180_000 },
];

describe("the engine's session summaries through the file store", () => {
  it('answers sessionStats and personaPreference after a reopen, and reports a closed store', async () => {
    const directory = tempDirectory();
    const writer = await createFileStorage({ directory, clock });
    await writer.turns.append(turns);
    await writer.close();
    const storage = await createFileStorage({ directory, clock });
    const stats = await storage.turns.sessionStats!();
    expect(stats).toMatchObject({ turns: 4, sessions: 3, users: { active: 2, returning: 1 } });
    expect(stats.turnsPerSession).toMatchObject({ sum: 4, median: 1, max: 2 });
    expect(stats.lengthMs).toMatchObject({ sum: 60_000, median: 0, max: 60_000 });
    // u1: coach 2 turns, analyst 1 -> coach; u2: analyst.
    expect(await storage.turns.personaPreference!()).toEqual({
      users: 2,
      personas: [
        { persona: 'analyst', users: 1 },
        { persona: 'coach', users: 1 },
      ],
    });
    await storage.close();
    await expect(storage.turns.sessionStats!()).rejects.toMatchObject({ code: 'STORAGE' });
    await expect(storage.turns.personaPreference!()).rejects.toMatchObject({ code: 'STORAGE' });
  });
});
