import { DAY_MS, HOUR_MS, type Turn } from '@convokit/core';
import type Database from 'better-sqlite3';
import { addHist, encodeHist } from './rollups.js';

/**
 * Distinct session and user counts without scanning turns.
 *
 * `distinct_members` records that an entity (a session or a user) was active on a UTC day under
 * a dimension value. `distinct_days` counts those memberships per (dimension value, day) and the
 * entity's previous active day: its `prevs` blob maps `prev` to `n`, the number of entities
 * active on `day` and last active before it on `prev` (-1 for a first appearance); it is stored
 * like a latency histogram (rollups.ts encodeHist), so a day costs one row however many
 * different `prev` its entities have. Over a day-aligned range [D1, D2), each entity active in
 * it is counted exactly once, on its first active day in the range, which is the one row whose
 * `prev` lies before D1:
 *
 *   distinct(D1, D2) = SUM(n) WHERE D1 <= day < D2 AND prev < D1
 *
 * and a day, week or month bucket is the same sum with D1 raised to the bucket's start. So a
 * 90-day query reads a few rows per day and key instead of every turn, and stays exact however
 * entities come and go (an entity inactive in the middle of its life is not counted there).
 */

/** Dimensions with distinct rollups: all turns (''), persona, framework, and the hour of day. */
export const DISTINCT_DIMS = ['', 'persona', 'framework', 'hourOfDay'] as const;
export const KIND_SESSION = 0;
export const KIND_USER = 1;
/** `prev` of an entity's first active day. */
export const NO_PREV = -1;

export type DistinctTurn = Pick<Turn, 'at' | 'sessionId' | 'userId' | 'persona' | 'frameworks'>;

export interface DistinctStatements {
  insertMember: Database.Statement;
  deleteMember: Database.Statement;
  prevDay: Database.Statement;
  nextDay: Database.Statement;
  /** The latest day of any membership (by the `day` index). */
  lastDay: Database.Statement;
  bump: Database.Statement;
}

export function prepareDistinctStatements(db: Database.Database): DistinctStatements {
  return {
    insertMember: db.prepare(
      'INSERT OR IGNORE INTO distinct_members (dim, key, kind, entity, day) VALUES (?, ?, ?, ?, ?)',
    ),
    deleteMember: db.prepare(
      'DELETE FROM distinct_members WHERE dim = ? AND key = ? AND kind = ? AND entity = ? AND day = ?',
    ),
    prevDay: db
      .prepare(
        `SELECT max(day) FROM distinct_members WHERE dim = ? AND key = ? AND kind = ? AND entity = ? AND day < ?`,
      )
      .pluck(),
    nextDay: db
      .prepare(
        `SELECT min(day) FROM distinct_members WHERE dim = ? AND key = ? AND kind = ? AND entity = ? AND day > ?`,
      )
      .pluck(),
    lastDay: db.prepare('SELECT max(day) FROM distinct_members').pluck(),
    bump: db.prepare(`
      INSERT INTO distinct_days (dim, key, kind, day, prevs) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (dim, kind, day, key) DO UPDATE SET prevs = cvk_hist_merge(prevs, excluded.prevs)`),
  };
}

/** One membership, as the tables key it. */
export interface Member {
  dim: string;
  key: string;
  kind: number;
  entity: string;
  day: number;
}

/** The memberships a turn implies, each once, into `into` keyed by a string of its fields. */
export function membersOf(turn: DistinctTurn, into: Map<string, Member>): void {
  const day = turn.at - (turn.at % DAY_MS);
  const hourOfDay = String(Math.floor((turn.at % DAY_MS) / HOUR_MS));
  const add = (dim: string, key: string) => {
    const put = (kind: number, entity: string) => {
      const id = `${dim}\u0000${key}\u0000${kind}\u0000${entity}\u0000${day}`;
      if (!into.has(id)) into.set(id, { dim, key, kind, entity, day });
    };
    put(KIND_SESSION, turn.sessionId);
    if (turn.userId !== undefined) put(KIND_USER, turn.userId);
  };
  add('', '');
  add('persona', turn.persona ?? '');
  for (const name of turn.frameworks) add('framework', name);
  add('hourOfDay', hourOfDay);
}

