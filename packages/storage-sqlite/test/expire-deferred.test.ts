import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AuditEvent,
  type AuditLog,
  ConvokitError,
  createManualClock,
  type ExpireDeferredOptions,
  ulidAdd,
} from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import { expireEventFields } from '@convokit/storage-testkit';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteStorage, type SqliteStorage } from '../src/index.js';
import { buildChild } from './fixtures/build-child.js';
import { sessionContext, T } from './fixtures/contexts.js';

const NOW = T + 2000;
/** A ULID whose random part is all zeros: the k-th reserved id is ulidAdd(BASE, k). */
const BASE = '01JD000000' + '0'.repeat(16);
const SHARED = expireEventFields;

const context = sessionContext;

/** Hands out consecutive ranges from BASE, as the manager's reserving generator does. */
function reserver() {
  let next = 0;
  const asked: number[] = [];
  return {
    asked,
    reserveIds(n: number): string {
      asked.push(n);
      const first = ulidAdd(BASE, next)!;
      next += n;
      return first;
    },
  };
}

async function allAudit(audit: AuditLog): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  let cursor: string | undefined;
  do {
    const page = await audit.list({}, cursor ? { limit: 7, cursor } : { limit: 7 });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

function rawCount(path: string, sql: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).pluck().get() as number;
  } finally {
    db.close();
  }
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cvk-deferred-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function openPair(options: { touchFlushMax?: number } = {}): {
  a: SqliteStorage;
  b: SqliteStorage;
  path: string;
} {
  const path = join(dir, `d${files++}.db`);
  const clock = createManualClock(T);
  const a = createSqliteStorage({ path, clock, ...options });
  const b = createSqliteStorage({ path, clock, ...options });
  return { a, b, path };
}

