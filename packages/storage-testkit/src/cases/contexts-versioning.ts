import { ConvokitError } from '@convokit/core';
import { expect } from 'vitest';
import { expectRejects } from '../expect-error.js';
import { makeContext } from '../fixtures/builders.js';
import { CONFORMANCE_START } from '../start.js';
import { defineCases } from './define.js';

const T = CONFORMANCE_START;

export const contextsVersioningCases = defineCases('contexts', 'contexts-versioning', {
  'update at the current version applies the changes, bumps the version and sets updatedAt': async ({
    contexts,
  }) => {
    const created = makeContext({
      id: 'a',
      scope: 'session',
      ownerId: 'alice',
      sessionId: 's1',
      data: { x: 1, y: 2 },
      metadata: { m: 1 },
    });
    await contexts.create(created);
    const updated = await contexts.update('a', 1, { data: { z: 3 } }, T + 100);
    const expected = { ...created, data: { z: 3 }, version: 2, updatedAt: T + 100 };
    expect(updated).toEqual(expected);
    expect(await contexts.get('a')).toEqual(expected);
  },

  'each changeable field is replaced, and fields left out are kept': async ({ contexts }) => {
    await contexts.create(
      makeContext({ id: 'a', ownerId: 'alice', parentId: 'p', data: { d: 1 }, metadata: { m: 1 } }),
    );
    await contexts.update('a', 1, { metadata: { m: 2 } }, T + 1);
    await contexts.update('a', 2, { ownerId: 'bob' }, T + 2);
    await contexts.update('a', 3, { parentId: 'q', expiresAt: T + 10_000 }, T + 3);
    const stored = await contexts.get('a');
    expect(stored).toMatchObject({
      data: { d: 1 },
      metadata: { m: 2 },
      ownerId: 'bob',
      parentId: 'q',
      expiresAt: T + 10_000,
      version: 4,
      updatedAt: T + 3,
      createdAt: T,
    });
  },

  'null removes parentId and expiresAt': async ({ contexts }) => {
    await contexts.create(makeContext({ id: 'a', parentId: 'p', expiresAt: T + 1000 }));
    const updated = await contexts.update('a', 1, { parentId: null, expiresAt: null }, T + 1);
    expect(updated.parentId).toBeUndefined();
    expect(updated.expiresAt).toBeUndefined();
    const stored = await contexts.get('a', { now: T + 5000 });
    expect(stored?.parentId).toBeUndefined();
    expect(stored?.expiresAt).toBeUndefined();
    expect(await contexts.count({ parentId: 'p' })).toBe(0);
  },

  'an empty change still writes a new version': async ({ contexts }) => {
    await contexts.create(makeContext({ id: 'a', data: { d: 1 } }));
    const updated = await contexts.update('a', 1, {}, T + 1);
    expect(updated.version).toBe(2);
    expect(updated.data).toEqual({ d: 1 });
  },

  'a stale version is CONFLICT with details.actualVersion, and nothing changes': async ({ contexts }) => {
    await contexts.create(makeContext({ id: 'a', data: { v: 1 } }));
    await contexts.update('a', 1, { data: { v: 2 } }, T + 1);
    const stale = await expectRejects(
      () => contexts.update('a', 1, { data: { v: 'lost' } }, T + 2),
      'CONFLICT',
    );
    expect(stale.details.actualVersion).toBe(2);
    const ahead = await expectRejects(
      () => contexts.update('a', 5, { data: { v: 'lost' } }, T + 2),
      'CONFLICT',
    );
    expect(ahead.details.actualVersion).toBe(2);
    expect(await contexts.get('a')).toMatchObject({ data: { v: 2 }, version: 2, updatedAt: T + 1 });
  },

  'update of an unknown id is NOT_FOUND': async ({ contexts }) => {
    await expectRejects(() => contexts.update('missing', 1, { data: {} }, T), 'NOT_FOUND');
    expect(await contexts.get('missing')).toBeUndefined();
  },

  'concurrent updates at the same version: exactly one wins': async ({ contexts }) => {
    await contexts.create(makeContext({ id: 'a' }));
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => contexts.update('a', 1, { data: { winner: i } }, T + 1)),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    for (const r of results) {
      if (r.status === 'rejected' && !ConvokitError.is(r.reason, 'CONFLICT')) throw r.reason;
    }
    expect(won).toHaveLength(1);
    const stored = await contexts.get('a');
    expect(stored?.version).toBe(2);
    expect(stored?.data).toEqual((won[0] as PromiseFulfilledResult<{ data: unknown }>).value.data);
  },

  '20 concurrent read-modify-write updaters retrying on CONFLICT lose nothing': async ({ contexts }) => {
    await contexts.create(makeContext({ id: 'counter', data: { hits: 0 } }));
    const N = 20;
    let successes = 0;
    const worker = async (i: number) => {
      for (let attempt = 0; attempt < 500; attempt++) {
        const current = (await contexts.get('counter'))!;
        try {
          await contexts.update(
            'counter',
            current.version,
            { data: { ...current.data, hits: (current.data.hits as number) + 1, [`w${i}`]: true } },
            T + attempt,
          );
          successes++;
          return;
        } catch (error) {
          if (!ConvokitError.is(error, 'CONFLICT')) throw error;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      throw new Error(`updater ${i} never succeeded`);
    };
    await Promise.all(Array.from({ length: N }, (_, i) => worker(i)));
    const final = (await contexts.get('counter'))!;
    expect(successes).toBe(N);
    expect(final.version).toBe(1 + successes);
    expect(final.data.hits).toBe(N);
    for (let i = 0; i < N; i++) expect(final.data[`w${i}`], `updater ${i}'s key`).toBe(true);
  },
});
