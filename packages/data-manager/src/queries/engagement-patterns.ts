import {
  type Measure,
  type PersonaPreference,
  personaPreferenceOfRows,
  SESSION_LENGTH_BINS,
  SESSION_TURN_BINS,
  SESSION_USER_GROUPS,
  type SessionStats,
  type SessionValueStats,
  sessionStatsOfRows,
  type TurnFilter,
  type TurnStore,
  USER_PERSONA_GROUPS,
} from '@convokit/core';
import { mean, ratio } from '../ratio.js';
import type { QueryContext, QueryOutput } from './context.js';
import { bucketsOf, levelSeries, type SeriesPoint } from './series.js';
import { byFirstKey, type MeasureValues } from './values.js';

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

const SERIES_MEASURES: Measure[] = ['count', 'sessions', 'users'];

export async function engagementPatterns(ctx: QueryContext): Promise<QueryOutput<EngagementData>> {
  const { turns, filter, period, query } = ctx;
  const daily = query.aggregation === 'daily';
  const days = bucketsOf('day', period);
  // The per-session figures and returning users: the store's sessionStats when it has one, else
  // one scan giving both the sessions and the users, a row per (session, user) pair; likewise
  // the store's personaPreference, else the (user, persona) counts summarized by core. The
  // day-of-week histogram needs no call of its own: it is the per-day counts summed by weekday.
  const [perDay, levelPoints, sessions, perHour, preference] = await Promise.all([
    turns.aggregate({ filter, groupBy: ['day'], measures: SERIES_MEASURES }),
    daily
      ? Promise.resolve(null)
      : levelSeries(
          { turns, filter, period, level: query.aggregation, sessionLimit: query.pagination.limit },
          SERIES_MEASURES,
        ),
    turns.sessionStats ? turns.sessionStats(filter) : groupedSessionStats(turns, filter),
    turns.aggregate({ filter, groupBy: ['hourOfDay'], measures: ['count'] }),
    turns.personaPreference ? turns.personaPreference(filter) : groupedPersonaPreference(turns, filter),
  ]);

  const dayValues = byFirstKey(perDay.rows);
  const dayPoints: SeriesPoint<MeasureValues>[] = days.map(({ start, end }) => ({
    key: start,
    start,
    end,
    values: dayValues.get(start) ?? { count: 0, sessions: 0, users: 0 },
  }));
  const sessionsByDay = dayPoints.map((p) => ({ start: p.start, sessions: p.values.sessions ?? 0 }));

  const sessionCount = sessions.sessions;
  const { active, returning } = sessions.users;

  const personaPreference = preference.personas
    .slice(0, query.options.topN)
    .map(({ persona, users }) => ({ persona, users, share: ratio(users, preference.users) ?? 0 }));

  const series = (levelPoints ?? dayPoints).map((p) => ({
    ...p,
    values: { turns: p.values.count ?? 0, sessions: p.values.sessions ?? 0, users: p.values.users ?? 0 },
  }));

  return {
    data: {
      totals: { turns: sessions.turns, sessions: sessionCount, users: active },
      sessionsPerDay: {
        days: sessionsByDay,
        mean: mean(sessionsByDay.map((d) => d.sessions)),
        max: sessionsByDay.reduce((m, d) => Math.max(m, d.sessions), 0),
      },
      series,
      turnsPerSession: distribution(sessions.turnsPerSession, sessionCount, SESSION_TURN_BINS),
      sessionLengthMs: distribution(sessions.lengthMs, sessionCount, SESSION_LENGTH_BINS),
      hourOfDay: dense(perHour.rows, 24),
      dayOfWeek: byWeekday(dayPoints),
      users: { active, returning, returningRate: ratio(returning, active) },
      personaPreference,
    },
    totalRecords: sessionCount,
  };
}

/** Stores without `sessionStats`: every (session, user) row of the period, summarized by core. */
async function groupedSessionStats(turns: TurnStore, filter: TurnFilter): Promise<SessionStats> {
  const { rows } = await turns.aggregate({
    filter,
    groupBy: [...SESSION_USER_GROUPS.groupBy],
    measures: [...SESSION_USER_GROUPS.measures],
  });
  return sessionStatsOfRows(rows);
}

/** Stores without `personaPreference`: every (user, persona) count of the period, summarized by core. */
async function groupedPersonaPreference(turns: TurnStore, filter: TurnFilter): Promise<PersonaPreference> {
  const { rows } = await turns.aggregate({
    filter,
    groupBy: [...USER_PERSONA_GROUPS.groupBy],
    measures: [...USER_PERSONA_GROUPS.measures],
  });
  return personaPreferenceOfRows(rows);
}

/** A Distribution from a store's summary of `n` per-session values and the bins' lower bounds. */
function distribution(stats: SessionValueStats, n: number, edges: readonly number[]): Distribution {
  return {
    mean: n === 0 ? null : stats.sum / n,
    median: stats.median,
    p90: stats.p90,
    max: stats.max,
    bins: edges.map((min, i) => ({ min, max: edges[i + 1] ?? null, sessions: stats.bins[i] ?? 0 })),
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