describe('contexts.deleteExpiredDeferred on sqlite', () => {
  it('a sweep deletes logically: gone for every read and write of both connections, events listed in order', async () => {
    const { a, b, path } = openPair();
    try {
      await a.contexts.create(context('b', T + 1000, { version: 3, scope: 'persona' }));
      await a.contexts.create(context('a', T + 1000));
      await a.contexts.create(context('c', T + 500, { ownerId: undefined, parentId: 'live' }));
      await a.contexts.create(context('live', T + 5000));
      await a.contexts.create(context('never', undefined));
      const ids = reserver();
      const n = await a.contexts.deleteExpiredDeferred!(NOW, {
        event: SHARED(NOW),
        reserveIds: ids.reserveIds,
      });
      expect(n).toBe(3);
      expect(ids.asked).toEqual([3]);
      // Nothing written out yet: the three rows are still in the file, no audit row.
      expect(rawCount(path, 'SELECT count(*) FROM contexts')).toBe(5);
      expect(rawCount(path, 'SELECT count(*) FROM audit')).toBe(0);
      for (const s of [a, b]) {
        // Even at a `now` before they expired: deleted is deleted.
        for (const id of ['a', 'b', 'c']) expect(await s.contexts.get(id, { now: T })).toBeUndefined();
        expect((await s.contexts.list({}, { now: T })).items.map((c) => c.id)).toEqual(['live', 'never']);
        expect(await s.contexts.count({}, { now: T })).toBe(2);
        expect(await s.contexts.count({ ownerId: 'u' }, { now: T })).toBe(2);
        expect((await s.contexts.list({ parentId: 'live' }, { now: T })).items).toEqual([]);
        await expect(s.contexts.update('a', 1, { data: { x: 1 } }, T)).rejects.toMatchObject({
          code: 'NOT_FOUND',
        });
        expect(await s.contexts.delete('b', { now: T })).toBe(false);
        expect(await s.contexts.delete('b', { now: T, expectedVersion: 3 })).toBe(false);
        await s.contexts.touch('c', { at: T, expiresAt: T + 9000 });
        await s.flush();
        expect(await s.contexts.get('c', { now: T })).toBeUndefined();
        // A second sweep finds nothing new and reserves nothing.
        expect(
          await s.contexts.deleteExpiredDeferred!(NOW + 1, {
            event: SHARED(NOW + 1),
            reserveIds: ids.reserveIds,
          }),
        ).toBe(0);
        expect(await s.contexts.deleteExpired(NOW + 1)).toEqual([]);
      }
      expect(ids.asked).toEqual([3]);
      // The other connection reads the audit: it writes the events out first. c expires first;
      // a and b tie and a comes first by id: c, a, b get the reserved ids 0, 1, 2.
      const expected = [
        { ...SHARED(NOW), id: ulidAdd(BASE, 2), contextId: 'b', scope: 'persona', version: 3 },
        { ...SHARED(NOW), id: ulidAdd(BASE, 1), contextId: 'a', scope: 'session', version: 1 },
        { ...SHARED(NOW), id: ulidAdd(BASE, 0), contextId: 'c', scope: 'session', version: 1 },
      ];
      // A read-only connection cannot write them out: it reads them from the deferred rows.
      const r = createSqliteStorage({ path, readonly: true });
      try {
        expect(await allAudit(r.audit)).toEqual(expected);
        expect((await r.audit.list({ contextId: 'a' })).items).toEqual([expected[1]]);
        expect((await r.audit.list({ scope: 'persona' })).items).toEqual([expected[0]]);
      } finally {
        await r.close();
      }
      expect(rawCount(path, 'SELECT count(*) FROM audit')).toBe(0);
      expect(await allAudit(b.audit)).toEqual(expected);
      expect(await allAudit(a.audit)).toEqual(expected);
      expect(rawCount(path, 'SELECT count(*) FROM contexts')).toBe(2);
      expect(rawCount(path, 'SELECT count(*) FROM expiry_pending')).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('audit reads take no write lock when nothing is deferred, and read around a held lock when something is', async () => {
    const path = join(dir, `lock${files++}.db`);
    const clock = createManualClock(T);
    const a = createSqliteStorage({ path, clock, busyTimeoutMs: 50 });
    const holder = new Database(path);
    try {
      await a.contexts.create(context('x', T + 1000));
      await a.audit.append([{ ...SHARED(T), id: 'e-1', contextId: 'x', scope: 'session' }]);
      holder.exec('BEGIN IMMEDIATE');
      // Nothing deferred: the read needs no lock.
      expect((await a.audit.list()).items.map((e) => e.id)).toEqual(['e-1']);
      holder.exec('COMMIT');
      expect(
        await a.contexts.deleteExpiredDeferred!(NOW, { event: SHARED(NOW), reserveIds: () => BASE }),
      ).toBe(1);
      holder.exec('BEGIN IMMEDIATE');
      // Deferred, and the lock held past busyTimeoutMs: the events are read from the deferred rows.
      const expected = [
        { ...SHARED(NOW), id: BASE, contextId: 'x', scope: 'session', version: 1 },
        { ...SHARED(T), id: 'e-1', contextId: 'x', scope: 'session' },
      ];
      expect((await a.audit.list()).items).toEqual(expected);
      expect(rawCount(path, 'SELECT count(*) FROM audit')).toBe(1);
      holder.exec('COMMIT');
      expect((await a.audit.list()).items).toEqual(expected);
      expect(rawCount(path, 'SELECT count(*) FROM audit')).toBe(2);
    } finally {
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
      await a.close();
    }
  });

  it('a create with the id of a deferred context settles first: its expire event precedes, the id is free', async () => {
    const { a, b } = openPair();
    try {
      await a.contexts.create(context('x', T + 1000));
      const ids = reserver();
      await a.contexts.deleteExpiredDeferred!(NOW, { event: SHARED(NOW), reserveIds: ids.reserveIds });
      await b.contexts.create(
        context('x', NOW + 5000, { version: 1, createdAt: NOW, data: { fresh: true } }),
      );
      expect((await a.contexts.get('x', { now: NOW }))?.data).toEqual({ fresh: true });
      expect(await allAudit(a.audit)).toEqual([
        { ...SHARED(NOW), id: ulidAdd(BASE, 0), contextId: 'x', scope: 'session', version: 1 },
      ]);
      // A live id is still a conflict.
      await expect(a.contexts.create(context('x', NOW + 5000))).rejects.toMatchObject({ code: 'CONFLICT' });
    } finally {
      await a.close();
      await b.close();
    }
  });

  describe('a clock stepped back cannot add to a deferred set: a write below the cutoff settles first', () => {
    const writes: Array<[string, string, (b: SqliteStorage) => Promise<unknown>]> = [
      // Created after the sweep, expiring before its cutoff: not swept by it.
      ['a create', 'late', (b) => b.contexts.create(context('late', T + 1500, { createdAt: T + 100 }))],
      // A live context's expiry moved below the cutoff: live until then.
      ['an update', 'upd', (b) => b.contexts.update('upd', 1, { expiresAt: T + 1200 }, T + 100)],
      ['a touch', 'tch', (b) => b.contexts.touch('tch', { at: T + 100, expiresAt: T + 1300 })],
    ];
    for (const [what, id, write] of writes) {
      it(what, async () => {
        const { a, b, path } = openPair({ touchFlushMax: 1 });
        try {
          await a.contexts.create(context('upd', T + 9000));
          await a.contexts.create(context('tch', T + 9000));
          await a.contexts.create(context('old', T + 1000));
          const ids = reserver();
          const sweep = () =>
            a.contexts.deleteExpiredDeferred!(NOW, { event: SHARED(NOW), reserveIds: ids.reserveIds });
          const pending = () => rawCount(path, 'SELECT count(*) FROM expiry_pending');
          expect(await sweep()).toBe(1);
          expect(pending()).toBe(1);
          await write(b);
          expect(pending()).toBe(0);
          expect(await a.contexts.get(id, { now: T + 200 })).toMatchObject({ id });
          expect(await a.contexts.count({}, { now: T + 200 })).toBe(id === 'late' ? 3 : 2);
          // The next sweep takes it, with the next id.
          expect(await sweep()).toBe(1);
          expect(ids.asked).toEqual([1, 1]);
          expect((await allAudit(b.audit)).map((e) => [e.id, e.contextId])).toEqual([
            [ulidAdd(BASE, 1), id],
            [ulidAdd(BASE, 0), 'old'],
          ]);
        } finally {
          await a.close();
          await b.close();
        }
      });
    }
  });

  it('survives a close between settling steps: the next open resumes, nothing lost or repeated', async () => {
    const path = join(dir, `crash${files++}.db`);
    const clock = createManualClock(T);
    let s = createSqliteStorage({ path, clock });
    for (let i = 0; i < 50; i++)
      await s.contexts.create(context(`c${String(i).padStart(2, '0')}`, T + 1000 + (i % 7)));
    const ids = reserver();
    expect(
      await s.contexts.deleteExpiredDeferred!(NOW, { event: SHARED(NOW), reserveIds: ids.reserveIds }),
    ).toBe(50);
    // Three steps' worth by hand, then closed before the background goes on.
    expect(await s.contexts.settleExpired!({ maxRows: 7 })).toBe(43);
    expect(await s.contexts.settleExpired!({ maxRows: 10 })).toBe(33);
    await s.close();
    expect(rawCount(path, 'SELECT count(*) FROM audit')).toBe(17);
    expect(rawCount(path, 'SELECT done FROM expiry_pending')).toBe(17);
    s = createSqliteStorage({ path, clock });
    try {
      expect(await s.contexts.count({}, { now: T })).toBe(0);
      const events = await allAudit(s.audit);
      // Expiry order, ties by id; the k-th gets the k-th reserved id.
      const order = Array.from({ length: 50 }, (_, i) => ({
        id: `c${String(i).padStart(2, '0')}`,
        e: T + 1000 + (i % 7),
      }))
        .sort((x, y) => x.e - y.e || (x.id < y.id ? -1 : 1))
        .map((c, k) => [ulidAdd(BASE, k), c.id]);
      expect(events.map((e) => [e.id, e.contextId]).reverse()).toEqual(order);
      expect(rawCount(path, 'SELECT count(*) FROM contexts')).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('a process killed while settling in the background: the next open completes it, nothing lost or repeated', async () => {
    const child = await buildChild('expire-child');
    const n = 6000;
    // 13 expiry times, k % 13, ties by id: the order the reserved ids follow.
    const order = Array.from({ length: n }, (_, k) => k)
      .sort((x, y) => (x % 13) - (y % 13) || x - y)
      .map((k) => `c${String(k).padStart(6, '0')}`);
    for (const delayMs of [0, 20, 60, 150]) {
      const path = join(dir, `kill${files++}.db`);
      await new Promise<void>((resolve, reject) => {
        const proc = fork(child, [path, String(n)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
        proc.on('message', (message: { type: string; n?: number; message?: string }) => {
          if (message.type === 'error') reject(new Error(message.message));
          else if (message.type === 'swept') {
            expect(message.n).toBe(n);
            setTimeout(() => proc.kill('SIGKILL'), delayMs);
          }
        });
        proc.on('exit', (_code, signal) =>
          signal === 'SIGKILL' ? resolve() : reject(new Error('exited early')),
        );
      });
      const settled = rawCount(path, 'SELECT count(*) FROM audit');
      expect(settled % 2000 === 0 || settled === n).toBe(true);
      const s = createSqliteStorage({ path, clock: createManualClock(T) });
      try {
        expect(await s.contexts.count({}, { now: T })).toBe(0);
        const events = await allAudit(s.audit);
        expect(events).toHaveLength(n);
        expect(events.map((e) => e.contextId).reverse()).toEqual(order);
        expect(events.map((e) => e.id).reverse()).toEqual(order.map((_, k) => ulidAdd(BASE, k)));
      } finally {
        await s.close();
      }
      expect(rawCount(path, 'SELECT count(*) FROM contexts')).toBe(0);
    }
  }, 60_000);

  it('three processes creating, moving expiries, sweeping, settling and reading at once: every create ends live or with exactly one expire event', async () => {
    const child = await buildChild('expire-contend-child');
    const path = join(dir, `contend${files++}.db`);
    await createSqliteStorage({ path }).close();
    const results = await Promise.all(
      [11, 22, 33].map(
        (seed) =>
          new Promise<{ created: Record<string, number>; swept: number }>((resolve, reject) => {
            const proc = fork(child, [path, String(seed), '1500'], {
              stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
            });
            let stderr = '';
            proc.stderr?.on('data', (chunk) => {
              stderr += chunk;
            });
            proc.on(
              'message',
              (m: { type: string; message?: string; created?: Record<string, number>; swept?: number }) => {
                if (m.type === 'error') reject(new Error(m.message));
                else resolve({ created: m.created!, swept: m.swept! });
              },
            );
            proc.on('exit', (code) =>
              code === 0 ? undefined : reject(new Error(`child exited ${code}: ${stderr}`)),
            );
          }),
      ),
    );
    const s = createSqliteStorage({ path });
    try {
      const events = (await allAudit(s.audit)).filter((e) => e.action === 'expire');
      const swept = results.reduce((sum, r) => sum + r.swept, 0);
      expect(swept).toBeGreaterThan(0);
      expect(events).toHaveLength(swept);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      const db = new Database(path, { readonly: true });
      const present = new Set(db.prepare('SELECT id FROM contexts').pluck().all() as string[]);
      db.close();
      const created = new Map<string, number>();
      for (const r of results)
        for (const [id, n] of Object.entries(r.created)) created.set(id, (created.get(id) ?? 0) + n);
      for (const [id, n] of created) {
        expect([id, events.filter((e) => e.contextId === id).length + (present.has(id) ? 1 : 0)]).toEqual([
          id,
          n,
        ]);
      }
    } finally {
      await s.close();
    }
  }, 120_000);

  it('a sweep that finds nothing new resumes what a closed connection left', async () => {
    const { a, b, path } = openPair();
    try {
      for (let i = 0; i < 5; i++) await a.contexts.create(context(`c${i}`, T + 1000));
      expect(
        await a.contexts.deleteExpiredDeferred!(NOW, { event: SHARED(NOW), reserveIds: () => BASE }),
      ).toBe(5);
      await a.close();
      expect(rawCount(path, 'SELECT count(*) FROM expiry_pending')).toBe(1);
      expect(
        await b.contexts.deleteExpiredDeferred!(NOW, { event: SHARED(NOW), reserveIds: () => BASE }),
      ).toBe(0);
      for (let i = 0; i < 100 && rawCount(path, 'SELECT count(*) FROM expiry_pending') > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(rawCount(path, 'SELECT count(*) FROM audit')).toBe(5);
      expect(rawCount(path, 'SELECT count(*) FROM expiry_pending')).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('settles in the background after the sweep', async () => {
    const path = join(dir, `bg${files++}.db`);
    const s = createSqliteStorage({ path, clock: createManualClock(T) });
    try {
      for (let i = 0; i < 4500; i += 500) {
        await Promise.all(
          Array.from({ length: 500 }, (_, x) => s.contexts.create(context(`k${i + x}`, T + 1000))),
        );
      }
      const ids = reserver();
      expect(
        await s.contexts.deleteExpiredDeferred!(NOW, { event: SHARED(NOW), reserveIds: ids.reserveIds }),
      ).toBe(4500);
      for (let i = 0; i < 200 && rawCount(path, 'SELECT count(*) FROM expiry_pending') > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(rawCount(path, 'SELECT count(*) FROM expiry_pending')).toBe(0);
      expect(rawCount(path, 'SELECT count(*) FROM audit')).toBe(4500);
      expect(rawCount(path, 'SELECT count(*) FROM contexts')).toBe(0);
    } finally {
      await s.close();
    }
  });

  describe('all or nothing', () => {
    it('reserveIds throwing: rejects with what it threw, nothing deferred', async () => {
      const { a, b } = openPair();
      try {
        await a.contexts.create(context('x', T + 1000));
        const boom = new Error('boom');
        await expect(
          a.contexts.deleteExpiredDeferred!(NOW, {
            event: SHARED(NOW),
            reserveIds: () => {
              throw boom;
            },
          }),
        ).rejects.toBe(boom);
        expect(await a.contexts.get('x', { now: T })).toMatchObject({ id: 'x' });
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('no ULID, an overflowing range or a bad event: VALIDATION; a reserved id already stored: CONFLICT', async () => {
      const { a, b } = openPair();
      try {
        await a.contexts.create(context('x', T + 1000));
        await a.contexts.create(context('y', T + 1000));
        const bad = async (options: ExpireDeferredOptions) => {
          const error = await a.contexts.deleteExpiredDeferred!(NOW, options).catch((e: unknown) => e);
          expect(ConvokitError.is(error)).toBe(true);
          return (error as ConvokitError).code;
        };
        expect(await bad({ event: SHARED(NOW), reserveIds: () => 'e-1' })).toBe('VALIDATION');
        expect(await bad({ event: SHARED(NOW), reserveIds: () => `01JD000000${'Z'.repeat(16)}` })).toBe(
          'VALIDATION',
        );
        expect(
          await bad({ event: { ...SHARED(NOW), action: 'nope' as 'expire' }, reserveIds: () => BASE }),
        ).toBe('VALIDATION');
        await a.audit.append([{ ...SHARED(T), id: ulidAdd(BASE, 1)!, contextId: 'z', scope: 'session' }]);
        expect(await bad({ event: SHARED(NOW), reserveIds: () => BASE })).toBe('CONFLICT');
        expect(await a.contexts.count({}, { now: T })).toBe(2);
        // An appended id inside a deferred range is a duplicate of an event stored logically.
        const first = ulidAdd(BASE, 10)!;
        expect(
          await a.contexts.deleteExpiredDeferred!(NOW, { event: SHARED(NOW), reserveIds: () => first }),
        ).toBe(2);
        await expect(
          b.audit.append([{ ...SHARED(T), id: ulidAdd(BASE, 11)!, contextId: 'z', scope: 'session' }]),
        ).rejects.toMatchObject({ code: 'CONFLICT' });
        // A second range overlapping the first: CONFLICT.
        await a.contexts.create(context('w', NOW + 10));
        const error = await a.contexts.deleteExpiredDeferred!(NOW + 20, {
          event: SHARED(NOW + 20),
          reserveIds: () => ulidAdd(BASE, 11)!,
        }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'CONFLICT' });
        expect((await allAudit(b.audit)).map((e) => e.id)).toEqual([
          ulidAdd(BASE, 11),
          ulidAdd(BASE, 10),
          ulidAdd(BASE, 1),
        ]);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});

// ---- the property: deferred expiry is indistinguishable from the memory adapter's eager one ----

const POOL = ['p', 'q', 'r', 's', 't'];
const time = fc.integer({ min: 0, max: 12 }).map((k) => T + k * 100);
const on = fc.constantFrom<'a' | 'b'>('a', 'b');
const idArb = fc.constantFrom(...POOL);
type Op =
  | { kind: 'create'; on: 'a' | 'b'; id: string; at: number; ttl: number | null }
  | { kind: 'update'; on: 'a' | 'b'; id: string; now: number; expiresAt: number | null }
  | { kind: 'delete'; on: 'a' | 'b'; id: string; now: number }
  | { kind: 'touch'; on: 'a' | 'b'; id: string; at: number; expiresAt: number | null }
  | { kind: 'sweep'; on: 'a' | 'b'; now: number }
  | { kind: 'settle'; on: 'a' | 'b'; rows: number }
  | { kind: 'read'; on: 'a' | 'b'; now: number }
  | { kind: 'audit'; on: 'a' | 'b'; readonly: boolean };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      on,
      id: idArb,
      at: time,
      ttl: fc.option(fc.integer({ min: 1, max: 6 }).map((k) => k * 100)),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      on,
      id: idArb,
      now: time,
      expiresAt: fc.option(time),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), on, id: idArb, now: time }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('touch' as const),
      on,
      id: idArb,
      at: time,
      expiresAt: fc.option(time),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('sweep' as const), on, now: time }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('settle' as const), on, rows: fc.integer({ min: 1, max: 3 }) }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), on, now: time }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('audit' as const), on, readonly: fc.boolean() }) },
);

/** What a call did, comparable across adapters: its value, or its error code. */
async function outcome<T>(call: () => Promise<T>): Promise<{ ok: T } | { error: string }> {
  try {
    return { ok: await call() };
  } catch (error) {
    if (ConvokitError.is(error)) return { error: error.code };
    throw error;
  }
}

describe('deferred expiry, property', () => {
  it('any interleaving of creates, writes, sweeps, settling steps and reads on two connections equals the eager sweep', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        const clock = createManualClock(T);
        const model = createMemoryStorage({ clock });
        const { a, b, path } = openPair({ touchFlushMax: 1 });
        const conns = { a, b };
        let modelNext = 0;
        const ids = reserver();
        try {
          for (const op of ops) {
            const s = conns[op.on];
            switch (op.kind) {
              case 'create': {
                const c = context(op.id, op.ttl === null ? undefined : op.at + op.ttl, {
                  createdAt: op.at,
                  updatedAt: op.at,
                  lastAccessedAt: op.at,
                });
                expect(await outcome(() => s.contexts.create(c))).toEqual(
                  await outcome(() => model.contexts.create(c)),
                );
                break;
              }
              case 'update': {
                const current = await model.contexts.get(op.id, { now: op.now });
                const version = current?.version ?? 1;
                const changes = op.expiresAt === null ? { data: { v: op.now } } : { expiresAt: op.expiresAt };
                expect(await outcome(() => s.contexts.update(op.id, version, changes, op.now))).toEqual(
                  await outcome(() => model.contexts.update(op.id, version, changes, op.now)),
                );
                break;
              }
              case 'delete':
                expect(await s.contexts.delete(op.id, { now: op.now })).toBe(
                  await model.contexts.delete(op.id, { now: op.now }),
                );
                break;
              case 'touch': {
                const touch = op.expiresAt === null ? { at: op.at } : { at: op.at, expiresAt: op.expiresAt };
                await s.contexts.touch(op.id, touch);
                await model.contexts.touch(op.id, touch);
                break;
              }
              case 'sweep': {
                const n = await s.contexts.deleteExpiredDeferred!(op.now, {
                  event: SHARED(op.now),
                  reserveIds: ids.reserveIds,
                });
                let k = 0;
                const deleted = await model.contexts.deleteExpiredAudited!(op.now, {
                  values: false,
                  event: (c) => ({
                    ...SHARED(op.now),
                    id: ulidAdd(BASE, modelNext + k++)!,
                    contextId: c.id,
                    scope: c.scope,
                    version: c.version,
                  }),
                });
                modelNext += deleted.length;
                expect(n).toBe(deleted.length);
                break;
              }
              case 'settle':
                await s.contexts.settleExpired!({ maxRows: op.rows });
                break;
              case 'read': {
                await a.flush();
                await b.flush();
                const page = { now: op.now, limit: 100 };
                expect((await s.contexts.list({}, page)).items).toEqual(
                  (await model.contexts.list({}, page)).items,
                );
                expect(await s.contexts.count({ ownerId: 'u' }, { now: op.now })).toBe(
                  await model.contexts.count({ ownerId: 'u' }, { now: op.now }),
                );
                for (const id of POOL) {
                  expect(await s.contexts.get(id, { now: op.now })).toEqual(
                    await model.contexts.get(id, { now: op.now }),
                  );
                }
                break;
              }
              case 'audit': {
                // A read-only connection reads the deferred events without writing them out.
                const r = op.readonly ? createSqliteStorage({ path, readonly: true }) : undefined;
                try {
                  expect(await allAudit((r ?? s).audit)).toEqual(await allAudit(model.audit));
                } finally {
                  await r?.close();
                }
                break;
              }
            }
          }
          expect(await allAudit(b.audit)).toEqual(await allAudit(model.audit));
        } finally {
          await a.close();
          await b.close();
          await model.close();
        }
      }),
      { numRuns: 300 },
    );
  });
});
