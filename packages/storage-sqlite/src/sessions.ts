import type { Turn } from '@convokit/core';
import type Database from 'better-sqlite3';

/**
 * Per-session totals (turn count, first and last `at`), written in the appending transaction,
 * so that "sessions in a range, latest first" reads a few index rows instead of grouping every
 * turn. A session whose turns all lie inside the range is answered from its totals; one that
 * crosses an end of the range is recounted from the turns (there are few: only sessions open at
 * that instant). To find those without scanning, `rollup_meta.session_span` keeps the longest
 * span (last - first) any session ever had: a session crossing instant T started in
 * [T - span, T). The span only grows (deletes leave it as is), which keeps that search complete.
 */

export interface SessionStatements {
  upsert: Database.Statement;
  span: Database.Statement;
}

export function prepareSessionStatements(db: Database.Database): SessionStatements {
  return {
    upsert: db
      .prepare(`
      INSERT INTO session_totals (session_id, count, first_at, last_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (session_id) DO UPDATE SET count = count + excluded.count,
        first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at)
      RETURNING last_at - first_at`)
      .pluck(),
    span: db.prepare(`
      INSERT INTO rollup_meta (name, value) VALUES ('session_span', ?)
      ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`),
  };
}

interface SessionDelta {
  count: number;
  first: number;
  last: number;
}

/** One append's per-session deltas. */
export class SessionBatch {
  readonly #deltas = new Map<string, SessionDelta>();

  add(turn: Pick<Turn, 'sessionId' | 'at'>): void {
    const d = this.#deltas.get(turn.sessionId);
    if (!d) this.#deltas.set(turn.sessionId, { count: 1, first: turn.at, last: turn.at });
    else {
      d.count++;
      if (turn.at < d.first) d.first = turn.at;
      if (turn.at > d.last) d.last = turn.at;
    }
  }

  write(s: SessionStatements): void {
    let span = -1;
    for (const [id, d] of this.#deltas) {
      const s2 = s.upsert.get(id, d.count, d.first, d.last) as number;
      if (s2 > span) span = s2;
    }
    if (span >= 0) s.span.run(span);
    this.#deltas.clear();
  }
}

/** The longest span of any session (0 when none). */
export function sessionSpan(db: Database.Database): number {
  const row = db.prepare("SELECT value FROM rollup_meta WHERE name = 'session_span'").pluck().get();
  return (row as number | undefined) ?? 0;
}

/**
 * Recomputes the totals of the given sessions from the turns left (used after deletes). Call
 * inside a transaction.
 */
export function recountSessions(db: Database.Database, ids: readonly string[]): void {
  const del = db.prepare('DELETE FROM session_totals WHERE session_id = ?');
  const put = db.prepare(`
    INSERT INTO session_totals (session_id, count, first_at, last_at)
    SELECT session_id, COUNT(*), MIN(at), MAX(at) FROM turns WHERE session_id = ? GROUP BY session_id`);
  for (const id of ids) {
    del.run(id);
    put.run(id);
  }
}

/**
 * After every turn before `before` is deleted: sessions that ended before it go, and those that
 * started before it and go on are recounted. Call inside the deleting transaction.
 */
export function trimSessions(db: Database.Database, before: number): void {
  const crossing = db
    .prepare('SELECT session_id FROM session_totals WHERE first_at < ? AND last_at >= ?')
    .pluck()
    .all(before, before) as string[];
  db.prepare('DELETE FROM session_totals WHERE last_at < ?').run(before);
  recountSessions(db, crossing);
}

/** Builds the totals from the turns already stored (the migration that introduced them). */
export function buildSessions(db: Database.Database): void {
  db.exec(`
    DELETE FROM session_totals;
    INSERT INTO session_totals (session_id, count, first_at, last_at)
      SELECT session_id, COUNT(*), MIN(at), MAX(at) FROM turns GROUP BY session_id;
    INSERT OR REPLACE INTO rollup_meta (name, value)
      SELECT 'session_span', COALESCE(MAX(last_at - first_at), 0) FROM session_totals;`);
}
