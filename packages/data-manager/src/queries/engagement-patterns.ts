import { HOUR_MS, type Measure } from '@convokit/core';
import { mean, nearestRank, ratio } from '../ratio.js';
import type { QueryContext, QueryOutput } from './context.js';
import { bucketsOf, levelSeries, type SeriesPoint } from './series.js';
import { byFirstKey, type MeasureValues } from './values.js';

type GroupKeyValues = Array<string | number | null>;

const MINUTE_MS = 60_000;

/** A histogram bin: values in [min, max), `max` null for the open last bin. */
export interface Bin {
  min: number;
  max: number | null;
  sessions: number;
}

export interface Distribution {
  /** Over the sessions of the period; null without sessions. */
  mean: number | null;
  /** Nearest rank: the value at rank ceil(q * n) of the sorted per-session values. */
  median: number | null;
  p90: number | null;
  max: number | null;
  bins: Bin[];
}

export interface EngagementData {
  totals: { turns: number; sessions: number; users: number };
  /** Distinct sessions with a turn on each UTC day of the period (a session over midnight counts on both days). */
  sessionsPerDay: {
    days: Array<{ start: number; sessions: number }>;
    /** Sum over the days / number of days (empty days count as 0). */
    mean: number | null;
    max: number;
  };
  /** Turns, distinct sessions and distinct users per point of the aggregation level. */
  series: SeriesPoint<{ turns: number; sessions: number; users: number }>[];
  turnsPerSession: Distribution;
  /** lastAt - firstAt of each session's turns in the period, ms (0 for a single turn). */
  sessionLengthMs: Distribution;
  /** Turns per UTC hour of day, index 0..23. */
  hourOfDay: number[];
  /** Turns per UTC day of week, index 0 = Monday .. 6 = Sunday. */
  dayOfWeek: number[];
  users: {
    /** Distinct user ids with a turn in the period (turns without a user id are not a user). */
    active: number;
    /** Of those, users with turns in two or more sessions in the period. */
    returning: number;
    returningRate: number | null;
  };
  /**
   * Each user's preferred persona is the one with most of their turns (ties by name); turns
   * without a persona are left out. Users per persona, most first, top N; share = users / users
   * with a preference.
   */
  personaPreference: Array<{ persona: string; users: number; share: number }>;
}

export const TURN_BINS = [1, 2, 3, 6, 11, 21, 51];
export const LENGTH_BINS = [0, 1, MINUTE_MS, 5 * MINUTE_MS, 15 * MINUTE_MS, HOUR_MS, 4 * HOUR_MS];

const SERIES_MEASURES: Measure[] = ['count', 'sessions', 'users'];

export async function engagementPatterns(ctx: QueryContext): Promise<QueryOutput<EngagementData>> {
  const { turns, filter, period, query } = ctx;
  const daily = query.aggregation === 'daily';
  const days = bucketsOf('day', period);
  // One scan gives both the sessions and the users: a row per (session, user) pair. The
  // day-of-week histogram needs no call of its own: it is the per-day counts summed by weekday.
  const [perDay, levelPoints, sessionUser, perHour, userPersona] = await Promise.all([
    turns.aggregate({ filter, groupBy: ['day'], measures: SERIES_MEASURES }),
    daily
      ? Promise.resolve(null)
      : levelSeries(
          { turns, filter, period, level: query.aggregation, sessionLimit: query.pagination.limit },
          SERIES_MEASURES,
        ),
    turns.aggregate({ filter, groupBy: ['session', 'user'], measures: ['count', 'firstAt', 'lastAt'] }),
    turns.aggregate({ filter, groupBy: ['hourOfDay'], measures: ['count'] }),
    turns.aggregate({
      filter,
      groupBy: ['user', 'persona'],
      measures: ['count'],
      orderBy: { measure: 'count', direction: 'desc' },
    }),
  ]);

  const dayValues = byFirstKey(perDay.rows);
  const dayPoints: SeriesPoint<MeasureValues>[] = days.map(({ start, end }) => ({
    key: start,
    start,
    end,
    values: dayValues.get(start) ?? { count: 0, sessions: 0, users: 0 },
  }));
  const sessionsByDay = dayPoints.map((p) => ({ start: p.start, sessions: p.values.sessions ?? 0 }));

  const { turnCounts, lengths, sessionCount, totalTurns, sessionsPerUser } = perSession(sessionUser.rows);

  const active = sessionsPerUser.size;
  let returning = 0;
  for (const n of sessionsPerUser.values()) if (n >= 2) returning += 1;

  // Rows come most turns first, ties by (user, persona): the first persona row of a user wins.
  const preferred = new Map<string, string>();
  for (const row of userPersona.rows) {
    const [user, persona] = row.keys;
    if (user === null || persona === null || preferred.has(String(user))) continue;
    preferred.set(String(user), String(persona));
  }
  const usersPerPersona = new Map<string, number>();
  for (const persona of preferred.values())
    usersPerPersona.set(persona, (usersPerPersona.get(persona) ?? 0) + 1);
  const personaPreference = [...usersPerPersona]
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, query.options.topN)
    .map(([persona, users]) => ({ persona, users, share: ratio(users, preferred.size) ?? 0 }));

  const series = (levelPoints ?? dayPoints).map((p) => ({
    ...p,
    values: { turns: p.values.count ?? 0, sessions: p.values.sessions ?? 0, users: p.values.users ?? 0 },
  }));

  return {
    data: {
      totals: { turns: totalTurns, sessions: sessionCount, users: active },
      sessionsPerDay: {
        days: sessionsByDay,
        mean: mean(sessionsByDay.map((d) => d.sessions)),
        max: sessionsByDay.reduce((m, d) => Math.max(m, d.sessions), 0),
      },
      series,
      turnsPerSession: distribution(turnCounts, TURN_BINS),
      sessionLengthMs: distribution(lengths, LENGTH_BINS),
      hourOfDay: dense(perHour.rows, 24),
      dayOfWeek: byWeekday(dayPoints),
      users: { active, returning, returningRate: ratio(returning, active) },
      personaPreference,
    },
    totalRecords: sessionCount,
  };
}

