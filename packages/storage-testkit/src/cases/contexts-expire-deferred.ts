import { type ContextStore, ulidAdd } from '@convokit/core';
import { expect } from 'vitest';
import { expectRejects } from '../expect-error.js';
import { expireEventFields, makeContext, makeExpireEvent } from '../fixtures/builders.js';
import { CONFORMANCE_START } from '../start.js';
import { defineCases } from './define.js';

const T = CONFORMANCE_START;
/** A ULID with an all-zero random part: the k-th reserved id is ulidAdd(FIRST, k). */
const FIRST = `01JD000000${'0'.repeat(16)}`;
const SHARED = expireEventFields;

/** The store's optional method (the cases run only where it exists). */
function method(contexts: ContextStore): NonNullable<ContextStore['deleteExpiredDeferred']> {
  return contexts.deleteExpiredDeferred!.bind(contexts);
}

async function seed(contexts: ContextStore) {
  const stored = [
    makeContext({ id: 'e2', expiresAt: T + 200, ownerId: 'u1' }),
    makeContext({ id: 'e1', expiresAt: T + 100, scope: 'conversation' }),
    makeContext({ id: 'e0', expiresAt: T + 200, version: 3 }),
    makeContext({ id: 'live', expiresAt: T + 301, ownerId: 'u1' }),
    makeContext({ id: 'forever' }),
  ];
  for (const context of stored) await contexts.create(context);
  return stored;
}

const cases = defineCases('contexts', 'contexts-expire-deferred', {
  'deletes at once for every read and write, whatever their now; the events listed in expiry order with the reserved ids':
    async ({ contexts, audit }) => {
      const stored = await seed(contexts);
      const asked: number[] = [];
      const n = await method(contexts)(T + 300, {
        event: SHARED(T + 300),
        reserveIds: (k) => {
          asked.push(k);
          return FIRST;
        },
      });
      expect(n).toBe(3);
      expect(asked).toEqual([3]);
      for (const id of ['e0', 'e1', 'e2']) expect(await contexts.get(id, { now: T })).toBeUndefined();
      expect((await contexts.list({}, { now: T })).items.map((c) => c.id)).toEqual(['forever', 'live']);
      expect(await contexts.count({ ownerId: 'u1' }, { now: T })).toBe(1);
      await expectRejects(() => contexts.update('e0', 3, { data: { x: 1 } }, T), 'NOT_FOUND');
      expect(await contexts.delete('e2', { now: T })).toBe(false);
      expect(await contexts.deleteExpired(T + 300)).toEqual([]);
      // e1 (expires at +100) first, then the tie at +200 broken by id: e0 before e2.
      expect((await audit.list()).items).toEqual([
        makeExpireEvent(stored[0]!, ulidAdd(FIRST, 2)!, T + 300),
        makeExpireEvent(stored[2]!, ulidAdd(FIRST, 1)!, T + 300),
        makeExpireEvent(stored[1]!, ulidAdd(FIRST, 0)!, T + 300),
      ]);
      // The ids are free; a second sweep finds nothing new.
      await contexts.create(makeContext({ id: 'e0', expiresAt: T + 1000 }));
      expect(await contexts.get('e0', { now: T + 300 })).toBeDefined();
      expect(await method(contexts)(T + 300, { event: SHARED(T + 300), reserveIds: () => FIRST })).toBe(0);
    },

  'a reserved id already stored is CONFLICT, a bad range or event VALIDATION: nothing deleted': async ({
    contexts,
    audit,
  }) => {
    await seed(contexts);
    await audit.append([makeExpireEvent({ id: 'z', scope: 'session', version: 1 }, ulidAdd(FIRST, 2)!, T)]);
    await expectRejects(
      () => method(contexts)(T + 300, { event: SHARED(T + 300), reserveIds: () => FIRST }),
      'CONFLICT',
    );
    await expectRejects(
      () => method(contexts)(T + 300, { event: SHARED(T + 300), reserveIds: () => 'not-a-ulid' }),
      'VALIDATION',
    );
    await expectRejects(
      () => method(contexts)(T + 300, { event: { ...SHARED(T + 300), at: -1 }, reserveIds: () => FIRST }),
      'VALIDATION',
    );
    await expectRejects(
      () => method(contexts)(Number.NaN, { event: SHARED(T), reserveIds: () => FIRST }),
      'VALIDATION',
    );
    expect(await contexts.count({}, { now: T })).toBe(5);
    expect((await audit.list()).items).toHaveLength(1);
  },
});

export const contextsExpireDeferredCases = cases.map((c) => ({
  ...c,
  requires: 'contexts.deleteExpiredDeferred' as const,
}));
