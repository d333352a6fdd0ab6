import type { AggregateSpec, GroupKey, GroupValue, Measure, NormalizedTurnFilter } from '@convokit/core';
import { Params } from './params.js';
import { ALL_DIM, DAY, HOUR, PAIR_DIMS, USERLESS_DIMS, WEEK, weekStart, weekStartSql } from './rollups.js';
import { turnFilterSql } from './turn-filter.js';

/**
 * The rollup plan of `aggregate`: the same numbers as the scan of the turns (aggregate.ts), read
 * from the rollups (rollups.ts). Whole hours inside the range come from the hourly totals, whole
 * days from the daily ones, the partial hours at the edges from a scan. Distinct sessions and
 * users come from the per-day membership rows, so they are served only over whole days.
 */

const ROLLUP_DIM_KEYS = new Set<string>(['persona', 'outcome', 'framework', 'tool', 'mcpServer']);
const MULTI = new Set<string>(['framework', 'tool', 'mcpServer']);
const TIME_KEYS = new Set<string>(['hour', 'day', 'week', 'month', 'hourOfDay', 'dayOfWeek']);
const PERCENTILE_MEASURES = new Set<Measure>(['latencyP50', 'latencyP95', 'latencyP99']);
/** Measures that are plain totals, never null for a group: SQL can order and cut by them. */
const TOTAL_COLUMN: Partial<Record<Measure, string>> = {
  count: 'n',
  errors: 'errors',
  latencyCount: 'lat_n',
  tokensIn: 'tok_in',
  tokensOut: 'tok_out',
  feedbackCount: 'fb_n',
  firstAt: 'first_at',
  lastAt: 'last_at',
};

export interface RollupPlan {
  /** Rollup dimension the totals come from ('' for all turns, 'session', or a PAIR_DIMS one). */
  dim: string;
  /** A two-key dimension (PAIR_DIMS): whole days from the daily totals, the rest scanned. */
  pair?: boolean;
  /** Restrict to these keys of `dim`. */
  keys?: string[];
  /** Where distinct sessions/users come from, when the spec asks for them. */
  members?: { dim: string; keys?: string[] };
}

/** SQL for a time key from an epoch-ms bigint expression (UTC, as core time-buckets). */
export function timeKeySql(key: string, x: string): string {
  switch (key) {
    case 'hour':
      return `(${x} - mod(${x}, ${HOUR}))::float8`;
    case 'day':
      return `(${x} - mod(${x}, ${DAY}))::float8`;
    // 1970-01-01 was a Thursday: ISO day index (Monday 0) of day n is (n + 3) mod 7.
    case 'week':
      return `(${x} - mod(${x}, ${DAY}) - mod(${x} / ${DAY} + 3, 7) * ${DAY})::float8`;
    case 'month':
      return `(extract(epoch FROM date_trunc('month', to_timestamp(${x} / 1000.0) AT TIME ZONE 'UTC')) * 1000)::float8`;
    case 'hourOfDay':
      return `(mod(${x}, ${DAY}) / ${HOUR})::float8`;
    case 'dayOfWeek':
      return `mod(${x} / ${DAY} + 3, 7)::float8`;
    default:
      throw new Error(`not a time key: ${key}`);
  }
}

const aligned = (x: number | undefined, unit: number) => x === undefined || x % unit === 0;

