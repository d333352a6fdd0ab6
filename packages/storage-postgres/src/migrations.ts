import type { Sql } from 'postgres';
import {
  DAY,
  distinctRebuildStatements,
  HIST_AGG,
  pairRebuildStatements,
  rebuildStatements,
  SESSION_TOTALS_SELECT,
  sessionDaysRebuildStatements,
  USERLESS_DIMS,
  userPersonaUpsert,
  weekStartSql,
} from './rollups.js';

export interface Migration {
  version: number;
  name: string;
  /** Statements run in order inside the migration transaction (`S` stands for the quoted schema). */
  statements(S: string): string[];
  /** Data work after the DDL, in the same transaction. */
  after?(tx: Sql<Record<string, never>>, S: string): Promise<void>;
}

const TOTALS_TABLE = (S: string, table: string) => `
  CREATE TABLE ${S}.${table} (
    dim text COLLATE "C" NOT NULL,
    bucket bigint NOT NULL,
    key text COLLATE "C" NOT NULL,
    count bigint NOT NULL,
    errors bigint NOT NULL,
    tokens_in bigint NOT NULL,
    tokens_out bigint NOT NULL,
    feedback_sum double precision NOT NULL,
    feedback_count bigint NOT NULL,
    latency_count bigint NOT NULL,
    latency_sum double precision NOT NULL,
    latency_min double precision,
    latency_max double precision,
    first_at bigint NOT NULL,
    last_at bigint NOT NULL,
    PRIMARY KEY (dim, bucket, key)
  )`;

const LATENCY_TABLE = (S: string, table: string) => `
  CREATE TABLE ${S}.${table} (
    dim text COLLATE "C" NOT NULL,
    bucket bigint NOT NULL,
    key text COLLATE "C" NOT NULL,
    lb integer NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY (dim, bucket, key, lb)
  )`;

const NAME_TABLE = (S: string, table: string) => `
  CREATE TABLE ${S}.${table} (
    turn_id text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    at bigint NOT NULL,
    PRIMARY KEY (turn_id, name)
  )`;

