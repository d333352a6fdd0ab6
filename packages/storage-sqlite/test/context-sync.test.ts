import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Context, ConvokitError, contextStoreSync } from '@convokit/core';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStorage, type SqliteStorage } from '../src/index.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'convokit-sqlite-sync-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function context(id: string, expiresAt?: number): Context {
  return {
    id,
    scope: 'session',
    data: { v: id },
    metadata: {},
    version: 1,
    createdAt: 0,
    updatedAt: 0,
    accessCount: 0,
    lastAccessedAt: 0,
    ...(expiresAt === undefined ? {} : { expiresAt }),
  };
}

/** What a call gave: its value, or its error's code. */
async function outcome(run: () => unknown): Promise<unknown> {
  try {
    return { value: await run() };
  } catch (error) {
    if (!ConvokitError.is(error)) throw error;
    return { code: error.code };
  }
}

/** Every row as another process would read it, once this one's touches are flushed. */
async function rows(storage: SqliteStorage, path: string): Promise<unknown[]> {
  await storage.flush();
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT * FROM contexts ORDER BY id').all();
  } finally {
    db.close();
  }
}

/** One row as another process would read it. */
async function row(storage: SqliteStorage, path: string, id: string): Promise<unknown> {
  return (await rows(storage, path)).find((r) => (r as { id: string }).id === id);
}

/** A context as its row. */
function rowOf(c: Context): unknown {
  return {
    id: c.id,
    scope: c.scope,
    owner_id: c.ownerId ?? null,
    session_id: c.sessionId ?? null,
    persona: c.persona ?? null,
    parent_id: c.parentId ?? null,
    data: JSON.stringify(c.data),
    metadata: JSON.stringify(c.metadata),
    version: c.version,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    expires_at: c.expiresAt ?? null,
    access_count: c.accessCount,
    last_accessed_at: c.lastAccessedAt,
  };
}

type Between = { kind: 'none' } | { kind: 'update' } | { kind: 'touch'; at: number } | { kind: 'delete' };

const ids = ['a', 'b', 'c', ''];
const time = fc.integer({ min: -1, max: 40 });
const op = fc.oneof(
  fc.record({ kind: fc.constant('get' as const), id: fc.constantFrom(...ids), now: time }),
  fc.record({
    kind: fc.constant('touch' as const),
    id: fc.constantFrom(...ids),
    at: time,
    expiresAt: fc.option(fc.integer({ min: -1, max: 60 }), { nil: undefined }),
  }),
  // The context manager's get: read, (an async policy's wait, during which anything may run), touch.
  fc.record({
    kind: fc.constant('read-then-touch' as const),
    id: fc.constantFrom(...ids),
    now: time,
    expiresAt: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
    between: fc.oneof(
      fc.constant<Between>({ kind: 'none' }),
      fc.constant<Between>({ kind: 'update' }),
      fc.constant<Between>({ kind: 'delete' }),
      time.map((at): Between => ({ kind: 'touch', at })),
    ),
  }),
);

/** Runs `between` on a store through its async API (both twins get the same). */
async function runBetween(s: SqliteStorage, id: string, now: number, between: Between): Promise<unknown> {
  switch (between.kind) {
    case 'none':
      return undefined;
    case 'touch':
      return outcome(() => s.contexts.touch(id, { at: between.at }));
    case 'delete':
      return outcome(() => s.contexts.delete(id, { now }));
    case 'update': {
      const current = await s.contexts.get(id, { now });
      if (current === undefined) return undefined;
      return outcome(() => s.contexts.update(id, current.version, { data: { n: now } }, now));
    }
  }
}

