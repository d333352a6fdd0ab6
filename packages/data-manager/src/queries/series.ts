import {
  type AggregationLevel,
  bucketStarts,
  ConvokitError,
  type GroupKey,
  type GroupValue,
  type Measure,
  nextBucketStart,
  type TimeBucket,
  type TurnFilter,
  type TurnStore,
} from '@convokit/core';
import { LEVEL_BUCKET, type Period } from '../period.js';
import { recentSessions } from './sessions.js';
import { byFirstKey, emptyValues, type MeasureValues, nested } from './values.js';

/** A time series longer than this is refused (`LIMIT`): ask for a coarser level or a shorter period. */
export const MAX_BUCKETS = 10_000;

/**
 * One point of a series. Time levels: a UTC calendar bucket, `start` inclusive, `end` exclusive
 * (the first and last bucket may reach outside the period; only turns inside it count).
 * Session level: `key` is the session id, `start`/`end` its first and last turn in the period.
 */
export interface SeriesPoint<V> {
  key: string | number;
  start: number;
  end: number;
  values: V;
}

export interface SeriesRequest {
  turns: TurnStore;
  filter: TurnFilter;
  period: Period;
  level: AggregationLevel;
  /** Session level only: how many sessions (the most recent by last turn). */
  sessionLimit: number;
}

/** Every bucket of `level` overlapping the period, ascending; dense (empty buckets included). */
export function bucketsOf(bucket: TimeBucket, period: Period): Array<{ start: number; end: number }> {
  const starts = bucketStarts(bucket, period.from, period.to);
  if (starts.length > MAX_BUCKETS) {
    throw new ConvokitError(
      'LIMIT',
      `The period holds ${starts.length} ${bucket} buckets, more than ${MAX_BUCKETS}: use a coarser aggregation or a shorter period`,
      { bucket, buckets: starts.length, max: MAX_BUCKETS },
    );
  }
  return starts.map((start) => ({ start, end: nextBucketStart(bucket, start) }));
}

/** `measures` per point of the level. One aggregate call. */
export async function levelSeries(
  req: SeriesRequest,
  measures: Measure[],
): Promise<SeriesPoint<MeasureValues>[]> {
  if (req.level === 'session') {
    const wanted = [...new Set<Measure>([...measures, 'firstAt', 'lastAt'])];
    const { rows } = await recentSessions(req.turns, req.filter, wanted, {
      offset: 0,
      limit: req.sessionLimit,
    });
    return rows.map((row) => ({
      key: row.sessionId,
      start: row.values.firstAt ?? 0,
      end: row.values.lastAt ?? 0,
      values: pick(row.values, measures),
    }));
  }
  const bucket = LEVEL_BUCKET[req.level];
  const buckets = bucketsOf(bucket, req.period);
  const result = await req.turns.aggregate({ filter: req.filter, groupBy: [bucket], measures });
  const found = byFirstKey(result.rows);
  return buckets.map(({ start, end }) => ({
    key: start,
    start,
    end,
    values: found.get(start) ?? emptyValues(measures),
  }));
}

export interface GroupValues {
  key: GroupValue;
  values: MeasureValues;
}

/**
 * `measures` per point of the level and per value of `by`, groups ordered by `count` descending
 * then key ascending (so `measures` must include `count`). One aggregate call (two at session level).
 */
export async function levelSeriesBy(
  req: SeriesRequest,
  by: GroupKey,
  measures: Measure[],
): Promise<SeriesPoint<GroupValues[]>[]> {
  if (req.level === 'session') {
    const { rows } = await recentSessions(req.turns, req.filter, ['firstAt', 'lastAt'], {
      offset: 0,
      limit: req.sessionLimit,
    });
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.sessionId);
    const inner = await req.turns.aggregate({
      filter: { ...req.filter, sessionId: ids },
      groupBy: ['session', by],
      measures,
      orderBy: { measure: 'count', direction: 'desc' },
    });
    const groups = nested(inner.rows);
    return rows.map((row) => ({
      key: row.sessionId,
      start: row.values.firstAt ?? 0,
      end: row.values.lastAt ?? 0,
      values: groups.get(row.sessionId) ?? [],
    }));
  }
  const bucket = LEVEL_BUCKET[req.level];
  const buckets = bucketsOf(bucket, req.period);
  const result = await req.turns.aggregate({
    filter: req.filter,
    groupBy: [bucket, by],
    measures,
    orderBy: { measure: 'count', direction: 'desc' },
  });
  const groups = nested(result.rows);
  return buckets.map(({ start, end }) => ({ key: start, start, end, values: groups.get(start) ?? [] }));
}

function pick(values: MeasureValues, measures: readonly Measure[]): MeasureValues {
  const out: MeasureValues = {};
  for (const m of measures) out[m] = values[m] ?? null;
  return out;
}
