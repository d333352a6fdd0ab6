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
 * Grouped by session and user (schema 9: `session_totals` keeps each session's user, or marks it
 * mixed when its turns hold several), a session inside gives its user's row and a mixed one is
 * recounted by user from its turns, in the same snapshot. With `errors` too (schema 9).
 *
 * The crossing sessions are recounted one by one (a lateral lookup on (session_id, at)): joined
 * as a set, a store whose statistics autovacuum had not gathered yet (right after a bulk load)
 * was planned as a scan of every turn in the window, 93 ms instead of 1.5 ms at 1M turns.
 */

const SESSION_MEASURES = new Set<Measure>(['count', 'errors', 'firstAt', 'lastAt']);
/** Beyond every epoch-ms time (EpochMsSchema's maximum). */
const END_OF_TIME = 8.64e15 + 1;

/** Where the user key goes when grouping by session and user (either order), or undefined. */
function userKeyAt(spec: AggregateSpec): 0 | 1 | undefined {
  const [a, b] = spec.groupBy;
  if (spec.groupBy.length !== 2) return undefined;
  if (a === 'session' && b === 'user') return 1;
  if (a === 'user' && b === 'session') return 0;
  return undefined;
}

export function sessionPlanServes(spec: AggregateSpec, f: NormalizedTurnFilter): boolean {
  const bySession = spec.groupBy.length === 1 && spec.groupBy[0] === 'session';
  // By session and user: every group is returned (no page cut in SQL), so no limit.
  const byUser = userKeyAt(spec) !== undefined && spec.limit === undefined;
  if (!bySession && !byUser) return false;
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
  /** The user, when grouping by session and user. */
  u: string | null;
  n: number | null;
  errors: number | null;
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
  const userAt = userKeyAt(spec);
  const byUser = userAt !== undefined;
  // The whole UTC days of the window: [a, b).
  const a = from % DAY === 0 ? from : from - (from % DAY) + DAY;
  const b = to - (to % DAY);
  // first_at < to follows from last_at < to; stated, it bounds the range read on (first_at, last_at).
  const inside = 'st.first_at >= $1::bigint AND st.first_at < $2::bigint AND st.last_at < $2::bigint';
  let page = '';
  const order = spec.orderBy;
  const top = spec.limit === undefined ? undefined : spec.offset + spec.limit;
  if (!byUser && order && top !== undefined && (order.measure === 'lastAt' || order.measure === 'firstAt')) {
    const column = order.measure === 'lastAt' ? 'last_at' : 'first_at';
    const [dir, pick, cmp] = order.direction === 'desc' ? ['DESC', 'min', '>='] : ['ASC', 'max', '<='];
    page =
      top === 0
        ? ' AND FALSE'
        : ` AND st.${column} ${cmp} (SELECT ${pick}(${column}) FROM (SELECT st.${column} FROM ${S}.session_totals st
            WHERE ${inside} ORDER BY st.${column} ${dir} LIMIT ${top}) x)`;
  }
  const counted =
    "count(*)::float8 AS n, (count(*) FILTER (WHERE t.outcome = 'error'))::float8 AS errors, min(t.at)::float8 AS first_at, max(t.at)::float8 AS last_at";
  // Sessions recounted from their turns in the window (by user when grouping by user).
  const recount = (
    sessions: string,
  ) => `SELECT c.session_id AS k, x.u, x.n, x.errors, x.first_at, x.last_at, 0 AS crossing
    FROM ${sessions} CROSS JOIN LATERAL (
      SELECT ${byUser ? 't.user_id' : 'NULL::text'} AS u, ${counted}
      FROM ${S}.turns t WHERE t.session_id = c.session_id AND t.at >= $1::bigint AND t.at < $2::bigint
      ${byUser ? 'GROUP BY t.user_id' : ''}) x
    WHERE x.n > 0`;
  // Grouping by session and user returns every group (~one per session), in key order (byte
  // order, nulls first; the same as JS string order short of characters past U+FFFF): the
  // caller's sort then finds them in order. Sorting 130k rows with a comparison function in JS
  // took ~400 ms, the server's in-memory sort of them ~50 ms.
  const orderByKeys = userAt === 0 ? 'ORDER BY 2 NULLS FIRST, 1' : 'ORDER BY 1, 2 NULLS FIRST';
  // By session and user, a session inside the window gives its one user's row, or comes back
  // marked (3) when its turns hold several users: those few are recounted by user next.
  const mainSql = `WITH span AS (SELECT coalesce(max(last_at - first_at), 0) AS s FROM ${S}.session_totals),
      crossing AS (
        SELECT st.session_id FROM ${S}.session_totals st, span
        WHERE st.first_at >= $1::bigint - span.s AND st.first_at < $1::bigint AND st.last_at >= $1::bigint
        UNION
        SELECT st.session_id FROM ${S}.session_totals st, span
        WHERE st.first_at >= $2::bigint - span.s AND st.first_at < $2::bigint AND st.last_at >= $2::bigint)
    ${recount('crossing c')}
    UNION ALL
    SELECT st.session_id, ${byUser ? 'st.user_id' : 'NULL'}, st.count::float8, st.errors::float8,
      st.first_at::float8, st.last_at::float8, ${byUser ? 'CASE WHEN st.users_mixed THEN 3 ELSE 1 END' : '1'}
    FROM ${S}.session_totals st WHERE ${inside}${page}
    ${byUser ? orderByKeys : `UNION ALL SELECT NULL, NULL, (${insideCount(S, inside, a, b)})::float8, NULL, NULL, NULL, 2`}`;
  let rows: Row[];
  if (!byUser) {
    rows = await sql.unsafe<Row[]>(mainSql, (a < b ? [from, to, a, b] : [from, to]) as never[], {
      prepare: true,
    });
  } else {
    // Both reads see one snapshot: an append between them cannot change a session half-way.
    rows = (await sql.begin('ISOLATION LEVEL REPEATABLE READ READ ONLY', async (tx) => {
      // The sort of every session fits in memory (PostgreSQL's default 4 MB spills it to disk).
      const [, first] = await Promise.all([
        tx.unsafe(`SET LOCAL work_mem = '64MB'`),
        tx.unsafe<Row[]>(mainSql, [from, to] as never[], { prepare: true }),
      ]);
      const mixed = first.filter((r) => r.crossing === 3).map((r) => r.k);
      if (mixed.length === 0) return first;
      const more = await tx.unsafe<Row[]>(
        recount('unnest($3::text[]) AS c(session_id)'),
        [from, to, mixed] as never[],
        { prepare: true },
      );
      return [...first.filter((r) => r.crossing !== 3), ...more];
    })) as Row[];
  }
  const out: AggregateRow[] = [];
  let totalGroups = 0;
  for (const r of rows) {
    if (r.crossing === 2) {
      totalGroups += r.n!;
      continue;
    }
    // Each group is a row here when grouping by user too (no count row).
    if (r.crossing === 0 || byUser) totalGroups += 1;
    const values: AggregateRow['values'] = {};
    for (const m of spec.measures) {
      values[m] = m === 'count' ? r.n : m === 'errors' ? r.errors : m === 'firstAt' ? r.first_at : r.last_at;
    }
    out.push({ keys: userAt === undefined ? [r.k] : userAt === 1 ? [r.k, r.u] : [r.u, r.k], values });
  }
  return { rows: out, totalGroups };
}