describe('the synchronous side of the sqlite context store', () => {
  it('answers as get and touch do, also when writes come between a read and its touch', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 20 }), async (ops) => {
        run++;
        const paths = [join(dir, `sync-${run}.db`), join(dir, `async-${run}.db`)] as const;
        const [viaSync, viaAsync] = paths.map((path) => createSqliteStorage({ path })) as [
          SqliteStorage,
          SqliteStorage,
        ];
        try {
          for (const s of [viaSync, viaAsync]) {
            await s.contexts.create(context('a', 20));
            await s.contexts.create(context('b'));
          }
          const side = contextStoreSync(viaSync.contexts);
          expect(side).toBeDefined();
          if (!side) return;
          for (const o of ops) {
            if (o.kind === 'get') {
              expect(await outcome(() => side.getNow(o.id, o.now))).toEqual(
                await outcome(() => viaAsync.contexts.get(o.id, { now: o.now })),
              );
            } else if (o.kind === 'touch') {
              const touch = o.expiresAt === undefined ? { at: o.at } : { at: o.at, expiresAt: o.expiresAt };
              const touched = (await outcome(() => side.touchNow(o.id, touch))) as { code?: string };
              const asyncTouched = (await outcome(() => viaAsync.contexts.touch(o.id, touch))) as {
                code?: string;
              };
              expect(touched.code).toEqual(asyncTouched.code);
            } else {
              const read = await outcome(() => side.getNow(o.id, o.now));
              expect(read).toEqual(await outcome(() => viaAsync.contexts.get(o.id, { now: o.now })));
              if ((read as { value?: Context }).value === undefined) continue;
              const between = await runBetween(viaSync, o.id, o.now, o.between);
              expect(between).toEqual(await runBetween(viaAsync, o.id, o.now, o.between));
              const touch = o.expiresAt === undefined ? { at: o.now } : { at: o.now, expiresAt: o.expiresAt };
              const before = await row(viaAsync, paths[1], o.id);
              const touched = (await outcome(() => side.touchNow(o.id, touch))) as { value?: Context };
              await viaAsync.contexts.touch(o.id, touch);
              const after = await row(viaAsync, paths[1], o.id);
              // The context touchNow gives is the row as the touch left it; undefined: it was left alone.
              if (touched.value === undefined) expect(after).toEqual(before);
              else expect(rowOf(touched.value)).toEqual(after);
            }
          }
          const [a, b] = [await rows(viaSync, paths[0]), await rows(viaAsync, paths[1])];
          expect(a).toEqual(b);
        } finally {
          await viaSync.close();
          await viaAsync.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('a read then its touch: counted once, the touched context returned, written behind', async () => {
    const path = join(dir, 't.db');
    const storage = createSqliteStorage({ path, touchFlushMs: 60_000 });
    await storage.contexts.create(context('a', 1_000));
    const side = contextStoreSync(storage.contexts)!;
    expect(side.getNow('a', 10)).toMatchObject({ accessCount: 0, lastAccessedAt: 0, expiresAt: 1_000 });
    expect(side.touchNow('a', { at: 10, expiresAt: 1_010 })).toMatchObject({
      accessCount: 1,
      lastAccessedAt: 10,
      expiresAt: 1_010,
      version: 1,
    });
    // An update between a read and its touch: the touch sees the new version, not the read's.
    side.getNow('a', 20);
    await storage.contexts.update('a', 1, { data: { v: 'new' } }, 20);
    expect(side.touchNow('a', { at: 20 })).toMatchObject({ version: 2, data: { v: 'new' }, accessCount: 2 });
    // Expired by its slid time: the read says so, and a touch past it is refused.
    expect(side.getNow('a', 1_010)).toBeUndefined();
    expect(side.touchNow('a', { at: 1_010 })).toBeUndefined();
    await storage.flush();
    expect(await storage.contexts.get('a', { now: 30 })).toMatchObject({
      accessCount: 2,
      lastAccessedAt: 20,
    });
    await storage.close();
  });

  it('refuses bad input and calls once the storage is closed, as the async methods do', async () => {
    const storage = createSqliteStorage({ path: join(dir, 'c.db') });
    await storage.contexts.create(context('a'));
    const side = contextStoreSync(storage.contexts)!;
    expect(() => side.getNow('a', Number.NaN)).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
    expect(() => side.touchNow('', { at: 1 })).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
    await storage.close();
    expect(() => side.getNow('a', 1)).toThrow(ConvokitError);
    expect(() => side.touchNow('a', { at: 1 })).toThrow(ConvokitError);
  });
});
