import { ConvokitError, createManualClock, type Storage } from '@convokit/core';
import { makeAuditEvent, makeContext, makeTurn } from '@convokit/storage-testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFileStorage, type FileStorage } from '../src/index.js';
import { tempDirectory } from './helpers.js';

const BASE = Date.UTC(2026, 0, 5);

type Op =
  | { kind: 'append'; ids: number[]; skip: boolean; session: number }
  | { kind: 'deleteBefore'; at: number }
  | { kind: 'create'; id: number; ttl: number | null }
  | { kind: 'update'; id: number; value: number; stale: boolean }
  | { kind: 'touch'; id: number; extend: boolean }
  | { kind: 'delete'; id: number }
  | { kind: 'deleteExpired' }
  | { kind: 'audit'; ids: number[] }
  | { kind: 'advance'; ms: number }
  | { kind: 'compact' }
  | { kind: 'reopen' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('append' as const),
    ids: fc.uniqueArray(fc.nat(40), { minLength: 1, maxLength: 5 }),
    skip: fc.boolean(),
    session: fc.nat(3),
  }),
  fc.record({ kind: fc.constant('deleteBefore' as const), at: fc.nat(40) }),
  fc.record({
    kind: fc.constant('create' as const),
    id: fc.nat(3),
    ttl: fc.option(fc.integer({ min: 1, max: 50 })),
  }),
  fc.record({ kind: fc.constant('update' as const), id: fc.nat(3), value: fc.nat(), stale: fc.boolean() }),
  fc.record({ kind: fc.constant('touch' as const), id: fc.nat(3), extend: fc.boolean() }),
  fc.record({ kind: fc.constant('delete' as const), id: fc.nat(3) }),
  fc.record({ kind: fc.constant('deleteExpired' as const) }),
  fc.record({
    kind: fc.constant('audit' as const),
    ids: fc.uniqueArray(fc.nat(1000), { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant('compact' as const) }),
  fc.record({ kind: fc.constant('reopen' as const) }),
);

async function everything<T>(
  page: (cursor?: string) => Promise<{ items: T[]; nextCursor: string | null }>,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const result = await page(cursor);
    items.push(...result.items);
    cursor = result.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/** Everything a caller can read back, expiry judged at time 0 so expired-but-unswept contexts show. */
async function state(storage: Storage) {
  const turns = storage.turns!;
  const contexts = storage.contexts!;
  const audit = storage.audit!;
  return {
    turns: await everything((cursor) =>
      turns.list({}, { order: 'asc', limit: 1000, ...(cursor ? { cursor } : {}) }),
    ),
    contexts: await everything((cursor) =>
      contexts.list({}, { now: 0, limit: 1000, ...(cursor ? { cursor } : {}) }),
    ),
    audit: await everything((cursor) => audit.list({}, { limit: 1000, ...(cursor ? { cursor } : {}) })),
    search: (await turns.search('question')).map((hit) => [hit.turn.id, hit.score]),
    bySession: await turns.aggregate({ groupBy: ['session'], measures: ['count', 'latencyP50'] }),
  };
}

async function run(storage: FileStorage, op: Op, clock: ReturnType<typeof createManualClock>): Promise<void> {
  const now = clock.now();
  switch (op.kind) {
    case 'append':
      await storage.turns.append(
        op.ids.map((n) =>
          makeTurn({
            id: `t${n}`,
            at: BASE + n,
            sessionId: `s${op.session}`,
            userInput: `question ${n}`,
            latencyMs: n * 10,
          }),
        ),
        { ifExists: op.skip ? 'skip' : 'error' },
      );
      return;
    case 'deleteBefore':
      await storage.turns.deleteBefore(BASE + op.at);
      return;
    case 'create':
      await storage.contexts.create(
        makeContext({
          id: `c${op.id}`,
          createdAt: now,
          ...(op.ttl === null ? {} : { expiresAt: now + op.ttl }),
          data: { n: op.id },
        }),
      );
      return;
    case 'update': {
      const current = await storage.contexts.get(`c${op.id}`);
      const version = (current?.version ?? 1) + (op.stale ? 1 : 0);
      await storage.contexts.update(`c${op.id}`, version, { data: { value: op.value } }, now);
      return;
    }
    case 'touch':
      await storage.contexts.touch(`c${op.id}`, { at: now, ...(op.extend ? { expiresAt: now + 100 } : {}) });
      return;
    case 'delete':
      await storage.contexts.delete(`c${op.id}`, { now });
      return;
    case 'deleteExpired':
      await storage.contexts.deleteExpired(now);
      return;
    case 'audit':
      await storage.audit.append(
        op.ids.map((n) => makeAuditEvent({ id: `e${n}`, at: now, contextId: `c${n % 7}` })),
      );
      return;
    case 'advance':
      clock.advance(op.ms);
      return;
    case 'compact':
      await storage.compact();
      return;
    case 'reopen':
      return; // handled by the caller
  }
}

describe('reopen', () => {
  it('gives back exactly the state that was written, whatever the operations, compactions and reopens', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 5, maxLength: 40, size: 'max' }),
        fc.constantFrom(1, 3, 10_000),
        async (ops, compactAfter) => {
          const directory = tempDirectory();
          const clock = createManualClock(BASE);
          const open = () => createFileStorage({ directory, clock, compactAfterRecords: compactAfter });
          let storage = await open();
          try {
            for (const op of ops) {
              if (op.kind === 'reopen') {
                const before = await state(storage);
                await storage.close();
                storage = await open();
                expect(await state(storage)).toEqual(before);
                continue;
              }
              try {
                await run(storage, op, clock);
              } catch (error) {
                // Conflicts and missing contexts are part of the game; anything else is not.
                if (!ConvokitError.is(error, 'CONFLICT') && !ConvokitError.is(error, 'NOT_FOUND'))
                  throw error;
              }
              // Let scheduled compactions run between operations.
              await new Promise((resolve) => setImmediate(resolve));
            }
            const before = await state(storage);
            await storage.close();
            storage = await open();
            expect(storage.recovery.tornRecordsDropped).toBe(0);
            expect(await state(storage)).toEqual(before);
          } finally {
            await storage.close();
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});
