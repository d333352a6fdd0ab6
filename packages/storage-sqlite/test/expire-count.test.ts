import {
  type AuditEvent,
  type Context,
  ConvokitError,
  createManualClock,
  type ExpireAuditCountOptions,
} from '@convokit/core';
import { expireEventFields } from '@convokit/storage-testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSqliteStorage } from '../src/index.js';
import { sessionContext, T } from './fixtures/contexts.js';

const NOW = T + 2000;
const SHARED = expireEventFields(NOW);

const context = sessionContext;

/** Event ids e-0000, e-0001, ... from one counter, as a manager's generator hands them out. */
function counter(prefix = 'e-'): () => string {
  let n = 0;
  return () => `${prefix}${String(n++).padStart(4, '0')}`;
}

function idsFrom(next: () => string): (n: number) => string[] {
  return (n) => Array.from({ length: n }, next);
}

async function allAudit(storage: Awaited<ReturnType<typeof createSqliteStorage>>): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  let cursor: string | undefined;
  do {
    const page = await storage.audit.list({}, cursor ? { limit: 7, cursor } : { limit: 7 });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

async function open() {
  return createSqliteStorage({ path: ':memory:', clock: createManualClock(T) });
}

describe('contexts.deleteExpiredAuditedCount on sqlite', () => {
  it('deletes the expired contexts oldest first (ties by id) and audits each with the next id', async () => {
    await using storage = await open();
    await storage.contexts.create(context('b', T + 1000, { version: 3, scope: 'persona' }));
    await storage.contexts.create(context('a', T + 1000));
    await storage.contexts.create(context('c', T + 500, { ownerId: undefined }));
    await storage.contexts.create(context('live', T + 5000));
    await storage.contexts.create(context('never', undefined));
    const asked: number[] = [];
    const next = counter();
    const n = await storage.contexts.deleteExpiredAuditedCount!(NOW, {
      limit: 2,
      event: SHARED,
      ids: (k) => {
        asked.push(k);
        return idsFrom(next)(k);
      },
    });
    expect(n).toBe(2);
    expect(asked).toEqual([2]);
    // c expires first; a and b tie and a comes first by id.
    expect((await storage.contexts.list({}, { now: T })).items.map((c) => c.id)).toEqual([
      'b',
      'live',
      'never',
    ]);
    const second = await storage.contexts.deleteExpiredAuditedCount!(NOW, {
      event: SHARED,
      ids: idsFrom(next),
    });
    expect(second).toBe(1);
    // Newest first by (at, id): the ids are ascending, so e-0002 (b) heads the list.
    expect(await allAudit(storage)).toEqual([
      { ...SHARED, id: 'e-0002', contextId: 'b', scope: 'persona', version: 3 },
      { ...SHARED, id: 'e-0001', contextId: 'a', scope: 'session', version: 1 },
      { ...SHARED, id: 'e-0000', contextId: 'c', scope: 'session', version: 1 },
    ]);
  });

  it('does not ask for ids when nothing has expired', async () => {
    await using storage = await open();
    await storage.contexts.create(context('live', T + 5000));
    let called = false;
    const n = await storage.contexts.deleteExpiredAuditedCount!(NOW, {
      event: SHARED,
      ids: () => {
        called = true;
        return [];
      },
    });
    expect(n).toBe(0);
    expect(called).toBe(false);
    expect(await allAudit(storage)).toEqual([]);
  });

  it('stores what deleteExpiredAudited stores for the same events (property)', async () => {
    const contextArb = fc.record({
      expiry: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
      scope: fc.constantFrom('session', 'persona', 'global'),
      version: fc.integer({ min: 1, max: 5 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,6}$/), { minLength: 0, maxLength: 25 }),
        fc.array(contextArb, { minLength: 25, maxLength: 25 }),
        fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
        fc.integer({ min: 0, max: 6 }),
        async (ids, shapes, limit, nowStep) => {
          const now = T + nowStep * 1000;
          await using a = await open();
          await using b = await open();
          for (let i = 0; i < ids.length; i++) {
            const s = shapes[i]!;
            const c = context(ids[i]!, s.expiry === undefined ? undefined : T + s.expiry * 1000, {
              scope: s.scope as Context['scope'],
              version: s.version,
            });
            await a.contexts.create(c);
            await b.contexts.create(c);
          }
          const event = { ...SHARED, at: now };
          const nextA = counter();
          const deleted = await a.contexts.deleteExpiredAudited!(now, {
            values: false,
            ...(limit === undefined ? {} : { limit }),
            event: (c) => ({ id: nextA(), ...event, contextId: c.id, scope: c.scope, version: c.version }),
          });
          const n = await b.contexts.deleteExpiredAuditedCount!(now, {
            ...(limit === undefined ? {} : { limit }),
            event,
            ids: idsFrom(counter()),
          });
          expect(n).toBe(deleted.length);
          const left = async (s: typeof a) =>
            (await s.contexts.list({}, { now: T, limit: 100 })).items.map((c) => c.id);
          expect(await left(b)).toEqual(await left(a));
          expect(await allAudit(b)).toEqual(await allAudit(a));
        },
      ),
      { numRuns: 40 },
    );
  });

  describe('all or nothing', () => {
    async function seeded() {
      const storage = await open();
      await storage.contexts.create(context('a', T + 1000));
      await storage.contexts.create(context('b', T + 1000));
      await storage.audit.append([{ ...SHARED, id: 'taken', contextId: 'z', scope: 'session' }]);
      return storage;
    }

    async function unchanged(storage: Awaited<ReturnType<typeof open>>) {
      expect(await storage.contexts.count({}, { now: T })).toBe(2);
      expect((await allAudit(storage)).map((e) => e.id)).toEqual(['taken']);
      // The next call starts clean: nothing of the failed one is left behind.
      expect(
        await storage.contexts.deleteExpiredAuditedCount!(NOW, { event: SHARED, ids: idsFrom(counter()) }),
      ).toBe(2);
    }

    it('ids throwing rejects with what it threw', async () => {
      await using storage = await seeded();
      const failure = new Error('no ids');
      await expect(
        storage.contexts.deleteExpiredAuditedCount!(NOW, {
          event: SHARED,
          ids: () => {
            throw failure;
          },
        }),
      ).rejects.toBe(failure);
      await unchanged(storage);
    });

    it.each([
      ['too few ids', () => ['x-1']],
      ['too many ids', () => ['x-1', 'x-2', 'x-3']],
      ['an invalid id', () => ['x-1', '']],
      ['not an array', () => 'x-1' as unknown as string[]],
    ])('%s is VALIDATION', async (_name, ids) => {
      await using storage = await seeded();
      const error = await storage.contexts.deleteExpiredAuditedCount!(NOW, { event: SHARED, ids }).catch(
        (e: unknown) => e,
      );
      expect(ConvokitError.is(error) && error.code).toBe('VALIDATION');
      await unchanged(storage);
    });

    it.each([
      ['an id already stored', ['x-1', 'taken'], 'taken'],
      ['an id given twice', ['x-1', 'x-1'], 'x-1'],
    ])('%s is CONFLICT naming it', async (_name, ids, named) => {
      await using storage = await seeded();
      const error = await storage.contexts.deleteExpiredAuditedCount!(NOW, {
        event: SHARED,
        ids: () => ids,
      }).catch((e: unknown) => e);
      expect(ConvokitError.is(error) && [error.code, error.details?.id]).toEqual(['CONFLICT', named]);
      await unchanged(storage);
    });

    it('an invalid shared event or options are VALIDATION before anything is read', async () => {
      await using storage = await seeded();
      const ids = () => {
        throw new Error('must not be called');
      };
      const bad = [
        { event: { ...SHARED, action: 'vanish' }, ids },
        { event: { ...SHARED, principal: '' }, ids },
        { event: { ...SHARED, changedKeys: ['k'.repeat(257)] }, ids },
        { event: { ...SHARED, extra: 1 }, ids },
        { event: SHARED, ids: 'x' },
        { event: SHARED, ids, limit: 0 },
      ];
      for (const options of bad) {
        const error = await storage.contexts.deleteExpiredAuditedCount!(
          NOW,
          options as unknown as ExpireAuditCountOptions,
        ).catch((e: unknown) => e);
        expect(ConvokitError.is(error) && error.code).toBe('VALIDATION');
      }
      await unchanged(storage);
    });
  });

  it('a pending sliding expiry keeps its context', async () => {
    await using storage = await createSqliteStorage({
      path: ':memory:',
      clock: createManualClock(T),
      touchFlushMs: 60_000,
    });
    await storage.contexts.create(context('slid', T + 1000));
    await storage.contexts.create(context('gone', T + 1000));
    await storage.contexts.touch('slid', { at: T + 500, expiresAt: T + 5000 });
    expect(
      await storage.contexts.deleteExpiredAuditedCount!(NOW, { event: SHARED, ids: idsFrom(counter()) }),
    ).toBe(1);
    expect(await storage.contexts.get('slid', { now: NOW })).toMatchObject({ expiresAt: T + 5000 });
    expect((await allAudit(storage)).map((e) => e.contextId)).toEqual(['gone']);
  });
});
