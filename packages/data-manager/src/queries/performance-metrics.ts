import type { Measure } from '@convokit/core';
import { hoursIn, type Period } from '../period.js';
import { ratio } from '../ratio.js';
import type { QueryContext, QueryOutput } from './context.js';
import { levelSeries, type SeriesPoint } from './series.js';
import type { MeasureValues } from './values.js';

export interface PerformanceFigures {
  turns: number;
  errors: number;
  /** errors / turns; null without turns. */
  errorRate: number | null;
  latencyAvg: number | null;
  latencyP50: number | null;
  latencyP95: number | null;
  latencyP99: number | null;
  /** Turns that recorded a latency (the latency figures are over these). */
  latencyCount: number;
  tokensIn: number;
  tokensOut: number;
  /** Turns per hour of the span (the part of the bucket inside the period); null at session level. */
  throughputPerHour: number | null;
}

/** The manager's own figures, taken when the response is returned (cached or not). */
export interface ManagerPerformance {
  queries: number;
  queryLatencyMs: {
    count: number;
    avg: number | null;
    p50: number | null;
    p95: number | null;
    p99: number | null;
  };
  cacheHits: number;
  cacheMisses: number;
  /** hits / (hits + misses); null before the first lookup. */
  cacheHitRate: number | null;
}

export interface PerformanceMetricsData {
  overall: PerformanceFigures;
  series: SeriesPoint<PerformanceFigures>[];
  manager: ManagerPerformance;
}

const MEASURES: Measure[] = [
  'count',
  'errors',
  'errorRate',
  'latencyAvg',
  'latencyP50',
  'latencyP95',
  'latencyP99',
  'latencyCount',
  'tokensIn',
  'tokensOut',
];

/** `manager` is filled in by the manager on every return; the stored answer holds a placeholder. */
export async function performanceMetrics(
  ctx: QueryContext,
): Promise<QueryOutput<Omit<PerformanceMetricsData, 'manager'>>> {
  const [overall, series] = await Promise.all([
    ctx.turns.aggregate({ filter: ctx.filter, measures: MEASURES }),
    levelSeries(
      {
        turns: ctx.turns,
        filter: ctx.filter,
        period: ctx.period,
        level: ctx.query.aggregation,
        sessionLimit: ctx.query.pagination.limit,
      },
      MEASURES,
    ),
  ]);
  const perSession = ctx.query.aggregation === 'session';
  const points = series.map((point) => ({
    ...point,
    values: figures(point.values, perSession ? null : overlap(point, ctx.period)),
  }));
  return {
    data: {
      overall: figures(overall.rows[0]?.values ?? {}, ctx.period),
      series: points,
    },
    totalRecords: points.length,
  };
}

function overlap(bucket: { start: number; end: number }, period: Period): Period {
  return { from: Math.max(bucket.start, period.from), to: Math.min(bucket.end, period.to) };
}

function figures(v: MeasureValues, span: Period | null): PerformanceFigures {
  const turns = v.count ?? 0;
  return {
    turns,
    errors: v.errors ?? 0,
    errorRate: v.errorRate ?? null,
    latencyAvg: v.latencyAvg ?? null,
    latencyP50: v.latencyP50 ?? null,
    latencyP95: v.latencyP95 ?? null,
    latencyP99: v.latencyP99 ?? null,
    latencyCount: v.latencyCount ?? 0,
    tokensIn: v.tokensIn ?? 0,
    tokensOut: v.tokensOut ?? 0,
    throughputPerHour: span === null ? null : ratio(turns, hoursIn(span)),
  };
}
