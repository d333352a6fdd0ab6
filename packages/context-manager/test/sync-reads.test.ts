import { type ContextStore, contextStoreSync, createManualClock, type Storage } from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AccessPolicy, createChatContextManager, defaultPolicy } from '../src/index.js';
import { alice, bob, T0 } from './helpers.js';

/** The same storage with the contexts store's synchronous side hidden: the async contract only. */
function asyncOnly(storage: Storage): Storage {
  const inner = storage.contexts!;
  const contexts: ContextStore = {
    create: (c) => inner.create(c),
    get: (id, o) => inner.get(id, o),
    update: (id, v, ch, now) => inner.update(id, v, ch, now),
    touch: (id, t) => inner.touch(id, t),
    delete: (id, o) => inner.delete(id, o),
    list: (f, o) => inner.list(f, o),
    count: (f, o) => inner.count(f, o),
    deleteExpired: ((now: number, o?: { limit?: number; values?: boolean }) =>
      inner.deleteExpired(now, o)) as ContextStore['deleteExpired'],
  };
  expect(contextStoreSync(contexts)).toBeUndefined();
  return { ...storage, contexts };
}

const asyncDefault: AccessPolicy = async (p, action, c) => defaultPolicy(p, action, c);

describe('reads through the store synchronous side', () => {
  it('answer exactly as through the async contract: values, expiry, slides, denials, audit, metrics', async () => {
    const step = fc.oneof(
      fc.record({ get: fc.constantFrom('a', 'b', 'gone'), as: fc.constantFrom('alice', 'bob') }),
      fc.record({ advance: fc.integer({ min: 0, max: 40 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 20 }), fc.boolean(), async (steps, asyncPolicy) => {
        const runs = [];
        for (const hide of [false, true]) {
          const clock = createManualClock(T0);
          const memory = createMemoryStorage({ clock });
          expect(contextStoreSync(memory.contexts)).toBeDefined();
          const storage = hide ? asyncOnly(memory) : memory;
          const manager = createChatContextManager({
            storage,
            clock,
            sweepIntervalMs: 0,
            slidingExpiry: { session: true },
            ...(asyncPolicy ? { policy: asyncDefault } : {}),
          });
          const h = { alice: manager.as(alice), bob: manager.as(bob) };
          await h.alice.create('session', { n: 1 }, { id: 'a', ttlMs: 30 });
          await h.alice.create('global' as never, {}, { id: 'b' }).catch(() => undefined); // admins only
          await manager.as({ id: 'root', kind: 'admin' }).create('global', { g: 1 }, { id: 'b', ttlMs: 50 });
          const seen: unknown[] = [];
          for (const s of steps) {
            if ('advance' in s) {
              clock.advance(s.advance);
              continue;
            }
            seen.push(
              await h[s.as].get(s.get).then(
                (c) => (c === undefined ? 'absent' : { ...c }),
                (e: { code: string }) => e.code,
              ),
            );
          }
          const audit = (await manager.audit({}, { limit: 1000 })).items.map(({ id: _id, ...e }) => e);
          const { counters } = manager.getMetrics();
          await manager.close();
          const stored = [...memory.snapshotMutations()].filter((m) => m.type === 'contexts.put');
          runs.push({ seen, audit, counters, stored });
        }
        expect(runs[0]).toEqual(runs[1]);
      }),
      { numRuns: 150 },
    );
  });
});
