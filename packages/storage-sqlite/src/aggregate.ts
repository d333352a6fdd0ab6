import {
  type AggregateResult,
  type AggregateRow,
  type AggregateSpec,
  type AggregateSpecInput,
  AggregateSpecSchema,
  bucketStart,
  DAY_MS,
  type GroupKey,
  type GroupValue,
  HOUR_MS,
  type Measure,
  type NormalizedTurnFilter,
  normalizeTurnFilter,
  sortAggregateRows,
  validate,
} from '@convokit/core';
import { BucketSums } from './bucket-sums.js';
import type { Connection } from './connection.js';
import { DISTINCT_DIMS, KIND_SESSION, KIND_USER } from './distinct.js';
import { GroupTable } from './group-table.js';
import {
  ALL_DIM,
  DAY_PAIR_DIMS,
  DAY_PAIR_INDEX_TERM,
  type DayPairDim,
  PAIR_DIM,
  WEEK_DIMS,
  WEEK_MS,
} from './rollups.js';
import { sessionAggregate, sessionPlanServes } from './session-plan.js';
import { turnFilterSql, whereSql } from './turn-filter-sql.js';

/**
 * `aggregate` in SQL. Two plans give the same numbers: the rollup plan sums hourly and daily rollups when
 * the spec only needs additive measures over an hour-aligned range and at most one rollup
 * dimension; the base plan is a GROUP BY over the turns table (child tables joined for
 * multi-valued keys). Percentiles come from per-group (bucket, count) sums in both plans, read
 * as core LatencyHistogram reads them (bucket-sums.ts), so they match the memory adapter exactly.
 */

const CHILD_TABLE = {
  framework: 'turn_frameworks',
  tool: 'turn_tools',
  mcpServer: 'turn_mcp_servers',
} as const;
const MULTI = new Set<string>(['framework', 'tool', 'mcpServer']);
const ROLLUP_DIM_KEYS = new Set<string>(['persona', 'outcome', 'framework', 'tool', 'mcpServer']);
const TIME_KEYS = new Set<string>(['hour', 'day', 'week', 'month', 'hourOfDay', 'dayOfWeek']);
const PERCENTILES: Partial<Record<Measure, number>> = { latencyP50: 0.5, latencyP95: 0.95, latencyP99: 0.99 };

/** A group's additive totals as both plans return them. */
interface RawGroup {
  c: number;
  e: number;
  s?: number;
  u?: number;
  lc: number;
  ls: number;
  lmin: number | null;
  lmax: number | null;
  ti: number;
  tout: number;
  fs: number;
  fc: number;
  first: number | null;
  last: number | null;
  /** Compensation terms of the float sums `ls` and `fs` (see `addFloat`). */
  lsErr: number;
  fsErr: number;
}

/**
 * Adds `x` to the float sum `g[field]` as SQLite's SUM() does (Kahan-Babuska-Neumaier), so that
 * rollup rows summed here give the figure a SUM over the same rows gives; `sumOf` reads it.
 */
function addFloat(g: RawGroup, field: 'ls' | 'fs', x: number): void {
  const err = field === 'ls' ? 'lsErr' : 'fsErr';
  const s = g[field];
  const t = s + x;
  g[err] += Math.abs(s) > Math.abs(x) ? s - t + x : x - t + s;
  g[field] = t;
}

function sumOf(g: RawGroup, field: 'ls' | 'fs'): number {
  const err = g[field === 'ls' ? 'lsErr' : 'fsErr'];
  return Number.isFinite(err) ? g[field] + err : g[field];
}

export interface RollupPlan {
  dim: string;
  /** Restrict to these rollup keys (a filter on the same dimension). */
  keys?: string[];
  /** The `distinct_days` dimension that answers `sessions` and `users` (see distinct.ts). */
  distinct?: string;
}

/** Time keys a distinct count can be grouped by: buckets of whole days, and the hour of day (its own dimension). */
const DISTINCT_TIME_KEYS = new Set<string>(['day', 'week', 'month', 'hourOfDay']);
const DISTINCT_DIM_SET = new Set<string>(DISTINCT_DIMS);

const dayAligned = (x: number | undefined) => x === undefined || x % DAY_MS === 0;

/** SQL for a time key, from an epoch-ms integer expression (UTC, as core time-buckets.ts). */
function timeKeySql(key: string, x: string): string {
  switch (key) {
    case 'hour':
      return `(${x} - ${x} % 3600000)`;
    case 'day':
      return `(${x} - ${x} % 86400000)`;
    case 'week':
      return `(${x} - ${x} % 86400000 - ((${x} / 86400000 + 3) % 7) * 86400000)`;
    case 'month':
      return `cvk_month(${x})`;
    case 'hourOfDay':
      return `(${x} % 86400000 / 3600000)`;
    case 'dayOfWeek':
      return `((${x} / 86400000 + 3) % 7)`;
    default:
      throw new Error(`not a time key: ${key}`);
  }
}

