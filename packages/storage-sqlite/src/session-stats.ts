import {
  DAY_MS,
  type NormalizedTurnFilter,
  nearestRankIndex,
  normalizeTurnFilter,
  SESSION_LENGTH_BINS,
  SESSION_TURN_BINS,
  SESSION_USER_GROUPS,
  type SessionStats,
  type SessionValueStats,
  sessionStatsOf,
  sessionStatsOfRows,
  summarizeSessionValues,
  type TurnFilter,
  TurnFilterSchema,
  validate,
} from '@convokit/core';
import { aggregateTurns } from './aggregate.js';
import type { Connection } from './connection.js';
import { KIND_LENGTH, KIND_TURNS, lengthKey, lengthKeyRange } from './session-hist.js';
import { sessionSpan } from './sessions.js';
import { COVERED, PARTIAL } from './user-totals.js';

const WHERE = 'turns.sessionStats';

/**
 * `TurnStore.sessionStats`. A filter that is only a time range whose ends are whole UTC days (or
 * open) is answered from session_hist (session-hist.ts): the sessions whose first turn lies in the
 * range, per turn count and per length key, less the few sessions that cross an end of the range
 * (found through `session_span` as in session-plan.ts), which are recounted from their turns in
 * the range. A quantile of lengths reads the exact lengths of the one key it falls in (the
 * session_totals length index). Users come from the (session, user) totals in one SQL pass.
 * Any other filter (or a range with an end inside a day) groups turns by (session, user) exactly
 * as `aggregate` does.
 */
export async function sessionStats(conn: Connection, input: TurnFilter = {}): Promise<SessionStats> {
  const filter = normalizeTurnFilter(validate(TurnFilterSchema, input, WHERE));
  if (!histServes(filter)) return groupedStats(conn, filter);
  return conn.run(WHERE, () => conn.db.transaction(() => histStats(conn, filter))());
}

function histServes(f: NormalizedTurnFilter): boolean {
  if (!Object.keys(f).every((k) => k === 'from' || k === 'to')) return false;
  return (f.from === undefined || f.from % DAY_MS === 0) && (f.to === undefined || f.to % DAY_MS === 0);
}

/** Every session's (session, user) rows through the one query engine: the exact path for any filter. */
async function groupedStats(conn: Connection, filter: NormalizedTurnFilter): Promise<SessionStats> {
  const { rows } = await aggregateTurns(
    conn,
    { filter, groupBy: [...SESSION_USER_GROUPS.groupBy], measures: [...SESSION_USER_GROUPS.measures] },
    WHERE,
  );
  return sessionStatsOfRows(rows);
}

type Totals = [id: string, count: number, first: number, last: number];