/**
 * The schema history. A released migration is never edited: changes are a new entry. Every
 * migration is plain DDL inside one transaction (no CREATE INDEX CONCURRENTLY, which cannot run
 * in a transaction); several processes starting at once serialize on an advisory lock.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tables',
    statements: (S) => [
      `CREATE TABLE ${S}.turns (
        id text COLLATE "C" PRIMARY KEY,
        session_id text COLLATE "C" NOT NULL,
        conversation_id text COLLATE "C",
        user_id text COLLATE "C",
        persona text COLLATE "C",
        at bigint NOT NULL,
        outcome text NOT NULL,
        latency_ms double precision,
        latency_bucket integer,
        tokens_in bigint,
        tokens_out bigint,
        feedback double precision,
        body text NOT NULL,
        search tsvector NOT NULL
      )`,
      NAME_TABLE(S, 'turn_frameworks'),
      NAME_TABLE(S, 'turn_tools'),
      NAME_TABLE(S, 'turn_mcp_servers'),
      `CREATE INDEX turns_at ON ${S}.turns (at, id)`,
      `CREATE INDEX turns_search ON ${S}.turns USING gin (search)`,
      `CREATE TABLE ${S}.contexts (
        id text COLLATE "C" PRIMARY KEY,
        scope text NOT NULL,
        owner_id text COLLATE "C",
        session_id text COLLATE "C",
        persona text COLLATE "C",
        parent_id text COLLATE "C",
        data text NOT NULL,
        metadata text NOT NULL,
        version integer NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        expires_at bigint,
        access_count bigint NOT NULL,
        last_accessed_at bigint NOT NULL
      )`,
      `CREATE TABLE ${S}.audit_events (
        id text COLLATE "C" PRIMARY KEY,
        at bigint NOT NULL,
        principal text COLLATE "C" NOT NULL,
        action text NOT NULL,
        context_id text COLLATE "C" NOT NULL,
        scope text NOT NULL,
        body text NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    name: 'secondary indexes',
    statements: (S) => [
      `CREATE INDEX turns_session_at ON ${S}.turns (session_id, at)`,
      `CREATE INDEX turns_persona_at ON ${S}.turns (persona, at)`,
      `CREATE INDEX turns_user_at ON ${S}.turns (user_id, at)`,
      `CREATE INDEX turns_conversation_at ON ${S}.turns (conversation_id, at)`,
      `CREATE INDEX turn_frameworks_name ON ${S}.turn_frameworks (name, at)`,
      `CREATE INDEX turn_tools_name ON ${S}.turn_tools (name, at)`,
      `CREATE INDEX turn_mcp_servers_name ON ${S}.turn_mcp_servers (name, at)`,
      `CREATE INDEX turn_frameworks_at ON ${S}.turn_frameworks (at)`,
      `CREATE INDEX turn_tools_at ON ${S}.turn_tools (at)`,
      `CREATE INDEX turn_mcp_servers_at ON ${S}.turn_mcp_servers (at)`,
      `CREATE INDEX contexts_created ON ${S}.contexts (created_at, id)`,
      `CREATE INDEX contexts_scope ON ${S}.contexts (scope, created_at, id)`,
      `CREATE INDEX contexts_owner ON ${S}.contexts (owner_id, created_at, id)`,
      `CREATE INDEX contexts_session ON ${S}.contexts (session_id, created_at, id)`,
      `CREATE INDEX contexts_persona ON ${S}.contexts (persona, created_at, id)`,
      `CREATE INDEX contexts_parent ON ${S}.contexts (parent_id, created_at, id)`,
      `CREATE INDEX contexts_expiry ON ${S}.contexts (expires_at, id) WHERE expires_at IS NOT NULL`,
      `CREATE INDEX audit_at ON ${S}.audit_events (at, id)`,
      `CREATE INDEX audit_context ON ${S}.audit_events (context_id, at, id)`,
      `CREATE INDEX audit_principal ON ${S}.audit_events (principal, at, id)`,
    ],
  },
  {
    version: 3,
    name: 'rollups',
    statements: (S) => [
      TOTALS_TABLE(S, 'rollup_hour'),
      TOTALS_TABLE(S, 'rollup_day'),
      LATENCY_TABLE(S, 'rollup_latency_day'),
      // Key order serves DISTINCT (key, member) over a day range by an index-only scan.
      `CREATE TABLE ${S}.rollup_members (
        dim text COLLATE "C" NOT NULL,
        kind "char" NOT NULL,
        key text COLLATE "C" NOT NULL,
        member text COLLATE "C" NOT NULL,
        day bigint NOT NULL,
        PRIMARY KEY (dim, kind, key, member, day)
      )`,
      `CREATE INDEX rollup_members_day ON ${S}.rollup_members (day)`,
      // Appends from a process still on schema 2 would not add to the rollups: wait them out.
      `LOCK TABLE ${S}.turns IN SHARE ROW EXCLUSIVE MODE`,
    ],
    async after(tx, S) {
      // The backfill reads every stored turn: no statement timeout for it (this transaction only).
      await tx.unsafe('SET LOCAL statement_timeout = 0');
      for (const statement of rebuildStatements(S, 3)) await tx.unsafe(statement, [0, 8.64e15 + DAY]);
    },
  },
  {
    version: 4,
    name: 'histogram blobs, distinct by first appearance, session totals',
    statements: (S) => [
      // Appends from a process still on schema 3 would not keep the new tables: wait them out.
      `LOCK TABLE ${S}.turns IN SHARE ROW EXCLUSIVE MODE`,
      // The backfills read every rollup row and every session: no statement timeout for them.
      'SET LOCAL statement_timeout = 0',
      // One row per dimension value and day ('d') or ISO week ('w') holding its whole latency
      // histogram, instead of a row per bucket: a 90-day percentile reads a few hundred rows.
      `CREATE TABLE ${S}.rollup_hist (
        dim text COLLATE "C" NOT NULL,
        unit "char" NOT NULL,
        bucket bigint NOT NULL,
        key text COLLATE "C" NOT NULL,
        hist bytea NOT NULL,
        PRIMARY KEY (dim, unit, bucket, key)
      )`,
      `INSERT INTO ${S}.rollup_hist (dim, unit, bucket, key, hist)
        SELECT dim, 'd', bucket, key, ${HIST_AGG('lb', 'count')} FROM ${S}.rollup_latency_day GROUP BY 1, 3, 4`,
      `INSERT INTO ${S}.rollup_hist (dim, unit, bucket, key, hist)
        SELECT dim, 'w', week, key, ${HIST_AGG('lb', 'c')} FROM (
          SELECT dim, ${weekStartSql('bucket')} AS week, key, lb, sum(count) AS c
          FROM ${S}.rollup_latency_day GROUP BY 1, 2, 3, 4) h
        GROUP BY 1, 3, 4`,
      `DROP TABLE ${S}.rollup_latency_day`,
      `CREATE TABLE ${S}.distinct_days (
        dim text COLLATE "C" NOT NULL,
        kind "char" NOT NULL,
        day bigint NOT NULL,
        key text COLLATE "C" NOT NULL,
        prev bigint NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (dim, kind, day, key, prev)
      )`,
      ...distinctRebuildStatements(S),
      // Appends look members up by their primary key; only retention read this one.
      `DROP INDEX ${S}.rollup_members_day`,
      `CREATE TABLE ${S}.session_totals (
        session_id text COLLATE "C" PRIMARY KEY,
        count bigint NOT NULL,
        first_at bigint NOT NULL,
        last_at bigint NOT NULL
      )`,
      `INSERT INTO ${S}.session_totals (session_id, count, first_at, last_at)
        SELECT session_id, count(*), min(at), max(at) FROM ${S}.turns GROUP BY session_id`,
      `CREATE INDEX session_totals_last ON ${S}.session_totals (last_at, session_id)`,
      `CREATE INDEX session_totals_first ON ${S}.session_totals (first_at, last_at)`,
      // The longest session bounds the search for sessions crossing a window's end.
      `CREATE INDEX session_totals_span ON ${S}.session_totals ((last_at - first_at))`,
    ],
  },
  {
    version: 5,
    name: 'sessions by first day',
    statements: (S) => [
      // Appends from a process still on schema 4 would not keep the new table: wait them out.
      `LOCK TABLE ${S}.turns IN SHARE ROW EXCLUSIVE MODE`,
      'SET LOCAL statement_timeout = 0',
      // Sessions per UTC day of their first turn: counting the sessions of a window sums a row per
      // day instead of reading every session's totals (see session-plan.ts).
      `CREATE TABLE ${S}.session_first_days (day bigint PRIMARY KEY, n bigint NOT NULL)`,
      ...sessionDaysRebuildStatements(S).slice(1),
    ],
  },
  {
    version: 6,
    name: 'no user members per framework, tool or MCP server',
    statements: (S) => [
      // Appends from a process still on schema 5 would write the rows again: wait them out.
      `LOCK TABLE ${S}.turns IN SHARE ROW EXCLUSIVE MODE`,
      'SET LOCAL statement_timeout = 0',
      // Appends stop writing them (see USERLESS_DIMS in rollups.ts); plans stop reading them.
      `DELETE FROM ${S}.rollup_members WHERE kind = 'u' AND dim IN (${USERLESS_DIMS.map((d) => `'${d}'`).join(', ')})`,
      `DELETE FROM ${S}.distinct_days WHERE kind = 'u' AND dim IN (${USERLESS_DIMS.map((d) => `'${d}'`).join(', ')})`,
    ],
  },
  {
    version: 7,
    name: 'daily (framework, persona) and framework-pair totals',
    statements: (S) => [
      // Appends from a process still on schema 6 would not add to the new rows: wait them out.
      `LOCK TABLE ${S}.turns IN SHARE ROW EXCLUSIVE MODE`,
      'SET LOCAL statement_timeout = 0',
    ],
    async after(tx, S) {
      // Built from every stored turn's framework rows (see PAIR_DIMS in rollups.ts).
      for (const statement of pairRebuildStatements(S)) await tx.unsafe(statement, [0, 8.64e15 + DAY]);
    },
  },
  {
    version: 8,
    name: 'turns version',
    statements: (S) => [
      // Appends or deletes in flight from a process still on schema 7 finish first.
      `LOCK TABLE ${S}.turns IN SHARE ROW EXCLUSIVE MODE`,
      // TurnStore.version: one row, raised by one in the transaction of every append that stores
      // a turn and every deleteBefore that deletes one (see turns.ts).
      `CREATE TABLE ${S}.turns_version (id integer PRIMARY KEY CHECK (id = 0), value bigint NOT NULL)`,
      `INSERT INTO ${S}.turns_version (id, value) VALUES (0, 0)`,
    ],
  },
  {
    version: 9,
    name: 'session errors and users, user-persona totals',
    statements: (S) => [
      // Appends from a process still on schema 8 would not keep the new columns: wait them out.
      `LOCK TABLE ${S}.turns IN SHARE ROW EXCLUSIVE MODE`,
      'SET LOCAL statement_timeout = 0',
      `ALTER TABLE ${S}.session_totals ADD COLUMN errors bigint NOT NULL DEFAULT 0,
        ADD COLUMN user_id text COLLATE "C", ADD COLUMN users_mixed boolean NOT NULL DEFAULT false`,
      `UPDATE ${S}.session_totals st SET errors = x.errors, user_id = x.user_id, users_mixed = x.users_mixed
        FROM (SELECT session_id, ${SESSION_TOTALS_SELECT} FROM ${S}.turns GROUP BY 1) x
        WHERE x.session_id = st.session_id`,
      `CREATE TABLE ${S}.user_persona_totals (
        user_key text COLLATE "C" NOT NULL,
        persona_key text COLLATE "C" NOT NULL,
        count bigint NOT NULL,
        PRIMARY KEY (user_key, persona_key)
      )`,
      userPersonaUpsert(S, `${S}.turns`),
    ],
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Brings the schema to the latest version. The transaction-scoped advisory lock (keyed by the
 * schema name) makes concurrent starters wait for the first, which then finds nothing to do.
 * Returns the versions this call applied.
 */
export async function migrate(sql: Sql<Record<string, never>>, schema: string, S: string): Promise<number[]> {
  const applied: number[] = [];
  await sql.begin(async (tx) => {
    await tx.unsafe('SELECT pg_advisory_xact_lock(hashtext($1))', [`convokit:${schema}`]);
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${S}`);
    await tx.unsafe(
      `CREATE TABLE IF NOT EXISTS ${S}.schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const rows = await tx.unsafe<{ version: number }[]>(`SELECT version FROM ${S}.schema_migrations`);
    const done = new Set(rows.map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      // One round trip per migration: the simple protocol takes several statements at once.
      await tx.unsafe(m.statements(S).join(';\n')).simple();
      if (m.after) await m.after(tx as unknown as Sql<Record<string, never>>, S);
      await tx.unsafe(`INSERT INTO ${S}.schema_migrations (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
  });
  return applied;
}
