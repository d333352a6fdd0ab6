import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Context, ContextScopeSchema, createLogger, createManualClock } from '@convokit/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContextStore } from '../src/contexts.js';
import { createExpiryLedger } from '../src/expiry.js';
import { createSqliteStorage } from '../src/index.js';
import { openConnection } from '../src/storage.js';

const T = Date.UTC(2026, 10, 1);
let dir = '';
let n = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'convokit-contexts-list-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function context(id: string, scope: Context['scope'], createdAt: number, expiresAt?: number): Context {
  const c: Context = {
    id,
    scope,
    data: { id },
    metadata: {},
    version: 1,
    createdAt,
    updatedAt: createdAt,
    accessCount: 0,
    lastAccessedAt: createdAt,
  };
  if (expiresAt !== undefined) c.expiresAt = expiresAt;
  return c;
}

describe('a list with no filter (schema 10: merged from the per-scope ranges of contexts_scope)', () => {
  it('pages every live context in (createdAt, id) order, whatever the scopes, ties and page size', async () => {
    const entry = fc.record({
      scope: fc.constantFrom(...ContextScopeSchema.options),
      created: fc.integer({ min: 0, max: 5 }),
      expires: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(entry, { maxLength: 30 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 0, max: 8 }),
        async (entries, limit, nowOffset) => {
          const storage = createSqliteStorage({
            path: join(dir, `p${++n}.db`),
            clock: createManualClock(T),
          });
          try {
            const stored = entries.map((e, i) =>
              // Ids in reverse of insertion order, so storage order is no help.
              context(
                `c${String(99 - i).padStart(2, '0')}`,
                e.scope,
                T + e.created,
                e.expires === undefined ? undefined : T + e.expires,
              ),
            );
            for (const c of stored) await storage.contexts.create(c);
            const now = T + nowOffset;
            const expected = stored
              .filter((c) => c.expiresAt === undefined || c.expiresAt > now)
              .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
              .map((c) => c.id);
            const got: string[] = [];
            let cursor: string | undefined;
            for (let pages = 0; pages <= expected.length; pages++) {
              const page = await storage.contexts.list(
                {},
                { limit, now, ...(cursor === undefined ? {} : { cursor }) },
              );
              expect(page.items.length).toBeLessThanOrEqual(limit);
              got.push(...page.items.map((c) => c.id));
              if (page.nextCursor === null) break;
              cursor = page.nextCursor;
            }
            expect(got).toEqual(expected);
            expect(await storage.contexts.count({}, { now })).toBe(expected.length);
          } finally {
            await storage.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('reads each scope from contexts_scope, from the cursor on: no scan of the table', async () => {
    const path = join(dir, 'plan.db');
    await createSqliteStorage({ path }).close();
    const conn = openConnection({ path });
    const seen: string[] = [];
    const prepare = conn.prepare.bind(conn);
    conn.prepare = (sql: string) => {
      seen.push(sql);
      return prepare(sql);
    };
    const logger = createLogger('test');
    const { store } = createContextStore(conn, {
      clock: createManualClock(T),
      logger,
      touchFlushMs: 1000,
      touchFlushMax: 1000,
      expiry: createExpiryLedger(conn, logger, false),
    });
    try {
      for (let i = 0; i < 3; i++) await store.create(context(`g${i}`, 'global', T + i));
      const first = await store.list({}, { limit: 2 });
      seen.length = 0;
      await store.list({}, { limit: 2, cursor: first.nextCursor! });
      const sql = seen.find((q) => q.includes('UNION ALL'))!;
      const plan = (
        conn.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...Array(31).fill(0)) as { detail: string }[]
      ).map((r) => r.detail);
      const reads = plan.filter((d) => d.includes(' contexts '));
      expect(reads).toEqual(
        Array(6).fill('SEARCH contexts USING INDEX contexts_scope (scope=? AND (created_at,id)>(?,?))'),
      );
      const indexes = (
        conn.db
          .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'contexts'")
          .all() as {
          name: string;
        }[]
      ).map((r) => r.name);
      expect(indexes).not.toContain('contexts_created');
    } finally {
      conn.db.close();
    }
  });
});