/** Which plan serves the spec: a rollup plan, or undefined for the base table. */
export function rollupPlan(spec: AggregateSpec, f: NormalizedTurnFilter): RollupPlan | undefined {
  if (f.sessionId || f.userId || f.conversationId) return undefined;
  const plan = additivePlan(spec, f);
  if (!plan || !(spec.measures.includes('sessions') || spec.measures.includes('users'))) return plan;
  // Distinct counts add up over nothing: they need their own rollups, which count whole days.
  if (plan.dim === PAIR_DIM || !DISTINCT_DIM_SET.has(plan.dim)) return undefined;
  if (!dayAligned(f.from) || !dayAligned(f.to)) {
    // Unaligned ends: whole days from the rollups, and the entities of the partial days at the
    // ends counted unless already active in those whole days. Only without day, week or month
    // groups (an edge entity would need the check per bucket), and only with a whole day inside.
    if (!splitRange(f, DAY_MS).interior) return undefined;
    if (spec.groupBy.some((key) => TIME_KEYS.has(key) && key !== 'hourOfDay')) return undefined;
  }
  // An entity under two of the filter's keys would count once per key if they were summed.
  if (plan.keys && plan.keys.length > 1 && !spec.groupBy.includes(plan.dim as GroupKey)) return undefined;
  if (spec.groupBy.some((key) => TIME_KEYS.has(key) && !DISTINCT_TIME_KEYS.has(key))) return undefined;
  if (spec.groupBy.includes('hourOfDay')) {
    return plan.dim === ALL_DIM ? { ...plan, distinct: 'hourOfDay' } : undefined;
  }
  return { ...plan, distinct: plan.dim };
}

function additivePlan(spec: AggregateSpec, f: NormalizedTurnFilter): RollupPlan | undefined {
  const filterDims: Array<[string, string[]]> = [];
  if (f.outcome !== undefined) filterDims.push(['outcome', [f.outcome]]);
  for (const dim of ['persona', 'framework', 'tool', 'mcpServer'] as const) {
    const values = f[dim];
    if (values) filterDims.push([dim, values]);
  }
  if (filterDims.length > 1) return undefined;
  const groupDims: string[] = [];
  for (const key of spec.groupBy) {
    if (ROLLUP_DIM_KEYS.has(key)) groupDims.push(key);
    else if (!TIME_KEYS.has(key)) return undefined;
  }
  if (groupDims.length === 2 && groupDims[0] === 'framework' && groupDims[1] === 'framework') {
    // Framework pairs have rollups of their own, over all turns, without latency histograms.
    const percentiles = spec.measures.some((m) => m in PERCENTILES);
    return filterDims.length === 0 && !percentiles ? { dim: PAIR_DIM } : undefined;
  }
  if (groupDims.length > 1) return undefined;
  const group = groupDims[0];
  const filtered = filterDims[0];
  if (group && filtered) {
    // Filtering a multi-valued dimension while grouping by it keeps the turn's other names too.
    if (group !== filtered[0] || MULTI.has(group)) return undefined;
    return { dim: group, keys: filtered[1] };
  }
  if (group) return { dim: group };
  if (filtered) {
    // A turn may hold several of the listed names; summing their rollups would count it twice.
    if (MULTI.has(filtered[0]) && filtered[1].length !== 1) return undefined;
    return { dim: filtered[0], keys: filtered[1] };
  }
  return { dim: ALL_DIM };
}

export interface DayPairPlan {
  dim: DayPairDim;
  /** The spec groups by the pair's second key first. */
  swapped: boolean;
}

/**
 * `groupBy` exactly a two-key daily rollup dimension (either order), additive measures without
 * percentiles, and no filter but the time range: whole days from the daily rollups, the partial
 * days at the range's ends from the turns.
 */
export function dayPairPlan(spec: AggregateSpec, f: NormalizedTurnFilter): DayPairPlan | undefined {
  if (spec.groupBy.length !== 2) return undefined;
  if (!Object.keys(f).every((k) => k === 'from' || k === 'to')) return undefined;
  if (spec.measures.some((m) => m in PERCENTILES || m === 'sessions' || m === 'users')) return undefined;
  const [x, y] = spec.groupBy;
  for (const [dim, [a, b]] of Object.entries(DAY_PAIR_DIMS)) {
    if (x === a && y === b) return { dim: dim as DayPairDim, swapped: false };
    if (x === b && y === a) return { dim: dim as DayPairDim, swapped: true };
  }
  return undefined;
}

/**
 * Where `dayPairSql` reads whole days or weeks: `pairs`, days in pair order from the partial index
 * `rollups_day_pairs` (no sort, but it holds every day of a pair before the next pair: right for
 * long ranges); `day`, days by the primary key (the few days around whole weeks); `week`, whole
 * weeks from `rollups_week` (the dimensions it keeps, rollups.ts WEEK_DIMS).
 */
type PairSource = 'pairs' | 'day' | 'week';