/** Which rollups serve the spec, or undefined when only a scan of the turns can. */
export function rollupPlan(spec: AggregateSpec, f: NormalizedTurnFilter): RollupPlan | undefined {
  if (f.sessionId || f.userId || f.conversationId) return undefined;
  const pair = pairPlan(spec, f);
  if (pair) return pair;
  const wantsDistinct = spec.measures.includes('sessions') || spec.measures.includes('users');
  const wantsPercentiles = spec.measures.some((m) => PERCENTILE_MEASURES.has(m));
  // Latency histograms are kept per day: nothing finer to group by.
  if (wantsPercentiles && (spec.groupBy.includes('hour') || spec.groupBy.includes('hourOfDay')))
    return undefined;
  const wholeDays = aligned(f.from, DAY) && aligned(f.to, DAY);
  if (spec.groupBy.includes('session')) {
    // Per-session totals are kept per day only, without latency histograms.
    const simple =
      spec.groupBy.length === 1 &&
      wholeDays &&
      !wantsDistinct &&
      !wantsPercentiles &&
      f.outcome === undefined &&
      !f.persona &&
      !f.framework &&
      !f.tool &&
      !f.mcpServer;
    return simple ? { dim: 'session' } : undefined;
  }
  const groupDims: string[] = [];
  for (const key of spec.groupBy) {
    if (ROLLUP_DIM_KEYS.has(key)) groupDims.push(key);
    else if (!TIME_KEYS.has(key)) return undefined;
  }
  if (groupDims.length > 1) return undefined;
  const filterDims: Array<[string, string[]]> = [];
  if (f.outcome !== undefined) filterDims.push(['outcome', [f.outcome]]);
  for (const dim of ['persona', 'framework', 'tool', 'mcpServer'] as const) {
    const values = f[dim];
    if (values) filterDims.push([dim, values]);
  }
  if (filterDims.length > 1) return undefined;
  const group = groupDims[0];
  const filtered = filterDims[0];
  let plan: RollupPlan;
  if (group && filtered) {
    // Filtering a multi-valued dimension while grouping by it keeps the turn's other names too.
    if (group !== filtered[0] || MULTI.has(group)) return undefined;
    plan = { dim: group, keys: filtered[1] };
  } else if (group) plan = { dim: group };
  else if (filtered) {
    // A turn may hold several of the listed names; summing their rollups would count it twice.
    if (MULTI.has(filtered[0]) && filtered[1].length !== 1) return undefined;
    plan = { dim: filtered[0], keys: filtered[1] };
  } else plan = { dim: ALL_DIM };
  if (wantsDistinct) {
    // Membership is per day: whole days only, and the hour is not known (hour of day is a dimension).
    // A member active on two Mondays counts in one day-of-week group: no sum of days gives it.
    if (!wholeDays || spec.groupBy.includes('hour') || spec.groupBy.includes('dayOfWeek')) return undefined;
    // No membership rows per outcome (few specs ask; they would cost every append).
    if (plan.dim === 'outcome') return undefined;
    // Nor user rows per framework, tool or MCP server (see USERLESS_DIMS).
    if (spec.measures.includes('users') && (USERLESS_DIMS as readonly string[]).includes(plan.dim))
      return undefined;
    if (spec.groupBy.includes('hourOfDay')) {
      if (plan.dim !== ALL_DIM) return undefined;
      plan.members = { dim: 'hourOfDay' };
    } else plan.members = plan.keys ? { dim: plan.dim, keys: plan.keys } : { dim: plan.dim };
  }
  return plan;
}

/** Grouping by exactly a PAIR_DIMS pair, a time window only, additive measures: the pair rows. */
function pairPlan(spec: AggregateSpec, f: NormalizedTurnFilter): RollupPlan | undefined {
  const dim = Object.entries(PAIR_DIMS).find(
    ([, keys]) => spec.groupBy.length === 2 && keys.every((k, i) => spec.groupBy[i] === k),
  )?.[0];
  if (!dim) return undefined;
  if (!Object.keys(f).every((k) => k === 'from' || k === 'to')) return undefined;
  if (spec.measures.some((m) => m === 'sessions' || m === 'users' || PERCENTILE_MEASURES.has(m)))
    return undefined;
  return { dim, pair: true };
}

interface Range {
  from?: number | undefined;
  to?: number | undefined;
}

function ceilTo(x: number, unit: number): number {
  return x % unit === 0 ? x : x - (x % unit) + unit;
}

