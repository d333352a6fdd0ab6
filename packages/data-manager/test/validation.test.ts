import { ConvokitError, createManualClock, type Storage } from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { afterEach, describe, expect, it } from 'vitest';
import { createConversationalDataManager } from '../src/index.js';
import { NOW } from './fixtures.js';
import { fixtureManager, type Setup } from './helpers.js';

let setup: Setup | undefined;
afterEach(async () => {
  await setup?.manager.close();
  await setup?.storage.close();
  setup = undefined;
});

describe('bad queries give a VALIDATION envelope, never a rejection', () => {
  const bad: Array<[string, unknown, string]> = [
    ['unknown type', { type: 'sales_forecast' }, 'type'],
    ['unknown field', { type: 'persona_usage', sample: true }, ''],
    ['from after to', { type: 'persona_usage', timeRange: { from: 10, to: 5 } }, 'timeRange.from'],
    ['bad aggregation', { type: 'persona_usage', aggregation: 'hourly' }, 'aggregation'],
    ['limit too large', { type: 'conversation_history', pagination: { limit: 5000 } }, 'pagination.limit'],
    ['bad filter', { type: 'persona_usage', filters: { persona: '' } }, 'filters.persona'],
    ['not an object', 'persona_usage', ''],
    [
      'from in the future',
      { type: 'persona_usage', timeRange: { from: NOW + 86_400_000 } },
      'timeRange.from',
    ],
  ];
  for (const [name, query, path] of bad) {
    it(name, async () => {
      setup = await fixtureManager();
      const res = await setup.manager.query(query as never);
      expect(res.success).toBe(false);
      expect(res.data).toBeNull();
      expect(res.error?.code).toBe('VALIDATION');
      const issues = res.error?.details.issues as Array<{ path: string }>;
      expect(issues.map((i) => i.path)).toContain(path);
    });
  }

  it('a period too long for its level is LIMIT', async () => {
    setup = await fixtureManager();
    const res = await setup.manager.query({ type: 'persona_usage', timeRange: { from: 0, to: NOW } });
    expect(res.error?.code).toBe('LIMIT');
    expect(res.error?.details).toMatchObject({ bucket: 'day', max: 10_000 });
    const monthly = await setup.manager.query({
      type: 'persona_usage',
      timeRange: { from: 0, to: NOW },
      aggregation: 'monthly',
    });
    expect(monthly.success).toBe(true);
  });

  it('validation failures are counted, and are not storage failures', async () => {
    setup = await fixtureManager();
    await setup.manager.query({ type: 'nope' } as never);
    const m = setup.manager.getMetrics();
    expect(m.counters['validation.errors']).toBe(1);
    expect(m.counters['storage.failures']).toBeUndefined();
    expect(m.circuit.state).toBe('closed');
  });

  it('bad search text and session ids', async () => {
    setup = await fixtureManager();
    expect((await setup.manager.search('  ?! ')).error?.code).toBe('VALIDATION');
    expect((await setup.manager.search('okr', {}, 0)).error?.code).toBe('VALIDATION');
    expect((await setup.manager.getSessionContext('')).error?.code).toBe('VALIDATION');
  });
});

describe('manager creation', () => {
  it('UNSUPPORTED for a storage without turns (the Redis adapter)', () => {
    const storage = {
      name: 'redis',
      contractVersion: 1,
      capabilities: { turns: false },
    } as unknown as Storage;
    let error: unknown;
    try {
      createConversationalDataManager({ storage });
    } catch (e) {
      error = e;
    }
    expect(ConvokitError.is(error, 'UNSUPPORTED')).toBe(true);
    expect((error as ConvokitError).message).toBe(
      'The conversational data manager needs turns storage, which the redis adapter does not provide',
    );
    expect((error as ConvokitError).details).toEqual({ adapter: 'redis', part: 'turns' });
  });

  it('bad options are VALIDATION naming the option', () => {
    const storage = createMemoryStorage();
    const attempt = (options: object) => {
      try {
        createConversationalDataManager({ storage, ...options });
      } catch (e) {
        return (e as ConvokitError).details.issues;
      }
      return undefined;
    };
    expect(attempt({ cache: { ttlMs: 0 } })).toEqual([
      { path: 'cache.ttlMs', message: 'must be a positive integer' },
    ]);
    expect(attempt({ circuitBreaker: { failureThreshold: 1.5 } })).toEqual([
      { path: 'circuitBreaker.failureThreshold', message: 'must be a positive integer' },
    ]);
    expect(attempt({ insights: { thresholds: { minTurns: -1 } } })).toEqual([
      { path: 'insights.thresholds.minTurns', message: 'must be a finite number >= 0' },
    ]);
    expect(attempt({ insights: { thresholds: { magic: 1 } } })).toEqual([
      { path: 'insights.thresholds.magic', message: 'is not a threshold' },
    ]);
    expect(() => createConversationalDataManager(undefined as never)).toThrow(/storage/);
  });

  it('after close: queries say STORAGE closed, writes throw', async () => {
    const clock = createManualClock(NOW);
    const storage = createMemoryStorage({ clock });
    const manager = createConversationalDataManager({ storage, clock });
    await manager[Symbol.asyncDispose]();
    const res = await manager.query({ type: 'persona_usage' });
    expect(res.error).toMatchObject({ code: 'STORAGE', details: { reason: 'closed' } });
    await expect(
      manager.recordTurn({ sessionId: 's', userInput: 'a', assistantResponse: 'b' }),
    ).rejects.toMatchObject({
      code: 'STORAGE',
    });
    // The storage belongs to the caller and stays open.
    expect(await storage.turns.count()).toBe(0);
    await storage.close();
  });
});

describe('queries are read as JSON', () => {
  it('a Date is its ISO string; a cycle or a bigint is VALIDATION', async () => {
    setup = await fixtureManager();
    const byDate = await setup.manager.query({
      type: 'persona_usage',
      timeRange: { from: new Date(0) as never, to: NOW },
      aggregation: 'monthly',
    });
    expect(byDate.success).toBe(true);
    expect(byDate.metadata.period).toEqual({ from: 0, to: NOW });
    const cyclic: Record<string, unknown> = { type: 'persona_usage' };
    cyclic.self = cyclic;
    expect((await setup.manager.query(cyclic as never)).error?.code).toBe('VALIDATION');
    expect((await setup.manager.query({ type: 'persona_usage', x: 1n } as never)).error?.code).toBe(
      'VALIDATION',
    );
    expect((await setup.manager.query(undefined as never)).error?.code).toBe('VALIDATION');
  });
});
