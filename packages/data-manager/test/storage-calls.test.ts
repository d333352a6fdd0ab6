import {
  type ConversationalQueryInput,
  createManualClock,
  type Storage,
  type TurnStore,
} from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { describe, expect, it } from 'vitest';
import { createConversationalDataManager } from '../src/index.js';
import { FULL, fixtureTurns, NOW } from './fixtures.js';

/** Counts every call a manager makes to the turn store, by method. */
function countingStorage(inner: Storage) {
  const turns = inner.turns as TurnStore;
  const calls: Record<string, number> = {};
  const wrap =
    <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      calls[name] = (calls[name] ?? 0) + 1;
      return fn(...args);
    };
  const counted: TurnStore = {
    append: wrap('append', turns.append.bind(turns)),
    get: wrap('get', turns.get.bind(turns)),
    list: wrap('list', turns.list.bind(turns)),
    search: wrap('search', turns.search.bind(turns)),
    aggregate: wrap('aggregate', turns.aggregate.bind(turns)),
    count: wrap('count', turns.count.bind(turns)),
    deleteBefore: wrap('deleteBefore', turns.deleteBefore.bind(turns)),
  };
  return {
    storage: { ...inner, name: 'counted', turns: counted } as Storage,
    take(): Record<string, number> {
      const out = { ...calls };
      for (const k of Object.keys(calls)) delete calls[k];
      return out;
    },
  };
}

async function setup() {
  const clock = createManualClock(NOW);
  const inner = createMemoryStorage({ clock });
  const counted = countingStorage(inner);
  const manager = createConversationalDataManager({ storage: counted.storage, clock, cache: false });
  await manager.recordTurns(fixtureTurns());
  counted.take();
  return { manager, counted, inner };
}

/** The storage calls of one uncached query of each type and level: the README's cost table. */
const CASES: Array<[string, ConversationalQueryInput, Record<string, number>]> = [
  ['history, sessions view', { type: 'conversation_history' }, { aggregate: 3 }],
  // All 20 fixture turns fit the first page: the page is the count.
  [
    'history, turns view, one page',
    { type: 'conversation_history', options: { view: 'turns' } },
    { list: 1 },
  ],
  [
    'history, turns view, more pages',
    { type: 'conversation_history', options: { view: 'turns' }, pagination: { limit: 5 } },
    { list: 1, count: 1 },
  ],
  ['persona_usage daily', { type: 'persona_usage' }, { aggregate: 3 }],
  ['persona_usage session', { type: 'persona_usage', aggregation: 'session' }, { aggregate: 4 }],
  ['framework_analytics daily', { type: 'framework_analytics' }, { aggregate: 6 }],
  ['framework_analytics session', { type: 'framework_analytics', aggregation: 'session' }, { aggregate: 7 }],
  ['performance_metrics daily', { type: 'performance_metrics' }, { aggregate: 2 }],
  ['engagement_patterns daily', { type: 'engagement_patterns' }, { aggregate: 4 }],
  ['engagement_patterns weekly', { type: 'engagement_patterns', aggregation: 'weekly' }, { aggregate: 5 }],
  ['strategic_insights', { type: 'strategic_insights' }, { aggregate: 8 }],
];

describe('storage calls per query', () => {
  for (const [name, query, expected] of CASES) {
    it(name, async () => {
      const { manager, counted, inner } = await setup();
      const res = await manager.query({ timeRange: FULL, ...query });
      expect(res.success).toBe(true);
      expect(counted.take()).toEqual(expected);
      await manager.close();
      await inner.close();
    });
  }

  it('history, turns view: a later page lists and counts, and the total stays exact', async () => {
    const { manager, counted, inner } = await setup();
    const q = {
      type: 'conversation_history',
      timeRange: FULL,
      options: { view: 'turns' },
      pagination: { limit: 15 },
    } as const;
    const first = await manager.query(q);
    expect(first.totalRecords).toBe(20);
    counted.take();
    const second = await manager.query({
      ...q,
      pagination: { limit: 15, cursor: first.metadata.nextCursor! },
    });
    expect(counted.take()).toEqual({ list: 1, count: 1 });
    expect(second.totalRecords).toBe(20);
    expect((second.data as { turns: unknown[] }).turns).toHaveLength(5);
    await manager.close();
    await inner.close();
  });

  it('getSessionContext: five aggregates and one list', async () => {
    const { manager, counted, inner } = await setup();
    expect((await manager.getSessionContext('s1')).success).toBe(true);
    expect(counted.take()).toEqual({ aggregate: 5, list: 1 });
    await manager.close();
    await inner.close();
  });

  it('a cached answer makes no storage call', async () => {
    const clock = createManualClock(NOW);
    const inner = createMemoryStorage({ clock });
    const counted = countingStorage(inner);
    const manager = createConversationalDataManager({ storage: counted.storage, clock });
    await manager.recordTurns(fixtureTurns());
    await manager.query({ type: 'engagement_patterns', timeRange: FULL });
    counted.take();
    await manager.query({ type: 'engagement_patterns', timeRange: FULL });
    expect(counted.take()).toEqual({});
    await manager.close();
    await inner.close();
  });
});
