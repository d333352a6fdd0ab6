import type { Measure } from '@convokit/core';
import { ratio } from '../ratio.js';
import type { QueryContext, QueryOutput } from './context.js';
import { levelSeriesBy, type SeriesPoint } from './series.js';
import { byFirstKey } from './values.js';

export interface PersonaFigures {
  /** `null` groups the turns recorded without a persona. */
  persona: string | null;
  turns: number;
  sessions: number;
  users: number;
  /** turns / all turns in the period; the shares of all rows (the null row included) sum to 1. */
  share: number;
  errors: number;
  /** (turns - errors) / turns. */
  successRate: number;
  latencyAvg: number | null;
  latencyP95: number | null;
  latencyCount: number;
  feedbackAvg: number | null;
  feedbackCount: number;
  firstSeen: number;
  lastSeen: number;
}

export interface PersonaUsageData {
  totalTurns: number;
  /** Most turns first, ties by persona ascending (null first). */
  personas: PersonaFigures[];
  /** Turns per persona at the aggregation level. */
  series: SeriesPoint<Array<{ persona: string | null; turns: number }>>[];
}

/**
 * Additive measures (which SQL adapters answer from rollups) and distinct counts (which need the
 * turns themselves) are asked for in two calls, so only the second one scans.
 */
const MEASURES: Measure[] = [
  'count',
  'errors',
  'latencyAvg',
  'latencyP95',
  'latencyCount',
  'feedbackAvg',
  'feedbackCount',
  'firstAt',
  'lastAt',
];

export async function personaUsage(ctx: QueryContext): Promise<QueryOutput<PersonaUsageData>> {
  const [perPersona, distinct, series] = await Promise.all([
    ctx.turns.aggregate({
      filter: ctx.filter,
      groupBy: ['persona'],
      measures: MEASURES,
      orderBy: { measure: 'count', direction: 'desc' },
    }),
    ctx.turns.aggregate({ filter: ctx.filter, groupBy: ['persona'], measures: ['sessions', 'users'] }),
    levelSeriesBy(
      {
        turns: ctx.turns,
        filter: ctx.filter,
        period: ctx.period,
        level: ctx.query.aggregation,
        sessionLimit: ctx.query.pagination.limit,
      },
      'persona',
      ['count'],
    ),
  ]);
  let total = 0;
  for (const row of perPersona.rows) total += row.values.count ?? 0;
  const counts = byFirstKey(distinct.rows);
  const personas: PersonaFigures[] = perPersona.rows.map((row) => {
    const v = { ...row.values, ...counts.get(row.keys[0] ?? null) };
    const turns = v.count ?? 0;
    const errors = v.errors ?? 0;
    return {
      persona: row.keys[0] === null ? null : String(row.keys[0]),
      turns,
      sessions: v.sessions ?? 0,
      users: v.users ?? 0,
      share: ratio(turns, total) ?? 0,
      errors,
      successRate: ratio(turns - errors, turns) ?? 0,
      latencyAvg: v.latencyAvg ?? null,
      latencyP95: v.latencyP95 ?? null,
      latencyCount: v.latencyCount ?? 0,
      feedbackAvg: v.feedbackAvg ?? null,
      feedbackCount: v.feedbackCount ?? 0,
      firstSeen: v.firstAt ?? 0,
      lastSeen: v.lastAt ?? 0,
    };
  });
  return {
    data: {
      totalTurns: total,
      personas,
      series: series.map((point) => ({
        ...point,
        values: point.values.map((g) => ({
          persona: g.key === null ? null : String(g.key),
          turns: g.values.count ?? 0,
        })),
      })),
    },
    totalRecords: personas.length,
  };
}