function histStats(conn: Connection, f: NormalizedTurnFilter): SessionStats {
  const from = f.from ?? Number.MIN_SAFE_INTEGER;
  const to = f.to ?? Number.MAX_SAFE_INTEGER;
  if (from >= to) return sessionStatsOf([], []);

  // Sessions crossing `from` or `to` started less than the longest span before it.
  const span = sessionSpan(conn.db);
  const crossing = new Set<string>();
  const crossingSql = conn.prepare(
    'SELECT session_id FROM session_totals WHERE first_at >= ? AND first_at < ? AND last_at >= ?',
  );
  for (const t of [f.from, f.to]) {
    if (t === undefined) continue;
    for (const id of crossingSql.pluck(true).all(t - span, t, t) as string[]) crossing.add(id);
  }
  // A crossing session whose first turn lies in the range is in session_hist with its whole totals: taken out.
  const removed: Totals[] = [];
  const extra: Totals[] = [];
  /** Per user, its crossing sessions with a turn in the range. */
  const crossingUserSessions = new Map<string, number>();
  if (crossing.size > 0) {
    const ids = JSON.stringify([...crossing]);
    const whole = conn
      .prepare(
        'SELECT session_id, count, first_at, last_at FROM session_totals WHERE session_id IN (SELECT value FROM json_each(?))',
      )
      .raw(true)
      .all(ids) as Totals[];
    for (const r of whole) if (r[2] >= from && r[2] < to) removed.push(r);
    const recounted = conn
      .prepare(`
        SELECT session_id, COALESCE(user_id, ''), COUNT(*), MIN(at), MAX(at) FROM turns
        WHERE session_id IN (SELECT value FROM json_each(?)) AND at >= ? AND at < ? GROUP BY session_id, user_id`)
      .raw(true)
      .all(ids, from, to) as [string, string, number, number, number][];
    const bySession = new Map<string, Totals>();
    for (const [id, user, count, first, last] of recounted) {
      const r = bySession.get(id);
      if (!r) bySession.set(id, [id, count, first, last]);
      else {
        r[1] += count;
        if (first < r[2]) r[2] = first;
        if (last > r[3]) r[3] = last;
      }
      if (user !== '') crossingUserSessions.set(user, (crossingUserSessions.get(user) ?? 0) + 1);
    }
    extra.push(...bySession.values());
  }

  const turnCounts = new Map<number, number>();
  const lengthKeys = new Map<number, [sessions: number, total: number]>();
  const rows = conn
    .prepare(`
      SELECT kind, bin, SUM(sessions), SUM(total) FROM session_hist INDEXED BY session_hist_bins
      WHERE day >= ? AND day < ? GROUP BY kind, bin`)
    .raw(true)
    .all(from, to) as [number, number, number, number][];
  for (const [kind, bin, sessions, total] of rows) {
    if (sessions === 0) continue;
    if (kind === KIND_TURNS) turnCounts.set(bin, sessions);
    else if (kind === KIND_LENGTH) lengthKeys.set(bin, [sessions, total]);
  }
  const bump = (r: Totals, sign: number) => {
    const [, count, first, last] = r;
    turnCounts.set(count, (turnCounts.get(count) ?? 0) + sign);
    const key = lengthKey(last - first);
    const k = lengthKeys.get(key) ?? [0, 0];
    lengthKeys.set(key, [k[0] + sign, k[1] + sign * (last - first)]);
  };
  for (const r of removed) bump(r, -1);
  for (const r of extra) bump(r, 1);

  const turnsPerSession = summarizeSessionValues(turnCounts, SESSION_TURN_BINS);
  let sessions = 0;
  let turns = 0;
  for (const [count, n] of turnCounts) {
    sessions += n;
    turns += count * n;
  }
  const lengthMs = lengthStats(conn, lengthKeys, from, to, removed, extra, sessions);
  return {
    turns,
    sessions,
    turnsPerSession,
    lengthMs,
    users: usersOf(conn, from, to, crossing, crossingUserSessions),
  };
}

/**
 * A user whose turns all lie in the range has all its sessions there: those users are counted
 * from `user_totals` in one statement (user-totals.ts). For every other user with turns on both
 * sides of an end of the range, its sessions in the range are its (session, user) totals inside
 * the range plus its recounted crossing sessions. Such users with a totals row of a crossing
 * session are counted exactly from both; each of the rest has no crossing session, and one probe
 * of the user index (at most two totals inside the range) says whether it is active and whether
 * it returns.
 */
function usersOf(
  conn: Connection,
  from: number,
  to: number,
  crossing: ReadonlySet<string>,
  crossingUserSessions: ReadonlyMap<string, number>,
): SessionStats['users'] {
  const [coveredActive, coveredReturning] = conn
    .prepare(`SELECT COUNT(*), COALESCE(SUM(sessions >= 2), 0) FROM user_totals WHERE ${COVERED}`)
    .raw(true)
    .get({ from, to }) as [number, number];
  const ids = JSON.stringify([...crossing]);
  const involved =
    crossing.size === 0
      ? []
      : (conn
          .prepare(`
            SELECT DISTINCT s.user_id FROM session_user_totals s
            WHERE s.session_id IN (SELECT value FROM json_each(@ids)) AND s.user_id <> ''
              AND NOT EXISTS (SELECT 1 FROM user_totals WHERE user_id = s.user_id AND ${COVERED})`)
          .pluck(true)
          .all({ ids, from, to }) as string[]);
  const [active, returning] = conn
    .prepare(`
      SELECT COALESCE(SUM(n >= 1), 0), COALESCE(SUM(n >= 2), 0) FROM (
        SELECT (SELECT COUNT(*) FROM (
          SELECT 1 FROM session_user_totals s INDEXED BY session_user_totals_user
          WHERE s.user_id = u.user_id AND s.first_at >= @from AND s.first_at < @to AND s.last_at < @to LIMIT 2)) AS n
        FROM user_totals u
        WHERE ${PARTIAL} AND u.user_id NOT IN (SELECT value FROM json_each(@involved)))`)
    .raw(true)
    .get({ from, to, involved: JSON.stringify(involved) }) as [number, number];
  let a = coveredActive + active;
  let r = coveredReturning + returning;
  const inside = conn
    .prepare(`
      SELECT COUNT(*) FROM session_user_totals INDEXED BY session_user_totals_user
      WHERE user_id = ? AND first_at >= ? AND first_at < ? AND last_at < ?
        AND session_id NOT IN (SELECT value FROM json_each(?))`)
    .pluck(true);
  for (const user of involved) {
    const n = (inside.get(user, from, to, to, ids) as number) + (crossingUserSessions.get(user) ?? 0);
    if (n >= 1) a++;
    if (n >= 2) r++;
  }
  return { active: a, returning: r };
}

