import type { Turn } from '@convokit/core';
import type Database from 'better-sqlite3';
import { HistDelta, prepareHistUpsert } from './session-hist.js';

/**
 * Per-session totals (turn count, errors, first and last `at`), and the same per (session,
 * user) pair, written in the appending transaction, so that "sessions in a range, latest first"
 * and "every session of a range with its user" read index rows instead of grouping every turn.
 * A session whose turns all lie inside the range is answered from its totals; one that crosses
 * an end of the range is recounted from the turns (there are few: only sessions open at that
 * instant). To find those without scanning, `rollup_meta.session_span` keeps the longest span
 * (last - first) any session ever had: a session (or a session's turns by one user) crossing
 * instant T started in [T - span, T). The span only grows (deletes leave it as is), which keeps
 * that search complete. In `session_user_totals` a turn without a user has `user_id` '' (user
 * ids are never empty).
 */

export interface SessionStatements {
  select: Database.Statement;
  insert: Database.Statement;
  update: Database.Statement;
  upsertUser: Database.Statement;
  span: Database.Statement;
  hist: Database.Statement;
}

export function prepareSessionStatements(db: Database.Database): SessionStatements {
  return {
    select: db
      .prepare('SELECT count, errors, first_at, last_at FROM session_totals WHERE session_id = ?')
      .raw(true),
    insert: db.prepare(
      'INSERT INTO session_totals (session_id, count, errors, first_at, last_at) VALUES (?, ?, ?, ?, ?)',
    ),
    update: db.prepare(
      'UPDATE session_totals SET count = ?, errors = ?, first_at = ?, last_at = ? WHERE session_id = ?',
    ),
    upsertUser: db
      .prepare(`
      INSERT INTO session_user_totals (session_id, user_id, count, errors, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (session_id, user_id) DO UPDATE SET count = count + excluded.count,
        errors = errors + excluded.errors,
        first_at = min(first_at, excluded.first_at), last_at = max(last_at, excluded.last_at)
      RETURNING count`)
      .pluck(true),
    span: db.prepare(`
      INSERT INTO rollup_meta (name, value) VALUES ('session_span', ?)
      ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`),
    hist: prepareHistUpsert(db),
  };
}

interface SessionDelta {
  count: number;
  errors: number;
  first: number;
  last: number;
}

export type SessionTurn = Pick<Turn, 'sessionId' | 'at' | 'outcome' | 'userId'>;

function bump(deltas: Map<string, SessionDelta>, id: string, turn: SessionTurn): void {
  const error = turn.outcome === 'error' ? 1 : 0;
  const d = deltas.get(id);
  if (!d) deltas.set(id, { count: 1, errors: error, first: turn.at, last: turn.at });
  else {
    d.count++;
    d.errors += error;
    if (turn.at < d.first) d.first = turn.at;
    if (turn.at > d.last) d.last = turn.at;
  }
}

/** One append's per-session and per-(session, user) deltas. */
export class SessionBatch {
  readonly #deltas = new Map<string, SessionDelta>();
  /** Keyed by `session SOH user` (ids hold no control characters). */
  readonly #userDeltas = new Map<string, SessionDelta>();