/** Changes to `distinct_days`, merged per row before they are written. */
class DayDeltas {
  readonly #deltas = new Map<string, { m: Member; prevs: Map<number, number> }>();

  add(m: Member, day: number, prev: number, n: number): void {
    const id = `${m.dim}\u0000${m.key}\u0000${m.kind}\u0000${day}`;
    let d = this.#deltas.get(id);
    if (!d) {
      d = { m: { ...m, day }, prevs: new Map() };
      this.#deltas.set(id, d);
    }
    d.prevs.set(prev, (d.prevs.get(prev) ?? 0) + n);
  }

  write(s: DistinctStatements): void {
    for (const { m, prevs } of this.#deltas.values()) {
      const blob = encodeHist(prevs);
      if (blob) s.bump.run(m.dim, m.key, m.kind, m.day, blob);
    }
    this.#deltas.clear();
  }
}

function neighbours(s: DistinctStatements, m: Member): { prev: number; next: number | null } {
  const prev = s.prevDay.get(m.dim, m.key, m.kind, m.entity, m.day) as number | null;
  const next = s.nextDay.get(m.dim, m.key, m.kind, m.entity, m.day) as number | null;
  return { prev: prev ?? NO_PREV, next };
}

/**
 * Records the memberships of a batch (call inside the appending transaction). A membership
 * already stored changes nothing; a new one between two active days of the same entity takes
 * the later day's `prev` over. Memberships go in day order, tracking the latest day stored: a
 * membership on or after it has no later day to look up (appends mostly come in time order, so
 * most skip that lookup).
 */
export function addMembers(s: DistinctStatements, members: Iterable<Member>): void {
  const deltas = new DayDeltas();
  const ordered = [...members].sort((a, b) => a.day - b.day);
  let lastDay = (s.lastDay.get() as number | null) ?? Number.NEGATIVE_INFINITY;
  for (const m of ordered) {
    if (s.insertMember.run(m.dim, m.key, m.kind, m.entity, m.day).changes === 0) continue;
    const prev = (s.prevDay.get(m.dim, m.key, m.kind, m.entity, m.day) as number | null) ?? NO_PREV;
    const next =
      m.day >= lastDay ? null : (s.nextDay.get(m.dim, m.key, m.kind, m.entity, m.day) as number | null);
    if (m.day > lastDay) lastDay = m.day;
    deltas.add(m, m.day, prev, 1);
    if (next !== null) {
      deltas.add(m, next, prev, -1);
      deltas.add(m, next, m.day, 1);
    }
  }
  deltas.write(s);
}

/** Removes memberships (the reverse of addMembers; call inside a transaction). */
function removeMembers(s: DistinctStatements, members: Iterable<Member>): void {
  const deltas = new DayDeltas();
  for (const m of members) {
    if (s.deleteMember.run(m.dim, m.key, m.kind, m.entity, m.day).changes === 0) continue;
    const { prev, next } = neighbours(s, m);
    deltas.add(m, m.day, prev, -1);
    if (next !== null) {
      deltas.add(m, next, m.day, -1);
      deltas.add(m, next, prev, 1);
    }
  }
  deltas.write(s);
}

interface MemberSourceRow {
  at: number;
  session_id: string;
  user_id: string | null;
  persona: string | null;
  frameworks: string;
}

function turnOfRow(row: MemberSourceRow): DistinctTurn {
  return {
    at: row.at,
    sessionId: row.session_id,
    frameworks: JSON.parse(row.frameworks),
    ...(row.user_id !== null ? { userId: row.user_id } : {}),
    ...(row.persona !== null ? { persona: row.persona } : {}),
  };
}

