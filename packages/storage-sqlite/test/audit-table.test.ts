import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AuditEvent, ConvokitError } from '@convokit/core';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStorage, SCHEMA_VERSION } from '../src/index.js';
import { MIGRATIONS } from '../src/migrations.js';

const T = Date.UTC(2026, 10, 1);

/** The audit table as versions 1 to 6 created it: a rowid table beside a separate id index. */
const ROWID_AUDIT_DDL = `
DROP TABLE audit;
CREATE TABLE audit (
  id TEXT PRIMARY KEY, at INTEGER NOT NULL, principal TEXT NOT NULL, action TEXT NOT NULL, context_id TEXT NOT NULL,
  scope TEXT NOT NULL, outcome TEXT NOT NULL, changed_keys TEXT NOT NULL, attempted_action TEXT, version INTEGER
);
CREATE INDEX audit_at ON audit (at, id);
CREATE INDEX audit_context ON audit (context_id, at, id);
CREATE INDEX audit_principal ON audit (principal, at, id);
`;

/** The schema version this change brings: the index of its step, plus one. */
const AUDIT_WITHOUT_ROWID =
  MIGRATIONS.findIndex((m) => m.description === 'audit as a WITHOUT ROWID table keyed by event id') + 1;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'convokit-audit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

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

function auditSql(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare("SELECT sql FROM sqlite_master WHERE name = 'audit'").get() as { sql: string }).sql;
  } finally {
    db.close();
  }
}

describe('the audit table keyed by event id (WITHOUT ROWID)', () => {
  it('migrates the rowid audit table of the version before, keeping every event', async () => {
    expect(AUDIT_WITHOUT_ROWID).toBeGreaterThan(5);
    const path = join(dir, 'old.db');
    // Today's schema with this step undone, at the version before it.
    await createSqliteStorage({ path }).close();
    const db = new Database(path);
    db.exec(`${ROWID_AUDIT_DDL}PRAGMA user_version = ${AUDIT_WITHOUT_ROWID - 1};`);
    const insert = db.prepare(
      'INSERT INTO audit (id, at, principal, action, context_id, scope, outcome, changed_keys, attempted_action, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    insert.run('e1', T, 'u1', 'create', 'c1', 'session', 'ok', '["a","b"]', null, 1);
    insert.run('e2', T + 5, 'u2', 'deny', 'c1', 'global', 'denied', '[]', 'update', null);
    insert.run('e3', T + 5, 'system', 'expire', 'c2', 'session', 'ok', '[]', null, 3);
    db.close();
    expect(auditSql(path)).not.toMatch(/WITHOUT ROWID/);

    await using storage = createSqliteStorage({ path });
    expect(auditSql(path)).toMatch(/WITHOUT ROWID/);
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const indexes = raw
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit' ORDER BY name")
      .all()
      .map((r) => (r as { name: string }).name);
    raw.close();
    // The primary key is the table itself: no autoindex beside it.
    expect(indexes).toEqual(['audit_at', 'audit_context', 'audit_principal']);
    expect((await storage.audit!.list({}, { limit: 10 })).items).toEqual([
      event('e3', { at: T + 5, contextId: 'c2', version: 3 }),
      {
        id: 'e2',
        at: T + 5,
        principal: 'u2',
        action: 'deny',
        contextId: 'c1',
        scope: 'global',
        outcome: 'denied',
        changedKeys: [],
        attemptedAction: 'update',
      },
      event('e1', { principal: 'u1', action: 'create', contextId: 'c1', changedKeys: ['a', 'b'] }),
    ]);
    expect((await storage.audit!.list({ contextId: 'c1' }, { limit: 10 })).items.map((e) => e.id)).toEqual([
      'e2',
      'e1',
    ]);
    const dup = await storage.audit!.append([event('e2')]).catch((e) => e);
    expect(ConvokitError.is(dup) && [dup.code, dup.details]).toEqual([
      'CONFLICT',
      { where: 'audit.append', id: 'e2' },
    ]);
  });

  it('list reads each filter off its index, newest first, with no sort', async () => {
    const path = join(dir, 'plan.db');
    await createSqliteStorage({ path }).close();
    const db = new Database(path, { readonly: true });
    const plan = (where: string) =>
      db
        .prepare(`EXPLAIN QUERY PLAN SELECT * FROM audit ${where} ORDER BY at DESC, id DESC LIMIT 10`)
        .all()
        .map((r) => (r as { detail: string }).detail);
    expect(plan('')).toEqual(['SCAN audit USING INDEX audit_at']);
    expect(plan("WHERE context_id = 'c'")).toEqual(['SEARCH audit USING INDEX audit_context (context_id=?)']);
    expect(plan("WHERE principal = 'p'")).toEqual(['SEARCH audit USING INDEX audit_principal (principal=?)']);
    db.close();
  });
});

describe('audit.append: one statement without a transaction when the batch fits in one', () => {
  it('a duplicate id in any batch is CONFLICT naming the first duplicate, and nothing of the batch is written', async () => {
    await using storage = createSqliteStorage({ path: join(dir, 'dup.db') });
    await storage.audit!.append([event('stored')]);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 140 }),
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        async (size, a, b, againstStored) => {
          run++;
          const batch = Array.from({ length: size }, (_, i) => event(`r${run}-${i}`));
          const at = a % size;
          // Either an id already stored, or an earlier id of the same batch.
          const duplicate = !againstStored && at > 0 ? batch[b % at]!.id : 'stored';
          batch[at] = event(duplicate);
          const error = await storage.audit!.append(batch).catch((e) => e);
          expect(ConvokitError.is(error) && [error.code, error.details]).toEqual([
            'CONFLICT',
            { where: 'audit.append', id: duplicate },
          ]);
        },
      ),
      { numRuns: 60 },
    );
    expect((await storage.audit!.list({}, { limit: 1000 })).items.map((e) => e.id)).toEqual(['stored']);
  });

  it('appends one event, and batches up to the statement size, as given', async () => {
    await using storage = createSqliteStorage({ path: join(dir, 'one.db') });
    const single = event('a0', { changedKeys: ['k'], action: 'create', principal: 'u' });
    await storage.audit!.append([single]);
    const batch = Array.from({ length: 64 }, (_, i) =>
      event(`b${String(i).padStart(2, '0')}`, { at: T + 1 + i }),
    );
    await storage.audit!.append(batch);
    const listed = (await storage.audit!.list({}, { limit: 100 })).items;
    expect(listed).toEqual([...batch].reverse().concat(single));
  });
});
