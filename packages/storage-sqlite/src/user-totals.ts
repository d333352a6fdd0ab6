import type { Turn } from '@convokit/core';
import type Database from 'better-sqlite3';

/**
 * All-time per-user totals over the stored turns, written in the appending transaction:
 * `user_persona_totals` counts each (user, persona) pair's turns, and `user_totals` holds each
 * user's first and last turn, its number of sessions (its rows in `session_user_totals`) and its
 * preferred persona (most turns, ties by persona in JavaScript string order, null when none of its
 * turns has a persona) with that persona's turn count.
 *
 * A user whose first and last turns both lie inside a time range has all its turns there, so
 * over that range its preference and its session count are these totals as they stand: persona
 * preference and returning users read one row per such user instead of summing its days
 * (persona-preference.ts, session-stats.ts). Other users with turns in the range are counted
 * from the day rollups and session totals as before.
 *
 * Appends only add turns, so a user's new preference is its old one or one of the pairs the
 * append raised; deletes (deleteBefore) subtract the deleted pairs and recompute the users they
 * touched. Turns without a user are not a user; user ids are never ''.
 */
export const USER_TOTALS_DDL = `
CREATE TABLE IF NOT EXISTS user_totals (
  user_id TEXT PRIMARY KEY,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  sessions INTEGER NOT NULL,
  persona TEXT,
  persona_turns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS user_persona_totals (
  user_id TEXT NOT NULL,
  persona TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (user_id, persona)
) WITHOUT ROWID;
`;

/** SQL terms over `user_totals` for the range [@from, @to): users whose turns all lie in it, and users with turns on both sides of an end. */
export const COVERED = 'first_at >= @from AND last_at < @to';
export const PARTIAL = `first_at < @to AND last_at >= @from AND NOT (${COVERED})`;

type UserRow = [first: number, last: number, sessions: number, persona: string | null, personaTurns: number];

export interface UserStatements {
  select: Database.Statement;
  upsert: Database.Statement;
  addPair: Database.Statement;
}

export function prepareUserStatements(db: Database.Database): UserStatements {
  return {
    select: db
      .prepare(
        'SELECT first_at, last_at, sessions, persona, persona_turns FROM user_totals WHERE user_id = ?',
      )
      .raw(true),
    upsert: db.prepare(`
      INSERT INTO user_totals (user_id, first_at, last_at, sessions, persona, persona_turns) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (user_id) DO UPDATE SET first_at = excluded.first_at, last_at = excluded.last_at,
        sessions = excluded.sessions, persona = excluded.persona, persona_turns = excluded.persona_turns`),
    addPair: db
      .prepare(`
        INSERT INTO user_persona_totals (user_id, persona, count) VALUES (?, ?, ?)
        ON CONFLICT (user_id, persona) DO UPDATE SET count = count + excluded.count RETURNING count`)
      .pluck(true),
  };
}

/** Whether (persona, turns) is preferred to the best so far: more turns, or as many and first by name. */
export function preferredOver(
  persona: string,
  turns: number,
  best: string | null,
  bestTurns: number,
): boolean {
  return turns > 0 && (best === null || turns > bestTurns || (turns === bestTurns && persona < best));
}

interface UserDelta {
  first: number;
  last: number;
  personas: Map<string, number>;
}

export type UserTurn = Pick<Turn, 'userId' | 'at' | 'persona'>;

/** One append's per-user deltas. */
export class UserBatch {
  readonly #users = new Map<string, UserDelta>();

  add(turn: UserTurn): void {
    const user = turn.userId;
    if (user === undefined) return;
    let d = this.#users.get(user);
    if (!d) {
      d = { first: turn.at, last: turn.at, personas: new Map() };
      this.#users.set(user, d);
    } else {
      if (turn.at < d.first) d.first = turn.at;
      if (turn.at > d.last) d.last = turn.at;
    }
    if (turn.persona !== undefined) d.personas.set(turn.persona, (d.personas.get(turn.persona) ?? 0) + 1);
  }

