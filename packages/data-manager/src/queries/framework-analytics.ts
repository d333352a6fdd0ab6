import type { Measure, TurnFilter } from '@convokit/core';
import { type Period, periodFilter, previousPeriod } from '../period.js';
import { ratio } from '../ratio.js';
import type { QueryContext, QueryOutput } from './context.js';
import { levelSeriesBy, type SeriesPoint } from './series.js';
import { byFirstKey } from './values.js';

export interface Change {
  /** The figure over the previous equal period. */
  previous: number;
  /** current - previous. */
  absolute: number;
  /** (current - previous) / previous; null when previous is 0. */
  relative: number | null;
}

export interface FrameworkFigures {
  framework: string;
  /** Turns that used the framework. */
  detections: number;
  sessions: number;
  /** detections / all detections in the period; the shares sum to 1. */
  share: number;
  errors: number;
  successRate: number;
  latencyAvg: number | null;
  latencyP95: number | null;
  firstSeen: number;
  lastSeen: number;
  /** Detections against the previous equal period. */
  change: Change;
  /** Frameworks used in the same turns, most shared turns first (ties by name), top N. */
  coFrameworks: Array<{ framework: string; turns: number }>;
  /** Personas of the turns that used it (turns without a persona left out), top N. */
  coPersonas: Array<{ persona: string; turns: number }>;
}

export interface FrameworkAnalyticsData {
  /** Sum of detections (a turn with two frameworks is two detections). */
  totalDetections: number;
  previousPeriod: Period;
  previousTotalDetections: number;
  /** Most detections first, ties by framework ascending. */
  frameworks: FrameworkFigures[];
  /** Detections per framework at the aggregation level. */
  series: SeriesPoint<Array<{ framework: string; detections: number }>>[];
}

/** Additive measures (rollup-friendly); distinct sessions come from a call of their own. */
const MEASURES: Measure[] = ['count', 'errors', 'latencyAvg', 'latencyP95', 'firstAt', 'lastAt'];

export async function frameworkAnalytics(ctx: QueryContext): Promise<QueryOutput<FrameworkAnalyticsData>> {
  const prev = previousPeriod(ctx.period);
  const prevFilter: TurnFilter = periodFilter(ctx.query.filters, prev);
  const byCount = { measure: 'count', direction: 'desc' } as const;
  const [current, distinct, previous, pairs, personas, series] = await Promise.all([
    ctx.turns.aggregate({ filter: ctx.filter, groupBy: ['framework'], measures: MEASURES, orderBy: byCount }),
    ctx.turns.aggregate({ filter: ctx.filter, groupBy: ['framework'], measures: ['sessions'] }),
    ctx.turns.aggregate({ filter: prevFilter, groupBy: ['framework'], measures: ['count'] }),
    ctx.turns.aggregate({
      filter: ctx.filter,
      groupBy: ['framework', 'framework'],
      measures: ['count'],
      orderBy: byCount,
    }),
    ctx.turns.aggregate({
      filter: ctx.filter,
      groupBy: ['framework', 'persona'],
      measures: ['count'],
      orderBy: byCount,
    }),
    levelSeriesBy(
      {
        turns: ctx.turns,
        filter: ctx.filter,
        period: ctx.period,
        level: ctx.query.aggregation,
        sessionLimit: ctx.query.pagination.limit,
      },
      'framework',
      ['count'],
    ),
  ]);
  const topN = ctx.query.options.topN;

  let total = 0;
  for (const row of current.rows) total += row.values.count ?? 0;
  const before = new Map<string, number>();
  let previousTotal = 0;
  for (const row of previous.rows) {
    const n = row.values.count ?? 0;
    before.set(String(row.keys[0]), n);
    previousTotal += n;
  }

  // A pair row (a, b) counts for both a and b; rows arrive most shared first, ties by (a, b).
  const partners = new Map<string, Array<{ framework: string; turns: number }>>();
  const addPartner = (name: string, other: string, turns: number) => {
    const list = partners.get(name) ?? [];
    partners.set(name, list);
    list.push({ framework: other, turns });
  };
  for (const row of pairs.rows) {
    const [a, b] = [String(row.keys[0]), String(row.keys[1])];
    addPartner(a, b, row.values.count ?? 0);
    addPartner(b, a, row.values.count ?? 0);
  }
  const personaLists = new Map<string, Array<{ persona: string; turns: number }>>();
  for (const row of personas.rows) {
    if (row.keys[1] === null) continue;
    const name = String(row.keys[0]);
    const list = personaLists.get(name) ?? [];
    personaLists.set(name, list);
    list.push({ persona: String(row.keys[1]), turns: row.values.count ?? 0 });
  }

  const sessions = byFirstKey(distinct.rows);
  const frameworks: FrameworkFigures[] = current.rows.map((row) => {
    const name = String(row.keys[0]);
    const v = { ...row.values, ...sessions.get(name) };
    const detections = v.count ?? 0;
    const errors = v.errors ?? 0;
    const previousCount = before.get(name) ?? 0;
    return {
      framework: name,
      detections,
      sessions: v.sessions ?? 0,
      share: ratio(detections, total) ?? 0,
      errors,
      successRate: ratio(detections - errors, detections) ?? 0,
      latencyAvg: v.latencyAvg ?? null,
      latencyP95: v.latencyP95 ?? null,
      firstSeen: v.firstAt ?? 0,
      lastSeen: v.lastAt ?? 0,
      change: change(detections, previousCount),
      coFrameworks: sortTop(partners.get(name) ?? [], (x) => x.framework, topN),
      coPersonas: (personaLists.get(name) ?? []).slice(0, topN),
    };
  });
  return {
    data: {
      totalDetections: total,
      previousPeriod: prev,
      previousTotalDetections: previousTotal,
      frameworks,
      series: series.map((point) => ({
        ...point,
        values: point.values.map((g) => ({ framework: String(g.key), detections: g.values.count ?? 0 })),
      })),
    },
    totalRecords: frameworks.length,
  };
}

export function change(current: number, previous: number): Change {
  return { previous, absolute: current - previous, relative: ratio(current - previous, previous) };
}

function sortTop<T extends { turns: number }>(list: T[], name: (x: T) => string, n: number): T[] {
  return [...list]
    .sort((x, y) => y.turns - x.turns || (name(x) < name(y) ? -1 : name(x) > name(y) ? 1 : 0))
    .slice(0, n);
}
