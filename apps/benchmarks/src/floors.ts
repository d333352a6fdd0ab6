import { join } from 'node:path';
import type { Turn } from '@convokit/core';
import Database from 'better-sqlite3';
import type { Sql } from 'postgres';
import { tempDir } from './adapters.js';

/**
 * Raw better-sqlite3 with prepared statements: the least any SQLite-backed store can cost on this
 * machine (WAL, synchronous=NORMAL, as our adapter runs by default).
 */
export function openRawSqlite(): { db: Database.Database; close(): void } {
  const dir = tempDir('raw-sqlite');
  const db = new Database(join(dir.path, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return {
    db,
    close() {
      db.close();
      dir.remove();
    },
  };
}

export interface RawTurns {
  db: Database.Database;
  count: number;
  close(): void;
}

/**
 * The turns in a plain table with the indexes a history or GROUP BY needs and an FTS5 table:
 * the floor for history, search and a scanning aggregate on SQLite.
 */
export function loadRawTurns(turns: readonly Turn[]): RawTurns {
  const raw = openRawSqlite();
  const db = raw.db;
  db.exec(`CREATE TABLE turns (id TEXT NOT NULL UNIQUE, session_id TEXT NOT NULL, at INTEGER NOT NULL,
      persona TEXT, latency REAL, outcome TEXT NOT NULL, tokens_in INTEGER, tokens_out INTEGER, body TEXT NOT NULL);
    CREATE INDEX turns_session ON turns (session_id, at);
    CREATE INDEX turns_at ON turns (at);
    CREATE VIRTUAL TABLE turns_fts USING fts5 (user_input, assistant_response);`);
  const insert = db.prepare(
    'INSERT INTO turns (id, session_id, at, persona, latency, outcome, tokens_in, tokens_out, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const fts = db.prepare(
    'INSERT INTO turns_fts (rowid, user_input, assistant_response) VALUES (last_insert_rowid(), ?, ?)',
  );
  const load = db.transaction((batch: readonly Turn[]) => {
    for (const t of batch) {
      insert.run(
        t.id,
        t.sessionId,
        t.at,
        t.persona ?? null,
        t.latencyMs ?? null,
        t.outcome,
        t.tokens?.input ?? null,
        t.tokens?.output ?? null,
        JSON.stringify(t),
      );
      fts.run(t.userInput, t.assistantResponse);
    }
  });
  for (let i = 0; i < turns.length; i += 10_000) load(turns.slice(i, i + 10_000));
  db.exec('ANALYZE');
  return { db, count: turns.length, close: raw.close };
}

/** A plain postgres.js pool in a schema of its own, dropped by `close`. */
export interface RawPostgres {
  sql: Sql;
  /** The quoted schema, spliced into statements. */
  S: string;
  close(): Promise<void>;
}

/**
 * postgres.js with its defaults on `CONVOKIT_POSTGRES_URL`, `max` connections: the least any
 * store on this machine's PostgreSQL can cost with the driver our adapter uses. Undefined when
 * the URL is not set.
 */
export async function openRawPostgres(max: number): Promise<RawPostgres | undefined> {
  const url = process.env.CONVOKIT_POSTGRES_URL;
  if (!url) return undefined;
  const { default: postgres } = await import('postgres');
  const sql = postgres(url, { max, onnotice: () => {} });
  const schema = `bench_floor_${process.pid}_${rawSchemas++}`;
  await sql.unsafe(`CREATE SCHEMA ${schema}`);
  return {
    sql,
    S: schema,
    async close() {
      await sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await sql.end();
    },
  };
}

let rawSchemas = 0;

/** The columns of the plain turns table (and what the sqlite floor stores), in insert order. */
const RAW_TURN_COLUMNS = ['id', 'session_id', 'at', 'persona', 'latency_ms', 'outcome', 'body'] as const;

/**
 * A plain turns table with the indexes a history and a time range need, and with `search` a
 * `tsvector` column under a GIN index (PostgreSQL's own `to_tsvector('simple', ...)`), and a
 * bare multi-row INSERT of a batch as one prepared statement: the floor for a batched append.
 */
export async function createRawTurnsTable(
  raw: RawPostgres,
  table: string,
  search: boolean,
): Promise<(turns: readonly Turn[]) => Promise<unknown>> {
  const { sql, S } = raw;
  await sql.unsafe(`CREATE TABLE ${S}.${table} (id text PRIMARY KEY, session_id text NOT NULL, at bigint NOT NULL,
      persona text, latency_ms float8, outcome text NOT NULL, body text NOT NULL${search ? ', search tsvector NOT NULL' : ''})`);
  await sql.unsafe(`CREATE INDEX ON ${S}.${table} (session_id, at)`);
  await sql.unsafe(`CREATE INDEX ON ${S}.${table} (at)`);
  if (search) await sql.unsafe(`CREATE INDEX ON ${S}.${table} USING gin (search)`);
  const width = RAW_TURN_COLUMNS.length + (search ? 1 : 0);
  const statements = new Map<number, string>();
  const statementFor = (rows: number) => {
    let text = statements.get(rows);
    if (!text) {
      const tuples: string[] = [];
      for (let r = 0; r < rows; r++) {
        const p = Array.from({ length: RAW_TURN_COLUMNS.length }, (_, c) => `$${r * width + c + 1}`);
        if (search) p.push(`to_tsvector('simple', $${r * width + width})`);
        tuples.push(`(${p.join(', ')})`);
      }
      const columns = [...RAW_TURN_COLUMNS, ...(search ? ['search'] : [])].join(', ');
      text = `INSERT INTO ${S}.${table} (${columns}) VALUES ${tuples.join(', ')}`;
      statements.set(rows, text);
    }
    return text;
  };
  return (turns) => {
    const values: (string | number | null)[] = [];
    for (const t of turns) {
      values.push(
        t.id,
        t.sessionId,
        t.at,
        t.persona ?? null,
        t.latencyMs ?? null,
        t.outcome,
        JSON.stringify(t),
      );
      if (search) values.push(`${t.userInput}\n${t.assistantResponse}`);
    }
    return sql.unsafe(statementFor(turns.length), values as never[], { prepare: true });
  };
}