/** Splits [from, to) into an interior aligned to `unit` and the unaligned edges around it. */
export function splitRange(range: Range, unit: number): { interior?: Range; edges: Range[] } {
  const { from, to } = range;
  const a = from === undefined ? undefined : ceilTo(from, unit);
  const b = to === undefined ? undefined : to - (to % unit);
  if (a !== undefined && b !== undefined && a >= b) return { edges: [{ from, to }] };
  const edges: Range[] = [];
  if (from !== undefined && a !== from) edges.push({ from, to: a });
  if (to !== undefined && b !== to) edges.push({ from: b, to });
  return { interior: { from: a, to: b }, edges };
}

/** One statement of a plan: its rows are group totals (`k0..`, base column names) or buckets. */
export interface Part {
  sql: string;
  params: unknown[];
  kind: 'totals' | 'buckets' | 'hist' | 'sessions' | 'users';
}

const TOTALS = (r: string) => [
  `coalesce(sum(${r}.count), 0)::float8 AS n`,
  `coalesce(sum(${r}.errors), 0)::float8 AS errors`,
  `coalesce(sum(${r}.latency_count), 0)::float8 AS lat_n`,
  `coalesce(sum(${r}.latency_sum), 0)::float8 AS lat_sum`,
  `min(${r}.latency_min)::float8 AS lat_min`,
  `max(${r}.latency_max)::float8 AS lat_max`,
  `coalesce(sum(${r}.tokens_in), 0)::float8 AS tok_in`,
  `coalesce(sum(${r}.tokens_out), 0)::float8 AS tok_out`,
  `coalesce(sum(${r}.feedback_count), 0)::float8 AS fb_n`,
  `coalesce(sum(${r}.feedback_sum), 0)::float8 AS fb_sum`,
  `min(${r}.first_at)::float8 AS first_at`,
  `max(${r}.last_at)::float8 AS last_at`,
];

const BASE_TOTALS = [
  'count(*)::float8 AS n',
  `(count(*) FILTER (WHERE t.outcome = 'error'))::float8 AS errors`,
  'count(t.latency_ms)::float8 AS lat_n',
  'coalesce(sum(t.latency_ms), 0)::float8 AS lat_sum',
  'min(t.latency_ms)::float8 AS lat_min',
  'max(t.latency_ms)::float8 AS lat_max',
  'coalesce(sum(t.tokens_in), 0)::float8 AS tok_in',
  'coalesce(sum(t.tokens_out), 0)::float8 AS tok_out',
  'count(t.feedback)::float8 AS fb_n',
  'coalesce(sum(t.feedback), 0)::float8 AS fb_sum',
  'min(t.at)::float8 AS first_at',
  'max(t.at)::float8 AS last_at',
];

function keyWhere(column: string, keys: string[] | undefined, p: Params): string {
  if (!keys) return '';
  return keys.length === 1
    ? ` AND ${column} = ${p.add(keys[0], 'text')}`
    : ` AND ${column} = ANY(${p.add(keys, 'text[]')})`;
}

function rangeWhere(column: string, range: Range, p: Params): string {
  let sql = '';
  if (range.from !== undefined) sql += ` AND ${column} >= ${p.add(range.from, 'bigint')}`;
  if (range.to !== undefined) sql += ` AND ${column} < ${p.add(range.to, 'bigint')}`;
  return sql;
}

/** Key expressions of a rollup row (`r.key` is the dimension value, `time` its hour or day). */
function rollupKeys(groupBy: readonly GroupKey[], time: string, keyColumn: string): string[] {
  return groupBy.map((key) => {
    if (key === 'session') return keyColumn;
    if (TIME_KEYS.has(key)) return timeKeySql(key, time);
    return key === 'persona' ? `NULLIF(${keyColumn}, '')` : keyColumn;
  });
}

/**
 * The statements answering `spec` under `plan`. `base(range)` gives the scan statements of the
 * turns for a partial-hour edge (same column names).
 */
