import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConvokitError,
  DAY_MS,
  type GroupKey,
  HOUR_MS,
  LatencyHistogram,
  latencyBucket,
  type Measure,
  normalizeTurnFilter,
  type Turn,
  tokenize,
} from '@convokit/core';
import { createMemoryStorage } from '@convokit/storage-memory';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aggregateTurns } from '../src/aggregate.js';
import { createSqliteStorage, SCHEMA_VERSION } from '../src/index.js';
import { MIGRATIONS } from '../src/migrations.js';
import { mergeHist } from '../src/rollups.js';
import { ftsPage, searchHitsOf } from '../src/search.js';
import { scoreFromPostings } from '../src/search-rank.js';
import { openConnection } from '../src/storage.js';

/**
 * Schema version 1 as released: turns, child name tables, FTS5, contexts and audit, no rollups.
 * Kept here verbatim so the upgrade path is tested against what old databases really hold.
 */
const V1_DDL = `
CREATE TABLE turns (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, session_id TEXT NOT NULL, conversation_id TEXT, user_id TEXT,
  at INTEGER NOT NULL, persona TEXT, outcome TEXT NOT NULL, error_code TEXT, latency_ms REAL, latency_bucket INTEGER,
  tokens_in INTEGER, tokens_out INTEGER, feedback REAL, frameworks TEXT NOT NULL, tools TEXT NOT NULL,
  mcp_servers TEXT NOT NULL
);
CREATE TABLE turn_texts (seq INTEGER PRIMARY KEY, user_input TEXT NOT NULL, assistant_response TEXT NOT NULL, metadata TEXT);
CREATE INDEX turns_at ON turns (at, id, session_id, user_id);
CREATE INDEX turns_session ON turns (session_id, at, id);
CREATE INDEX turns_user ON turns (user_id, at, session_id);
CREATE INDEX turns_persona ON turns (persona, at, session_id, user_id);
CREATE INDEX turns_conversation ON turns (conversation_id, at);
CREATE TABLE turn_frameworks (seq INTEGER NOT NULL, name TEXT NOT NULL, PRIMARY KEY (seq, name)) WITHOUT ROWID;
CREATE INDEX turn_frameworks_name ON turn_frameworks (name, seq);
CREATE TABLE turn_tools (seq INTEGER NOT NULL, name TEXT NOT NULL, PRIMARY KEY (seq, name)) WITHOUT ROWID;
CREATE INDEX turn_tools_name ON turn_tools (name, seq);
CREATE TABLE turn_mcp_servers (seq INTEGER NOT NULL, name TEXT NOT NULL, PRIMARY KEY (seq, name)) WITHOUT ROWID;
CREATE INDEX turn_mcp_servers_name ON turn_mcp_servers (name, seq);
CREATE VIRTUAL TABLE turns_fts USING fts5(terms, content = '', contentless_delete = 1,
  tokenize = 'unicode61 remove_diacritics 0');
CREATE TABLE contexts (
  id TEXT PRIMARY KEY, scope TEXT NOT NULL, owner_id TEXT, session_id TEXT, persona TEXT, parent_id TEXT,
  data TEXT NOT NULL, metadata TEXT NOT NULL, version INTEGER NOT NULL, created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL, expires_at INTEGER, access_count INTEGER NOT NULL, last_accessed_at INTEGER NOT NULL
);
CREATE INDEX contexts_created ON contexts (created_at, id);
CREATE INDEX contexts_scope ON contexts (scope, created_at, id);
CREATE INDEX contexts_owner ON contexts (owner_id, created_at, id) WHERE owner_id IS NOT NULL;
CREATE INDEX contexts_session ON contexts (session_id, created_at, id) WHERE session_id IS NOT NULL;
CREATE INDEX contexts_parent ON contexts (parent_id, created_at, id) WHERE parent_id IS NOT NULL;
CREATE INDEX contexts_persona ON contexts (persona, created_at, id) WHERE persona IS NOT NULL;
CREATE INDEX contexts_expires ON contexts (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE audit (
  id TEXT PRIMARY KEY, at INTEGER NOT NULL, principal TEXT NOT NULL, action TEXT NOT NULL, context_id TEXT NOT NULL,
  scope TEXT NOT NULL, outcome TEXT NOT NULL, changed_keys TEXT NOT NULL, attempted_action TEXT, version INTEGER
);
CREATE INDEX audit_at ON audit (at, id);
CREATE INDEX audit_context ON audit (context_id, at, id);
CREATE INDEX audit_principal ON audit (principal, at, id);
PRAGMA user_version = 1;
`;

const T0 = Date.UTC(2026, 2, 2, 9);

