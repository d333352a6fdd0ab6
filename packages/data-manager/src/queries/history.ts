import { ConvokitError, decodeCursor, encodeCursor, fingerprint, type Turn } from '@convokit/core';
import { type Period, periodFilter } from '../period.js';
import type { QueryContext, QueryOutput } from './context.js';
import { recentSessions } from './sessions.js';
import { nested } from './values.js';

export interface SessionSummary {
  sessionId: string;
  /** Turns of the session inside the period (and matching the filters). */
  turns: number;
  errors: number;
  firstAt: number;
  lastAt: number;
  /** Personas of those turns, most turns first (ties by name); turns without a persona left out. */
  personas: Array<{ persona: string; turns: number }>;
  frameworks: Array<{ framework: string; turns: number }>;
}

/** A turn as history lists it: without its text when `includeText` is false. */
export type HistoryTurn = Turn | Omit<Turn, 'userInput' | 'assistantResponse'>;

export type HistoryData =
  | { view: 'sessions'; sessions: SessionSummary[] }
  | { view: 'turns'; turns: HistoryTurn[] };

/**
 * Our cursor carries the period of the first page, so that later pages of a query without a
 * `timeRange` (whose default period moves with the clock) page through the same turns.
 */
interface HistoryCursor {
  period: Period;
  /** sessions view: rows to skip; turns view: the store's own cursor. */
  position: number | string;
}

export async function conversationHistory(
  ctx: QueryContext,
): Promise<QueryOutput<HistoryData> & { period: Period }> {
  const { query } = ctx;
  const fp = fingerprint({
    type: query.type,
    filters: query.filters,
    timeRange: query.timeRange,
    view: query.options.view,
  });
  const cursor = query.pagination.cursor ? readCursor(query.pagination.cursor, fp) : undefined;
  const period = cursor?.period ?? ctx.period;
  const filter = periodFilter(query.filters, period);
  const limit = query.pagination.limit;

  if (query.options.view === 'turns') {
    const storeCursor = typeof cursor?.position === 'string' ? cursor.position : undefined;
    const list = () =>
      ctx.turns.list(filter, { limit, order: 'desc', ...(storeCursor ? { cursor: storeCursor } : {}) });
    let page: Awaited<ReturnType<typeof list>>;
    let total: number;
    if (storeCursor) {
      [page, total] = await Promise.all([list(), ctx.turns.count(filter)]);
    } else {
      // A first page with no next page holds every matching turn: no count call needed (a
      // session's history usually fits one page). Otherwise count after the page.
      page = await list();
      total = page.nextCursor ? await ctx.turns.count(filter) : page.items.length;
    }
    const turns = query.options.includeText ? page.items : page.items.map(withoutText);
    return {
      data: { view: 'turns', turns },
      totalRecords: total,
      nextCursor: page.nextCursor ? writeCursor({ period, position: page.nextCursor }, fp) : null,
      period,
    };
  }

  const offset = typeof cursor?.position === 'number' ? cursor.position : 0;
  const { rows, totalGroups } = await recentSessions(
    ctx.turns,
    filter,
    ['count', 'errors', 'firstAt', 'lastAt'],
    {
      offset,
      limit,
    },
  );
  let personas = new Map<
    string | number | null,
    Array<{ key: string | number | null; values: { count?: number | null } }>
  >();
  let frameworks = personas;
  if (rows.length > 0) {
    const pageFilter = { ...filter, sessionId: rows.map((r) => r.sessionId) };
    const [p, f] = await Promise.all([
      ctx.turns.aggregate({
        filter: pageFilter,
        groupBy: ['session', 'persona'],
        measures: ['count'],
        orderBy: { measure: 'count', direction: 'desc' },
      }),
      ctx.turns.aggregate({
        filter: pageFilter,
        groupBy: ['session', 'framework'],
        measures: ['count'],
        orderBy: { measure: 'count', direction: 'desc' },
      }),
    ]);
    personas = nested(p.rows);
    frameworks = nested(f.rows);
  }
  const sessions: SessionSummary[] = rows.map((row) => ({
    sessionId: row.sessionId,
    turns: row.values.count ?? 0,
    errors: row.values.errors ?? 0,
    firstAt: row.values.firstAt ?? 0,
    lastAt: row.values.lastAt ?? 0,
    personas: (personas.get(row.sessionId) ?? [])
      .filter((g) => g.key !== null)
      .map((g) => ({ persona: String(g.key), turns: g.values.count ?? 0 })),
    frameworks: (frameworks.get(row.sessionId) ?? []).map((g) => ({
      framework: String(g.key),
      turns: g.values.count ?? 0,
    })),
  }));
  const next = offset + rows.length;
  return {
    data: { view: 'sessions', sessions },
    totalRecords: totalGroups,
    nextCursor: next < totalGroups ? writeCursor({ period, position: next }, fp) : null,
    period,
  };
}

function withoutText(turn: Turn): HistoryTurn {
  const { userInput: _u, assistantResponse: _a, ...rest } = turn;
  return rest;
}

function writeCursor(cursor: HistoryCursor, fp: string): string {
  return encodeCursor([cursor.period.from, cursor.period.to, cursor.position], fp);
}

function readCursor(cursor: string, fp: string): HistoryCursor {
  const [from, to, position] = decodeCursor(cursor, fp, 'query.pagination');
  if (typeof from !== 'number' || typeof to !== 'number' || position === undefined) {
    throw new ConvokitError(
      'VALIDATION',
      'Invalid cursor for query.pagination: not a cursor this manager issued',
      {
        where: 'query.pagination',
        issues: [{ path: 'pagination.cursor', message: 'not a cursor this manager issued' }],
      },
    );
  }
  return { period: { from, to }, position };
}
