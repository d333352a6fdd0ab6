import { ConvokitError, createManualClock } from '@convokit/core';
import { describe, expect, it } from 'vitest';
import { createMemoryStorage, type MemoryMutation, type MemoryStorage } from '../src/index.js';
import { context, turn } from './helpers.js';

const event = (id: string, at: number) => ({
  id,
  at,
  principal: 'p1',
  action: 'update' as const,
  contextId: 'c1',
  scope: 'session' as const,
  outcome: 'ok' as const,
  changedKeys: ['k'],
});

async function allTurns(s: MemoryStorage) {
  const out = [];
  let cursor: string | undefined;
  do {
    const page = await s.turns.list({}, { limit: 1000, order: 'asc', cursor });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

/** Everything observable, for comparing two stores. */
async function dump(s: MemoryStorage, now: number) {
  return {
    turns: await allTurns(s),
    contexts: (await s.contexts.list({}, { limit: 1000, now })).items,
    audit: (await s.audit.list({}, { limit: 1000 })).items,
    search: await s.turns.search('alpha beta', { mode: 'any' }),
    agg: await s.turns.aggregate({ groupBy: ['framework'], measures: ['count', 'latencyP95', 'sessions'] }),
  };
}

describe('the journal seam', () => {
  it('sees each mutation once it is checked and before it is applied', async () => {
    const seen: Array<{ m: MemoryMutation; storedBefore: boolean }> = [];
    let s: MemoryStorage;
    s = createMemoryStorage({
      clock: createManualClock(5_000),
      journal: (m) => {
        // Runs synchronously inside the write: the store does not hold the change yet.
        const storedBefore =
          m.type === 'turns.append'
            ? s.turns instanceof Object &&
              (s as unknown as { turns: { index: { byId: Map<string, unknown> } } }).turns.index.byId.has(
                m.turns[0]!.id,
              )
            : false;
        seen.push({ m, storedBefore });
      },
    });
    await s.turns.append([turn({ id: 't1', at: 10 }), turn({ id: 't2', at: 20 })]);
    await s.turns.append([turn({ id: 't1', at: 10 }), turn({ id: 't3', at: 30 })], { ifExists: 'skip' });
    await s.contexts.create(context({ id: 'c1', expiresAt: 9_000 }));
    await s.contexts.update('c1', 1, { data: { a: 1 } }, 6_000);
    await s.contexts.touch('c1', { at: 6_500, expiresAt: 10_000 });
    await s.contexts.delete('c1');
    await s.audit.append([event('e1', 1)]);
    await s.turns.deleteBefore(15);
    // Calls that change nothing write nothing.
    await s.turns.deleteBefore(0);
    await s.contexts.touch('missing', { at: 1 });
    await s.contexts.deleteExpired(1);

    expect(seen.every((x) => !x.storedBefore)).toBe(true);
    const types = seen.map((x) => x.m.type);
    expect(types).toEqual([
      'turns.append',
      'turns.append',
      'contexts.put',
      'contexts.put',
      'contexts.put',
      'contexts.delete',
      'audit.append',
      'turns.deleteBefore',
    ]);
    const [, skipAppend, , updated, touched, deleted, , retention] = seen.map((x) => x.m);
    expect(skipAppend).toMatchObject({ turns: [{ id: 't3' }] });
    expect(skipAppend!.type === 'turns.append' && skipAppend!.turns).toHaveLength(1);
    expect(updated).toMatchObject({ context: { id: 'c1', version: 2, updatedAt: 6_000, data: { a: 1 } } });
    expect(touched).toMatchObject({
      context: { version: 2, accessCount: 1, lastAccessedAt: 6_500, expiresAt: 10_000 },
    });
    expect(deleted).toEqual({ type: 'contexts.delete', ids: ['c1'] });
    expect(retention).toEqual({ type: 'turns.deleteBefore', before: 15 });
  });

  it('a throwing journal leaves the store unchanged and the error surfaces as STORAGE', async () => {
    let fail = false;
    const s = createMemoryStorage({
      clock: createManualClock(5_000),
      journal: () => {
        if (fail) throw new Error('disk full');
      },
    });
    await s.turns.append([turn({ id: 't1', at: 10, userInput: 'alpha', frameworks: ['swot'] })]);
    await s.contexts.create(context({ id: 'c1', expiresAt: 6_000 }));
    await s.contexts.create(context({ id: 'c2' }));
    await s.audit.append([event('e1', 1)]);
    const before = await dump(s, 5_000);

    fail = true;
    const attempts: Array<() => Promise<unknown>> = [
      () => s.turns.append([turn({ id: 't2', at: 20, userInput: 'alpha beta', frameworks: ['swot'] })]),
      () => s.turns.deleteBefore(100),
      () => s.contexts.create(context({ id: 'c3' })),
      () => s.contexts.update('c2', 1, { data: { x: 1 } }, 5_000),
      () => s.contexts.touch('c2', { at: 5_000 }),
      () => s.contexts.delete('c2'),
      () => s.contexts.deleteExpired(7_000),
      () => s.audit.append([event('e2', 2)]),
    ];
    for (const attempt of attempts) {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(ConvokitError.is(error, 'STORAGE')).toBe(true);
      expect((error as ConvokitError).message).toContain('disk full');
      expect((error as ConvokitError).cause).toBeInstanceOf(Error);
    }
    expect(await dump(s, 5_000)).toEqual(before);
    expect(await s.turns.get('t2')).toBeUndefined();

    // The expired context was not lost by the failed sweep: a later sweep still returns it.
    fail = false;
    expect((await s.contexts.deleteExpired(7_000)).map((c) => c.id)).toEqual(['c1']);
  });

  it('a ConvokitError from the journal passes through unchanged', async () => {
    const locked = new ConvokitError('LOCKED', 'another writer');
    const s = createMemoryStorage({
      journal: () => {
        throw locked;
      },
    });
    await expect(s.turns.append([turn({ id: 't1' })])).rejects.toBe(locked);
  });

  it('replaying the journal, or a snapshot, rebuilds an identical store', async () => {
    const log: MemoryMutation[] = [];
    const clock = createManualClock(5_000);
    const original = createMemoryStorage({ clock, journal: (m) => log.push(structuredClone(m)) });
    const turns = Array.from({ length: 2_500 }, (_, i) =>
      turn({
        id: `t${String(i).padStart(5, '0')}`,
        at: 1_000 + ((i * 7919) % 5_000),
        sessionId: `s${i % 13}`,
        userInput: i % 3 === 0 ? 'alpha gamma' : 'beta delta',
        assistantResponse: i % 5 === 0 ? 'alpha beta' : 'epsilon',
        frameworks: i % 4 === 0 ? ['swot', 'pest'] : ['okr'],
        latencyMs: (i % 17) * 10,
      }),
    );
    await original.turns.append(turns.slice(0, 1_200));
    await original.turns.append(turns.slice(1_200));
    await original.turns.deleteBefore(1_500);
    for (let i = 0; i < 20; i++) {
      await original.contexts.create(
        context({ id: `c${i}`, createdAt: i, expiresAt: i % 2 ? 5_500 + i : undefined }),
      );
    }
    await original.contexts.update('c2', 1, { data: { v: 3 }, parentId: 'c1' }, 5_000);
    await original.contexts.touch('c4', { at: 5_001, expiresAt: 9_000 });
    await original.contexts.delete('c5');
    await original.contexts.deleteExpired(5_510);
    await original.audit.append([event('e1', 1), event('e2', 2)]);

    const replayed = createMemoryStorage({ clock });
    for (const m of log) replayed.applyMutation(m);
    const fromSnapshot = createMemoryStorage({ clock });
    for (const m of original.snapshotMutations()) fromSnapshot.applyMutation(structuredClone(m));

    const expected = await dump(original, 5_000);
    expect(expected.turns.length).toBeGreaterThan(1_000);
    expect(await dump(replayed, 5_000)).toEqual(expected);
    expect(await dump(fromSnapshot, 5_000)).toEqual(expected);
    for (const filter of [{ sessionId: 's3' }, { framework: ['swot', 'okr'] }, { from: 2_000, to: 3_000 }]) {
      expect(await replayed.turns.count(filter)).toBe(await original.turns.count(filter));
      expect(await fromSnapshot.turns.count(filter)).toBe(await original.turns.count(filter));
    }
    expect(await fromSnapshot.contexts.count({ parentId: 'c1' })).toBe(1);
    // Replayed values are frozen like written ones.
    expect(Object.isFrozen((await replayed.contexts.get('c2'))!.data)).toBe(true);
  });

  it('snapshotMutations writes turns and audit events in bounded batches', async () => {
    const s = createMemoryStorage();
    await s.turns.append(Array.from({ length: 2_001 }, (_, i) => turn({ id: `t${i}`, at: i })));
    const sizes = [...s.snapshotMutations()].map((m) => (m.type === 'turns.append' ? m.turns.length : 0));
    expect(sizes).toEqual([1_000, 1_000, 1]);
  });
});
