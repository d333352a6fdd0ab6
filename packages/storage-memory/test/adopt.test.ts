import { createManualClock, type Turn } from '@convokit/core';
import { describe, expect, it } from 'vitest';
import { createMemoryStorage, type MemoryMutation } from '../src/index.js';
import { turn } from './helpers.js';

/** What a replay hands over: records fresh from JSON.parse, held by nobody else. */
const decoded = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const TURNS: Turn[] = [
  turn({ id: 't1', at: 10, userInput: 'alpha beta', frameworks: ['swot'], tokens: { input: 3, output: 4 } }),
  turn({ id: 't2', at: 20, assistantResponse: 'beta gamma', tools: ['chart'], mcpServers: ['m1'] }),
  turn({ id: 't3', at: 30, sessionId: 's2', metadata: { nested: { list: [1, { deep: true }] } } }),
];

describe('adoptMutation', () => {
  it('rebuilds the same store as applyMutation, without copying the records it is given', async () => {
    const clock = createManualClock(5_000);
    const copied = createMemoryStorage({ clock });
    const adopted = createMemoryStorage({ clock });
    const mutations: MemoryMutation[] = [
      { type: 'turns.append', turns: TURNS.slice(0, 2) },
      { type: 'turns.append', turns: TURNS.slice(2) },
      { type: 'turns.deleteBefore', before: 15 },
    ];
    for (const m of mutations) copied.applyMutation(decoded(m));
    const given = mutations.map(decoded);
    for (const m of given) adopted.adoptMutation(m);

    const ids = async (s: typeof copied) => (await s.turns.list({}, { order: 'asc' })).items;
    expect(await ids(adopted)).toEqual(await ids(copied));
    expect((await ids(adopted)).map((t) => t.id)).toEqual(['t2', 't3']);
    expect(await adopted.turns.search('beta')).toEqual(await copied.turns.search('beta'));
    expect(await adopted.turns.count({ sessionId: 's2' })).toBe(1);
    // The very objects handed over are now the store's: same identity, frozen all the way down.
    const t3 = (given[1] as { turns: Turn[] }).turns[0]!;
    expect(await adopted.turns.get('t3')).toBe(t3);
    const stored = (await adopted.turns.get('t3'))!;
    expect(Object.isFrozen(stored)).toBe(true);
    expect(Object.isFrozen(stored.frameworks)).toBe(true);
    const meta = stored.metadata as { nested: { list: [number, { deep: boolean }] } };
    expect(Object.isFrozen(meta.nested.list[1])).toBe(true);
    expect(() => {
      (stored as { userInput: string }).userInput = 'changed';
    }).toThrow(TypeError);
    await adopted.turns.append([turn({ id: 't4', at: 40 })]);
    expect(await adopted.turns.count()).toBe(3);
  });

  it('freezes name lists and token counts of every adopted turn', async () => {
    const s = createMemoryStorage();
    s.adoptMutation(decoded({ type: 'turns.append', turns: TURNS }));
    for (const id of ['t1', 't2', 't3']) {
      const t = (await s.turns.get(id))!;
      for (const list of [t.frameworks, t.tools, t.mcpServers]) expect(Object.isFrozen(list)).toBe(true);
      if (t.tokens) expect(Object.isFrozen(t.tokens)).toBe(true);
    }
    expect((await s.turns.get('t1'))!.frameworks).toEqual(['swot']);
    expect((await s.turns.get('t1'))!.tokens).toEqual({ input: 3, output: 4 });
  });

  it('ignores turns already stored, as applyMutation does', async () => {
    const s = createMemoryStorage();
    await s.turns.append([turn({ id: 't1', at: 10, userInput: 'first' })]);
    s.adoptMutation(
      decoded({
        type: 'turns.append',
        turns: [turn({ id: 't1', at: 10, userInput: 'second' }), turn({ id: 't2', at: 20 })],
      }),
    );
    expect(await s.turns.count()).toBe(2);
    expect((await s.turns.get('t1'))!.userInput).toBe('first');
  });

  it('applies other mutations as applyMutation does, and refuses after close', async () => {
    const s = createMemoryStorage();
    s.adoptMutation({ type: 'audit.append', events: [] });
    s.adoptMutation({ type: 'contexts.delete', ids: ['missing'] });
    await s.close();
    expect(() => s.adoptMutation({ type: 'turns.append', turns: [] })).toThrow(/closed/);
  });
});
