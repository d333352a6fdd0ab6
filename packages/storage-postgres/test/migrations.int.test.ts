import type { AggregateSpecInput, Turn } from '@convokit/core';
import { latencyBucket } from '@convokit/core';
import postgres from 'postgres';
import { afterAll, describe, expect, test } from 'vitest';
import { createPostgresStorage, POSTGRES_SCHEMA_VERSION } from '../src/index.js';
import { MIGRATIONS } from '../src/migrations.js';
import { distinctRebuildStatements } from '../src/rollups.js';
import { turnVector } from '../src/search-vector.js';
import { turn } from './fixtures.js';
import { referenceAggregate } from './reference-aggregate.js';
import { dropSchema, freshSchema, reportSkip, url } from './support.js';

reportSkip('migrations.int.test.ts');

/** Schema version 1 exactly as released: a database built by the previous version of the adapter. */
const VERSION_1_DDL = (S: string) => [
  `CREATE SCHEMA ${S}`,
  MIGRATIONS_TABLE(S),
  `CREATE TABLE ${S}.turns (id text COLLATE "C" PRIMARY KEY, session_id text COLLATE "C" NOT NULL,
    conversation_id text COLLATE "C", user_id text COLLATE "C", persona text COLLATE "C", at bigint NOT NULL,
    outcome text NOT NULL, latency_ms double precision, latency_bucket integer, tokens_in bigint, tokens_out bigint,
    feedback double precision, body text NOT NULL, search tsvector NOT NULL)`,
  `CREATE TABLE ${S}.turn_frameworks (turn_id text COLLATE "C" NOT NULL, name text COLLATE "C" NOT NULL, at bigint NOT NULL, PRIMARY KEY (turn_id, name))`,
  `CREATE TABLE ${S}.turn_tools (turn_id text COLLATE "C" NOT NULL, name text COLLATE "C" NOT NULL, at bigint NOT NULL, PRIMARY KEY (turn_id, name))`,
  `CREATE TABLE ${S}.turn_mcp_servers (turn_id text COLLATE "C" NOT NULL, name text COLLATE "C" NOT NULL, at bigint NOT NULL, PRIMARY KEY (turn_id, name))`,
  `CREATE INDEX turns_at ON ${S}.turns (at, id)`,
  `CREATE INDEX turns_search ON ${S}.turns USING gin (search)`,
  `CREATE TABLE ${S}.contexts (id text COLLATE "C" PRIMARY KEY, scope text NOT NULL, owner_id text COLLATE "C",
    session_id text COLLATE "C", persona text COLLATE "C", parent_id text COLLATE "C", data text NOT NULL,
    metadata text NOT NULL, version integer NOT NULL, created_at bigint NOT NULL, updated_at bigint NOT NULL,
    expires_at bigint, access_count bigint NOT NULL, last_accessed_at bigint NOT NULL)`,
  `CREATE TABLE ${S}.audit_events (id text COLLATE "C" PRIMARY KEY, at bigint NOT NULL, principal text COLLATE "C" NOT NULL,
    action text NOT NULL, context_id text COLLATE "C" NOT NULL, scope text NOT NULL, body text NOT NULL)`,
  `INSERT INTO ${S}.schema_migrations (version, name) VALUES (1, 'tables')`,
];

const MIGRATIONS_TABLE = (S: string) =>
  `CREATE TABLE ${S}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;

/** Runs migrations `from`..`to` as the adapter does: each in its transaction, with its `after` step. */
async function applyMigrations(admin: postgres.Sql, S: string, from: number, to: number): Promise<void> {
  for (const m of MIGRATIONS.filter((x) => x.version >= from && x.version <= to)) {
    await admin.begin(async (tx) => {
      await tx.unsafe(m.statements(S).join(';\n')).simple();
      if (m.after) await m.after(tx as never, S);
      await tx.unsafe(`INSERT INTO ${S}.schema_migrations (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ]);
    });
  }
}

/**
 * Schema `S` at `version` as the released adapters left it: schema 2 built, `turns` stored as the
 * schema-2 adapter stored them (turn rows and framework name rows, no rollups), then steps 3 to
 * `version` run over them (which build each version's rollups from those turns).
 */
