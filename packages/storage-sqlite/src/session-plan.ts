import {
  type AggregateRow,
  type AggregateSpec,
  DAY_MS,
  type Measure,
  type NormalizedTurnFilter,
} from '@convokit/core';
import type { Connection } from './connection.js';
import { KIND_SESSION } from './distinct.js';
import { sumBelow } from './rollups.js';
import { sessionSpan } from './sessions.js';

/**
 * "Sessions in a range": `groupBy: ['session']` or `['session', 'user']` with count, errors,
 * firstAt and lastAt and no filter but the time range, answered from `session_totals` or
 * `session_user_totals` (see sessions.ts) instead of grouping turns. Sessions wholly inside the
 * range are read from their totals (one pass over a covering index); the few crossing an end of
 * the range are recounted from their turns. With `['session']`, `orderBy lastAt desc` and a limit
 * (the latest sessions, a page at a time) only the top rows of the totals' index are read.
 */

const SESSION_MEASURES = new Set<Measure>(['count', 'errors', 'firstAt', 'lastAt']);

export function sessionPlanServes(spec: AggregateSpec, f: NormalizedTurnFilter): boolean {
  const g = spec.groupBy;
  if (g[0] !== 'session' || g.length > 2 || (g.length === 2 && g[1] !== 'user')) return false;
  if (!spec.measures.every((m) => SESSION_MEASURES.has(m))) return false;
  return Object.keys(f).every((k) => k === 'from' || k === 'to');
}

/** A totals row as selected raw: [session, user ('' for none; absent per session), count, errors, first, last]. */
type TotalsRow = unknown[];

/**
 * The rows (unordered, possibly more than the page) and the total number of groups. The caller
 * orders and pages them as for any plan.
 */
export function sessionAggregate(
  conn: Connection,
  spec: AggregateSpec,
  f: NormalizedTurnFilter,
): { rows: AggregateRow[]; totalGroups: number } {
  const from = f.from ?? 0;
  const to = f.to ?? Number.MAX_SAFE_INTEGER;
  if (from >= to) return { rows: [], totalGroups: 0 };
  const byUser = spec.groupBy.length === 2;
  const table = byUser ? 'session_user_totals' : 'session_totals';
  const keyCols = byUser ? 'session_id, user_id' : 'session_id';
  const select = `SELECT ${keyCols}, count, errors, first_at, last_at FROM ${table}`;
  const inside = 'first_at >= ? AND last_at < ?';
  const nKeys = byUser ? 2 : 1;
  const measures = spec.measures;
  const rowOf = (r: TotalsRow): AggregateRow => {
    const values: AggregateRow['values'] = {};
    for (const m of measures) {
      values[m] = r[
        m === 'count' ? nKeys : m === 'errors' ? nKeys + 1 : m === 'firstAt' ? nKeys + 2 : nKeys + 3
      ] as number;
    }
    const keys = byUser ? [r[0] as string, r[1] === '' ? null : (r[1] as string)] : [r[0] as string];
    return { keys, values };
  };
  const idOf = byUser ? (r: TotalsRow) => `${r[0]}\u0001${r[1]}` : (r: TotalsRow) => r[0] as string;

  // Sessions crossing `from` or `to` started less than the longest span before it.
  const span = sessionSpan(conn.db);
  const crossing = new Set<string>();
  const crossingSql = conn.prepare(
    'SELECT session_id FROM session_totals WHERE first_at >= ? AND first_at < ? AND last_at >= ?',
  );
  for (const t of [from, to]) {
    if (t === 0 || t === Number.MAX_SAFE_INTEGER) continue;
    for (const id of crossingSql.pluck().all(t - span, t, t) as string[]) crossing.add(id);
  }
  const rows = new Map<string, AggregateRow>();
  let recounted = 0;
  if (crossing.size > 0) {
    const userKey = byUser ? ", COALESCE(user_id, '')" : '';
    const recount = conn.prepare(`
      SELECT session_id${userKey}, COUNT(*), COALESCE(SUM(outcome = 'error'), 0), MIN(at), MAX(at) FROM turns
      WHERE session_id IN (SELECT value FROM json_each(?)) AND at >= ? AND at < ? GROUP BY session_id${userKey}`);
    for (const r of recount.raw(true).all(JSON.stringify([...crossing]), from, to) as TotalsRow[]) {
      rows.set(idOf(r), rowOf(r));
      recounted++;
    }
  }
  // A crossing session's totals do not lie inside the range, so none is counted twice.
  const insideCount = () =>
    conn.prepare(`SELECT COUNT(*) FROM ${table} WHERE ${inside}`).pluck().get(from, to) as number;
  // Over whole days the number of sessions is the distinct count the day rollups keep.
  const total = () => distinctSessions(conn, f.from, f.to) ?? recounted + insideCount();

  const order = spec.orderBy;
  const top = spec.limit === undefined ? undefined : spec.offset + spec.limit;
  if (!byUser && order?.measure === 'lastAt' && order.direction === 'desc' && top !== undefined) {
    // The page's rows are among the `top` latest, plus any tying with the last of them.
    const latest = conn
      .prepare(`${select} INDEXED BY session_totals_last WHERE ${inside} ORDER BY last_at DESC LIMIT ?`)
      .raw(true)
      .all(from, to, top) as TotalsRow[];
    for (const r of latest) rows.set(idOf(r), rowOf(r));
    const edge = latest[latest.length - 1];
    if (latest.length === top && edge) {
      const ties = conn
        .prepare(`${select} WHERE last_at = ? AND first_at >= ?`)
        .raw(true)
        .all(edge[4], from) as TotalsRow[];
      for (const r of ties) rows.set(idOf(r), rowOf(r));
    }
    return { rows: [...rows.values()], totalGroups: total() };
  }
  // In key order (the primary key's), so the caller's sort of many rows finds them sorted.
  const all = conn
    .prepare(`${select} WHERE ${inside} ORDER BY ${keyCols}`)
    .raw(true)
    .all(from, to) as TotalsRow[];
  const out = [...rows.values()];
  // A session crossing an end may have a user whose turns all lie inside: recounted already.
  for (const r of all) if (rows.size === 0 || !rows.has(idOf(r))) out.push(rowOf(r));
  return { rows: out, totalGroups: out.length };
}

/**
 * Sessions with a turn in [from, to) from `distinct_days` (see distinct.ts) when both ends are
 * whole days (or open); undefined otherwise.
 */
function distinctSessions(
  conn: Connection,
  from: number | undefined,
  to: number | undefined,
): number | undefined {
  if ((from !== undefined && from % DAY_MS !== 0) || (to !== undefined && to % DAY_MS !== 0))
    return undefined;
  const low = from ?? 0;
  const blobs = conn
    .prepare(
      `SELECT prevs FROM distinct_days WHERE dim = '' AND kind = ${KIND_SESSION} AND day >= ? AND day < ? AND prevs IS NOT NULL`,
    )
    .pluck()
    .all(low, to ?? Number.MAX_SAFE_INTEGER) as Uint8Array[];
  let n = 0;
  // Each session counts on its first active day in the range: the one whose previous day lies before it.
  for (const blob of blobs) n += sumBelow(blob, low);
  return n;
}
