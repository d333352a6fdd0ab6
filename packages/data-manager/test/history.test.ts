import type { Turn } from '@convokit/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { HistoryData } from '../src/index.js';
import { day, FULL } from './fixtures.js';
import { fixtureManager, type Setup } from './helpers.js';

let setup: Setup | undefined;
afterEach(async () => {
  await setup?.manager.close();
  await setup?.storage.close();
});

describe('conversation_history on the fixture', () => {
  it('lists sessions newest last turn first, paginated with cursors', async () => {
    setup = await fixtureManager();
    const q = { type: 'conversation_history', timeRange: FULL, pagination: { limit: 3 } } as const;
    const p1 = await setup.manager.query<HistoryData>(q);
    expect(p1.totalRecords).toBe(8);
    const s1 = p1.data!;
    if (s1.view !== 'sessions') throw new Error('expected sessions');
    expect(s1.sessions).toEqual([
      {
        sessionId: 's7',
        turns: 2,
        errors: 0,
        firstAt: day(21, '20:00:00'),
        lastAt: day(21, '20:02:00'),
        personas: [{ persona: 'cto', turns: 2 }],
        frameworks: [
          { framework: 'okr', turns: 2 },
          { framework: 'raci', turns: 1 },
        ],
      },
      {
        sessionId: 's8',
        turns: 2,
        errors: 1,
        firstAt: day(21, '12:00:00'),
        lastAt: day(21, '12:00:30'),
        personas: [
          { persona: 'eng', turns: 1 },
          { persona: 'pm', turns: 1 },
        ],
        frameworks: [{ framework: 'swot', turns: 1 }],
      },
      {
        sessionId: 's6',
        turns: 3,
        errors: 1,
        firstAt: day(18, '15:00:00'),
        lastAt: day(18, '16:00:00'),
        personas: [{ persona: 'eng', turns: 2 }],
        frameworks: [
          { framework: 'porter', turns: 2 },
          { framework: 'raci', turns: 1 },
        ],
      },
    ]);
    const cursor = p1.metadata.nextCursor;
    expect(typeof cursor).toBe('string');
    const p2 = await setup.manager.query<HistoryData>({ ...q, pagination: { limit: 3, cursor: cursor! } });
    const p3 = await setup.manager.query<HistoryData>({
      ...q,
      pagination: { limit: 3, cursor: p2.metadata.nextCursor! },
    });
    const ids = (r: typeof p2) =>
      r.data!.view === 'sessions' ? r.data!.sessions.map((s) => s.sessionId) : [];
    expect(ids(p2)).toEqual(['s5', 's4', 's3']);
    expect(ids(p3)).toEqual(['s2', 's1']);
    expect(p3.metadata.nextCursor).toBeNull();
  });

  it('lists turns newest first, with or without text', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query<HistoryData>({
      type: 'conversation_history',
      timeRange: FULL,
      pagination: { limit: 5 },
      options: { view: 'turns', includeText: false },
    });
    expect(res.totalRecords).toBe(20);
    const data = res.data!;
    if (data.view !== 'turns') throw new Error('expected turns');
    expect(data.turns.map((t) => t.id)).toEqual(['t18', 't17', 't20', 't19', 't16']);
    expect(data.turns[0]).not.toHaveProperty('userInput');
    const next = await setup.manager.query<HistoryData>({
      type: 'conversation_history',
      timeRange: FULL,
      pagination: { limit: 5, cursor: res.metadata.nextCursor! },
      options: { view: 'turns' },
    });
    // A cursor belongs to its query: includeText is not part of it, the view is.
    const turns = next.data!.view === 'turns' ? (next.data!.turns as Turn[]) : [];
    expect(turns.map((t) => t.id)).toEqual(['t15', 't14', 't13', 't12', 't11']);
    expect(turns[0]!.userInput).toBe('Question t15');
  });

  it('keeps the first page period for later pages when timeRange is absent', async () => {
    setup = await fixtureManager();
    const q = { type: 'conversation_history', pagination: { limit: 4 }, options: { view: 'turns' } } as const;
    const p1 = await setup.manager.query(q);
    setup.clock.advance(3_600_000);
    await setup.manager.recordTurn({ sessionId: 's9', userInput: 'late', assistantResponse: 'late' });
    const p2 = await setup.manager.query({ ...q, pagination: { limit: 4, cursor: p1.metadata.nextCursor! } });
    expect(p2.success).toBe(true);
    expect(p2.metadata.period).toEqual(p1.metadata.period);
  });

  it('a cursor from another query is VALIDATION', async () => {
    setup = await fixtureManager();
    const p1 = await setup.manager.query({
      type: 'conversation_history',
      timeRange: FULL,
      pagination: { limit: 2 },
    });
    const other = await setup.manager.query({
      type: 'conversation_history',
      timeRange: FULL,
      filters: { persona: 'cto' },
      pagination: { limit: 2, cursor: p1.metadata.nextCursor! },
    });
    expect(other.success).toBe(false);
    expect(other.error?.code).toBe('VALIDATION');
  });
});
