import type { AggregateRow, AggregateSpec, Measure, NormalizedTurnFilter } from '@convokit/core';
import type { Connection } from './connection.js';
import { sessionSpan } from './sessions.js';

/**
 * "Sessions in a range": `groupBy: ['session']` with count, firstAt and lastAt and no filter but
 * the time range, answered from `session_totals` (see sessions.ts) instead of grouping turns.
 * Sessions wholly inside the range are read from their totals; the few crossing an end of the
 * range are recounted from their turns. With `orderBy lastAt desc` and a limit (the latest
 * sessions, a page at a time) only the top rows of the totals' index are read.
 */

const SESSION_MEASURES = new Set<Measure>(['count', 'firstAt', 'lastAt']);

export function sessionPlanServes(spec: AggregateSpec, f: NormalizedTurnFilter): boolean {
  if (spec.groupBy.length !== 1 || spec.groupBy[0] !== 'session') return false;
  if (!spec.measures.every((m) => SESSION_MEASURES.has(m))) return false;
  return Object.keys(f).every((k) => k === 'from' || k === 'to');
}

interface TotalsRow {
  id: string;
  c: number;
  first: number;
  last: number;
}

function rowOf(spec: AggregateSpec, r: TotalsRow): AggregateRow {
  const values: AggregateRow['values'] = {};
  for (const m of spec.measures) values[m] = m === 'count' ? r.c : m === 'firstAt' ? r.first : r.last;
  return { keys: [r.id], values };
}

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
  const select =
    'SELECT session_id AS id, count AS c, first_at AS first, last_at AS last FROM session_totals';
  const inside = 'first_at >= ? AND last_at < ?';

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
  if (crossing.size > 0) {
    const recount = conn.prepare(`
      SELECT session_id AS id, COUNT(*) AS c, MIN(at) AS first, MAX(at) AS last FROM turns
      WHERE session_id IN (SELECT value FROM json_each(?)) AND at >= ? AND at < ? GROUP BY session_id`);
    for (const r of recount.all(JSON.stringify([...crossing]), from, to) as TotalsRow[]) {
      rows.set(r.id, rowOf(spec, r));
    }
  }
  const totalGroups =
    rows.size +
    (conn.prepare(`SELECT COUNT(*) FROM session_totals WHERE ${inside}`).pluck().get(from, to) as number);

  const order = spec.orderBy;
  const top = spec.limit === undefined ? undefined : spec.offset + spec.limit;
  if (order?.measure === 'lastAt' && order.direction === 'desc' && top !== undefined) {
    // The page's rows are among the `top` latest, plus any tying with the last of them.
    const latest = conn
      .prepare(`${select} INDEXED BY session_totals_last WHERE ${inside} ORDER BY last_at DESC LIMIT ?`)
      .all(from, to, top) as TotalsRow[];
    for (const r of latest) rows.set(r.id, rowOf(spec, r));
    const edge = latest[latest.length - 1];
    if (latest.length === top && edge) {
      const ties = conn
        .prepare(`${select} WHERE last_at = ? AND first_at >= ?`)
        .all(edge.last, from) as TotalsRow[];
      for (const r of ties) rows.set(r.id, rowOf(spec, r));
    }
  } else {
    for (const r of conn.prepare(`${select} WHERE ${inside}`).all(from, to) as TotalsRow[]) {
      rows.set(r.id, rowOf(spec, r));
    }
  }
  return { rows: [...rows.values()], totalGroups };
}