  /** `newSessions`: per user, the (session, user) totals rows this append created (sessions.ts). */
  write(s: UserStatements, newSessions: ReadonlyMap<string, number>): void {
    for (const [user, d] of this.#users) {
      const old = s.select.get(user) as UserRow | undefined;
      let persona = old?.[3] ?? null;
      let personaTurns = old?.[4] ?? 0;
      for (const [p, n] of d.personas) {
        const turns = s.addPair.get(user, p, n) as number;
        if (preferredOver(p, turns, persona, personaTurns)) {
          persona = p;
          personaTurns = turns;
        }
      }
      s.upsert.run(
        user,
        old ? Math.min(old[0], d.first) : d.first,
        old ? Math.max(old[1], d.last) : d.last,
        (old?.[2] ?? 0) + (newSessions.get(user) ?? 0),
        persona,
        personaTurns,
      );
    }
    this.#users.clear();
  }
}

export type UserDeletion = ReadonlyArray<readonly [user: string, persona: string | null, turns: number]>;

/**
 * The (user, persona) turn counts of the turns before `before`, read before they are deleted,
 * and every user with a turn there (a user whose deleted turns have no persona is recomputed too).
 */
export function usersBefore(db: Database.Database, before: number): UserDeletion {
  return db
    .prepare(
      'SELECT user_id, persona, COUNT(*) FROM turns WHERE at < ? AND user_id IS NOT NULL GROUP BY user_id, persona',
    )
    .raw(true)
    .all(before) as Array<[string, string | null, number]>;
}

/**
 * After the turns counted by `usersBefore` are deleted and the session totals trimmed: their
 * pairs are subtracted, and each user they touched is recomputed from its pairs and its (session,
 * user) totals, or removed when it has no turn left. Call inside the deleting transaction.
 */
export function trimUsers(db: Database.Database, deleted: UserDeletion): void {
  const subtract = db.prepare(
    'UPDATE user_persona_totals SET count = count - ? WHERE user_id = ? AND persona = ?',
  );
  const drop = db.prepare('DELETE FROM user_persona_totals WHERE user_id = ? AND persona = ? AND count <= 0');
  const users = new Set<string>();
  for (const [user, persona, turns] of deleted) {
    users.add(user);
    if (persona === null) continue;
    subtract.run(turns, user, persona);
    drop.run(user, persona);
  }
  refreshUsers(db, users);
}

/** Recomputes these users' rows from their pairs and their (session, user) totals. */
function refreshUsers(db: Database.Database, users: Iterable<string>): void {
  const span = db
    .prepare(`
      SELECT MIN(first_at), MAX(last_at), COUNT(*) FROM session_user_totals INDEXED BY session_user_totals_user
      WHERE user_id = ?`)
    .raw(true);
  const pairs = db.prepare('SELECT persona, count FROM user_persona_totals WHERE user_id = ?').raw(true);
  const remove = db.prepare('DELETE FROM user_totals WHERE user_id = ?');
  const { upsert } = prepareUserStatements(db);
  for (const user of users) {
    const [first, last, sessions] = span.get(user) as [number | null, number | null, number];
    if (first === null || last === null || sessions === 0) {
      remove.run(user);
      continue;
    }
    let persona: string | null = null;
    let personaTurns = 0;
    for (const [p, n] of pairs.all(user) as Array<[string, number]>) {
      if (preferredOver(p, n, persona, personaTurns)) {
        persona = p;
        personaTurns = n;
      }
    }
    upsert.run(user, first, last, sessions, persona, personaTurns);
  }
}

/**
 * Builds both tables from what is stored (the migration that introduced them): pairs from the
 * daily (user, persona) rollups, users from their (session, user) totals.
 */
export function buildUserTotals(db: Database.Database): void {
  db.exec(USER_TOTALS_DDL);
  db.exec(`
    DELETE FROM user_totals;
    DELETE FROM user_persona_totals;
    INSERT INTO user_persona_totals (user_id, persona, count)
      SELECT u, p, n FROM (
        SELECT substr(key, 1, instr(key, char(1)) - 1) AS u, substr(key, instr(key, char(1)) + 1) AS p,
          SUM(count) AS n
        FROM rollups_day WHERE dim = 'userPersona' GROUP BY key)
      WHERE u <> '' AND p <> '' AND n > 0;`);
  const users = db
    .prepare("SELECT DISTINCT user_id FROM session_user_totals WHERE user_id <> ''")
    .pluck(true)
    .all() as string[];
  refreshUsers(db, users);
}