/** The memberships of the stored turns in [from, to). */
function storedMembers(db: Database.Database, from: number, to: number): Map<string, Member> {
  const members = new Map<string, Member>();
  const rows = db
    .prepare('SELECT at, session_id, user_id, persona, frameworks FROM turns WHERE at >= ? AND at < ?')
    .iterate(from, to) as IterableIterator<MemberSourceRow>;
  for (const row of rows) membersOf(turnOfRow(row), members);
  return members;
}

/**
 * After every turn before `before` is deleted: days before its UTC day go, entities whose
 * previous day went become first appearances, and the day it cuts through keeps only the
 * memberships its remaining turns still imply. Call inside the deleting transaction.
 */
export function trimDistinct(db: Database.Database, before: number): void {
  const day = before - (before % DAY_MS);
  db.prepare('DELETE FROM distinct_members WHERE day < ?').run(day);
  db.prepare('DELETE FROM distinct_days WHERE day < ?').run(day);
  // Entities last seen before the cut now appear for the first time.
  const rows = db
    .prepare('SELECT dim, key, kind, day, prevs FROM distinct_days WHERE day >= ? AND prevs IS NOT NULL')
    .all(day) as Array<Omit<Member, 'entity'> & { prevs: Uint8Array }>;
  const put = db.prepare(
    'UPDATE distinct_days SET prevs = ? WHERE dim = ? AND kind = ? AND day = ? AND key = ?',
  );
  for (const r of rows) {
    const prevs = new Map<number, number>();
    addHist(r.prevs, prevs);
    let moved = 0;
    for (const [prev, n] of prevs) {
      if (prev >= 0 && prev < day) {
        moved += n;
        prevs.delete(prev);
      }
    }
    if (moved === 0) continue;
    prevs.set(NO_PREV, (prevs.get(NO_PREV) ?? 0) + moved);
    put.run(encodeHist(prevs), r.dim, r.kind, r.day, r.key);
  }
  if (day === before) return;
  const kept = storedMembers(db, day, day + DAY_MS);
  const gone = (
    db.prepare('SELECT dim, key, kind, entity, day FROM distinct_members WHERE day = ?').all(day) as Member[]
  ).filter((m) => !kept.has(`${m.dim}\u0000${m.key}\u0000${m.kind}\u0000${m.entity}\u0000${m.day}`));
  removeMembers(prepareDistinctStatements(db), gone);
}

/**
 * Builds both tables from the turns already stored (the migration that introduced them): one
 * pass for the memberships, then each membership's previous day by a window function.
 */
export function buildDistinct(db: Database.Database): void {
  db.exec('DELETE FROM distinct_members; DELETE FROM distinct_days;');
  const insert = db.prepare(
    'INSERT OR IGNORE INTO distinct_members (dim, key, kind, entity, day) VALUES (?, ?, ?, ?, ?)',
  );
  const select = db.prepare(
    'SELECT seq, at, session_id, user_id, persona, frameworks FROM turns WHERE seq > ? ORDER BY seq LIMIT 20000',
  );
  let after = -1;
  for (;;) {
    const rows = select.all(after) as Array<MemberSourceRow & { seq: number }>;
    if (rows.length === 0) break;
    const members = new Map<string, Member>();
    for (const row of rows) membersOf(turnOfRow(row), members);
    for (const m of members.values()) insert.run(m.dim, m.key, m.kind, m.entity, m.day);
    after = rows[rows.length - 1]!.seq;
  }
  const deltas = new DayDeltas();
  const counts = db.prepare(`
    SELECT dim, key, kind, day, prev, COUNT(*) AS n FROM (
      SELECT dim, key, kind, day,
        COALESCE(LAG(day) OVER (PARTITION BY dim, key, kind, entity ORDER BY day), ${NO_PREV}) AS prev
      FROM distinct_members)
    GROUP BY dim, key, kind, day, prev`);
  for (const r of counts.all() as Array<Member & { prev: number; n: number }>)
    deltas.add(r, r.day, r.prev, r.n);
  deltas.write(prepareDistinctStatements(db));
}
