import {
  type AggregateResult,
  type AggregateRow,
  type AggregateSpecInput,
  AggregateSpecSchema,
  type GroupKey,
  type GroupValue,
  LatencyHistogram,
  type Measure,
  type NormalizedTurnFilter,
  normalizeTurnFilter,
  validate,
} from '@convokit/core';
import type { Db } from './db.js';
import { Params } from './params.js';
import { NAME_TABLES, turnFilterSql } from './turn-filter.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** SQL for a single-valued or time key over `turns t`; UTC epoch-ms arithmetic, as core time-buckets. */
const KEY_SQL: Partial<Record<GroupKey, string>> = {
  persona: 't.persona',
  session: 't.session_id',
  user: 't.user_id',
  conversation: 't.conversation_id',
  outcome: 't.outcome',
  hour: `(t.at - mod(t.at, ${HOUR}))::float8`,
  day: `(t.at - mod(t.at, ${DAY}))::float8`,
  // 1970-01-01 was a Thursday: ISO day index (Monday 0) of day n is (n + 3) mod 7.
  week: `(t.at - mod(t.at, ${DAY}) - mod(t.at / ${DAY} + 3, 7) * ${DAY})::float8`,
  month: `(extract(epoch FROM date_trunc('month', to_timestamp(t.at / 1000.0) AT TIME ZONE 'UTC')) * 1000)::float8`,
  hourOfDay: `(mod(t.at, ${DAY}) / ${HOUR})::float8`,
  dayOfWeek: `mod(t.at / ${DAY} + 3, 7)::float8`,
};

const PERCENTILES: Partial<Record<Measure, number>> = { latencyP50: 0.5, latencyP95: 0.95, latencyP99: 0.99 };

interface GroupRow {
  [column: string]: GroupValue;
}

/**
 * Grouping, filtering and sums run in SQL; what must match every other adapter bit for bit is
 * finished in JS: percentiles from the stored per-turn histogram bucket through the core
 * LatencyHistogram, means as sum / count, and row order with JS string comparison.
 */
function timeBounds(alias: string, f: NormalizedTurnFilter, p: Params): string {
  let sql = '';
  if (f.from !== undefined) sql += ` AND ${alias}.at >= ${p.add(f.from, 'bigint')}`;
  if (f.to !== undefined) sql += ` AND ${alias}.at < ${p.add(f.to, 'bigint')}`;
  return sql;
}