async function databaseAt(
  admin: postgres.Sql,
  S: string,
  version: number,
  turns: readonly Turn[],
): Promise<void> {
  await admin.unsafe(`CREATE SCHEMA ${S}`);
  await admin.unsafe(MIGRATIONS_TABLE(S));
  await applyMigrations(admin, S, 1, 2);
  for (const t of turns) {
    await admin.unsafe(
      `INSERT INTO ${S}.turns (id, session_id, user_id, persona, at, outcome, latency_ms, latency_bucket,
         tokens_in, tokens_out, feedback, body, search)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::tsvector)`,
      [
        t.id,
        t.sessionId,
        t.userId ?? null,
        t.persona ?? null,
        t.at,
        t.outcome,
        t.latencyMs ?? null,
        t.latencyMs === undefined ? null : latencyBucket(t.latencyMs),
        t.tokens?.input ?? null,
        t.tokens?.output ?? null,
        t.feedback ?? null,
        JSON.stringify(t),
        turnVector(t.userInput, t.assistantResponse),
      ] as never[],
    );
    for (const name of t.frameworks)
      await admin.unsafe(`INSERT INTO ${S}.turn_frameworks VALUES ($1, $2, $3)`, [t.id, name, t.at]);
  }
  await applyMigrations(admin, S, 3, version);
}

const T0 = Date.UTC(2026, 2, 2, 12);
const schemas: string[] = [];