export function rollupParts(
  spec: AggregateSpec,
  f: NormalizedTurnFilter,
  plan: RollupPlan,
  S: string,
  scanEdge: (filter: NormalizedTurnFilter) => Part[],
): Part[] {
  if (plan.pair) return pairParts(spec, f, plan, S, scanEdge);
  const parts: Part[] = [];
  const wantsPercentiles = spec.measures.some((m) => PERCENTILE_MEASURES.has(m));
  // Percentiles need the daily histograms: partial days are scanned. Otherwise partial hours are.
  const { interior, edges } = splitRange(f, wantsPercentiles ? DAY : HOUR);
  for (const edge of edges) parts.push(...scanEdge({ ...f, from: edge.from, to: edge.to }));
  if (interior) {
    // Whole days from the daily rollups unless grouping needs the hour; the hours around them
    // from the hourly ones.
    const hourly = spec.groupBy.includes('hour') || spec.groupBy.includes('hourOfDay');
    const byDay = hourly ? { edges: [interior] } : splitRange(interior, DAY);
    const pieces: Array<[Range, 'hour' | 'day']> = byDay.edges.map((piece) => [piece, 'hour']);
    if (byDay.interior) pieces.push([byDay.interior, 'day']);
    for (const [range, level] of pieces) {
      const keys = rollupKeys(spec.groupBy, 'r.bucket', 'r.key');
      const cols = keys.map((k, i) => `${k} AS k${i}`);
      const group = keys.length > 0 ? `GROUP BY ${keys.map((_, i) => i + 1).join(', ')}` : '';
      const p = new Params();
      const where = `r.dim = ${p.add(plan.dim, 'text')}${rangeWhere('r.bucket', range, p)}${keyWhere('r.key', plan.keys, p)}`;
      parts.push({
        kind: 'totals',
        sql: `SELECT ${[...cols, ...TOTALS('r')].join(', ')} FROM ${S}.rollup_${level} r WHERE ${where} ${group}`,
        params: p.values,
      });
      if (wantsPercentiles && level === 'day') {
        // Whole ISO weeks from the weekly histograms when no finer time key is asked for.
        const weekly = spec.groupBy.every((k) => !TIME_KEYS.has(k) || k === 'week');
        const split = weekly ? splitWeeks(range) : { edges: [range] };
        const histPieces: Array<[Range, 'd' | 'w']> = split.edges.map((piece) => [piece, 'd']);
        if (split.interior) histPieces.push([split.interior, 'w']);
        for (const [histRange, unit] of histPieces) {
          const q = new Params();
          const w = `r.dim = ${q.add(plan.dim, 'text')} AND r.unit = '${unit}'${rangeWhere('r.bucket', histRange, q)}${keyWhere('r.key', plan.keys, q)}`;
          parts.push({
            kind: 'hist',
            sql: `SELECT ${[...cols, 'r.hist AS h'].join(', ')} FROM ${S}.rollup_hist r WHERE ${w}`,
            params: q.values,
          });
        }
      }
    }
  }
  if (plan.members) {
    for (const [measure, kind] of [
      ['sessions', 's'],
      ['users', 'u'],
    ] as const) {
      if (!spec.measures.includes(measure)) continue;
      parts.push(distinctPart(spec, f, plan.members, kind, measure, S));
    }
  }
  return parts;
}