/**
 * Lengths: sums and bins from the keys; each quantile from the exact lengths of the key holding
 * its rank (the stored sessions of that key whose first turn is in the range, less the removed,
 * plus the recounted).
 */
function lengthStats(
  conn: Connection,
  keys: Map<number, [number, number]>,
  from: number,
  to: number,
  removed: readonly Totals[],
  extra: readonly Totals[],
  n: number,
): SessionValueStats {
  const bins = SESSION_LENGTH_BINS.map(() => 0);
  let sum = 0;
  const ordered = [...keys].filter(([, [k]]) => k !== 0).sort((a, b) => a[0] - b[0]);
  for (const [key, [k, total]] of ordered) {
    bins[key % 8]! += k;
    sum += total;
  }
  if (n === 0) return { sum: 0, median: null, p90: null, max: null, bins };
  const rankInKey = (key: number, rank: number, size: number): number | null => {
    // Without crossing sessions of this key, the index walks to the rank itself: no row per
    // session of the key into JavaScript, no sort (at 1M turns, 90 days: 11.6 ms against 16.4 ms
    // per sessionStats call, interleaved A/B at load 4.1). It walks in from the nearer end of the
    // key's `size` sessions (the same value: only lengths come back).
    const touched = (r: Totals) => lengthKey(r[3] - r[2]) === key;
    if (removed.some(touched) || extra.some(touched)) return lengthsOfKey(key)[rank - 1] ?? null;
    const [lo, hi] = lengthKeyRange(key);
    const fromTop = rank > size - rank;
    return (
      (conn
        .prepare(`
          SELECT last_at - first_at FROM session_totals INDEXED BY session_totals_length
          WHERE last_at - first_at >= ? AND last_at - first_at < ? AND first_at >= ? AND first_at < ?
          ORDER BY last_at - first_at ${fromTop ? 'DESC' : 'ASC'} LIMIT 1 OFFSET ?`)
        .pluck(true)
        .get(lo, hi, from, to, fromTop ? size - rank : rank - 1) as number | undefined) ?? null
    );
  };
  const lengthsOfKey = (key: number): number[] => {
    const [lo, hi] = lengthKeyRange(key);
    const stored = conn
      .prepare(`
        SELECT last_at - first_at FROM session_totals INDEXED BY session_totals_length
        WHERE last_at - first_at >= ? AND last_at - first_at < ? AND first_at >= ? AND first_at < ?`)
      .pluck(true)
      .all(lo, hi, from, to) as number[];
    for (const [, , first, last] of removed) {
      if (lengthKey(last - first) !== key) continue;
      const i = stored.indexOf(last - first);
      if (i >= 0) stored.splice(i, 1);
    }
    for (const [, , first, last] of extra) if (lengthKey(last - first) === key) stored.push(last - first);
    return stored.sort((a, b) => a - b);
  };
  const at = (rank: number): number | null => {
    let seen = 0;
    for (const [key, [k]] of ordered) {
      if (seen + k >= rank) return rankInKey(key, rank - seen, k);
      seen += k;
    }
    return null;
  };
  return {
    sum,
    median: at(nearestRankIndex(0.5, n)),
    p90: at(nearestRankIndex(0.9, n)),
    max: at(n),
    bins,
  };
}