/** Totals per pair over whole days or weeks (see PairSource). */
/** The sums of rollup rows `r` the measures read (without percentiles), aliased as measureValues reads them. */
function rollupSums(wanted: readonly Measure[]): string[] {
  const m = new Set(wanted);
  const measures = ['SUM(r.count) AS c'];
  if (m.has('errors') || m.has('errorRate')) measures.push('SUM(r.errors) AS e');
  if (m.has('latencyAvg') || m.has('latencyCount')) {
    measures.push('SUM(r.latency_count) AS lc', 'SUM(r.latency_sum) AS ls');
  }
  if (m.has('tokensIn')) measures.push('SUM(r.tokens_in) AS ti');
  if (m.has('tokensOut')) measures.push('SUM(r.tokens_out) AS tout');
  if (m.has('feedbackAvg') || m.has('feedbackCount')) {
    measures.push('SUM(r.feedback_sum) AS fs', 'SUM(r.feedback_count) AS fc');
  }
  if (m.has('firstAt')) measures.push('MIN(r.first_at) AS first');
  if (m.has('lastAt')) measures.push('MAX(r.last_at) AS last');
  return measures;
}

function dayPairSql(
  spec: AggregateSpec,
  plan: DayPairPlan,
  range: Range,
  source: PairSource,
): { sql: string; params: unknown[] } {
  const first = 'substr(r.key, 1, instr(r.key, char(1)) - 1)';
  // Neither a user nor a persona is ever '': it stands for none.
  const second = "NULLIF(substr(r.key, instr(r.key, char(1)) + 1), '')";
  const firstKey = plan.dim === 'userPersona' ? `NULLIF(${first}, '')` : first;
  const keys = plan.swapped ? [second, firstKey] : [firstKey, second];
  const measures = rollupSums(spec.measures);
  const level = source === 'week' ? 'week' : 'day';
  const clauses = source === 'pairs' ? [`r.${DAY_PAIR_INDEX_TERM}`, 'r.dim = ?'] : ['r.dim = ?'];
  const params: unknown[] = [plan.dim];
  if (range.from !== undefined) {
    clauses.push(`r.${level} >= ?`);
    params.push(range.from);
  }
  if (range.to !== undefined) {
    clauses.push(`r.${level} < ?`);
    params.push(range.to);
  }
  const cols = [...keys.map((k, i) => `${k} AS k${i}`), ...measures];
  const from = {
    pairs: 'rollups_day r INDEXED BY rollups_day_pairs',
    day: 'rollups_day r',
    week: 'rollups_week r',
  }[source];
  return {
    sql: `SELECT ${cols.join(', ')} FROM ${from} WHERE ${clauses.join(' AND ')} GROUP BY r.key`,
    params,
  };
}

interface PlannedSql {
  groups: string;
  histogram: string;
  params: unknown[];
}

function baseSql(spec: AggregateSpec, f: NormalizedTurnFilter): PlannedSql {
  const joins: string[] = [];
  const keys: string[] = [];
  const firstAlias = new Map<string, string>();
  spec.groupBy.forEach((key, i) => {
    if (key === 'framework' || key === 'tool' || key === 'mcpServer') {
      const alias = `g${i}`;
      const first = firstAlias.get(key);
      // The second mention of a multi-valued key pairs distinct names, smaller one first.
      joins.push(
        `JOIN ${CHILD_TABLE[key]} ${alias} ON ${alias}.seq = t.seq${first ? ` AND ${alias}.name > ${first}.name` : ''}`,
      );
      if (!first) firstAlias.set(key, alias);
      keys.push(`${alias}.name`);
    } else keys.push(singleKeySql(key));
  });
  const where = turnFilterSql(f);
  const cols = keys.map((k, i) => `${k} AS k${i}`);
  const groupBy = keys.map((_, i) => `k${i}`);
  // Only the columns the measures need: a GROUP BY that reads nothing but indexed columns is
  // answered from a covering index without touching the table.
  const m = new Set(spec.measures);
  const measures = ['COUNT(*) AS c'];
  if (m.has('errors') || m.has('errorRate')) measures.push("COALESCE(SUM(t.outcome = 'error'), 0) AS e");
  if (
    ['latencyAvg', 'latencyP50', 'latencyP95', 'latencyP99', 'latencyCount'].some((x) => m.has(x as Measure))
  ) {
    measures.push(
      'COUNT(t.latency_ms) AS lc',
      'COALESCE(SUM(t.latency_ms), 0) AS ls',
      'MIN(t.latency_ms) AS lmin',
      'MAX(t.latency_ms) AS lmax',
    );
  }
  if (m.has('tokensIn')) measures.push('COALESCE(SUM(t.tokens_in), 0) AS ti');
  if (m.has('tokensOut')) measures.push('COALESCE(SUM(t.tokens_out), 0) AS tout');
  if (m.has('feedbackAvg') || m.has('feedbackCount')) {
    measures.push('COALESCE(SUM(t.feedback), 0) AS fs', 'COUNT(t.feedback) AS fc');
  }
  if (m.has('firstAt')) measures.push('MIN(t.at) AS first');
  if (m.has('lastAt')) measures.push('MAX(t.at) AS last');
  if (m.has('sessions')) measures.push('COUNT(DISTINCT t.session_id) AS s');
  if (m.has('users')) measures.push('COUNT(DISTINCT t.user_id) AS u');
  const from = `FROM turns t ${joins.join(' ')}`;
  const groupSql = groupBy.length ? `GROUP BY ${groupBy.join(', ')}` : '';
  return {
    groups: `SELECT ${[...cols, ...measures].join(', ')} ${from} ${whereSql(where.clauses)} ${groupSql}`,
    histogram: `SELECT ${[...cols, 't.latency_bucket AS b', 'COUNT(*) AS n'].join(', ')} ${from}
      ${whereSql([...where.clauses, 't.latency_bucket IS NOT NULL'])} GROUP BY ${[...groupBy, 'b'].join(', ')}`,
    params: where.params,
  };
}