/** A version-1 database with three turns, a context and an audit event, written as v1 code did. */
function buildV1(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(V1_DDL);
  const insert =
    db.prepare(`INSERT INTO turns (id, session_id, at, persona, outcome, latency_ms, latency_bucket,
    frameworks, tools, mcp_servers, tokens_in, tokens_out)
    VALUES (?, 's1', ?, ?, ?, ?, ?, ?, '[]', '[]', 10, 20)`);
  const rows: Array<[string, number, string | null, string, number, number, string, string[]]> = [
    ['a', T0, 'analyst', 'ok', 100, latencyBucket(100), 'pricing question', ['okr']],
    ['b', T0 + 1000, 'analyst', 'error', 250, latencyBucket(250), 'budget question', ['okr', 'swot']],
    ['c', T0 + HOUR_MS, null, 'ok', 100, latencyBucket(100), 'pricing follow-up', []],
  ];
  for (const [id, at, persona, outcome, latency, bucket, text, frameworks] of rows) {
    const seq = insert.run(
      id,
      at,
      persona,
      outcome,
      latency,
      bucket,
      JSON.stringify(frameworks),
    ).lastInsertRowid;
    db.prepare('INSERT INTO turn_texts (seq, user_input, assistant_response) VALUES (?, ?, ?)').run(
      seq,
      text,
      'noted',
    );
    // v1 indexed core terms of both texts, space-separated.
    db.prepare('INSERT INTO turns_fts (rowid, terms) VALUES (?, ?)').run(
      seq,
      `${tokenize(text).join(' ')} noted`,
    );
    for (const name of frameworks)
      db.prepare('INSERT INTO turn_frameworks (seq, name) VALUES (?, ?)').run(seq, name);
  }
  db.prepare(
    `INSERT INTO contexts VALUES ('ctx', 'global', NULL, NULL, NULL, NULL, '{"k":1}', '{}', 3, 1, 2, NULL, 5, 2)`,
  ).run();
  db.prepare(
    `INSERT INTO audit VALUES ('e1', 5, 'p', 'update', 'ctx', 'global', 'ok', '["k"]', NULL, 3)`,
  ).run();
  db.close();
}

/** What schema version 2 added: hourly and daily rollups (kept verbatim, as v2 databases hold them). */
const V2_DDL = `
CREATE TABLE rollups (
  dim TEXT NOT NULL, hour INTEGER NOT NULL, key TEXT NOT NULL, count INTEGER NOT NULL, errors INTEGER NOT NULL,
  tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, feedback_sum REAL NOT NULL, feedback_count INTEGER NOT NULL,
  latency_count INTEGER NOT NULL, latency_sum REAL NOT NULL, latency_min REAL, latency_max REAL,
  first_at INTEGER NOT NULL, last_at INTEGER NOT NULL, PRIMARY KEY (dim, hour, key)
) WITHOUT ROWID;
CREATE TABLE rollups_day (
  dim TEXT NOT NULL, day INTEGER NOT NULL, key TEXT NOT NULL, count INTEGER NOT NULL, errors INTEGER NOT NULL,
  tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, feedback_sum REAL NOT NULL, feedback_count INTEGER NOT NULL,
  latency_count INTEGER NOT NULL, latency_sum REAL NOT NULL, latency_min REAL, latency_max REAL,
  first_at INTEGER NOT NULL, last_at INTEGER NOT NULL, PRIMARY KEY (dim, day, key)
) WITHOUT ROWID;
CREATE TABLE rollup_latency (
  dim TEXT NOT NULL, hour INTEGER NOT NULL, key TEXT NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (dim, hour, key, bucket)
) WITHOUT ROWID;
CREATE TABLE rollup_latency_day (
  dim TEXT NOT NULL, day INTEGER NOT NULL, key TEXT NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (dim, day, key, bucket)
) WITHOUT ROWID;
PRAGMA user_version = 2;
`;

/**
 * A version-2 database: the version-1 data plus v2's rollup tables. Their rows are left out (v3
 * rebuilds every rollup, so what v2 had written there cannot change the outcome), except one
 * deliberately wrong row that the rebuild must replace.
 */