  add(turn: SessionTurn): void {
    bump(this.#deltas, turn.sessionId, turn);
    bump(this.#userDeltas, `${turn.sessionId}\u0001${turn.userId ?? ''}`, turn);
  }

  /**
   * Returns, per user, the (session, user) rows this append created: the row's count after the
   * upsert equals the append's own count only for a new row.
   */
  write(s: SessionStatements): Map<string, number> {
    let span = -1;
    const hist = new HistDelta();
    for (const [id, d] of this.#deltas) {
      // Read, then write the merged totals: session_hist moves the session from its old row to its new one.
      const old = s.select.get(id) as [number, number, number, number] | undefined;
      let { count, errors, first, last } = d;
      if (old) {
        const [oldCount, oldErrors, oldFirst, oldLast] = old;
        hist.session(-1, oldCount, oldFirst, oldLast);
        count += oldCount;
        errors += oldErrors;
        if (oldFirst < first) first = oldFirst;
        if (oldLast > last) last = oldLast;
        s.update.run(count, errors, first, last, id);
      } else s.insert.run(id, count, errors, first, last);
      hist.session(1, count, first, last);
      if (last - first > span) span = last - first;
    }
    hist.write(s.hist);
    const newSessions = new Map<string, number>();
    for (const [key, d] of this.#userDeltas) {
      const cut = key.indexOf('\u0001');
      const user = key.slice(cut + 1);
      const count = s.upsertUser.get(key.slice(0, cut), user, d.count, d.errors, d.first, d.last) as number;
      if (count === d.count && user !== '') newSessions.set(user, (newSessions.get(user) ?? 0) + 1);
    }
    if (span >= 0) s.span.run(span);
    this.#deltas.clear();
    this.#userDeltas.clear();
    return newSessions;
  }
}

/** The longest span of any session (0 when none). */
export function sessionSpan(db: Database.Database): number {
  const row = db.prepare("SELECT value FROM rollup_meta WHERE name = 'session_span'").pluck().get();
  return (row as number | undefined) ?? 0;
}

const TOTALS_OF = (where: string) => `
  INSERT INTO session_totals (session_id, count, errors, first_at, last_at)
  SELECT session_id, COUNT(*), COALESCE(SUM(outcome = 'error'), 0), MIN(at), MAX(at) FROM turns ${where}
  GROUP BY session_id`;
const USER_TOTALS_OF = (where: string) => `
  INSERT INTO session_user_totals (session_id, user_id, count, errors, first_at, last_at)
  SELECT session_id, COALESCE(user_id, ''), COUNT(*), COALESCE(SUM(outcome = 'error'), 0), MIN(at), MAX(at)
  FROM turns ${where} GROUP BY session_id, COALESCE(user_id, '')`;

/**
 * Recomputes the totals of the given sessions from the turns left (used after deletes). Call
 * inside a transaction.
 */
export function recountSessions(db: Database.Database, ids: readonly string[]): void {
  const select = db
    .prepare('SELECT count, first_at, last_at FROM session_totals WHERE session_id = ?')
    .raw(true);
  const del = db.prepare('DELETE FROM session_totals WHERE session_id = ?');
  const delUser = db.prepare('DELETE FROM session_user_totals WHERE session_id = ?');
  const put = db.prepare(TOTALS_OF('WHERE session_id = ?'));
  const putUser = db.prepare(USER_TOTALS_OF('WHERE session_id = ?'));
  const hist = new HistDelta();
  for (const id of ids) {
    const old = select.get(id) as [number, number, number] | undefined;
    if (old) hist.session(-1, ...old);
    del.run(id);
    delUser.run(id);
    put.run(id);
    putUser.run(id);
    const now = select.get(id) as [number, number, number] | undefined;
    if (now) hist.session(1, ...now);
  }
  hist.write(prepareHistUpsert(db));
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
  // Sessions that ended before the cut leave session_hist: their rows are all on days up to the cut's.
  const gone = new HistDelta();
  const ended = db
    .prepare('SELECT count, first_at, last_at FROM session_totals WHERE last_at < ?')
    .raw(true)
    .all(before) as [number, number, number][];
  for (const row of ended) gone.session(-1, ...row);
  gone.write(prepareHistUpsert(db));
  db.prepare('DELETE FROM session_hist WHERE day < ? AND sessions = 0').run(before);
  db.prepare('DELETE FROM session_totals WHERE last_at < ?').run(before);
  db.prepare('DELETE FROM session_user_totals WHERE last_at < ?').run(before);
  recountSessions(db, crossing);
}

/** Builds the totals from the turns already stored (the migration that introduced them). */
export function buildSessions(db: Database.Database): void {
  db.exec(`
    DELETE FROM session_totals;
    DELETE FROM session_user_totals;
    ${TOTALS_OF('')};
    ${USER_TOTALS_OF('')};
    INSERT OR REPLACE INTO rollup_meta (name, value)
      SELECT 'session_span', COALESCE(MAX(last_at - first_at), 0) FROM session_totals;`);
}