/** A pair plan's statements: whole days from the pair rows of the daily totals, partial days scanned. */
function pairParts(
  spec: AggregateSpec,
  f: NormalizedTurnFilter,
  plan: RollupPlan,
  S: string,
  scanEdge: (filter: NormalizedTurnFilter) => Part[],
): Part[] {
  const { interior, edges } = splitRange(f, DAY);
  const parts = edges.flatMap((edge) => scanEdge({ ...f, from: edge.from, to: edge.to }));
  if (interior) {
    const first = 'split_part(r.key, chr(1), 1)';
    const second =
      spec.groupBy[1] === 'persona'
        ? `NULLIF(split_part(r.key, chr(1), 2), '')`
        : 'split_part(r.key, chr(1), 2)';
    const p = new Params();
    const where = `r.dim = ${p.add(plan.dim, 'text')}${rangeWhere('r.bucket', interior, p)}`;
    parts.push({
      kind: 'totals',
      sql: `SELECT ${[`${first} AS k0`, `${second} AS k1`, ...TOTALS('r')].join(', ')}
        FROM ${S}.rollup_day r WHERE ${where} GROUP BY 1, 2`,
      params: p.values,
    });
  }
  return parts;
}

/** Month start (UTC) of an epoch-ms bigint expression, as bigint. */
function monthStartSql(x: string): string {
  return `(extract(epoch FROM date_trunc('month', to_timestamp(${x} / 1000.0) AT TIME ZONE 'UTC')) * 1000)::bigint`;
}

/**
 * Distinct sessions or users of each group. Summed from `distinct_days` (see rollups.ts): a
 * member counts in a group on its first active day in the group's range, the row whose `prev`
 * lies before the range (the window's start, raised to the group's day, week or month). When
 * several keys of the dimension fold into one group (a filter listing several, not grouped by),
 * a member may hold more than one: a DISTINCT over the member rows instead.
 */
function distinctPart(
  spec: AggregateSpec,
  f: NormalizedTurnFilter,
  members: { dim: string; keys?: string[] },
  kind: 's' | 'u',
  measure: 'sessions' | 'users',
  S: string,
): Part {
  const p = new Params();
  const folds =
    members.keys !== undefined && members.keys.length > 1 && !spec.groupBy.some((k) => !TIME_KEYS.has(k));
  if (!folds) {
    const keys = spec.groupBy.map((key) => {
      if (key === 'hourOfDay') return 'd.key::float8';
      if (TIME_KEYS.has(key)) return timeKeySql(key, 'd.day');
      return key === 'persona' ? `NULLIF(d.key, '')` : 'd.key';
    });
    // A group's range starts at the latest of the window's start and its time buckets' starts.
    const starts: string[] = [];
    if (spec.groupBy.includes('day')) starts.push('d.day');
    if (spec.groupBy.includes('week')) starts.push(weekStartSql('d.day'));
    if (spec.groupBy.includes('month')) starts.push(monthStartSql('d.day'));
    if (f.from !== undefined) starts.push(p.add(f.from, 'bigint'));
    // With neither, only first appearances (prev -1) count.
    const before =
      starts.length === 0 ? '0' : starts.length === 1 ? starts[0] : `greatest(${starts.join(', ')})`;
    const where = `d.dim = ${p.add(members.dim, 'text')} AND d.kind = '${kind}'${rangeWhere('d.day', f, p)}${keyWhere('d.key', members.keys, p)} AND d.prev < ${before}`;
    return {
      kind: measure,
      sql: `SELECT ${[...keys.map((k, i) => `${k} AS k${i}`), 'sum(d.n)::float8 AS c'].join(', ')}
        FROM ${S}.distinct_days d WHERE ${where}
        ${keys.length > 0 ? `GROUP BY ${keys.map((_, i) => i + 1).join(', ')}` : ''}`,
      params: p.values,
    };
  }
  // DISTINCT over the raw key keeps the primary key's (key, member) order: a streaming
  // Unique over an index-only scan, no sort or hash; the key is finished outside.
  const keys = spec.groupBy.map((key) => (TIME_KEYS.has(key) ? timeKeySql(key, 'm.day') : 'm.key'));
  const where = `m.dim = ${p.add(members.dim, 'text')} AND m.kind = '${kind}'${rangeWhere('m.day', f, p)}${keyWhere('m.key', members.keys, p)}`;
  return {
    kind: measure,
    sql: `SELECT ${[...keys.map((_, i) => `x.k${i}`), 'count(*)::float8 AS c'].join(', ')} FROM (
        SELECT DISTINCT ${[...keys.map((k, i) => `${k} AS k${i}`), 'm.member'].join(', ')}
        FROM ${S}.rollup_members m WHERE ${where}) x
      ${keys.length > 0 ? `GROUP BY ${keys.map((_, i) => i + 1).join(', ')}` : ''}`,
    params: p.values,
  };
}