function buildV2(path: string): void {
  buildV1(path);
  const db = new Database(path);
  db.exec(V2_DDL);
  db.prepare(`INSERT INTO rollups_day VALUES ('', ?, '', 99, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, ?, ?)`).run(
    T0 - (T0 % (24 * HOUR_MS)),
    T0,
    T0,
  );
  db.close();
}

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'convokit-sqlite-migrate-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('schema migrations', () => {
  it('opens a version-1 database: data kept, rollups built, schema current', async () => {
    const path = join(dir, 'v1.db');
    buildV1(path);
    const storage = createSqliteStorage({ path });
    try {
      expect(await storage.turns.count()).toBe(3);
      expect((await storage.turns.get('b'))?.frameworks).toEqual(['okr', 'swot']);
      expect((await storage.turns.search('pricing')).map((h) => h.turn.id).sort()).toEqual(['a', 'c']);
      const ctx = await storage.contexts.get('ctx', { now: 10 });
      expect(ctx).toMatchObject({ version: 3, data: { k: 1 }, accessCount: 5 });
      expect((await storage.audit.list()).items.map((e) => e.id)).toEqual(['e1']);

      // The rollups the migration built from the old turns answer like a scan.
      const analystP50 = new LatencyHistogram().add(100).add(250).quantile(0.5);
      expect(analystP50).toBeCloseTo(100.49, 2);
      const result = await storage.turns.aggregate({
        filter: { from: T0, to: T0 + 2 * HOUR_MS },
        groupBy: ['persona'],
        measures: ['count', 'errors', 'latencyAvg', 'latencyP50', 'tokensIn'],
      });
      expect(result.rows).toEqual([
        { keys: [null], values: { count: 1, errors: 0, latencyAvg: 100, latencyP50: 100, tokensIn: 10 } },
        {
          keys: ['analyst'],
          // Nearest rank 1 of 2: the bucket of 100 ms, reported at its representative value.
          values: { count: 2, errors: 1, latencyAvg: 175, latencyP50: analystP50, tokensIn: 20 },
        },
      ]);
      // New writes work on the migrated schema.
      await storage.turns.append([
        {
          id: 'd',
          sessionId: 's2',
          at: T0 + 5,
          userInput: 'new',
          assistantResponse: 'turn',
          frameworks: ['swot'],
          tools: [],
          mcpServers: [],
          outcome: 'ok',
        },
      ]);
      expect(await storage.turns.count({ framework: 'swot' })).toBe(2);
    } finally {
      await storage.close();
    }

    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      const tables = (
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
      ).map((t) => t.name);
      expect(tables).toEqual(expect.arrayContaining(['rollups', 'rollups_day']));
    } finally {
      db.close();
    }
    const conn = openConnection({ path });
    try {
      const spec = {
        groupBy: ['framework' as const, 'hour' as const],
        measures: ['count' as const, 'latencyP95' as const],
      };
      expect(await aggregateTurns(conn, spec)).toEqual(
        await aggregateTurns(conn, spec, 'test', { plan: 'base' }),
      );
    } finally {
      conn.db.close();
    }
  });

  it('opens a version-2 database: distinct, session and pair rollups built from the turns, schema current', async () => {
    const path = join(dir, 'v2.db');
    buildV2(path);
    const storage = createSqliteStorage({ path });
    try {
      expect(await storage.turns.count()).toBe(3);
      // Hand-computed from buildV1's turns: all in session s1, none with a user.
      const byPersona = await storage.turns.aggregate({
        groupBy: ['persona'],
        measures: ['count', 'sessions', 'users'],
      });
      expect(byPersona.rows).toEqual([
        { keys: [null], values: { count: 1, sessions: 1, users: 0 } },
        { keys: ['analyst'], values: { count: 2, sessions: 1, users: 0 } },
      ]);
      const sessions = await storage.turns.aggregate({
        groupBy: ['session'],
        measures: ['count', 'firstAt', 'lastAt'],
        orderBy: { measure: 'lastAt', direction: 'desc' },
        limit: 5,
      });
      expect(sessions).toEqual({
        rows: [{ keys: ['s1'], values: { count: 3, firstAt: T0, lastAt: T0 + HOUR_MS } }],
        totalGroups: 1,
      });
      const pairs = await storage.turns.aggregate({
        groupBy: ['framework', 'framework'],
        measures: ['count'],
      });
      expect(pairs.rows).toEqual([{ keys: ['okr', 'swot'], values: { count: 1 } }]);
      // New writes keep them: a second session, by a user, two days later.
      await storage.turns.append([
        {
          id: 'd',
          sessionId: 's2',
          userId: 'u1',
          at: T0 + 48 * HOUR_MS,
          userInput: 'new',
          assistantResponse: 'turn',
          frameworks: ['swot', 'okr'],
          tools: [],
          mcpServers: [],
          outcome: 'ok',
        },
      ]);
      const all = await storage.turns.aggregate({ measures: ['count', 'sessions', 'users'] });
      expect(all.rows).toEqual([{ keys: [], values: { count: 4, sessions: 2, users: 1 } }]);
      const pairs2 = await storage.turns.aggregate({
        groupBy: ['framework', 'framework'],
        measures: ['count'],
      });
      expect(pairs2.rows).toEqual([{ keys: ['okr', 'swot'], values: { count: 2 } }]);
    } finally {
      await storage.close();
    }
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      const tables = (
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
      ).map((t) => t.name);
      expect(tables).toEqual(
        expect.arrayContaining(['distinct_members', 'distinct_days', 'session_totals', 'rollup_meta']),
      );
    } finally {
      db.close();
    }
    const conn = openConnection({ path });
    try {
      // The wrong v2 row is gone: rollups and a scan agree.
      const spec = { groupBy: ['day' as const], measures: ['count' as const, 'latencyP95' as const] };
      expect(await aggregateTurns(conn, spec)).toEqual(
        await aggregateTurns(conn, spec, 'test', { plan: 'base' }),
      );
    } finally {
      conn.db.close();
    }
  });

  it('opens a version-3 database: errors and per-user session totals, (framework, persona) and (user, persona) rollups built', async () => {
    const path = join(dir, 'v3.db');
    buildV1(path);
    // Steps 2 and 3 as this code runs them, less the pair rows version 3 never wrote.
    const raw = new Database(path);
    raw.function('cvk_hist_merge', { deterministic: true }, mergeHist);
    for (const step of MIGRATIONS.slice(1, 3)) step.up(raw);
    raw.exec(
      "DELETE FROM rollups_day WHERE dim IN ('frameworkPersona', 'userPersona'); PRAGMA user_version = 3",
    );
    raw.close();

    const storage = createSqliteStorage({ path });
    try {
      // Hand-computed from buildV1's turns: a (okr, analyst), b (okr + swot, analyst, error), c (no persona), all in s1.
      const sessions = await storage.turns.aggregate({
        groupBy: ['session'],
        measures: ['count', 'errors', 'firstAt', 'lastAt'],
        orderBy: { measure: 'lastAt', direction: 'desc' },
        limit: 5,
      });
      expect(sessions).toEqual({
        rows: [{ keys: ['s1'], values: { count: 3, errors: 1, firstAt: T0, lastAt: T0 + HOUR_MS } }],
        totalGroups: 1,
      });
      const sessionUsers = await storage.turns.aggregate({
        groupBy: ['session', 'user'],
        measures: ['count', 'errors'],
        filter: { from: T0 + 1 },
      });
      expect(sessionUsers.rows).toEqual([{ keys: ['s1', null], values: { count: 2, errors: 1 } }]);
      const fp = await storage.turns.aggregate({
        groupBy: ['framework', 'persona'],
        measures: ['count', 'errors'],
      });
      expect(fp.rows).toEqual([
        { keys: ['okr', 'analyst'], values: { count: 2, errors: 1 } },
        { keys: ['swot', 'analyst'], values: { count: 1, errors: 1 } },
      ]);
      const up = await storage.turns.aggregate({ groupBy: ['user', 'persona'], measures: ['count'] });
      expect(up.rows).toEqual([
        { keys: [null, null], values: { count: 1 } },
        { keys: [null, 'analyst'], values: { count: 2 } },
      ]);
      // New writes keep them.
      await storage.turns.append([
        {
          id: 'd',
          sessionId: 's1',
          userId: 'u1',
          at: T0 + 2 * HOUR_MS,
          userInput: 'new',
          assistantResponse: 'turn',
          persona: 'analyst',
          frameworks: ['swot'],
          tools: [],
          mcpServers: [],
          outcome: 'error',
        },
      ]);
      const after = await storage.turns.aggregate({
        groupBy: ['session', 'user'],
        measures: ['count', 'errors', 'lastAt'],
      });
      expect(after.rows).toEqual([
        { keys: ['s1', null], values: { count: 3, errors: 1, lastAt: T0 + HOUR_MS } },
        { keys: ['s1', 'u1'], values: { count: 1, errors: 1, lastAt: T0 + 2 * HOUR_MS } },
      ]);
      const up2 = await storage.turns.aggregate({ groupBy: ['persona', 'user'], measures: ['count'] });
      expect(up2.rows).toEqual([
        { keys: [null, null], values: { count: 1 } },
        { keys: ['analyst', null], values: { count: 2 } },
        { keys: ['analyst', 'u1'], values: { count: 1 } },
      ]);
    } finally {
      await storage.close();
    }
    const conn = openConnection({ path });
    try {
      for (const spec of [
        {
          groupBy: ['framework' as const, 'persona' as const],
          measures: ['count' as const, 'lastAt' as const],
        },
        { groupBy: ['session' as const], measures: ['count' as const, 'errors' as const] },
        {
          groupBy: ['user' as const, 'persona' as const],
          measures: ['count' as const],
          filter: { from: T0 + 7 },
        },
      ]) {
        expect(await aggregateTurns(conn, spec)).toEqual(
          await aggregateTurns(conn, spec, 'test', { plan: 'base' }),
        );
      }
    } finally {
      conn.db.close();
    }
  });

  it.each([
    // Version 8 only added `rollups_week`: a version-7 file is a current one without it.
    [7, 'DROP TABLE rollups_week'],
    // Version 9 only added weekly rows for framework pairs and (framework, persona).
    [8, "DELETE FROM rollups_week WHERE dim IN ('frameworkPair', 'frameworkPersona')"],
  ])(
    'opens a version-%i database: weekly rollups built from the daily ones, data kept',
    async (version, undo) => {
      const MONDAY = Date.UTC(2026, 1, 23);
      const turns: Turn[] = Array.from({ length: 40 }, (_, i) => ({
        id: `w${String(i).padStart(3, '0')}`,
        sessionId: `s${i % 4}`,
        at: MONDAY + i * 19 * HOUR_MS + i,
        userInput: 'q',
        assistantResponse: 'a',
        frameworks: i % 3 ? ['okr'] : ['okr', 'swot'],
        tools: [],
        mcpServers: [],
        outcome: i % 5 ? 'ok' : 'error',
        ...(i % 4 ? { persona: i % 2 ? 'analyst' : 'coach' } : {}),
        latencyMs: 50 + ((i * 37) % 400),
      }));
      const path = join(dir, 'v7.db');
      const old = createSqliteStorage({ path });
      await old.turns.append(turns);
      await old.close();
      const db = new Database(path);
      const written = db.prepare('SELECT * FROM rollups_week ORDER BY dim, week, key').all();
      db.exec(`${undo}; PRAGMA user_version = ${version};`);
      db.close();

      const storage = createSqliteStorage({ path });
      const memory = createMemoryStorage();
      await memory.turns.append(turns);
      try {
        const check = new Database(path, { readonly: true });
        expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
        // What the appends had written, summed again from the days.
        expect(written.length).toBeGreaterThan(0);
        expect(check.prepare('SELECT * FROM rollups_week ORDER BY dim, week, key').all()).toEqual(written);
        check.close();
        const spec = {
          filter: { from: MONDAY, to: MONDAY + 28 * DAY_MS },
          groupBy: ['week', 'persona'] as const,
          measures: ['count', 'errorRate', 'latencyP95', 'latencyAvg'] as const,
        };
        const result = await storage.turns.aggregate({
          ...spec,
          groupBy: [...spec.groupBy],
          measures: [...spec.measures],
        });
        expect(result.rows.length).toBeGreaterThan(3);
        expect(result).toEqual(
          await memory.turns.aggregate({ ...spec, groupBy: [...spec.groupBy], measures: [...spec.measures] }),
        );
        const pairs = {
          filter: spec.filter,
          groupBy: ['framework', 'persona'] as GroupKey[],
          measures: ['count'] as Measure[],
        };
        expect(await storage.turns.aggregate(pairs)).toEqual(await memory.turns.aggregate(pairs));
        expect(await storage.turns.count()).toBe(40);
      } finally {
        await storage.close();
        await memory.close();
      }
    },
  );

  it('opens a version-9 database: the (created_at, id) contexts index dropped, contexts and audit kept', async () => {
    const path = join(dir, 'v9.db');
    const old = createSqliteStorage({ path });
    const base = {
      data: { k: 1 },
      metadata: {},
      version: 1,
      updatedAt: T0,
      accessCount: 0,
      lastAccessedAt: T0,
    };
    await old.contexts.create({ ...base, id: 'b', scope: 'global', createdAt: T0 + 2 });
    await old.contexts.create({ ...base, id: 'a', scope: 'session', ownerId: 'u', createdAt: T0 + 2 });
    await old.contexts.create({ ...base, id: 'c', scope: 'persona', persona: 'p', createdAt: T0 + 1 });
    await old.contexts.create({ ...base, id: 'x', scope: 'session', createdAt: T0, expiresAt: T0 + 5 });
    await old.audit.append([
      {
        id: 'e1',
        at: T0,
        principal: 'u',
        action: 'create',
        contextId: 'a',
        scope: 'session',
        outcome: 'ok',
        changedKeys: ['data'],
        version: 1,
      },
    ]);
    await old.close();
    // Version 9's contexts indexes, as that version's DDL created them.
    const db = new Database(path);
    db.exec('CREATE INDEX contexts_created ON contexts (created_at, id); PRAGMA user_version = 9;');
    db.close();

    const storage = createSqliteStorage({ path });
    try {
      const check = new Database(path, { readonly: true });
      expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(
        (
          check
            .prepare(
              "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'contexts' ORDER BY name",
            )
            .all() as { name: string }[]
        ).map((r) => r.name),
      ).toEqual([
        'contexts_expiry',
        'contexts_owner',
        'contexts_parent',
        'contexts_persona',
        'contexts_scope',
        'contexts_session',
        'sqlite_autoindex_contexts_1',
      ]);
      check.close();
      // Unfiltered pages in (createdAt, id) order across scopes; x has expired by T0 + 5.
      const first = await storage.contexts.list({}, { limit: 2, now: T0 + 5 });
      expect(first.items.map((c) => c.id)).toEqual(['c', 'a']);
      const second = await storage.contexts.list({}, { limit: 2, now: T0 + 5, cursor: first.nextCursor! });
      expect(second.items.map((c) => c.id)).toEqual(['b']);
      expect(second.nextCursor).toBeNull();
      expect((await storage.contexts.list({}, { now: T0 })).items.map((c) => c.id)).toEqual([
        'x',
        'c',
        'a',
        'b',
      ]);
      expect((await storage.contexts.get('a', { now: T0 }))?.data).toEqual({ k: 1 });
      expect((await storage.audit.list({ contextId: 'a' })).items.map((e) => e.id)).toEqual(['e1']);
    } finally {
      await storage.close();
    }
  });

  it('opens a version-10 database: session_hist and the length index built from the stored sessions', async () => {
    const path = join(dir, 'v10.db');
    const D = T0 - 9 * HOUR_MS; // midnight before T0
    const MIN = 60_000;
    const turn = (id: string, sessionId: string, userId: string, at: number): Turn => ({
      id,
      sessionId,
      userId,
      at,
      userInput: 'q',
      assistantResponse: 'a',
      frameworks: [],
      tools: [],
      mcpServers: [],
      outcome: 'ok',
    });
    const old = createSqliteStorage({ path });
    await old.turns.append([
      turn('a', 's1', 'u1', T0),
      turn('b', 's1', 'u1', T0 + 10 * MIN),
      turn('c', 's2', 'u1', T0 + HOUR_MS),
      turn('d', 's3', 'u2', D + 2 * DAY_MS - 10 * MIN),
      turn('e', 's3', 'u2', D + 2 * DAY_MS + 10 * MIN),
    ]);
    await old.close();
    // Version 10 had neither the table nor the index.
    const db = new Database(path);
    db.exec('DROP TABLE session_hist; DROP INDEX session_totals_length; PRAGMA user_version = 10;');
    db.close();

    const storage = createSqliteStorage({ path });
    try {
      const check = new Database(path, { readonly: true });
      expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      // Per first-turn day: turn counts (kind 0) and length keys (kind 1, fine bin * 8 + core bin):
      // 600,000 ms is 9 * 2^16 + ... -> fine 19 * 8 + 1, core bin 3 (5-15 min): 1227; 0 -> 0;
      // 1,200,000 ms -> fine 20 * 8 + 1, core bin 4 (15-60 min): 1292.
      expect(
        check
          .prepare('SELECT day, kind, bin, sessions, total FROM session_hist ORDER BY day, kind, bin')
          .raw()
          .all(),
      ).toEqual([
        [D, 0, 1, 1, 1],
        [D, 0, 2, 1, 2],
        [D, 1, 0, 1, 0],
        [D, 1, 1227, 1, 10 * MIN],
        [D + DAY_MS, 0, 2, 1, 2],
        [D + DAY_MS, 1, 1292, 1, 20 * MIN],
      ]);
      expect(
        check.prepare("SELECT name FROM sqlite_master WHERE name = 'session_totals_length'").pluck().get(),
      ).toBe('session_totals_length');
      check.close();
      // s1: 2 turns over 10 min, s2: 1 turn, s3: 2 turns over 20 min crossing midnight into day 2.
      expect(await storage.turns.sessionStats!({ from: D, to: D + 3 * DAY_MS })).toEqual({
        turns: 5,
        sessions: 3,
        turnsPerSession: { sum: 5, median: 2, p90: 2, max: 2, bins: [1, 2, 0, 0, 0, 0, 0] },
        lengthMs: {
          sum: 30 * MIN,
          median: 10 * MIN,
          p90: 20 * MIN,
          max: 20 * MIN,
          bins: [1, 0, 0, 1, 1, 0, 0],
        },
        users: { active: 2, returning: 1 },
      });
      // Day 1 holds only s3's first turn: s3 crosses the range's end and is recounted.
      expect(await storage.turns.sessionStats!({ from: D + DAY_MS, to: D + 2 * DAY_MS })).toEqual({
        turns: 1,
        sessions: 1,
        turnsPerSession: { sum: 1, median: 1, p90: 1, max: 1, bins: [1, 0, 0, 0, 0, 0, 0] },
        lengthMs: { sum: 0, median: 0, p90: 0, max: 0, bins: [1, 0, 0, 0, 0, 0, 0] },
        users: { active: 1, returning: 0 },
      });
    } finally {
      await storage.close();
    }
  });

  it('opens a version-11 database: user_totals and user_persona_totals built from the stored turns', async () => {
    const path = join(dir, 'v11.db');
    const D = T0 - 9 * HOUR_MS; // midnight before T0
    const turn = (
      id: string,
      sessionId: string,
      userId: string | undefined,
      at: number,
      persona?: string,
    ) => {
      const t: Turn = {
        id,
        sessionId,
        at,
        userInput: 'q',
        assistantResponse: 'a',
        frameworks: [],
        tools: [],
        mcpServers: [],
        outcome: 'ok',
      };
      if (userId !== undefined) t.userId = userId;
      if (persona !== undefined) t.persona = persona;
      return t;
    };
    const old = createSqliteStorage({ path });
    await old.turns.append([
      turn('a', 's1', 'u1', T0, 'eng'),
      turn('b', 's1', 'u1', T0 + HOUR_MS, 'cto'),
      turn('c', 's2', 'u1', D + DAY_MS + HOUR_MS, 'cto'),
      turn('d', 's2', 'u1', D + DAY_MS + 2 * HOUR_MS, 'eng'),
      turn('e', 's3', 'u2', D + DAY_MS + 3 * HOUR_MS),
      turn('f', 's3', undefined, D + DAY_MS + 4 * HOUR_MS, 'ops'),
    ]);
    await old.close();
    // Version 11 had neither table, nor the session_hist bin index.
    const db = new Database(path);
    db.exec(
      'DROP TABLE user_totals; DROP TABLE user_persona_totals; DROP INDEX session_hist_bins; PRAGMA user_version = 11;',
    );
    db.close();

    const storage = createSqliteStorage({ path });
    try {
      const check = new Database(path, { readonly: true });
      expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      // u1: eng 2 / cto 2 -> cto by name, two sessions; u2: one session, no persona; the userless turn is no user.
      expect(
        check
          .prepare(
            'SELECT user_id, first_at, last_at, sessions, persona, persona_turns FROM user_totals ORDER BY user_id',
          )
          .raw()
          .all(),
      ).toEqual([
        ['u1', T0, D + DAY_MS + 2 * HOUR_MS, 2, 'cto', 2],
        ['u2', D + DAY_MS + 3 * HOUR_MS, D + DAY_MS + 3 * HOUR_MS, 1, null, 0],
      ]);
      expect(
        check.prepare('SELECT user_id, persona, count FROM user_persona_totals ORDER BY persona').raw().all(),
      ).toEqual([
        ['u1', 'cto', 2],
        ['u1', 'eng', 2],
      ]);
      expect(
        check.prepare("SELECT name FROM sqlite_master WHERE name = 'session_hist_bins'").pluck().get(),
      ).toBe('session_hist_bins');
      check.close();
      expect(await storage.turns.personaPreference!({ from: D, to: D + 2 * DAY_MS })).toEqual({
        users: 1,
        personas: [{ persona: 'cto', users: 1 }],
      });
      // Later appends carry on from the migrated rows: a third eng turn makes u1 prefer eng.
      await storage.turns.append([turn('g', 's4', 'u1', D + DAY_MS + 5 * HOUR_MS, 'eng')]);
      expect(await storage.turns.personaPreference!({ from: D, to: D + 2 * DAY_MS })).toEqual({
        users: 1,
        personas: [{ persona: 'eng', users: 1 }],
      });
      expect((await storage.turns.sessionStats!({ from: D, to: D + 2 * DAY_MS })).users).toEqual({
        active: 2,
        returning: 1,
      });
    } finally {
      await storage.close();
    }
  });

  it('opens a version-12 database: search postings built from the stored turns, searches unchanged', async () => {
    const path = join(dir, 'v12.db');
    const turn = (i: number, userInput: string, assistantResponse: string): Turn => ({
      id: `t${String(i).padStart(4, '0')}`,
      sessionId: 's',
      at: T0 + i,
      userInput,
      assistantResponse,
      frameworks: [],
      tools: [],
      mcpServers: [],
      outcome: 'ok',
    });
    // 1,203 turns (two build batches); every 7th holds a non-ASCII term, every 5th "beta" twice.
    const turns = Array.from({ length: 1203 }, (_, i) =>
      turn(
        i,
        `alpha ${i % 5 === 0 ? 'beta beta' : 'gamma'} ${'x '.repeat(i % 70)}`,
        i % 7 === 0 ? 'café beta' : 'delta',
      ),
    );
    const old = createSqliteStorage({ path });
    await old.turns.append(turns);
    const before = await old.turns.search('alpha beta', { limit: 30 });
    await old.close();
    // Version 11 had none of the search tables.
    const db = new Database(path);
    db.exec(`DROP TABLE search_postings; DROP TABLE search_levels; DROP TABLE search_irregular;
      DROP TABLE search_lengths; PRAGMA user_version = 11;`);
    db.close();

    const storage = createSqliteStorage({ path });
    try {
      const check = new Database(path, { readonly: true });
      expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      // 1 + floor(1202 / 7) turns hold café.
      expect(check.prepare('SELECT count(*) FROM search_irregular').pluck().get()).toBe(172);
      // "beta": every 5th turn among the 1,031 regular ones (i % 5 = 0 and i % 7 != 0): 241 - 35 = 206.
      expect(check.prepare("SELECT sum(docs) FROM search_postings WHERE term = 'beta'").pluck().get()).toBe(
        206,
      );
      expect(check.prepare("SELECT sum(docs) FROM search_postings WHERE term = 'alpha'").pluck().get()).toBe(
        1031,
      );
      check.close();
      // 172 irregular turns: past IRREGULAR_MAX, search steps aside to FTS5, same answer as before.
      expect(await storage.turns.search('alpha beta', { limit: 30 })).toEqual(before);
      // With 29 left (of turns 1000-1202), the postings answer, with the FTS5 statements' page.
      await storage.turns.deleteBefore(T0 + 1000);
      const conn = openConnection({ path, readonly: true });
      try {
        expect(scoreFromPostings(conn, ['alpha', 'beta'], 30)).toBeDefined();
        const ranked = ftsPage(conn, ['alpha', 'beta'], 'all', normalizeTurnFilter(undefined), 30)!;
        const rest = await storage.turns.search('alpha beta', { limit: 30 });
        expect(rest).toEqual(searchHitsOf(conn, ranked, ['alpha', 'beta']));
        expect(rest).toHaveLength(30);
      } finally {
        conn.db.close();
      }
    } finally {
      await storage.close();
    }
  });

  it('opens a version-13 database: expiry_pending added, contexts and audit kept, a sweep deferred', async () => {
    const path = join(dir, 'v13.db');
    const ctx = (id: string, expiresAt: number) => ({
      id,
      scope: 'session' as const,
      data: { id },
      metadata: {},
      version: 1,
      createdAt: T0,
      updatedAt: T0,
      expiresAt,
      accessCount: 0,
      lastAccessedAt: T0,
    });
    const old = createSqliteStorage({ path });
    await old.contexts.create(ctx('gone', T0 + 1000));
    await old.contexts.create(ctx('kept', T0 + 9000));
    const created = {
      at: T0,
      principal: 'u',
      action: 'create' as const,
      outcome: 'ok' as const,
      changedKeys: [],
    };
    await old.audit.append([{ ...created, id: 'e-1', contextId: 'gone', scope: 'session' }]);
    await old.close();
    // Version 13 had no deferred expiry.
    const db = new Database(path);
    db.exec('DROP TABLE expiry_pending; PRAGMA user_version = 13;');
    db.close();

    const storage = createSqliteStorage({ path });
    try {
      const check = new Database(path, { readonly: true });
      expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(check.prepare('SELECT count(*) FROM expiry_pending').pluck().get()).toBe(0);
      check.close();
      expect((await storage.contexts.list({}, { now: T0 })).items.map((c) => c.id)).toEqual(['gone', 'kept']);
      const first = `01JD000000${'0'.repeat(16)}`;
      const event = {
        at: T0 + 2000,
        principal: 'system',
        action: 'expire' as const,
        outcome: 'ok' as const,
        changedKeys: [],
      };
      expect(
        await storage.contexts.deleteExpiredDeferred!(T0 + 2000, { event, reserveIds: () => first }),
      ).toBe(1);
      expect((await storage.contexts.list({}, { now: T0 })).items.map((c) => c.id)).toEqual(['kept']);
      expect((await storage.audit.list()).items.map((e) => [e.id, e.action, e.contextId])).toEqual([
        [first, 'expire', 'gone'],
        ['e-1', 'create', 'gone'],
      ]);
    } finally {
      await storage.close();
    }
  });

  it('a second open of a current database changes nothing', async () => {
    const path = join(dir, 'current.db');
    const first = createSqliteStorage({ path });
    await first.close();
    const second = createSqliteStorage({ path });
    await second.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });

  it('refuses a database from newer code, and a read-only open of an old one, with STORAGE naming the path', () => {
    const newer = join(dir, 'newer.db');
    const db = new Database(newer);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    try {
      createSqliteStorage({ path: newer });
      expect.unreachable();
    } catch (error) {
      expect(ConvokitError.is(error, 'STORAGE')).toBe(true);
      expect((error as ConvokitError).details).toMatchObject({ path: newer, reason: 'schema' });
    }

    const old = join(dir, 'old.db');
    buildV1(old);
    expect(() => createSqliteStorage({ path: old, readonly: true })).toThrow(/needs migrating/);
  });
});