function singleKeySql(key: GroupKey): string {
  switch (key) {
    case 'persona':
      return 't.persona';
    case 'session':
      return 't.session_id';
    case 'user':
      return 't.user_id';
    case 'conversation':
      return 't.conversation_id';
    case 'outcome':
      return 't.outcome';
    default:
      return timeKeySql(key, 't.at');
  }
}

interface Range {
  from?: number | undefined;
  to?: number | undefined;
}

function rollupKeys(spec: AggregateSpec, plan: RollupPlan, time: string): string[] {
  let framework = 0;
  return spec.groupBy.map((key) => {
    if (TIME_KEYS.has(key)) return timeKeySql(key, time);
    if (plan.dim === PAIR_DIM) {
      // `first SOH second`: the first mention of framework is the first name.
      return framework++ === 0
        ? 'substr(r.key, 1, instr(r.key, char(1)) - 1)'
        : 'substr(r.key, instr(r.key, char(1)) + 1)';
    }
    return key === 'persona' ? "NULLIF(r.key, '')" : 'r.key';
  });
}

/**
 * Distinct sessions and users per group from `distinct_days` over a day-aligned range: rows
 * [k0 .. kn-1, kind, count]. An entity counts on its first active day in the range or in
 * its group's day bucket, whichever starts later (`floor`): the `prevs` entries before `floor`.
 */
