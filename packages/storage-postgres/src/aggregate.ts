import {
  type AggregateResult,
  type AggregateRow,
  type AggregateSpec,
  type AggregateSpecInput,
  AggregateSpecSchema,
  type GroupKey,
  type GroupValue,
  LatencyHistogram,
  type Measure,
  type NormalizedTurnFilter,
  normalizeTurnFilter,
  sortAggregateRows,
  validate,
} from '@convokit/core';
import { type Part, rollupParts, rollupPlan, scanParts, topRows } from './aggregate-rollup.js';
import type { Db } from './db.js';
import { Params } from './params.js';
import { decodeHist } from './rollups.js';
import { sessionAggregate, sessionPlanServes } from './session-plan.js';
import { NAME_TABLES, turnFilterSql } from './turn-filter.js';
import { userPersonaAggregate, userPersonaPlanServes } from './user-persona-plan.js';

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

/** Group key expressions over `turns t`, and the joins of multi-valued keys bounded to `filter`'s window. */
function groupSql(
  spec: { groupBy: readonly GroupKey[] },
  S: string,
): { keyExprs: string[]; joins: (p: Params, filter: NormalizedTurnFilter) => string } {
  const keyExprs: string[] = [];
  const joinOf: Array<(p: Params, filter: NormalizedTurnFilter) => string> = [];
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
    const pairing = first ? ` AND ${alias}.name > ${first}.name` : '';
    joinOf.push((p, filter) =>
      // A filter on sessions, users or conversations picks few turns: each looks its names up by
      // the primary key (turn_id, name). Joined as a set, a store without planner statistics yet
      // (right after a bulk load) read every name row of the window: 115-170 ms instead of 1-6 ms
      // for 50 sessions over 1M turns (OFFSET 0 keeps the lookup from being flattened into a join).
      filter.sessionId || filter.userId || filter.conversationId
        ? `CROSS JOIN LATERAL (SELECT ${alias}x.name FROM ${S}.${table} ${alias}x
            WHERE ${alias}x.turn_id = t.id${pairing.replace(`${alias}.`, `${alias}x.`)} OFFSET 0) ${alias}`
        : `JOIN ${S}.${table} ${alias} ON ${alias}.turn_id = t.id${pairing}${timeBounds(alias, filter, p)}`,
    );
    if (!first) firstAlias.set(key, alias);
    keyExprs.push(`${alias}.name`);
  });
  return { keyExprs, joins: (p, filter) => joinOf.map((j) => j(p, filter)).join(' ') };
}

