import type { TurnStore } from '@convokit/core';
import { expect } from 'vitest';
import { makeContext, makeTurn } from '../fixtures/builders.js';
import { CONFORMANCE_START } from '../start.js';
import { defineCases } from './define.js';

const DAY = 86_400_000;

/**
 * `TurnStore.version` is optional. A store without it must not hand out `AppendResult.version`
 * either (a caller would trust a marker nothing maintains); a store with it follows the rule:
 * +1 per append that stores a turn and per deleteBefore that deletes one, nothing else.
 */
function versionOf(turns: TurnStore): Promise<number> {
  return turns.version!();
}

const [consistent] = defineCases('turns', 'turns-version', {
  'append results carry a version exactly when the store has version()': async ({ turns }) => {
    const result = await turns.append([makeTurn({ id: 'a' })]);
    if (turns.version) expect(result.version).toBe(await turns.version());
    else expect(result.version).toBeUndefined();
  },
});

const rules = defineCases('turns', 'turns-version', {
  'every append that stores a turn raises the version by one, and returns it': async ({ turns }) => {
    const start = await versionOf(turns);
    const first = await turns.append([makeTurn({ id: 'a' }), makeTurn({ id: 'b' })]);
    expect(first.version).toBe(start + 1);
    expect(await versionOf(turns)).toBe(start + 1);
    const second = await turns.append([makeTurn({ id: 'c', at: CONFORMANCE_START + 1 })]);
    expect(second.version).toBe(start + 2);
    expect(await versionOf(turns)).toBe(start + 2);
  },

  'appends that store nothing leave the version alone': async ({ turns }) => {
    const start = await versionOf(turns);
    await turns.append([makeTurn({ id: 'a' })]);
    expect((await turns.append([])).version).toBe(start + 1);
    const skipped = await turns.append([makeTurn({ id: 'a' })], { ifExists: 'skip' });
    expect(skipped).toEqual({ appended: 0, skippedIds: ['a'], version: start + 1 });
    await expect(turns.append([makeTurn({ id: 'b' }), makeTurn({ id: 'a' })])).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    await expect(turns.append([makeTurn({ id: 'x', frameworks: [7 as never] })])).rejects.toMatchObject({
      code: 'VALIDATION',
    });
    expect(await versionOf(turns)).toBe(start + 1);
  },

  'deleteBefore raises the version by one only when it deletes': async ({ turns }) => {
    const start = await versionOf(turns);
    await turns.append([
      makeTurn({ id: 'old', at: CONFORMANCE_START - 2 * DAY }),
      makeTurn({ id: 'new', at: CONFORMANCE_START }),
    ]);
    expect(await turns.deleteBefore(CONFORMANCE_START - 3 * DAY)).toBe(0);
    expect(await versionOf(turns)).toBe(start + 1);
    expect(await turns.deleteBefore(CONFORMANCE_START - DAY)).toBe(1);
    expect(await versionOf(turns)).toBe(start + 2);
    expect(await turns.deleteBefore(CONFORMANCE_START - DAY)).toBe(0);
    expect(await versionOf(turns)).toBe(start + 2);
  },

  'reads and context writes leave the version alone': async ({ storage, turns }) => {
    const start = await versionOf(turns);
    await turns.append([makeTurn({ id: 'a', persona: 'analyst' })]);
    await turns.get('a');
    await turns.list({});
    await turns.count({});
    await turns.search('hello');
    await turns.aggregate({ groupBy: ['persona'], measures: ['count', 'sessions'] });
    if (storage.contexts) {
      await storage.contexts.create(makeContext({ id: 'c1' }));
      await storage.contexts.update('c1', 1, { data: { x: 1 } }, CONFORMANCE_START + 1);
      await storage.contexts.delete('c1');
    }
    expect(await versionOf(turns)).toBe(start + 1);
  },
});

export const turnsVersionCases = [
  consistent!,
  ...rules.map((c) => ({ ...c, requires: 'turns.version' as const })),
];
