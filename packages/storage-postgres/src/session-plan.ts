import type { AggregateRow, AggregateSpec, Measure, NormalizedTurnFilter } from '@convokit/core';
import type { PgSql } from './db.js';
import { DAY } from './rollups.js';

/**
 * "Sessions in a window": `groupBy: ['session']` with count, firstAt and lastAt and no filter but
 * the time window, read from `session_totals` (one row per session: turn count, first and last
 * `at`) instead of grouping turns. Sessions wholly inside the window are read from their totals;
 * the few crossing an end of it (they started less than the longest session's span before it)
 * are recounted from their turns. With an order on firstAt or lastAt and a limit, only the rows
 * of the totals' index that can reach the page are read (ties with the last one included); the
 * caller orders and pages them as for any plan.
 *
 * The crossing sessions are recounted one by one (a lateral lookup on (session_id, at)): joined
 * as a set, a store whose statistics autovacuum had not gathered yet (right after a bulk load)
 * was planned as a scan of every turn in the window, 93 ms instead of 1.5 ms at 1M turns.
 */

const SESSION_MEASURES = new Set<Measure>(['count', 'firstAt', 'lastAt']);
/** Beyond every epoch-ms time (EpochMsSchema's maximum). */
const END_OF_TIME = 8.64e15 + 1;

export function sessionPlanServes(spec: AggregateSpec, f: NormalizedTurnFilter): boolean {
  if (spec.groupBy.length !== 1 || spec.groupBy[0] !== 'session') return false;
  if (!spec.measures.every((m) => SESSION_MEASURES.has(m))) return false;
  return Object.keys(f).every((k) => k === 'from' || k === 'to');
}

/**
 * How many sessions lie wholly inside [$1, $2). Over whole days [$3, $4) those starting in the
 * window come from `session_first_days` (a row per day), the partial days around them from the
 * totals' index; then the sessions starting inside but ending at or after the window's end (they
 * started less than the longest span before it) are taken off.
 */
function insideCount(S: string, inside: string, a: number, b: number): string {
  if (a >= b) return `SELECT count(*) FROM ${S}.session_totals st WHERE ${inside}`;
  const starting = (lo: string, hi: string) =>
    `(SELECT count(*) FROM ${S}.session_totals st WHERE st.first_at >= ${lo} AND st.first_at < ${hi})`;
  return `SELECT (SELECT coalesce(sum(d.n), 0) FROM ${S}.session_first_days d WHERE d.day >= $3::bigint AND d.day < $4::bigint)
      + ${starting('$1::bigint', '$3::bigint')} + ${starting('$4::bigint', '$2::bigint')}
      - (SELECT count(*) FROM ${S}.session_totals st, span
         WHERE st.first_at >= greatest($1::bigint, $2::bigint - span.s) AND st.first_at < $2::bigint
           AND st.last_at >= $2::bigint)`;
}

interface Row {
  k: string | null;
  n: number | null;
  first_at: number | null;
  last_at: number | null;
  /** 0: a session crossing an end, recounted; 1: a session inside; 2: the count of those inside. */
  crossing: number;
}

/** The candidate rows (unordered) and the number of groups. */
export async function sessionAggregate(
  sql: PgSql,
  S: string,
  spec: AggregateSpec,
  f: NormalizedTurnFilter,
): Promise<{ rows: AggregateRow[]; totalGroups: number }> {
  const from = f.from ?? 0;
  const to = f.to ?? END_OF_TIME;
  if (from >= to) return { rows: [], totalGroups: 0 };
  // The whole UTC days of the window: [a, b).
  const a = from % DAY === 0 ? from : from - (from % DAY) + DAY;
  const b = to - (to % DAY);
  // first_at < to follows from last_at < to; stated, it bounds the range read on (first_at, last_at).
  const inside = 'st.first_at >= $1::bigint AND st.first_at < $2::bigint AND st.last_at < $2::bigint';
  let page = '';
  const order = spec.orderBy;
  const top = spec.limit === undefined ? undefined : spec.offset + spec.limit;
  if (order && top !== undefined && (order.measure === 'lastAt' || order.measure === 'firstAt')) {
    const column = order.measure === 'lastAt' ? 'last_at' : 'first_at';
    const [dir, pick, cmp] = order.direction === 'desc' ? ['DESC', 'min', '>='] : ['ASC', 'max', '<='];
    page =
      top === 0
        ? ' AND FALSE'
        : ` AND st.${column} ${cmp} (SELECT ${pick}(${column}) FROM (SELECT st.${column} FROM ${S}.session_totals st
            WHERE ${inside} ORDER BY st.${column} ${dir} LIMIT ${top}) x)`;
  }
  const rows = await sql.unsafe<Row[]>(
    `WITH span AS (SELECT coalesce(max(last_at - first_at), 0) AS s FROM ${S}.session_totals),
      crossing AS (
        SELECT st.session_id FROM ${S}.session_totals st, span
        WHERE st.first_at >= $1::bigint - span.s AND st.first_at < $1::bigint AND st.last_at >= $1::bigint
        UNION
        SELECT st.session_id FROM ${S}.session_totals st, span
        WHERE st.first_at >= $2::bigint - span.s AND st.first_at < $2::bigint AND st.last_at >= $2::bigint)
    SELECT c.session_id AS k, x.n, x.first_at, x.last_at, 0 AS crossing
    FROM crossing c CROSS JOIN LATERAL (
      SELECT count(*)::float8 AS n, min(t.at)::float8 AS first_at, max(t.at)::float8 AS last_at
      FROM ${S}.turns t WHERE t.session_id = c.session_id AND t.at >= $1::bigint AND t.at < $2::bigint) x
    WHERE x.n > 0
    UNION ALL
    SELECT st.session_id, st.count::float8, st.first_at::float8, st.last_at::float8, 1
    FROM ${S}.session_totals st WHERE ${inside}${page}
    UNION ALL
    SELECT NULL, (${insideCount(S, inside, a, b)})::float8, NULL, NULL, 2`,
    (a < b ? [from, to, a, b] : [from, to]) as never[],
    { prepare: true },
  );
  const out: AggregateRow[] = [];
  let totalGroups = 0;
  for (const r of rows) {
    if (r.crossing === 2) {
      totalGroups += r.n!;
      continue;
    }
    if (r.crossing === 0) totalGroups += 1;
    const values: AggregateRow['values'] = {};
    for (const m of spec.measures) values[m] = m === 'count' ? r.n : m === 'firstAt' ? r.first_at : r.last_at;
    out.push({ keys: [r.k], values });
  }
  return { rows: out, totalGroups };
}
