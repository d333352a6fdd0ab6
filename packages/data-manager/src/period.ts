import {
  type AggregationLevel,
  ConvokitError,
  DAY_MS,
  type GroupKey,
  type QueryFilters,
  type TimeBucket,
  type TimeRange,
  type TurnFilter,
} from '@convokit/core';

/** A half-open span of time, epoch ms: `from` inclusive, `to` exclusive. */
export interface Period {
  from: number;
  to: number;
}

/** Default period of every query type but `strategic_insights`: the 30 days ending now. */
export const DEFAULT_PERIOD_MS = 30 * DAY_MS;
/** Default period of `strategic_insights`: the 7 days ending now, compared with the 7 before. */
export const DEFAULT_INSIGHTS_PERIOD_MS = 7 * DAY_MS;

/**
 * The period a query covers. A missing `to` is `now + 1`, so a turn recorded at `now` is in it;
 * a missing `from` is `to - defaultLength` (never before the epoch).
 */
export function resolvePeriod(range: TimeRange, now: number, defaultLength: number): Period {
  const to = range.to ?? now + 1;
  const from = range.from ?? Math.max(0, to - defaultLength);
  if (from >= to) {
    throw new ConvokitError(
      'VALIDATION',
      'Invalid query: `timeRange.from` must be before the end of the period',
      {
        where: 'query',
        issues: [{ path: 'timeRange.from', message: `must be before ${to} (the end of the period)` }],
      },
    );
  }
  return { from, to };
}

/** The period of equal length just before `period` (clipped at the epoch). */
export function previousPeriod(period: Period): Period {
  return { from: Math.max(0, period.from - (period.to - period.from)), to: period.from };
}

/** The store filter for a query's filters over a period. */
export function periodFilter(filters: QueryFilters, period: Period): TurnFilter {
  return { ...filters, from: period.from, to: period.to };
}

export const LEVEL_BUCKET: Record<Exclude<AggregationLevel, 'session'>, TimeBucket> = {
  daily: 'day',
  weekly: 'week',
  monthly: 'month',
};

export function levelGroupKey(level: AggregationLevel): GroupKey {
  return level === 'session' ? 'session' : LEVEL_BUCKET[level];
}

/** Hours in a span, for per-hour rates. */
export function hoursIn(period: Period): number {
  return (period.to - period.from) / 3_600_000;
}