function distinctSql(
  spec: AggregateSpec,
  plan: RollupPlan,
  range: Range,
): { sql: string; params: unknown[] } {
  const buckets: string[] = [];
  const keys = spec.groupBy.map((key) => {
    if (key === 'hourOfDay') return 'CAST(n.key AS INTEGER)';
    if (TIME_KEYS.has(key)) {
      buckets.push(timeKeySql(key, 'n.day'));
      return timeKeySql(key, 'n.day');
    }
    return key === 'persona' ? "NULLIF(n.key, '')" : 'n.key';
  });
  const from = range.from ?? 0;
  const floor = buckets.length ? `max(${buckets.join(', ')}, ?)` : '?';
  const kinds = [
    ...(spec.measures.includes('sessions') ? [KIND_SESSION] : []),
    ...(spec.measures.includes('users') ? [KIND_USER] : []),
  ];
  const clauses = ['n.dim = ?', `n.kind IN (${kinds.join(', ')})`, 'n.day >= ?', 'n.prevs IS NOT NULL'];
  const params: unknown[] = [from, plan.distinct, from];
  if (range.to !== undefined) {
    clauses.push('n.day < ?');
    params.push(range.to);
  }
  if (plan.keys) {
    clauses.push('n.key IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(plan.keys));
  }
  // Summed per group in SQL (`cvk_sum_below`, rollups.ts sumBelow): a row per group instead of a
  // row and a blob copy per (group, day) handed to JS.
  const cols = [
    ...keys.map((k, i) => `${k} AS k${i}`),
    'n.kind',
    `SUM(cvk_sum_below(n.prevs, ${floor})) AS n`,
  ];
  const groupBy = [...keys.map((_, i) => `k${i}`), 'n.kind'];
  return {
    sql: `SELECT ${cols.join(', ')} FROM distinct_days n WHERE ${clauses.join(' AND ')} GROUP BY ${groupBy.join(', ')}`,
    params,
  };
}

/**
 * The distinct entities (sessions, users) of the partial days at the ends of the range that were
 * not active in its whole days under the same dimension value: each counts once more for its
 * group. `distinct_members` answers "active in the whole days" by one primary-key seek.
 */
function edgeEntities(
  conn: Connection,
  spec: AggregateSpec,
  plan: RollupPlan,
  f: NormalizedTurnFilter,
  edges: Range[],
  interior: Range,
): Array<{ key: GroupValue[]; kind: number }> {
  const dim = plan.distinct!;
  let member = "''";
  let join = '';
  const params: unknown[] = [];
  if (dim === 'persona') member = "COALESCE(t.persona, '')";
  else if (dim === 'hourOfDay') member = `CAST(${timeKeySql('hourOfDay', 't.at')} AS TEXT)`;
  else if (dim === 'framework') {
    member = 'g.name';
    join = 'JOIN turn_frameworks g ON g.seq = t.seq';
    if (plan.keys) {
      join += ' AND g.name IN (SELECT value FROM json_each(?))';
      params.push(JSON.stringify(plan.keys));
    }
  }
  const kinds: Array<[number, string]> = [];
  if (spec.measures.includes('sessions')) kinds.push([KIND_SESSION, 't.session_id']);
  if (spec.measures.includes('users')) kinds.push([KIND_USER, 't.user_id']);
  const active = conn
    .prepare(
      'SELECT 1 FROM distinct_members WHERE dim = ? AND key = ? AND kind = ? AND entity = ? AND day >= ? AND day < ? LIMIT 1',
    )
    .pluck();
  const out: Array<{ key: GroupValue[]; kind: number }> = [];
  for (const [kind, column] of kinds) {
    const seen = new Set<string>();
    for (const edge of edges) {
      const where = turnFilterSql({ ...f, from: edge.from, to: edge.to });
      const rows = conn
        .prepare(
          `SELECT DISTINCT ${member} AS m, ${column} AS e FROM turns t ${join}
          ${whereSql([...where.clauses, `${column} IS NOT NULL`])}`,
        )
        .raw(true)
        .all(...params, ...where.params) as Array<[string, string]>;
      for (const [m, e] of rows) {
        const id = `${m}\u0001${e}`;
        if (seen.has(id)) continue;
        seen.add(id);
        if (active.get(dim, m, kind, e, interior.from ?? 0, interior.to ?? Number.MAX_SAFE_INTEGER)) continue;
        const key = spec.groupBy.map((g): GroupValue => {
          if (g === 'hourOfDay') return Number(m);
          return g === 'persona' ? (m === '' ? null : m) : m;
        });
        out.push({ key, kind });
      }
    }
  }
  return out;
}

function rollupWhere(plan: RollupPlan, range: Range, time: string): { sql: string; params: unknown[] } {
  const clauses = ['r.dim = ?'];
  const params: unknown[] = [plan.dim];
  if (range.from !== undefined) {
    clauses.push(`${time} >= ?`);
    params.push(range.from);
  }
  if (range.to !== undefined) {
    clauses.push(`${time} < ?`);
    params.push(range.to);
  }
  if (plan.keys) {
    if (plan.keys.length === 1) {
      clauses.push('r.key = ?');
      params.push(plan.keys[0]);
    } else {
      clauses.push('r.key IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(plan.keys));
    }
  }
  return { sql: `WHERE ${clauses.join(' AND ')}`, params };
}

/** The value of a rollup `key` for the group key `key` (the `index`-th framework of a pair). */
function rollupKeyValue(plan: RollupPlan, key: GroupKey, value: string, index: number): GroupValue {
  if (plan.dim === PAIR_DIM) {
    // `first SOH second`: the first mention of framework is the first name.
    const cut = value.indexOf('\u0001');
    return index === 0 ? value.slice(0, cut) : value.slice(cut + 1);
  }
  return key === 'persona' && value === '' ? null : value;
}

/**
 * Totals from the hourly or daily rollups over a range aligned to that level, grouped in SQL
 * (without percentiles SQLite adds the rows up faster than handing each one to JS) by the time
 * keys and the raw rollup key, with only the sums the measures need: a GROUP BY's cost grows
 * with what it carries per row and returns per group (all twelve sums over 990 groups took four
 * times one sum's). The key is mapped to its group values here (a framework pair split in JS
 * instead of two substr() per row).
 */
function rollupGroupsSql(
  spec: AggregateSpec,
  plan: RollupPlan,
  range: Range,
  level: Level,
): { sql: string; params: unknown[]; keysOf: (row: unknown[], at: Columns) => GroupValue[] } {
  const time = `r.${level}`;
  const where = rollupWhere(plan, range, time);
  const cols: string[] = [];
  spec.groupBy.forEach((key, i) => {
    // A key of the level's own size is its time column as stored: grouping by (time, key) then
    // follows the primary key's order and needs no sort.
    if (TIME_KEYS.has(key)) cols.push(`${key === level ? time : timeKeySql(key, time)} AS t${i}`);
  });
  // Keys filtered but not grouped by (a list of personas) add up into one group.
  const byKey = spec.groupBy.some((key) => !TIME_KEYS.has(key));
  if (byKey) cols.push('r.key AS rk');
  const groupBy = cols.map((c) => c.slice(c.lastIndexOf(' ') + 1));
  const measures = rollupSums(spec.measures);
  const keysOf = (row: unknown[], at: Columns): GroupValue[] => {
    let pairIndex = 0;
    return spec.groupBy.map((key, i) =>
      TIME_KEYS.has(key)
        ? (row[at[`t${i}`]!] as GroupValue)
        : rollupKeyValue(plan, key, row[at.rk!] as string, pairIndex++),
    );
  };
  const groupSql = groupBy.length ? `GROUP BY ${groupBy.join(', ')}` : '';
  return {
    sql: `SELECT ${[...cols, ...measures].join(', ')} FROM ${LEVEL_TABLE[level]} r ${where.sql} ${groupSql}`,
    params: where.params,
    keysOf,
  };
}

/**
 * The rollup rows of a range aligned to the level, one per (time, key) and not grouped in SQL:
 * [k0 .. kn-1, count, errors, latency count, sum, min, max, tokens in, out, feedback sum,
 * count, first, last, hist] (constants for the sums no measure reads). With percentiles they are merged per group in JS in the same pass
 * that adds up their histograms, so each row is read once (a GROUP BY and a second query for the
 * blobs read it twice).
 */
function rollupRowsSql(
  spec: AggregateSpec,
  plan: RollupPlan,
  range: Range,
  level: Level,
): { sql: string; params: unknown[] } {
  const time = `r.${level}`;
  const keys = rollupKeys(spec, plan, time);
  const where = rollupWhere(plan, range, time);
  // Sums no measure reads are constants (their place kept): fewer doubles to build per row.
  const m = new Set(spec.measures);
  const wants = (column: string, used: boolean, none = '0') => (used ? `r.${column}` : none);
  const errors = m.has('errors') || m.has('errorRate');
  const feedback = m.has('feedbackAvg') || m.has('feedbackCount');
  const cols = [
    ...keys,
    'r.count',
    wants('errors', errors),
    'r.latency_count, r.latency_sum, r.latency_min, r.latency_max',
    wants('tokens_in', m.has('tokensIn')),
    wants('tokens_out', m.has('tokensOut')),
    wants('feedback_sum', feedback),
    wants('feedback_count', feedback),
    wants('first_at', m.has('firstAt'), 'NULL'),
    wants('last_at', m.has('lastAt'), 'NULL'),
    'r.hist',
  ];
  return {
    sql: `SELECT ${cols.join(', ')} FROM ${LEVEL_TABLE[level]} r ${where.sql}`,
    params: where.params,
  };
}

/** The rollup tables by level; the time column is named as the level. */
type Level = 'hour' | 'day' | 'week';
const LEVEL_TABLE: Record<Level, string> = { hour: 'rollups', day: 'rollups_day', week: 'rollups_week' };

/** The start of the unit (a length in ms, or the Monday-based UTC week) holding `x`. */
function floorTo(x: number, unit: number | 'week'): number {
  return unit === 'week' ? bucketStart('week', x) : x - (x % unit);
}

function ceilTo(x: number, unit: number | 'week'): number {
  const start = floorTo(x, unit);
  return start === x ? x : start + (unit === 'week' ? WEEK_MS : unit);
}

/**
 * Splits [from, to) into an interior aligned to `unit` and the unaligned edges around it. No
 * interior when no whole unit fits.
 */
export function splitRange(range: Range, unit: number | 'week'): { interior?: Range; edges: Range[] } {
  const { from, to } = range;
  const a = from === undefined ? undefined : ceilTo(from, unit);
  const b = to === undefined ? undefined : floorTo(to, unit);
  if (a !== undefined && b !== undefined && a >= b) return { edges: [{ from, to }] };
  const edges: Range[] = [];
  if (from !== undefined && a !== from) edges.push({ from, to: a });
  if (to !== undefined && b !== to) edges.push({ from: b, to });
  return { interior: { from: a, to: b }, edges };
}

function keysOf(row: unknown[], at: Columns, n: number): GroupValue[] {
  const keys: GroupValue[] = [];
  for (let i = 0; i < n; i++) keys.push((row[at[`k${i}`]!] ?? null) as GroupValue);
  return keys;
}

function measureValues(
  measures: readonly Measure[],
  g: RawGroup,
  buckets: BucketSums | undefined,
): Partial<Record<Measure, number | null>> {
  const values: Partial<Record<Measure, number | null>> = {};
  for (const m of measures) {
    switch (m) {
      case 'count':
        values[m] = g.c;
        break;
      case 'errors':
        values[m] = g.e;
        break;
      case 'errorRate':
        values[m] = g.c > 0 ? g.e / g.c : null;
        break;
      case 'sessions':
        values[m] = g.s ?? 0;
        break;
      case 'users':
        values[m] = g.u ?? 0;
        break;
      case 'latencyAvg':
        values[m] = g.lc > 0 ? sumOf(g, 'ls') / g.lc : null;
        break;
      case 'latencyP50':
      case 'latencyP95':
      case 'latencyP99':
        values[m] = g.lc > 0 && buckets ? buckets.quantile(PERCENTILES[m]!, g.lmin ?? 0, g.lmax ?? 0) : null;
        break;
      case 'latencyCount':
        values[m] = g.lc;
        break;
      case 'tokensIn':
        values[m] = g.ti;
        break;
      case 'tokensOut':
        values[m] = g.tout;
        break;
      case 'feedbackAvg':
        values[m] = g.fc > 0 ? sumOf(g, 'fs') / g.fc : null;
        break;
      case 'feedbackCount':
        values[m] = g.fc;
        break;
      case 'firstAt':
        values[m] = g.c > 0 ? g.first : null;
        break;
      case 'lastAt':
        values[m] = g.c > 0 ? g.last : null;
        break;
    }
  }
  return values;
}

export interface AggregateOptions {
  /** Force a plan (tests compare both); default the cheapest that serves the spec. */
  plan?: 'auto' | 'base';
}

/** One group's totals as the pieces of a plan add up. */
interface Accumulated {
  keys: GroupValue[];
  g: RawGroup;
  buckets: BucketSums;
}

function emptyGroup(keys: GroupValue[]): Accumulated {
  const g: RawGroup = {
    c: 0,
    e: 0,
    lc: 0,
    ls: 0,
    lmin: null,
    lmax: null,
    ti: 0,
    tout: 0,
    fs: 0,
    fc: 0,
    first: null,
    last: null,
    lsErr: 0,
    fsErr: 0,
  };
  return { keys, g, buckets: new BucketSums() };
}

/** Adds one raw rollup row (see `rollupRowsSql`; the keys are its first `n` cells) into its group. */
function addRollupRow(acc: Accumulated, row: unknown[], n: number): void {
  const g = acc.g;
  const num = (i: number) => row[n + i] as number;
  const opt = (i: number) => row[n + i] as number | null;
  g.c += num(0);
  g.e += num(1);
  g.lc += num(2);
  addFloat(g, 'ls', num(3));
  const lmin = opt(4);
  const lmax = opt(5);
  if (lmin !== null && (g.lmin === null || lmin < g.lmin)) g.lmin = lmin;
  if (lmax !== null && (g.lmax === null || lmax > g.lmax)) g.lmax = lmax;
  g.ti += num(6);
  g.tout += num(7);
  addFloat(g, 'fs', num(8));
  g.fc += num(9);
  const first = opt(10);
  const last = opt(11);
  if (first !== null && (g.first === null || first < g.first)) g.first = first;
  if (last !== null && (g.last === null || last > g.last)) g.last = last;
  const hist = row[n + 12];
  if (hist instanceof Uint8Array) acc.buckets.addBlob(hist);
}

/** A result row as totals, with what the plan did not select at its neutral value. */
/** A statement's result columns by alias: rows are read as arrays (objects cost more to build). */
type Columns = Record<string, number>;

function columnsOf(statement: { columns(): Array<{ name: string }> }): Columns {
  const at: Columns = {};
  statement.columns().forEach((column, i) => {
    at[column.name] = i;
  });
  return at;
}

function rawGroup(row: unknown[], at: Columns): RawGroup {
  const num = (key: string) => {
    const i = at[key];
    return i === undefined ? 0 : ((row[i] as number | null) ?? 0);
  };
  const opt = (key: string) => {
    const i = at[key];
    return i === undefined ? null : ((row[i] as number | null) ?? null);
  };
  const g: RawGroup = {
    c: num('c'),
    e: num('e'),
    lc: num('lc'),
    ls: num('ls'),
    lmin: opt('lmin'),
    lmax: opt('lmax'),
    ti: num('ti'),
    tout: num('tout'),
    fs: num('fs'),
    fc: num('fc'),
    first: opt('first'),
    last: opt('last'),
    lsErr: 0,
    fsErr: 0,
  };
  if (at.s !== undefined) g.s = row[at.s] as number;
  if (at.u !== undefined) g.u = row[at.u] as number;
  return g;
}

function mergeGroup(into: RawGroup, g: RawGroup): void {
  into.c += g.c;
  into.e += g.e;
  into.lc += g.lc;
  addFloat(into, 'ls', sumOf(g, 'ls'));
  into.ti += g.ti;
  into.tout += g.tout;
  addFloat(into, 'fs', sumOf(g, 'fs'));
  into.fc += g.fc;
  if (g.lmin !== null && (into.lmin === null || g.lmin < into.lmin)) into.lmin = g.lmin;
  if (g.lmax !== null && (into.lmax === null || g.lmax > into.lmax)) into.lmax = g.lmax;
  if (g.first !== null && (into.first === null || g.first < into.first)) into.first = g.first;
  if (g.last !== null && (into.last === null || g.last > into.last)) into.last = g.last;
}

export async function aggregateTurns(
  conn: Connection,
  input: AggregateSpecInput,
  where = 'turns.aggregate',
  options: AggregateOptions = {},
): Promise<AggregateResult> {
  const spec = validate(AggregateSpecSchema, input, where);
  const f = normalizeTurnFilter(spec.filter);
  const plan = options.plan === 'base' ? undefined : rollupPlan(spec, f);
  const wantsPercentiles = spec.measures.some((m) => m in PERCENTILES);
  const n = spec.groupBy.length;
  const page = (rows: AggregateRow[], totalGroups: number): AggregateResult => {
    sortAggregateRows(rows, spec.orderBy);
    const end = spec.limit === undefined ? undefined : spec.offset + spec.limit;
    return { rows: rows.slice(spec.offset, end), totalGroups };
  };
  if (options.plan !== 'base' && sessionPlanServes(spec, f)) {
    return conn.run(where, () => {
      const { rows, totalGroups } = sessionAggregate(conn, spec, f);
      return page(rows, totalGroups);
    });
  }
  return conn.run(where, () => {
    const groups = new GroupTable<Accumulated>(n);
    const addGroups = (
      sql: string,
      params: unknown[],
      keysOfRow = (row: unknown[], at: Columns) => keysOf(row, at, n),
    ) => {
      const statement = conn.prepare(sql);
      const at = columnsOf(statement);
      for (const row of statement.raw(true).all(...params) as unknown[][]) {
        const g = rawGroup(row, at);
        let found = true;
        const acc = groups.getOrCreate(keysOfRow(row, at), (keys) => {
          found = false;
          return { keys, g, buckets: new BucketSums() };
        });
        if (found) mergeGroup(acc.g, g);
      }
    };
    // Rows are [k0 .. kn-1, bucket, count], added into their group's buckets.
    const addHistogram = (sql: string, params: unknown[]) => {
      for (const row of conn
        .prepare(sql)
        .raw(true)
        .all(...params) as unknown[][]) {
        groups.get(row)?.buckets.add(row[n] as number, row[n + 1] as number);
      }
    };
    const addBase = (filter: NormalizedTurnFilter) => {
      const sql = baseSql(spec, filter);
      addGroups(sql.groups, sql.params);
      if (wantsPercentiles) addHistogram(sql.histogram, sql.params);
    };

    const pairPlan = plan || options.plan === 'base' ? undefined : dayPairPlan(spec, f);
    if (pairPlan) {
      const { interior, edges } = splitRange(f, DAY_MS);
      for (const edge of edges) addBase({ ...f, from: edge.from, to: edge.to });
      if (interior) {
        // Whole weeks from the weekly rows where the dimension has them, the days around them daily.
        const byWeek = WEEK_DIMS.includes(pairPlan.dim) ? splitRange(interior, 'week') : undefined;
        const parts: Array<[Range, PairSource]> = byWeek
          ? byWeek.edges.map((part) => [part, 'day'])
          : [[interior, 'pairs']];
        if (byWeek?.interior) parts.push([byWeek.interior, 'week']);
        for (const [part, source] of parts) {
          const sql = dayPairSql(spec, pairPlan, part, source);
          addGroups(sql.sql, sql.params);
        }
      }
    } else if (!plan) addBase(f);
    else {
      // Rollups serve the whole hours inside the range; the partial hours at its edges are scanned.
      const { interior, edges } = splitRange(f, HOUR_MS);
      for (const edge of edges) addBase({ ...f, from: edge.from, to: edge.to });
      if (interior) {
        // Whole days come from the daily rollups (unless grouping needs the hour), the hours
        // around them from the hourly ones.
        const hourly = spec.groupBy.includes('hour') || spec.groupBy.includes('hourOfDay');
        const byDay = hourly ? { edges: [interior] } : splitRange(interior, DAY_MS);
        const parts: Array<[Range, Level]> = byDay.edges.map((part) => [part, 'hour']);
        // Whole weeks from the weekly rollups when no group needs the day, the days around them daily.
        const weekly =
          WEEK_DIMS.includes(plan.dim) && spec.groupBy.every((key) => !TIME_KEYS.has(key) || key === 'week');
        const byWeek = byDay.interior && weekly ? splitRange(byDay.interior, 'week') : undefined;
        if (byWeek) {
          for (const part of byWeek.edges) parts.push([part, 'day']);
          if (byWeek.interior) parts.push([byWeek.interior, 'week']);
        } else if (byDay.interior) parts.push([byDay.interior, 'day']);
        for (const [part, level] of parts) {
          if (!wantsPercentiles) {
            const sql = rollupGroupsSql(spec, plan, part, level);
            addGroups(sql.sql, sql.params, sql.keysOf);
            continue;
          }
          const sql = rollupRowsSql(spec, plan, part, level);
          for (const row of conn
            .prepare(sql.sql)
            .raw(true)
            .all(...sql.params) as unknown[][]) {
            addRollupRow(groups.getOrCreate(row, emptyGroup), row, n);
          }
        }
      }
      if (plan.distinct !== undefined) {
        // Fills in the groups the totals found; an entity is only ever active where turns are.
        const days = splitRange(f, DAY_MS);
        // The base scans of partial hours counted their own distinct entities: recounted here.
        for (const acc of groups.values()) {
          delete acc.g.s;
          delete acc.g.u;
        }
        const sql = distinctSql(spec, plan, days.interior ?? f);
        for (const row of conn
          .prepare(sql.sql)
          .raw(true)
          .all(...sql.params) as unknown[][]) {
          const acc = groups.get(row);
          if (!acc) continue;
          const count = row[n + 1] as number;
          if (row[n] === KIND_SESSION) acc.g.s = (acc.g.s ?? 0) + count;
          else acc.g.u = (acc.g.u ?? 0) + count;
        }
        if (days.interior && days.edges.length > 0) {
          for (const { key, kind } of edgeEntities(conn, spec, plan, f, days.edges, days.interior)) {
            const acc = groups.get(key);
            if (!acc) continue;
            if (kind === KIND_SESSION) acc.g.s = (acc.g.s ?? 0) + 1;
            else acc.g.u = (acc.g.u ?? 0) + 1;
          }
        }
      }
    }

    // Without groupBy there is always one row, as a SQL aggregate without GROUP BY gives.
    if (n === 0) groups.getOrCreate([], emptyGroup);
    const rows: AggregateRow[] = [];
    for (const { keys, g, buckets } of groups.values()) {
      rows.push({ keys, values: measureValues(spec.measures, g, wantsPercentiles ? buckets : undefined) });
    }
    return page(rows, rows.length);
  });
}