export async function aggregateTurns(db: Db, input: AggregateSpecInput): Promise<AggregateResult> {
  db.assertOpen();
  const spec = validate(AggregateSpecSchema, input, 'turns.aggregate');
  const { S } = db;
  const p = new Params();
  const filter = normalizeTurnFilter(spec.filter);
  const joins: string[] = [];
  const keyExprs: string[] = [];
  const firstAlias = new Map<GroupKey, string>();
  spec.groupBy.forEach((key, i) => {
    const table = NAME_TABLES[key as keyof typeof NAME_TABLES];
    if (!table) {
      keyExprs.push(KEY_SQL[key]!);
      return;
    }
    const alias = `g${i}`;
    const first = firstAlias.get(key);
    // Second mention of a multi-valued key: distinct pairs, smaller name (byte order) first.
    // The name rows carry the turn's `at`: bounding them too lets a time window use their index.
    const window = timeBounds(alias, filter, p);
    joins.push(
      `JOIN ${S}.${table} ${alias} ON ${alias}.turn_id = t.id${first ? ` AND ${alias}.name > ${first}.name` : ''}${window}`,
    );
    if (!first) firstAlias.set(key, alias);
    keyExprs.push(`${alias}.name`);
  });

  const where = turnFilterSql(filter, p, S);
  const m = new Set(spec.measures);
  const wants = (...names: Measure[]) => names.some((n) => m.has(n));
  const selects = keyExprs.map((e, i) => `${e} AS k${i}`);
  selects.push('count(*)::float8 AS n');
  if (wants('errors', 'errorRate'))
    selects.push(`(count(*) FILTER (WHERE t.outcome = 'error'))::float8 AS errors`);
  if (wants('sessions')) selects.push('count(DISTINCT t.session_id)::float8 AS sessions');
  if (wants('users')) selects.push('count(DISTINCT t.user_id)::float8 AS users');
  const latency = wants('latencyAvg', 'latencyP50', 'latencyP95', 'latencyP99', 'latencyCount');
  if (latency) {
    selects.push(
      'count(t.latency_ms)::float8 AS lat_n',
      'sum(t.latency_ms)::float8 AS lat_sum',
      'min(t.latency_ms)::float8 AS lat_min',
      'max(t.latency_ms)::float8 AS lat_max',
    );
  }
  if (wants('tokensIn')) selects.push('coalesce(sum(t.tokens_in), 0)::float8 AS tok_in');
  if (wants('tokensOut')) selects.push('coalesce(sum(t.tokens_out), 0)::float8 AS tok_out');
  if (wants('feedbackAvg', 'feedbackCount')) {
    selects.push('count(t.feedback)::float8 AS fb_n', 'sum(t.feedback)::float8 AS fb_sum');
  }
  if (wants('firstAt')) selects.push('min(t.at)::float8 AS first_at');
  if (wants('lastAt')) selects.push('max(t.at)::float8 AS last_at');
  const from = `FROM ${S}.turns t ${joins.join(' ')} WHERE ${where.join(' AND ')}`;
  const groupBy = keyExprs.length > 0 ? `GROUP BY ${keyExprs.map((_, i) => i + 1).join(', ')}` : '';
  const percentiles = wants('latencyP50', 'latencyP95', 'latencyP99');

  return db.read('turns.aggregate', async (sql) => {
    const [groups, buckets] = await Promise.all([
      sql.unsafe<GroupRow[]>(`SELECT ${selects.join(', ')} ${from} ${groupBy}`, p.values as never[], {
        prepare: true,
      }),
      percentiles
        ? sql.unsafe<GroupRow[]>(
            `SELECT ${[...keyExprs.map((e, i) => `${e} AS k${i}`), 't.latency_bucket AS b', 'count(*)::float8 AS c'].join(', ')}
             ${from} AND t.latency_ms IS NOT NULL
             GROUP BY ${[...keyExprs.map((_, i) => i + 1), keyExprs.length + 1].join(', ')}`,
            p.values as never[],
            { prepare: true },
          )
        : Promise.resolve([] as GroupRow[]),
    ]);
    const keyOf = (row: GroupRow) => keyExprs.map((_, i) => row[`k${i}`] ?? null);
    const histogramBuckets = new Map<string, [number, number][]>();
    for (const row of buckets) {
      const id = JSON.stringify(keyOf(row));
      let list = histogramBuckets.get(id);
      if (!list) {
        list = [];
        histogramBuckets.set(id, list);
      }
      list.push([row.b as number, row.c as number]);
    }
    const rows: AggregateRow[] = groups.map((row) => {
      const keys = keyOf(row);
      const num = (name: string) => row[name] as number | null;
      const count = num('n')!;
      const values: Partial<Record<Measure, number | null>> = {};
      let histogram: LatencyHistogram | undefined;
      if (percentiles) {
        histogram = new LatencyHistogram();
        const latN = num('lat_n') ?? 0;
        if (latN > 0) {
          histogram.addBuckets(histogramBuckets.get(JSON.stringify(keys)) ?? [], {
            sum: num('lat_sum')!,
            min: num('lat_min')!,
            max: num('lat_max')!,
          });
        }
      }
      for (const measure of spec.measures) {
        values[measure] = measureValue(measure, row, count, histogram);
      }
      return { keys, values };
    });
    sortRows(rows, spec.orderBy);
    const totalGroups = rows.length;
    const end = spec.limit === undefined ? undefined : spec.offset + spec.limit;
    return { rows: rows.slice(spec.offset, end), totalGroups };
  });
}

function measureValue(
  measure: Measure,
  row: GroupRow,
  count: number,
  histogram: LatencyHistogram | undefined,
): number | null {
  const num = (name: string) => row[name] as number | null;
  switch (measure) {
    case 'count':
      return count;
    case 'errors':
      return num('errors');
    case 'errorRate':
      return count === 0 ? null : num('errors')! / count;
    case 'sessions':
      return num('sessions');
    case 'users':
      return num('users');
    case 'latencyCount':
      return num('lat_n');
    case 'latencyAvg': {
      const n = num('lat_n') ?? 0;
      return n === 0 ? null : num('lat_sum')! / n;
    }
    case 'latencyP50':
    case 'latencyP95':
    case 'latencyP99':
      return histogram!.quantile(PERCENTILES[measure]!);
    case 'tokensIn':
      return num('tok_in');
    case 'tokensOut':
      return num('tok_out');
    case 'feedbackCount':
      return num('fb_n');
    case 'feedbackAvg': {
      const n = num('fb_n') ?? 0;
      return n === 0 ? null : num('fb_sum')! / n;
    }
    case 'firstAt':
      return num('first_at');
    case 'lastAt':
      return num('last_at');
  }
}

/** Null first, then numbers or strings ascending (JS order, as every adapter sorts). */
export function compareKeys(a: GroupValue[], b: GroupValue[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

function sortRows(
  rows: AggregateRow[],
  orderBy: { measure: Measure; direction: 'asc' | 'desc' } | undefined,
): void {
  rows.sort((a, b) => {
    if (orderBy) {
      const x = a.values[orderBy.measure] ?? null;
      const y = b.values[orderBy.measure] ?? null;
      if (x !== y) {
        if (x === null) return 1;
        if (y === null) return -1;
        return orderBy.direction === 'asc' ? x - y : y - x;
      }
    }
    return compareKeys(a.keys, b.keys);
  });
}
