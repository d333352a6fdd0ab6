import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AuditEvent,
  AuditEventSchema,
  type Context,
  ConvokitError,
  createManualClock,
  isKey,
  validate,
} from '@convokit/core';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStorage, SCHEMA_VERSION } from '../src/index.js';
import { sessionContext, T } from './fixtures/contexts.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'convokit-sweep-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const context = (id: string, expiresAt: number | undefined, extra: Partial<Context> = {}): Context =>
  sessionContext(id, expiresAt, { data: { n: id }, metadata: { m: 1 }, ...extra });

function event(id: string, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id,
    at: T,
    principal: 'system',
    action: 'expire',
    contextId: `c-${id}`,
    scope: 'session',
    outcome: 'ok',
    changedKeys: [],
    version: 1,
    ...overrides,
  };
}

describe('schema version 5: the (expires_at, id) expiry index', () => {
  it('migrates a version-4 database, keeping its contexts, and sweeps it', async () => {
    const path = join(dir, 'v4.db');
    // A version-4 database: today's schema with version 5's one change undone.
    await (await createSqliteStorage({ path })).close();
    const db = new Database(path);
    db.exec(`DROP INDEX contexts_expiry;
CREATE INDEX contexts_expires ON contexts (expires_at) WHERE expires_at IS NOT NULL;
PRAGMA user_version = 4;`);
    db.prepare(
      `INSERT INTO contexts (id, scope, owner_id, session_id, persona, parent_id, data, metadata, version, created_at, updated_at, expires_at, access_count, last_accessed_at)
       VALUES (?, 'session', 'u', NULL, NULL, NULL, '{"a":1}', '{}', 2, ?, ?, ?, 0, ?)`,
    ).run('old', T, T, T + 10, T);
    db.close();

    await using storage = await createSqliteStorage({ path });
    const raw = new Database(path, { readonly: true });
    const indexes = raw
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'contexts'")
      .all()
      .map((r) => (r as { name: string }).name);
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    raw.close();
    expect(indexes).toContain('contexts_expiry');
    expect(indexes).not.toContain('contexts_expires');
    expect(await storage.contexts!.deleteExpired(T + 10, { values: false })).toStrictEqual([
      {
        id: 'old',
        scope: 'session',
        ownerId: 'u',
        version: 2,
        createdAt: T,
        updatedAt: T,
        expiresAt: T + 10,
        accessCount: 0,
        lastAccessedAt: T,
      },
    ]);
  });

  it('a limited sweep reads its batch (rowids) off the index alone, with no sort of every expired context', async () => {
    const path = join(dir, 'plan.db');
    await (await createSqliteStorage({ path })).close();
    const db = new Database(path, { readonly: true });
    const plan = db
      .prepare(
        'EXPLAIN QUERY PLAN SELECT rowid FROM contexts WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at, id LIMIT ?',
      )
      .all(T, 10)
      .map((r) => (r as { detail: string }).detail);
    db.close();
    expect(plan).toEqual([
      'SEARCH contexts USING COVERING INDEX contexts_expiry (expires_at>? AND expires_at<?)',
    ]);
  });
});

