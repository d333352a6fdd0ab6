import type { AggregateRow } from './schemas/aggregate.js';

/**
 * Per-session figures over the turns matching a filter: the optional `TurnStore.sessionStats`.
 * The bins and the summary rules live here so that every adapter (and the data manager's own
 * path for stores without the method) gives identical answers.
 */

const MINUTE_MS = 60_000;
const HOUR = 3_600_000;

/** Lower bounds of the turns-per-session bins: 1, 2, 3-5, 6-10, 11-20, 21-50, 51+. */
export const SESSION_TURN_BINS: readonly number[] = Object.freeze([1, 2, 3, 6, 11, 21, 51]);

/** Lower bounds (ms) of the session-length bins: 0, under 1 min, 1-5 min, 5-15 min, 15-60 min, 1-4 h, 4 h+. */
export const SESSION_LENGTH_BINS: readonly number[] = Object.freeze([
  0,
  1,
  MINUTE_MS,
  5 * MINUTE_MS,
  15 * MINUTE_MS,
  HOUR,
  4 * HOUR,
]);

/** A summary of one per-session value over the sessions with a matching turn. */
export interface SessionValueStats {
  /** Sum of the values (0 without sessions). */
  sum: number;
  /** Nearest rank: the value at rank max(1, ceil(q * n)) of the sorted values; null without sessions. */
  median: number | null;
  p90: number | null;
  max: number | null;
  /** Sessions per bin, `bins[i]` counting values in [edges[i], edges[i + 1]) (the last bin open). */
  bins: number[];
}

export interface SessionStats {
  /** Turns matching the filter. */
  turns: number;
  /** Sessions with at least one matching turn. */
  sessions: number;
  /** Per session: its matching turns. Bins SESSION_TURN_BINS. */
  turnsPerSession: SessionValueStats;
  /** Per session: last `at` - first `at` of its matching turns (0 for one turn). Bins SESSION_LENGTH_BINS. */
  lengthMs: SessionValueStats;
  users: {
    /** Distinct user ids with a matching turn (turns without a user id are no user). */
    active: number;
    /** Of those, users with matching turns in two or more sessions. */
    returning: number;
  };
}

/** Nearest-rank rank (1-based) of quantile `q` among `n` values. */
export function nearestRankIndex(q: number, n: number): number {
  return Math.max(1, Math.ceil(q * n));
}

/**
 * The summary of per-session values given as (value, sessions) pairs in any order: the
 * reference every adapter's `sessionStats` must equal. `edges` are the bins' lower bounds,
 * ascending; values below the first edge fall in no bin.
 */
export function summarizeSessionValues(
  counts: Iterable<readonly [value: number, sessions: number]>,
  edges: readonly number[],
): SessionValueStats {
  const pairs = [...counts].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const bins = edges.map(() => 0);
  let n = 0;
  let sum = 0;
  for (const [value, sessions] of pairs) {
    n += sessions;
    sum += value * sessions;
    let b = -1;
    while (b + 1 < edges.length && value >= edges[b + 1]!) b++;
    if (b >= 0) bins[b]! += sessions;
  }
  const at = (rank: number): number | null => {
    let seen = 0;
    for (const [value, sessions] of pairs) {
      seen += sessions;
      if (seen >= rank) return value;
    }
    return null;
  };
  return {
    sum,
    median: n === 0 ? null : at(nearestRankIndex(0.5, n)),
    p90: n === 0 ? null : at(nearestRankIndex(0.9, n)),
    max: n === 0 ? null : pairs[pairs.length - 1]![0],
    bins,
  };
}

/** One session's figures, for `sessionStatsOf`. */
export interface SessionFigures {
  turns: number;
  firstAt: number;
  lastAt: number;
}

/**
 * SessionStats from every session's figures over the matching turns and each user's number of
 * sessions with a matching turn.
 */
export function sessionStatsOf(
  sessions: Iterable<SessionFigures>,
  sessionsPerUser: Iterable<number>,
): SessionStats {
  const turnCounts = new Map<number, number>();
  const lengths = new Map<number, number>();
  let turns = 0;
  let n = 0;
  for (const s of sessions) {
    n++;
    turns += s.turns;
    turnCounts.set(s.turns, (turnCounts.get(s.turns) ?? 0) + 1);
    const length = s.lastAt - s.firstAt;
    lengths.set(length, (lengths.get(length) ?? 0) + 1);
  }
  let active = 0;
  let returning = 0;
  for (const k of sessionsPerUser) {
    if (k <= 0) continue;
    active++;
    if (k >= 2) returning++;
  }
  return {
    turns,
    sessions: n,
    turnsPerSession: summarizeSessionValues(turnCounts, SESSION_TURN_BINS),
    lengthMs: summarizeSessionValues(lengths, SESSION_LENGTH_BINS),
    users: { active, returning },
  };
}

/** The aggregate spec whose rows `sessionStatsOfRows` takes (with the caller's filter). */
export const SESSION_USER_GROUPS = Object.freeze({
  groupBy: Object.freeze(['session', 'user'] as const),
  measures: Object.freeze(['count', 'firstAt', 'lastAt'] as const),
});

/**
 * SessionStats from the rows of an aggregate grouped by (session, user) with count, firstAt and
 * lastAt: the path of stores (and callers) that group turns instead. Rows in key order keep a
 * session's rows adjacent, so no map of sessions is needed; rows out of that order are merged
 * through a map instead.
 */
export function sessionStatsOfRows(rows: readonly AggregateRow[]): SessionStats {
  const sessions: SessionFigures[] = [];
  const sessionsPerUser = new Map<string, number>();
  let previous: string | undefined;
  let index: Map<string, SessionFigures> | undefined;
  for (const row of rows) {
    const [session, user] = row.keys;
    const id = String(session);
    const turns = row.values.count ?? 0;
    const first = row.values.firstAt ?? 0;
    const last = row.values.lastAt ?? 0;
    if (!index && previous !== undefined && id < previous) {
      // Everything so far was in order: one entry per session seen.
      index = new Map();
      let i = 0;
      for (const r of rows) {
        if (r === row) break;
        const rid = String(r.keys[0]);
        if (!index.has(rid)) index.set(rid, sessions[i++]!);
      }
    }
    const same = index ? index.get(id) : id === previous ? sessions[sessions.length - 1] : undefined;
    if (!same) {
      const s = { turns, firstAt: first, lastAt: last };
      sessions.push(s);
      index?.set(id, s);
    } else {
      same.turns += turns;
      if (first < same.firstAt) same.firstAt = first;
      if (last > same.lastAt) same.lastAt = last;
    }
    previous = id;
    if (user !== null && user !== undefined) {
      sessionsPerUser.set(String(user), (sessionsPerUser.get(String(user)) ?? 0) + 1);
    }
  }
  return sessionStatsOf(sessions, sessionsPerUser.values());
}