interface PerSession {
  /** Turns of each session, and lastAt - firstAt of each (same order). */
  turnCounts: Float64Array;
  lengths: Float64Array;
  sessionCount: number;
  totalTurns: number;
  /** Sessions of each user id. */
  sessionsPerUser: Map<string, number>;
}

/**
 * Per-session figures from the (session, user) rows. Rows come in key order, so a session's rows
 * are adjacent and a period of a hundred thousand sessions needs no map of them; rows out of that
 * order (no adapter returns them so) are merged through a map instead.
 */
function perSession(rows: ReadonlyArray<{ keys: GroupKeyValues; values: MeasureValues }>): PerSession {
  const turnCounts = new Float64Array(rows.length);
  const firsts = new Float64Array(rows.length);
  const lasts = new Float64Array(rows.length);
  const sessionsPerUser = new Map<string, number>();
  let n = 0;
  let totalTurns = 0;
  let previous: string | undefined;
  let index: Map<string, number> | undefined;
  for (const row of rows) {
    const [session, user] = row.keys;
    const id = String(session);
    const turns = row.values.count ?? 0;
    const first = row.values.firstAt ?? 0;
    const last = row.values.lastAt ?? 0;
    totalTurns += turns;
    if (!index && previous !== undefined && id < previous) {
      index = new Map();
      // Everything so far was in order: one slot per session seen.
      let i = 0;
      for (const r of rows) {
        if (r === row) break;
        const rid = String(r.keys[0]);
        if (!index.has(rid)) index.set(rid, i++);
      }
    }
    const slot = index ? index.get(id) : id === previous ? n - 1 : undefined;
    if (slot === undefined) {
      index?.set(id, n);
      turnCounts[n] = turns;
      firsts[n] = first;
      lasts[n] = last;
      n++;
    } else {
      turnCounts[slot] = (turnCounts[slot] ?? 0) + turns;
      if (first < (firsts[slot] ?? first)) firsts[slot] = first;
      if (last > (lasts[slot] ?? last)) lasts[slot] = last;
    }
    previous = id;
    if (user !== null) sessionsPerUser.set(String(user), (sessionsPerUser.get(String(user)) ?? 0) + 1);
  }
  const lengths = new Float64Array(n);
  for (let i = 0; i < n; i++) lengths[i] = lasts[i]! - firsts[i]!;
  return { turnCounts: turnCounts.subarray(0, n), lengths, sessionCount: n, totalTurns, sessionsPerUser };
}

/** Summary and fixed bins (`edges` are the bins' lower bounds, ascending) of per-session values. */
export function distribution(values: ArrayLike<number>, edges: readonly number[]): Distribution {
  // A typed array sorts numerically without a comparator call per pair.
  const sorted = Float64Array.from(values).sort();
  const bins: Bin[] = edges.map((min, i) => ({ min, max: edges[i + 1] ?? null, sessions: 0 }));
  // Values ascend, so each bin takes a run of them (values below the first edge fall in none).
  let b = -1;
  for (const v of sorted) {
    while (b + 1 < bins.length && v >= bins[b + 1]!.min) b++;
    if (b >= 0) bins[b]!.sessions += 1;
  }
  return {
    mean: mean(sorted),
    median: nearestRank(sorted, 0.5),
    p90: nearestRank(sorted, 0.9),
    max: sorted.length === 0 ? null : sorted[sorted.length - 1]!,
    bins,
  };
}

/** Turns per ISO day of week (0 = Monday) from turns per UTC day. */
function byWeekday(days: ReadonlyArray<SeriesPoint<MeasureValues>>): number[] {
  const out = new Array<number>(7).fill(0);
  for (const d of days) out[(new Date(d.start).getUTCDay() + 6) % 7]! += d.values.count ?? 0;
  return out;
}

function dense(
  rows: ReadonlyArray<{ keys: Array<string | number | null>; values: MeasureValues }>,
  size: number,
) {
  const out = new Array<number>(size).fill(0);
  for (const row of rows) out[Number(row.keys[0])] = row.values.count ?? 0;
  return out;
}