describe.skipIf(!url)('migrations (postgres)', () => {
  afterAll(async () => {
    for (const s of schemas) await dropSchema(s);
  });

  test('upgrades a database built with schema version 1, keeping its data', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const admin = postgres(url!, { max: 1, onnotice: () => {} });
    try {
      for (const statement of VERSION_1_DDL(`"${schema}"`)) await admin.unsafe(statement);
      const turn = {
        id: 'old1',
        sessionId: 's',
        at: T0,
        userInput: 'legacy question',
        assistantResponse: 'legacy answer',
        frameworks: ['react'],
        tools: [],
        mcpServers: [],
        outcome: 'ok',
      };
      await admin.unsafe(
        `INSERT INTO "${schema}".turns (id, session_id, at, outcome, body, search) VALUES ('old1', 's', $1, 'ok', $2, $3::tsvector)`,
        [T0, JSON.stringify(turn), "'legacy':1,3 'question':2 'answer':4"],
      );
      await admin.unsafe(`INSERT INTO "${schema}".turn_frameworks VALUES ('old1', 'react', $1)`, [T0]);
      await admin.unsafe(
        `INSERT INTO "${schema}".contexts VALUES ('c1', 'global', 'o', NULL, NULL, NULL, '{"k":1}', '{}', 3, $1, $1, NULL, 0, $1)`,
        [T0],
      );

      const storage = createPostgresStorage({ url, schema });
      try {
        await storage.migrate();
        const versions = await admin.unsafe(
          `SELECT version FROM "${schema}".schema_migrations ORDER BY version`,
        );
        expect(versions.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(POSTGRES_SCHEMA_VERSION).toBe(9);
        const indexes = await admin.unsafe(`SELECT indexname FROM pg_indexes WHERE schemaname = $1`, [
          schema,
        ]);
        expect(indexes.map((r) => r.indexname)).toEqual(
          expect.arrayContaining(['contexts_owner', 'turn_frameworks_name']),
        );
        expect(await storage.contexts.get('c1')).toMatchObject({
          id: 'c1',
          version: 3,
          data: { k: 1 },
          ownerId: 'o',
        });
        expect(await storage.contexts.count({ ownerId: 'o' })).toBe(1);
        expect((await storage.turns.search('legacy')).map((h) => h.turn.id)).toEqual(['old1']);
        expect(await storage.turns.count({ framework: 'react' })).toBe(1);
      } finally {
        await storage.close();
      }
    } finally {
      await admin.end({ timeout: 5 });
    }
  });

  test('several starters at once: one migrates, the others wait and find nothing to do', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const stores = Array.from({ length: 5 }, () => createPostgresStorage({ url, schema, pool: { max: 1 } }));
    try {
      await Promise.all(stores.map((s) => s.migrate()));
      const counts = await Promise.all(stores.map((s) => s.contexts.count()));
      expect(counts).toEqual([0, 0, 0, 0, 0]);
      const admin = postgres(url!, { max: 1, onnotice: () => {} });
      const rows = await admin.unsafe(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
      await admin.end({ timeout: 5 });
      expect(rows.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
  test('upgrading a schema-2 database builds the rollups from the turns already stored', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const S = `"${schema}"`;
    const admin = postgres(url!, { max: 1, onnotice: () => {} });
    const DAY = 86_400_000;
    const D0 = Date.UTC(2026, 2, 2);
    // Turns as the schema-2 adapter stored them: rows and name rows, no rollups.
    const turns: Turn[] = [
      turn({ at: D0 + 5, persona: 'p', sessionId: 'a', userId: 'u1', latencyMs: 12, frameworks: ['x', 'y'] }),
      turn({ at: D0 + 3_600_000, sessionId: 'a', userId: 'u1', latencyMs: 40, outcome: 'error' }),
      turn({ at: D0 + DAY + 7, persona: 'p', sessionId: 'b', userId: 'u2', tokens: { input: 5, output: 6 } }),
      turn({ at: D0 + 2 * DAY - 1, persona: 'q', sessionId: 'a', feedback: 1, frameworks: ['y'] }),
    ];
    try {
      await databaseAt(admin, S, 2, turns);
      const storage = createPostgresStorage({ url, schema });
      try {
        await storage.migrate();
        const days = await admin.unsafe(`SELECT count(*)::int AS n FROM ${S}.rollup_day WHERE dim = ''`);
        expect(days[0]!.n).toBe(2);
        // Whole-day windows are answered from the rollups; they must agree with a reading of the turns.
        const window = { from: D0, to: D0 + 2 * DAY };
        const specs: AggregateSpecInput[] = [
          { filter: window, groupBy: ['day'], measures: ['count', 'errors', 'latencyP50', 'tokensIn'] },
          { filter: window, groupBy: ['persona'], measures: ['count', 'sessions', 'users', 'lastAt'] },
          { filter: window, groupBy: ['framework'], measures: ['count', 'sessions', 'latencyAvg'] },
          { filter: window, groupBy: ['hourOfDay'], measures: ['count', 'sessions', 'users'] },
          {
            filter: window,
            groupBy: ['session'],
            measures: ['count', 'firstAt', 'lastAt'],
            orderBy: { measure: 'lastAt', direction: 'desc' },
            limit: 1,
          },
        ];
        for (const spec of specs) {
          expect(await storage.turns.aggregate(spec)).toEqual(referenceAggregate(turns, spec as never));
        }
        // New appends add to the backfilled rows.
        const more = turn({ at: D0 + 9, persona: 'p', sessionId: 'c', userId: 'u1', latencyMs: 3 });
        await storage.turns.append([more]);
        for (const spec of specs) {
          expect(await storage.turns.aggregate(spec)).toEqual(
            referenceAggregate([...turns, more], spec as never),
          );
        }
      } finally {
        await storage.close();
      }
    } finally {
      await admin.end({ timeout: 5 });
    }
  });
  test('upgrading a schema-3 database converts its rollups (histograms, distinct counts, session totals)', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const S = `"${schema}"`;
    const admin = postgres(url!, { max: 1, onnotice: () => {} });
    const DAY = 86_400_000;
    // A Thursday, so the data spans two ISO weeks.
    const D0 = Date.UTC(2026, 2, 5);
    const turns: Turn[] = [
      turn({ at: D0 + 5, persona: 'p', sessionId: 'a', userId: 'u1', latencyMs: 12, frameworks: ['x', 'y'] }),
      turn({ at: D0 + 3_600_000, sessionId: 'a', userId: 'u1', latencyMs: 40, outcome: 'error' }),
      turn({ at: D0 + DAY + 7, persona: 'p', sessionId: 'b', userId: 'u2', latencyMs: 900 }),
      turn({ at: D0 + 4 * DAY + 1, persona: 'p', sessionId: 'b', userId: 'u1', latencyMs: 15 }),
      turn({ at: D0 + 5 * DAY - 1, persona: 'q', sessionId: 'a', latencyMs: 12, frameworks: ['y'] }),
      turn({ at: D0 + 9 * DAY, persona: 'q', sessionId: 'c', userId: 'u2', latencyMs: 7, frameworks: ['x'] }),
    ];
    try {
      await databaseAt(admin, S, 3, turns);
      const storage = createPostgresStorage({ url, schema });
      try {
        await storage.migrate();
        const tables = await admin.unsafe(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
          [schema],
        );
        expect(tables.map((r) => r.table_name)).toEqual(
          expect.arrayContaining(['rollup_hist', 'distinct_days', 'session_totals']),
        );
        expect(tables.map((r) => r.table_name)).not.toContain('rollup_latency_day');
        const window = { from: D0 - 3 * DAY, to: D0 + 11 * DAY };
        const specs: AggregateSpecInput[] = [
          { filter: window, groupBy: ['persona'], measures: ['count', 'sessions', 'users', 'latencyP95'] },
          { filter: window, groupBy: ['week', 'persona'], measures: ['count', 'latencyP50', 'users'] },
          { filter: window, groupBy: ['framework'], measures: ['sessions', 'latencyP99'] },
          { filter: window, groupBy: ['day'], measures: ['count', 'sessions', 'latencyP50'] },
          { filter: window, groupBy: ['hourOfDay'], measures: ['count', 'sessions', 'users'] },
          { filter: { from: D0 + DAY, to: D0 + 9 * DAY }, measures: ['sessions', 'users', 'latencyP95'] },
          {
            filter: { from: D0 + 2 * DAY, to: D0 + 7 * DAY },
            groupBy: ['session'],
            measures: ['count', 'firstAt', 'lastAt'],
            orderBy: { measure: 'lastAt', direction: 'desc' },
            limit: 1,
          },
        ];
        const check = async (stored: Turn[]) => {
          for (const spec of specs) {
            expect(await storage.turns.aggregate(spec)).toEqual(referenceAggregate(stored, spec as never));
          }
        };
        await check(turns);
        // New appends add to the converted rows, before and after what was stored.
        const more = [
          turn({ at: D0 + 2 * DAY, persona: 'p', sessionId: 'a', userId: 'u2', latencyMs: 3 }),
          turn({ at: D0 + 10 * DAY, persona: 'q', sessionId: 'd', userId: 'u1', latencyMs: 30 }),
        ];
        await storage.turns.append(more);
        await check([...turns, ...more]);
        // Retention keeps them exact.
        await storage.turns.deleteBefore(D0 + DAY + 12);
        await check([...turns, ...more].filter((t) => t.at >= D0 + DAY + 12));
      } finally {
        await storage.close();
      }
    } finally {
      await admin.end({ timeout: 5 });
    }
  });
  test('upgrading a schema-4 database counts its sessions by first day', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const S = `"${schema}"`;
    const admin = postgres(url!, { max: 1, onnotice: () => {} });
    const DAY = 86_400_000;
    const D0 = Date.UTC(2026, 2, 5);
    const turns: Turn[] = [
      turn({ at: D0 + 5, sessionId: 'a', userId: 'u1' }),
      turn({ at: D0 + DAY + 3, sessionId: 'a', userId: 'u1' }),
      turn({ at: D0 + DAY + 7, sessionId: 'b', userId: 'u2' }),
      turn({ at: D0 + 3 * DAY + 1, sessionId: 'c', userId: 'u1' }),
      turn({ at: D0 + 3 * DAY + 9, sessionId: 'd' }),
    ];
    try {
      await databaseAt(admin, S, 4, turns);
      const storage = createPostgresStorage({ url, schema });
      try {
        await storage.migrate();
        const versions = await admin.unsafe(`SELECT version FROM ${S}.schema_migrations ORDER BY version`);
        expect(versions.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
        // a starts on D0, b on D0 + 1d, c and d on D0 + 3d.
        const days = await admin.unsafe(`SELECT day, n FROM ${S}.session_first_days ORDER BY day`);
        expect(days.map((r) => [Number(r.day), Number(r.n)])).toEqual([
          [D0, 1],
          [D0 + DAY, 1],
          [D0 + 3 * DAY, 2],
        ]);
        const specs: AggregateSpecInput[] = [
          { from: D0, to: D0 + 4 * DAY },
          { from: D0 + DAY, to: D0 + 4 * DAY },
          { from: D0 + 12, to: D0 + 3 * DAY + 5 },
        ].map((filter) => ({
          filter,
          groupBy: ['session'],
          measures: ['count', 'firstAt', 'lastAt'],
          orderBy: { measure: 'lastAt', direction: 'desc' },
          limit: 2,
        }));
        const check = async (stored: Turn[]) => {
          for (const spec of specs) {
            expect(await storage.turns.aggregate(spec)).toEqual(referenceAggregate(stored, spec as never));
          }
        };
        await check(turns);
        // Appends and retention keep the new table exact.
        const more = [
          turn({ at: D0 + 2 * DAY, sessionId: 'c' }),
          turn({ at: D0 + 2 * DAY + 1, sessionId: 'e' }),
        ];
        await storage.turns.append(more);
        await check([...turns, ...more]);
        await storage.turns.deleteBefore(D0 + DAY + 5);
        await check([...turns, ...more].filter((t) => t.at >= D0 + DAY + 5));
      } finally {
        await storage.close();
      }
    } finally {
      await admin.end({ timeout: 5 });
    }
  });
  test('upgrading a schema-5 database drops the user member rows per framework, tool and MCP server', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const S = `"${schema}"`;
    const admin = postgres(url!, { max: 1, onnotice: () => {} });
    const DAY = 86_400_000;
    const D0 = Date.UTC(2026, 2, 5);
    const turns: Turn[] = [
      turn({ at: D0 + 5, sessionId: 'a', userId: 'u1', persona: 'p', frameworks: ['x', 'y'] }),
      turn({ at: D0 + DAY + 3, sessionId: 'a', userId: 'u1', frameworks: ['x'] }),
      turn({ at: D0 + DAY + 7, sessionId: 'b', userId: 'u2', persona: 'p', frameworks: ['y'] }),
    ];
    try {
      await databaseAt(admin, S, 5, turns);
      // What schema 5 also kept: users per framework and day, counted by first appearance.
      await admin.unsafe(
        `INSERT INTO ${S}.rollup_members (dim, kind, key, member, day)
         SELECT DISTINCT 'framework', 'u', f.name, t.user_id, t.at - mod(t.at, ${DAY})
         FROM ${S}.turns t JOIN ${S}.turn_frameworks f ON f.turn_id = t.id WHERE t.user_id IS NOT NULL`,
      );
      for (const statement of distinctRebuildStatements(S)) await admin.unsafe(statement);
      const userless = async () =>
        (
          await admin.unsafe(
            `SELECT (SELECT count(*) FROM ${S}.rollup_members WHERE kind = 'u' AND dim = 'framework')
               + (SELECT count(*) FROM ${S}.distinct_days WHERE kind = 'u' AND dim = 'framework') AS n`,
          )
        )[0]!.n;
      // Member rows x: u1 on D0 and D0 + 1d; y: u1 on D0, u2 on D0 + 1d. distinct_days rows: x on
      // D0 (prev -1) and D0 + 1d (prev D0), y on D0 and D0 + 1d (both prev -1).
      expect(Number(await userless())).toBe(4 + 4);
      const storage = createPostgresStorage({ url, schema });
      try {
        await storage.migrate();
        const versions = await admin.unsafe(`SELECT version FROM ${S}.schema_migrations ORDER BY version`);
        expect(versions.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(Number(await userless())).toBe(0);
        const window = { from: D0, to: D0 + 2 * DAY };
        const specs: AggregateSpecInput[] = [
          // Answered by the scan now, the same figures.
          { filter: window, groupBy: ['framework'], measures: ['count', 'users'] },
          { filter: { ...window, framework: 'y' }, measures: ['users', 'sessions'] },
          // Still from the member rows.
          { filter: window, groupBy: ['framework'], measures: ['count', 'sessions'] },
          { filter: window, groupBy: ['persona'], measures: ['users', 'sessions'] },
        ];
        const check = async (stored: Turn[]) => {
          for (const spec of specs) {
            expect(await storage.turns.aggregate(spec)).toEqual(referenceAggregate(stored, spec as never));
          }
        };
        await check(turns);
        const more = [turn({ at: D0 + DAY + 9, sessionId: 'c', userId: 'u3', frameworks: ['x'] })];
        await storage.turns.append(more);
        expect(Number(await userless())).toBe(0);
        await check([...turns, ...more]);
      } finally {
        await storage.close();
      }
    } finally {
      await admin.end({ timeout: 5 });
    }
  });
  test('upgrading a schema-6 database builds the daily (framework, persona) and framework-pair totals', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const S = `"${schema}"`;
    const admin = postgres(url!, { max: 1, onnotice: () => {} });
    const DAY = 86_400_000;
    const D0 = Date.UTC(2026, 2, 5);
    const turns: Turn[] = [
      turn({ at: D0 + 5, persona: 'p', frameworks: ['x', 'y', 'z'], latencyMs: 10 }),
      turn({ at: D0 + 7, frameworks: ['y', 'x'], outcome: 'error' }),
      turn({ at: D0 + DAY + 3, persona: 'q', frameworks: ['x'] }),
    ];
    try {
      await databaseAt(admin, S, 6, turns);
      // Schema 6 had no pair rows (schema 3's backfill now writes them: take them out).
      await admin.unsafe(`DELETE FROM ${S}.rollup_day WHERE dim IN ('frameworkPersona', 'frameworkPair')`);
      const storage = createPostgresStorage({ url, schema });
      try {
        await storage.migrate();
        const versions = await admin.unsafe(`SELECT version FROM ${S}.schema_migrations ORDER BY version`);
        expect(versions.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
        const rows = await admin.unsafe(
          `SELECT dim, bucket, replace(key, chr(1), '|') AS key, count FROM ${S}.rollup_day
           WHERE dim IN ('frameworkPersona', 'frameworkPair') ORDER BY 1, 2, 3`,
        );
        expect(rows.map((r) => [r.dim, Number(r.bucket) - D0, r.key, Number(r.count)])).toEqual([
          ['frameworkPair', 0, 'x|y', 2],
          ['frameworkPair', 0, 'x|z', 1],
          ['frameworkPair', 0, 'y|z', 1],
          ['frameworkPersona', 0, 'x|', 1],
          ['frameworkPersona', 0, 'x|p', 1],
          ['frameworkPersona', 0, 'y|', 1],
          ['frameworkPersona', 0, 'y|p', 1],
          ['frameworkPersona', 0, 'z|p', 1],
          ['frameworkPersona', DAY, 'x|q', 1],
        ]);
        const window = { from: D0, to: D0 + 2 * DAY };
        const specs: AggregateSpecInput[] = [
          { filter: window, groupBy: ['framework', 'persona'], measures: ['count', 'errors', 'latencyAvg'] },
          { filter: window, groupBy: ['framework', 'framework'], measures: ['count', 'lastAt'] },
          {
            filter: { from: D0 + 6, to: D0 + DAY + 4 },
            groupBy: ['framework', 'framework'],
            measures: ['count'],
          },
        ];
        const check = async (stored: Turn[]) => {
          for (const spec of specs) {
            expect(await storage.turns.aggregate(spec)).toEqual(referenceAggregate(stored, spec as never));
          }
        };
        await check(turns);
        const more = [turn({ at: D0 + DAY + 9, persona: 'p', frameworks: ['z', 'x'] })];
        await storage.turns.append(more);
        await check([...turns, ...more]);
      } finally {
        await storage.close();
      }
    } finally {
      await admin.end({ timeout: 5 });
    }
  });

  test('upgrading a schema-7 database starts its turns version at 0, raised by the next change', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const S = `"${schema}"`;
    const admin = postgres(url!, { max: 1, onnotice: () => {} });
    const DAY = 86_400_000;
    const D0 = Date.UTC(2026, 2, 5);
    const turns: Turn[] = [
      turn({ at: D0 + 5, sessionId: 'a', persona: 'p' }),
      turn({ at: D0 + DAY + 3, sessionId: 'b', persona: 'q' }),
    ];
    try {
      await databaseAt(admin, S, 7, turns);
      const before = await admin.unsafe(
        `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename = 'turns_version'`,
        [schema],
      );
      expect(before[0]!.n).toBe(0);
      const storage = createPostgresStorage({ url, schema });
      try {
        await storage.migrate();
        const versions = await admin.unsafe(`SELECT version FROM ${S}.schema_migrations ORDER BY version`);
        expect(versions.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(await storage.turns.version!()).toBe(0);
        expect(await storage.turns.count()).toBe(2);
        expect(
          await storage.turns.aggregate({
            filter: { from: D0, to: D0 + 2 * DAY },
            groupBy: ['persona'],
            measures: ['count'],
          }),
        ).toEqual({
          rows: [
            { keys: ['p'], values: { count: 1 } },
            { keys: ['q'], values: { count: 1 } },
          ],
          totalGroups: 2,
        });
        const appended = await storage.turns.append([turn({ at: D0 + DAY + 9, sessionId: 'b' })]);
        expect(appended).toEqual({ appended: 1, skippedIds: [], version: 1 });
        expect(await storage.turns.deleteBefore(D0 + DAY)).toBe(1);
        expect(await storage.turns.version!()).toBe(2);
        expect(await storage.turns.count()).toBe(2);
      } finally {
        await storage.close();
      }
    } finally {
      await admin.end({ timeout: 5 });
    }
  });

  test('upgrading a schema-8 database keeps errors and users per session and (user, persona) totals', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const S = `"${schema}"`;
    const admin = postgres(url!, { max: 1, onnotice: () => {} });
    const DAY = 86_400_000;
    const D0 = Date.UTC(2026, 2, 5);
    const turns: Turn[] = [
      turn({ at: D0 + 5, sessionId: 'a', userId: 'u1', persona: 'p', outcome: 'error' }),
      turn({ at: D0 + 7, sessionId: 'a', userId: 'u2', persona: 'p' }),
      turn({ at: D0 + DAY + 3, sessionId: 'b', userId: 'u1', persona: 'q' }),
      turn({ at: D0 + DAY + 4, sessionId: 'b' }),
      turn({ at: D0 + DAY + 5, sessionId: 'c', userId: 'u2', persona: 'p', outcome: 'error' }),
    ];
    try {
      await databaseAt(admin, S, 8, turns);
      const storage = createPostgresStorage({ url, schema });
      try {
        await storage.migrate();
        const versions = await admin.unsafe(`SELECT version FROM ${S}.schema_migrations ORDER BY version`);
        expect(versions.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
        const sessions = async () =>
          (
            await admin.unsafe(
              `SELECT session_id, count, errors, user_id, users_mixed FROM ${S}.session_totals ORDER BY 1`,
            )
          ).map((r) => [r.session_id, Number(r.count), Number(r.errors), r.user_id, r.users_mixed]);
        const userPersona = async () =>
          (
            await admin.unsafe(
              `SELECT user_key, persona_key, count FROM ${S}.user_persona_totals ORDER BY 1, 2`,
            )
          ).map((r) => [r.user_key, r.persona_key, Number(r.count)]);
        // A session's turns with two users, or a user and none, are mixed.
        expect(await sessions()).toEqual([
          ['a', 2, 1, 'u2', true],
          ['b', 2, 0, 'u1', true],
          ['c', 1, 1, 'u2', false],
        ]);
        expect(await userPersona()).toEqual([
          ['', '', 1],
          ['u1', 'p', 1],
          ['u1', 'q', 1],
          ['u2', 'p', 2],
        ]);
        const window = { from: D0, to: D0 + 2 * DAY };
        const specs: AggregateSpecInput[] = [
          {
            filter: window,
            groupBy: ['session', 'user'],
            measures: ['count', 'errors', 'firstAt', 'lastAt'],
          },
          { filter: window, groupBy: ['user', 'persona'], measures: ['count'] },
          {
            filter: window,
            groupBy: ['session'],
            measures: ['count', 'errors', 'lastAt'],
            orderBy: { measure: 'lastAt', direction: 'desc' },
            limit: 2,
          },
        ];
        const check = async (stored: Turn[]) => {
          for (const spec of specs) {
            expect(await storage.turns.aggregate(spec)).toEqual(referenceAggregate(stored, spec as never));
          }
        };
        await check(turns);
        const more = [
          turn({ at: D0 + DAY + 9, sessionId: 'c', userId: 'u2', persona: 'p' }),
          turn({ at: D0 + DAY + 10, sessionId: 'd', userId: 'u3', outcome: 'error' }),
        ];
        await storage.turns.append(more);
        expect((await sessions()).slice(2)).toEqual([
          ['c', 2, 1, 'u2', false],
          ['d', 1, 1, 'u3', false],
        ]);
        await check([...turns, ...more]);
        // Session a goes with day 0; its turns come off the (user, persona) totals.
        expect(await storage.turns.deleteBefore(D0 + DAY)).toBe(2);
        expect(await userPersona()).toEqual([
          ['', '', 1],
          ['u1', 'q', 1],
          ['u2', 'p', 2],
          ['u3', '', 1],
        ]);
        await check([...turns.slice(2), ...more]);
      } finally {
        await storage.close();
      }
    } finally {
      await admin.end({ timeout: 5 });
    }
  });
});