/** Splits a day-aligned range into whole ISO weeks and the days around them. */
function splitWeeks(range: Range): { interior?: Range; edges: Range[] } {
  const { from, to } = range;
  const a = from === undefined ? undefined : weekStart(from) === from ? from : weekStart(from) + WEEK;
  const b = to === undefined ? undefined : weekStart(to);
  if (a !== undefined && b !== undefined && a >= b) return { edges: [{ from, to }] };
  const edges: Range[] = [];
  if (from !== undefined && a !== from) edges.push({ from, to: a });
  if (to !== undefined && b !== to) edges.push({ from: b, to });
  return { interior: { from: a, to: b }, edges };
}

/** Scan statements of the turns for one edge, with the rollup parts' column names. */
export function scanParts(
  spec: AggregateSpec,
  filter: NormalizedTurnFilter,
  S: string,
  keyExprs: string[],
  joins: (p: Params, filter: NormalizedTurnFilter) => string,
): Part[] {
  const p = new Params();
  const join = joins(p, filter);
  const where = turnFilterSql(filter, p, S);
  const cols = keyExprs.map((e, i) => `${e} AS k${i}`);
  const group = keyExprs.length > 0 ? `GROUP BY ${keyExprs.map((_, i) => i + 1).join(', ')}` : '';
  const from = `FROM ${S}.turns t ${join} WHERE ${where.join(' AND ')}`;
  const parts: Part[] = [
    {
      kind: 'totals',
      sql: `SELECT ${[...cols, ...BASE_TOTALS].join(', ')} ${from} ${group}`,
      params: p.values,
    },
  ];
  if (spec.measures.some((m) => PERCENTILE_MEASURES.has(m))) {
    parts.push({
      kind: 'buckets',
      sql: `SELECT ${[...cols, 't.latency_bucket AS b', 'count(*)::float8 AS c'].join(', ')}
        ${from} AND t.latency_ms IS NOT NULL
        GROUP BY ${[...keyExprs.map((_, i) => i + 1), keyExprs.length + 1].join(', ')}`,
      params: p.values,
    });
  }
  return parts;
}

/**
 * For the session plan (one statement, ~one row per session): when a limit is set and the order
 * is a plain total, SQL keeps only the rows that can reach the page, every row tied with the
 * last one included, and counts all groups; JS then sorts them exactly as every adapter does.
 */
export function topRows(spec: AggregateSpec, part: Part): Part | undefined {
  const order = spec.orderBy;
  if (!order || spec.limit === undefined) return undefined;
  const column = TOTAL_COLUMN[order.measure];
  if (!column) return undefined;
  const n = spec.offset + spec.limit;
  if (n < 1) return undefined;
  const dir = order.direction === 'asc' ? 'ASC' : 'DESC';
  const cmp = order.direction === 'asc' ? '<=' : '>=';
  return {
    kind: 'totals',
    sql: `WITH g AS MATERIALIZED (${part.sql}),
      cut AS (SELECT ${column} AS v FROM g ORDER BY ${column} ${dir} LIMIT 1 OFFSET ${n - 1})
      SELECT g.*, (SELECT count(*) FROM g)::float8 AS total_groups FROM g
      WHERE NOT EXISTS (SELECT 1 FROM cut) OR g.${column} ${cmp} (SELECT v FROM cut)`,
    params: part.params,
  };
}

export type { GroupValue };
