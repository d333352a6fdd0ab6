import { join } from 'node:path';
import type { Turn } from '@convokit/core';
import Database from 'better-sqlite3';
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