describe('deleteExpired', () => {
  it('deletes in (expiresAt, id) batches, with or without values, the same contexts in the same order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), {
          minLength: 0,
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 7 }),
        async (offsets, limit) => {
          const contexts = offsets.map((o, i) =>
            context(`c${String(i).padStart(2, '0')}`, o === undefined ? undefined : T + o * 10),
          );
          const batches: Record<'full' | 'bare', string[][]> = { full: [], bare: [] };
          for (const mode of ['full', 'bare'] as const) {
            const path = join(dir, `${mode}-${Math.random()}.db`);
            await using storage = await createSqliteStorage({ path, clock: createManualClock(T) });
            // Created in reverse, so the row order is not the expiry order.
            for (const c of [...contexts].reverse()) await storage.contexts!.create(c);
            for (;;) {
              const got =
                mode === 'full'
                  ? await storage.contexts!.deleteExpired(T + 30, { limit })
                  : await storage.contexts!.deleteExpired(T + 30, { limit, values: false });
              for (const c of got) {
                const stored = contexts.find((x) => x.id === c.id)!;
                if (mode === 'full') expect(c).toEqual(stored);
                else expect(c).toStrictEqual(strip(stored));
              }
              if (got.length > 0) batches[mode].push(got.map((c) => c.id));
              if (got.length < limit) break;
            }
            expect(await storage.contexts!.count({}, { now: T })).toBe(
              contexts.filter((c) => c.expiresAt === undefined || c.expiresAt > T + 30).length,
            );
          }
          const expected = contexts
            .filter((c) => c.expiresAt !== undefined && c.expiresAt <= T + 30)
            .sort((a, b) => a.expiresAt! - b.expiresAt! || (a.id < b.id ? -1 : 1))
            .map((c) => c.id);
          expect(batches.full.flat()).toEqual(expected);
          expect(batches.bare).toEqual(batches.full);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('without values, every stored field comes back in its place, optional ones only when set', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record(
            {
              ownerId: fc.constantFrom('o1', 'o2'),
              sessionId: fc.constantFrom('s1', 's2'),
              persona: fc.constantFrom('p1', 'p2'),
              parentId: fc.constantFrom('x1', 'x2'),
            },
            { requiredKeys: [] },
          ),
          { minLength: 1, maxLength: 8 },
        ),
        fc.nat({ max: 50 }),
        async (optionals, spread) => {
          const path = join(dir, `fields-${Math.random()}.db`);
          await using storage = await createSqliteStorage({ path, clock: createManualClock(T) });
          const stored = optionals.map((o, i) => {
            const { ownerId: _owner, ...base } = context(`f${i}`, T + i, {
              version: 1 + ((i * 7) % 5),
              createdAt: T - 100 - i,
              updatedAt: T - 50 + i,
              accessCount: i * 3,
              lastAccessedAt: T - spread - i,
              scope: i % 2 === 0 ? 'session' : 'conversation',
            });
            return { ...base, ...o } as Context;
          });
          for (const c of stored) await storage.contexts!.create(c);
          const got = await storage.contexts!.deleteExpired(T + 100, { values: false });
          expect(got).toStrictEqual(stored.map(strip));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('rejects a values option that is not a boolean, deleting nothing', async () => {
    await using storage = await createSqliteStorage({ path: join(dir, 'bad.db') });
    await storage.contexts!.create(context('a', T));
    const error = await storage.contexts!.deleteExpired(T, { values: 'no' as never }).catch((e) => e);
    expect(ConvokitError.is(error) && error.code).toBe('VALIDATION');
    expect(await storage.contexts!.count({}, { now: T - 1 })).toBe(1);
  });
});

function strip(c: Context): Omit<Context, 'data' | 'metadata'> {
  const { data: _data, metadata: _metadata, ...rest } = c;
  return rest;
}

describe('audit.append', () => {
  it('appends batches of every size across the multi-row statements, in order', async () => {
    await using storage = await createSqliteStorage({ path: join(dir, 'audit.db') });
    const sizes = [1, 63, 64, 65, 200];
    let n = 0;
    const all: AuditEvent[] = [];
    for (const size of sizes) {
      const batch = Array.from({ length: size }, () => {
        n++;
        return event(`e${String(n).padStart(4, '0')}`, {
          at: T + n,
          changedKeys: n % 3 === 0 ? ['a', 'b'] : [],
          ...(n % 5 === 0
            ? { outcome: 'denied' as const, action: 'deny' as const, attemptedAction: 'update' as const }
            : {}),
          ...(n % 7 === 0 ? { version: undefined } : {}),
        });
      });
      for (const e of batch) if (e.version === undefined) delete e.version;
      await storage.audit!.append(batch);
      all.push(...batch);
    }
    const listed = await storage.audit!.list({}, { limit: 1000 });
    expect(listed.items).toEqual([...all].reverse());
  });

  it('a duplicate id inside a multi-row batch is CONFLICT naming it, and nothing of the batch is written', async () => {
    await using storage = await createSqliteStorage({ path: join(dir, 'dup.db') });
    await storage.audit!.append([event('stored')]);
    const batch = Array.from({ length: 130 }, (_, i) => event(`b${String(i).padStart(3, '0')}`));
    batch[100] = event('b007');
    const inside = await storage.audit!.append(batch).catch((e) => e);
    expect(ConvokitError.is(inside) && [inside.code, inside.details]).toEqual([
      'CONFLICT',
      { where: 'audit.append', id: 'b007' },
    ]);
    const again = Array.from({ length: 70 }, (_, i) => event(`c${String(i).padStart(3, '0')}`));
    again[3] = event('stored');
    const stored = await storage.audit!.append(again).catch((e) => e);
    expect(ConvokitError.is(stored) && [stored.code, stored.details]).toEqual([
      'CONFLICT',
      { where: 'audit.append', id: 'stored' },
    ]);
    expect((await storage.audit!.list({}, { limit: 1000 })).items.map((e) => e.id)).toEqual(['stored']);
  });

  it('rejects what AuditEventSchema rejects, with the schema error, before writing', async () => {
    await using storage = await createSqliteStorage({ path: join(dir, 'bad-audit.db') });
    const field = fc.constantFrom<keyof AuditEvent | 'extra'>(
      'id',
      'at',
      'principal',
      'action',
      'contextId',
      'scope',
      'outcome',
      'changedKeys',
      'attemptedAction',
      'version',
      'extra',
    );
    const bad = fc.constantFrom<unknown>(
      '',
      -1,
      1.5,
      'x\u0001',
      'a'.repeat(257),
      null,
      'planet',
      [1],
      ['k'.repeat(257)],
      Number.NaN,
      0,
      {},
      Array.from({ length: 1001 }, () => 'k'),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(field, bad, fc.integer({ min: 0, max: 70 }), async (key, value, at) => {
        // A valid replacement id could repeat one appended by an earlier run (a CONFLICT, not the point).
        fc.pre(!(key === 'id' && typeof value === 'string' && isKey(value)));
        const batch = Array.from({ length: 71 }, (_, i) => event(`p${n}-${i}`));
        n++;
        (batch[at] as Record<string, unknown>)[key] = value;
        let expected: unknown;
        try {
          validate(AuditEventSchema.array(), batch, 'audit.append');
        } catch (error) {
          expected = error;
        }
        const got = await storage.audit!.append(batch).then(
          () => undefined,
          (e) => e,
        );
        if (expected === undefined) expect(got).toBeUndefined();
        else {
          expect(ConvokitError.is(got)).toBe(true);
          expect([got.code, got.message, got.details]).toEqual([
            'VALIDATION',
            (expected as ConvokitError).message,
            (expected as ConvokitError).details,
          ]);
        }
      }),
      { numRuns: 120 },
    );
    const kept = (await storage.audit!.list({}, { limit: 1000 })).items;
    expect(kept.every((e) => AuditEventSchema.safeParse(e).success)).toBe(true);
  });
});