/** The scan of the turns: every measure, distinct counts included, in one GROUP BY. */
function baseParts(
  spec: AggregateSpec,
  filter: NormalizedTurnFilter,
  S: string,
  keyExprs: string[],
  joins: (p: Params, filter: NormalizedTurnFilter) => string,
): Part[] {
  const p = new Params();
  const join = joins(p, filter);
  const where = turnFilterSql(filter, p, S);
  const m = new Set(spec.measures);
  const wants = (...names: Measure[]) => names.some((n) => m.has(n));
  const selects = keyExprs.map((e, i) => `${e} AS k${i}`);
  selects.push('count(*)::float8 AS n');
  if (wants('errors', 'errorRate'))
    selects.push(`(count(*) FILTER (WHERE t.outcome = 'error'))::float8 AS errors`);
  if (wants('sessions')) selects.push('count(DISTINCT t.session_id)::float8 AS sessions');
  if (wants('users')) selects.push('count(DISTINCT t.user_id)::float8 AS users');
  if (wants('latencyAvg', 'latencyP50', 'latencyP95', 'latencyP99', 'latencyCount')) {
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
  const from = `FROM ${S}.turns t ${join} WHERE ${where.join(' AND ')}`;
  const groupBy = keyExprs.length > 0 ? `GROUP BY ${keyExprs.map((_, i) => i + 1).join(', ')}` : '';
  const parts: Part[] = [
    { kind: 'totals', sql: `SELECT ${selects.join(', ')} ${from} ${groupBy}`, params: p.values },
  ];
  if (wants('latencyP50', 'latencyP95', 'latencyP99')) {
    parts.push({
      kind: 'buckets',
      sql: `SELECT ${[...keyExprs.map((e, i) => `${e} AS k${i}`), 't.latency_bucket AS b', 'count(*)::float8 AS c'].join(', ')}
        ${from} AND t.latency_ms IS NOT NULL
        GROUP BY ${[...keyExprs.map((_, i) => i + 1), keyExprs.length + 1].join(', ')}`,
      params: p.values,
    });
  }
  return parts;
}

export interface AggregateOptions {
  /** Force the scan of the turns (tests compare both plans); default the cheapest that serves. */
  plan?: 'auto' | 'base';
}

const ADDED = ['n', 'errors', 'lat_n', 'lat_sum', 'tok_in', 'tok_out', 'fb_n', 'fb_sum'] as const;
const LOWEST = ['lat_min', 'first_at'] as const;
const HIGHEST = ['lat_max', 'last_at'] as const;

/** Adds one part's totals into a group (parts cover disjoint time ranges). */
function mergeTotals(into: GroupRow, row: GroupRow): void {
  for (const c of ADDED) {
    if (row[c] === undefined) continue;
    into[c] = ((into[c] as number | null) ?? 0) + ((row[c] as number | null) ?? 0);
  }
  for (const c of LOWEST) {
    const v = row[c] as number | null | undefined;
    if (v === undefined || v === null) continue;
    const cur = into[c] as number | null | undefined;
    if (cur === undefined || cur === null || v < cur) into[c] = v;
  }
  for (const c of HIGHEST) {
    const v = row[c] as number | null | undefined;
    if (v === undefined || v === null) continue;
    const cur = into[c] as number | null | undefined;
    if (cur === undefined || cur === null || v > cur) into[c] = v;
  }
}

export async function aggregateTurns(
  db: Db,
  input: AggregateSpecInput,
  options: AggregateOptions = {},
): Promise<AggregateResult> {
  db.assertOpen();
  const spec = validate(AggregateSpecSchema, input, 'turns.aggregate');
  const { S } = db;
  const filter = normalizeTurnFilter(spec.filter);
  if (options.plan !== 'base' && sessionPlanServes(spec, filter)) {
    return db.read('turns.aggregate', async (sql) => {
      const { rows, totalGroups } = await sessionAggregate(sql, S, spec, filter);
      sortAggregateRows(rows, spec.orderBy);
      const end = spec.limit === undefined ? undefined : spec.offset + spec.limit;
      return { rows: rows.slice(spec.offset, end), totalGroups };
    });
  }
  if (options.plan !== 'base' && userPersonaPlanServes(spec, filter)) {
    const rows = await db.read('turns.aggregate', (sql) => userPersonaAggregate(sql, S, spec, filter));
    if (rows) {
      sortAggregateRows(rows, spec.orderBy);
      const end = spec.limit === undefined ? undefined : spec.offset + spec.limit;
      return { rows: rows.slice(spec.offset, end), totalGroups: rows.length };
    }
  }
  const { keyExprs, joins } = groupSql(spec, S);
  const plan = options.plan === 'base' ? undefined : rollupPlan(spec, filter);
  let parts = plan
    ? rollupParts(spec, filter, plan, S, (edge) => scanParts(spec, edge, S, keyExprs, joins))
    : baseParts(spec, filter, S, keyExprs, joins);
  // One row per session: let SQL cut the page when it can.
  const top = plan?.dim === 'session' && parts.length === 1 ? topRows(spec, parts[0]!) : undefined;
  if (top) parts = [top];
  const n = keyExprs.length;
  const percentiles = spec.measures.some((m) => m in PERCENTILES);

  return db.read('turns.aggregate', async (sql) => {
    const results = await Promise.all(
      parts.map((part) => sql.unsafe<GroupRow[]>(part.sql, part.params as never[], { prepare: true })),
    );
    const keyOf = (row: GroupRow) => {
      const keys: GroupValue[] = [];
      for (let i = 0; i < n; i++) keys.push(row[`k${i}`] ?? null);
      return keys;
    };
    const groups = new Map<string, { keys: GroupValue[]; row: GroupRow; buckets: Map<number, number> }>();
    let totalGroups: number | undefined;
    parts.forEach((part, i) => {
      if (part.kind !== 'totals') return;
      for (const row of results[i]!) {
        if (top) totalGroups = row.total_groups as number;
        const keys = keyOf(row);
        const id = n === 0 ? '' : JSON.stringify(keys);
        const group = groups.get(id);
        if (group) mergeTotals(group.row, row);
        else groups.set(id, { keys, row: { ...row }, buckets: new Map() });
      }
    });
    parts.forEach((part, i) => {
      if (part.kind === 'totals') return;
      for (const row of results[i]!) {
        const group = groups.get(n === 0 ? '' : JSON.stringify(keyOf(row)));
        if (!group) continue;
        if (part.kind === 'hist') decodeHist(row.h as unknown as Uint8Array, group.buckets);
        else if (part.kind === 'buckets') {
          const b = row.b as number;
          group.buckets.set(b, (group.buckets.get(b) ?? 0) + (row.c as number));
        } else group.row[part.kind] = row.c as number;
      }
    });
    const rows: AggregateRow[] = [];
    for (const { keys, row, buckets } of groups.values()) {
      const count = row.n as number;
      let histogram: LatencyHistogram | undefined;
      if (percentiles) {
        histogram = new LatencyHistogram();
        const latN = (row.lat_n as number | null) ?? 0;
        if (latN > 0) {
          histogram.addBuckets([...buckets], {
            sum: row.lat_sum as number,
            min: row.lat_min as number,
            max: row.lat_max as number,
          });
        }
      }
      const values: Partial<Record<Measure, number | null>> = {};
      for (const measure of spec.measures) values[measure] = measureValue(measure, row, count, histogram);
      rows.push({ keys, values });
    }
    sortAggregateRows(rows, spec.orderBy);
    const end = spec.limit === undefined ? undefined : spec.offset + spec.limit;
    return { rows: rows.slice(spec.offset, end), totalGroups: totalGroups ?? rows.length };
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
      return num('sessions') ?? 0;
    case 'users':
      return num('users') ?? 0;
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
