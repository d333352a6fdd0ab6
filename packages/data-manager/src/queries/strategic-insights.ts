import type { TurnFilter } from '@convokit/core';
import { runDetectors } from '../insights/run.js';
import type { InsightThresholds } from '../insights/thresholds.js';
import { type Insight, type PeriodStats, pairKey } from '../insights/types.js';
import { type Period, periodFilter, previousPeriod } from '../period.js';
import type { QueryContext, QueryOutput } from './context.js';

export interface StrategicInsightsData {
  period: Period;
  previousPeriod: Period;
  insights: Insight[];
  /** Why detectors stayed silent (too little data, nothing past a threshold). */
  notes: string[];
  thresholds: InsightThresholds;
}

/** The period against the equal period before: eight aggregate calls, four per period. */
export async function strategicInsights(ctx: QueryContext): Promise<QueryOutput<StrategicInsightsData>> {
  const prev = previousPeriod(ctx.period);
  const [current, previous] = await Promise.all([
    periodStats(ctx, ctx.period, ctx.filter),
    periodStats(ctx, prev, periodFilter(ctx.query.filters, prev)),
  ]);
  const { insights, notes } = runDetectors(current, previous, ctx.thresholds);
  return {
    data: { period: ctx.period, previousPeriod: prev, insights, notes, thresholds: { ...ctx.thresholds } },
    totalRecords: insights.length,
  };
}

export async function periodStats(
  ctx: QueryContext,
  period: Period,
  filter: TurnFilter,
): Promise<PeriodStats> {
  const [totals, personas, frameworks, pairs] = await Promise.all([
    ctx.turns.aggregate({ filter, measures: ['count', 'errors', 'latencyCount', 'latencyP95'] }),
    ctx.turns.aggregate({ filter, groupBy: ['persona'], measures: ['count'] }),
    ctx.turns.aggregate({ filter, groupBy: ['framework'], measures: ['count'] }),
    ctx.turns.aggregate({ filter, groupBy: ['framework', 'framework'], measures: ['count'] }),
  ]);
  const t = totals.rows[0]?.values ?? {};
  const stats: PeriodStats = {
    period,
    turns: t.count ?? 0,
    errors: t.errors ?? 0,
    latencyCount: t.latencyCount ?? 0,
    latencyP95: t.latencyP95 ?? null,
    personas: new Map(),
    frameworks: new Map(),
    pairs: new Map(),
  };
  for (const row of personas.rows) {
    if (row.keys[0] !== null) stats.personas.set(String(row.keys[0]), row.values.count ?? 0);
  }
  for (const row of frameworks.rows) stats.frameworks.set(String(row.keys[0]), row.values.count ?? 0);
  for (const row of pairs.rows) {
    stats.pairs.set(pairKey(String(row.keys[0]), String(row.keys[1])), row.values.count ?? 0);
  }
  return stats;
}
