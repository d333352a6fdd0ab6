import { createManualClock } from '@convokit/core';
import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../src/index.js';
import { context, turn } from './helpers.js';

describe('values handed out are immutable snapshots', () => {
  it('a turn returned by get cannot be changed, and the stored one stays as written', async () => {
    const s = createMemoryStorage();
    await s.turns.append([turn({ id: 't1', frameworks: ['swot'], metadata: { tags: ['a'] } })]);
    const got = (await s.turns.get('t1'))!;
    expect(Object.isFrozen(got)).toBe(true);
    expect(() => {
      (got as { sessionId: string }).sessionId = 'hacked';
    }).toThrow(TypeError);
    expect(() => (got.frameworks as string[]).push('pest')).toThrow(TypeError);
    expect(() => (got.metadata!.tags as string[]).push('b')).toThrow(TypeError);
    const again = (await s.turns.get('t1'))!;
    expect(again.sessionId).toBe('s1');
    expect(again.frameworks).toEqual(['swot']);
    expect(again.metadata).toEqual({ tags: ['a'] });
  });

  it('mutating the input after append does not reach the store, and the input stays writable', async () => {
    const s = createMemoryStorage();
    const input = turn({
      id: 't1',
      frameworks: ['swot'],
      tokens: { input: 1, output: 2 },
      metadata: { deep: { n: 1 } },
    });
    await s.turns.append([input]);
    input.frameworks.push('pest');
    input.tokens!.input = 99;
    (input.metadata!.deep as { n: number }).n = 2;
    input.sessionId = 'other';
    const got = (await s.turns.get('t1'))!;
    expect(got.frameworks).toEqual(['swot']);
    expect(got.tokens).toEqual({ input: 1, output: 2 });
    expect(got.metadata).toEqual({ deep: { n: 1 } });
    expect(await s.turns.count({ sessionId: 's1' })).toBe(1);
    expect(Object.isFrozen(input)).toBe(false);
  });

  it('list, search and aggregate results cannot change the store', async () => {
    const s = createMemoryStorage();
    await s.turns.append([turn({ id: 't1', userInput: 'alpha beta' })]);
    const page = await s.turns.list();
    page.items.pop();
    expect((await s.turns.list()).items).toHaveLength(1);
    const hits = await s.turns.search('alpha');
    expect(() => {
      (hits[0]!.turn as { userInput: string }).userInput = 'x';
    }).toThrow(TypeError);
    const agg = await s.turns.aggregate({ measures: ['count'] });
    agg.rows[0]!.values.count = 42;
    expect((await s.turns.aggregate({ measures: ['count'] })).rows[0]!.values.count).toBe(1);
  });

  it('contexts: create input, get result and update changes are all decoupled from the store', async () => {
    const s = createMemoryStorage({ clock: createManualClock(1_000) });
    const input = context({ id: 'c1', data: { chart: { zoom: 1 }, list: [1, 2] } });
    const created = await s.contexts.create(input);
    (input.data.chart as { zoom: number }).zoom = 5;
    expect(Object.isFrozen(created.data)).toBe(true);
    const got = (await s.contexts.get('c1'))!;
    expect(got.data).toEqual({ chart: { zoom: 1 }, list: [1, 2] });
    expect(() => {
      (got.data.chart as { zoom: number }).zoom = 7;
    }).toThrow(TypeError);

    // A shallow merge of what get returned, then the caller edits its own copy afterwards.
    const changes = { data: { ...got.data, extra: { x: 1 } } };
    const updated = await s.contexts.update('c1', 1, changes, 2_000);
    (changes.data.extra as { x: number }).x = 9;
    expect(updated.data).toEqual({ chart: { zoom: 1 }, list: [1, 2], extra: { x: 1 } });
    expect((await s.contexts.get('c1'))!.data.extra).toEqual({ x: 1 });
    // The earlier snapshot is unchanged by the update.
    expect(got.version).toBe(1);
    expect(got.data).not.toHaveProperty('extra');
  });

  it('audit events returned by list are frozen copies', async () => {
    const s = createMemoryStorage();
    const event = {
      id: 'e1',
      at: 1,
      principal: 'p',
      action: 'create' as const,
      contextId: 'c1',
      scope: 'session' as const,
      outcome: 'ok' as const,
      changedKeys: ['a'],
    };
    await s.audit.append([event]);
    event.changedKeys.push('b');
    const { items } = await s.audit.list();
    expect(items[0]!.changedKeys).toEqual(['a']);
    expect(Object.isFrozen(items[0]!.changedKeys)).toBe(true);
  });
});
