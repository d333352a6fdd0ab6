import { ConvokitError, STORAGE_CONTRACT_VERSION } from '@convokit/core';
import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../src/index.js';
import { context, turn } from './helpers.js';

describe('lifecycle and bad input', () => {
  it('describes itself', () => {
    const s = createMemoryStorage();
    expect(s.name).toBe('memory');
    expect(s.contractVersion).toBe(STORAGE_CONTRACT_VERSION);
    expect(s.capabilities).toEqual({
      turns: true,
      contexts: true,
      audit: true,
      multiProcess: false,
      durable: false,
    });
  });

  it('after close every call rejects with the closed error; close is idempotent', async () => {
    const s = createMemoryStorage();
    await s.turns.append([turn({ id: 't1' })]);
    await s[Symbol.asyncDispose]();
    await s.close();
    const calls: Array<() => Promise<unknown> | unknown> = [
      () => s.turns.append([]),
      () => s.turns.get('t1'),
      () => s.turns.list(),
      () => s.turns.search('x'),
      () => s.turns.aggregate({ measures: ['count'] }),
      () => s.turns.count(),
      () => s.turns.deleteBefore(1),
      () => s.contexts.create(context({ id: 'c' })),
      () => s.contexts.get('c'),
      () => s.contexts.update('c', 1, {}, 1),
      () => s.contexts.touch('c', { at: 1 }),
      () => s.contexts.delete('c'),
      () => s.contexts.list(),
      () => s.contexts.count(),
      () => s.contexts.deleteExpired(1),
      () => s.audit.append([]),
      () => s.audit.list(),
      async () => s.applyMutation({ type: 'turns.deleteBefore', before: 1 }),
      async () => s.snapshotMutations(),
    ];
    for (const call of calls) {
      const error = await (async () => call())().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(ConvokitError.is(error, 'STORAGE')).toBe(true);
      expect((error as ConvokitError).details).toMatchObject({ adapter: 'memory', reason: 'closed' });
    }
  });

  it('a bad turn anywhere in a batch rejects the whole batch, naming index and field', async () => {
    const s = createMemoryStorage();
    const bad = { ...turn({ id: 't2' }), at: -5 };
    await expect(s.turns.append([turn({ id: 't1' }), bad])).rejects.toMatchObject({
      code: 'VALIDATION',
      details: { issues: [{ path: '1.at' }] },
    });
    await expect(s.turns.append([turn({ id: 't1' }), turn({ id: 't1' })])).rejects.toMatchObject({
      code: 'VALIDATION',
      details: { issues: [{ path: '1.id' }] },
    });
    await expect(s.turns.append([turn({ id: 't1', frameworks: ['a', 'a'] })])).rejects.toMatchObject({
      code: 'VALIDATION',
      details: { issues: [{ path: '0.frameworks' }] },
    });
    expect(await s.turns.count()).toBe(0);
  });

  it('existing ids: CONFLICT for the whole batch, or skipped and reported', async () => {
    const s = createMemoryStorage();
    await s.turns.append([turn({ id: 't1' })]);
    await expect(s.turns.append([turn({ id: 't2' }), turn({ id: 't1' })])).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { ids: ['t1'] },
    });
    expect(await s.turns.count()).toBe(1);
    expect(
      await s.turns.append([turn({ id: 't2' }), turn({ id: 't1', sessionId: 'zz' })], { ifExists: 'skip' }),
    ).toEqual({
      appended: 1,
      skippedIds: ['t1'],
      // The first append made version 1; the rejected batch changed nothing.
      version: 2,
    });
    expect((await s.turns.get('t1'))!.sessionId).toBe('s1');
  });

  it('bad arguments are VALIDATION naming the field, and nothing is written', async () => {
    const s = createMemoryStorage();
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => s.turns.get(''), 'id'],
      [() => s.turns.list({ from: 5, to: 1 }), 'filter.from'],
      [() => s.turns.list({}, { limit: 0 }), 'limit'],
      [() => s.turns.list({}, { cursor: 'garbage' }), 'cursor'],
      [() => s.turns.search('!!!'), 'text'],
      [() => s.turns.deleteBefore(-1), 'before'],
      [() => s.contexts.create({ ...context({ id: 'c1' }), scope: 'nope' as 'global' }), 'context.scope'],
      [
        () => s.contexts.create({ ...context({ id: 'c1' }), data: { f: () => 1 } as never }),
        'context.data.f',
      ],
      [() => s.contexts.get('c1', { now: 1.5 }), 'options.now'],
      [() => s.contexts.update('c1', 0, {}, 1), 'expectedVersion'],
      [() => s.contexts.update('c1', 1, { data: { x: Number.NaN } }, 1), 'changes.data.x'],
      [() => s.contexts.update('c1', 1, { color: 'red' } as never, 1), 'changes'],
      [() => s.contexts.touch('c1', { at: -1 }), 'touch.at'],
      [() => s.contexts.deleteExpired(1, { limit: 0 }), 'options.limit'],
      [() => s.audit.append([{ id: 'e' } as never]), '0.at'],
    ];
    for (const [call, path] of cases) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(ConvokitError.is(error, 'VALIDATION'), path).toBe(true);
      const paths = ((error as ConvokitError).details.issues as Array<{ path: string }>).map((i) => i.path);
      expect(paths, path).toContain(path);
    }
    expect(await s.contexts.count()).toBe(0);
  });

  it('a list cursor is bound to its filter and order', async () => {
    const s = createMemoryStorage();
    await s.turns.append([turn({ id: 't1', at: 1 }), turn({ id: 't2', at: 2 }), turn({ id: 't3', at: 3 })]);
    const first = await s.turns.list({ sessionId: 's1' }, { limit: 1 });
    expect(first.items.map((t) => t.id)).toEqual(['t3']);
    const next = await s.turns.list({ sessionId: ['s1'] }, { limit: 5, cursor: first.nextCursor! });
    expect(next.items.map((t) => t.id)).toEqual(['t2', 't1']);
    expect(next.nextCursor).toBeNull();
    await expect(s.turns.list({ sessionId: 's2' }, { cursor: first.nextCursor! })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    await expect(
      s.turns.list({ sessionId: 's1' }, { cursor: first.nextCursor!, order: 'asc' }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
    });
  });
});
