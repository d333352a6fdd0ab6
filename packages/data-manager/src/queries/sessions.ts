import type { Measure, TurnFilter, TurnStore } from '@convokit/core';
import type { MeasureValues } from './values.js';

export interface SessionRow {
  sessionId: string;
  values: MeasureValues;
}

/**
 * Sessions with a turn matching `filter`, newest last turn first (ties by session id ascending),
 * one page at a time, with `measures` over their matching turns. One aggregate call.
 */
export async function recentSessions(
  turns: TurnStore,
  filter: TurnFilter,
  measures: readonly Measure[],
  page: { offset: number; limit: number },
): Promise<{ rows: SessionRow[]; totalGroups: number }> {
  const wanted = [...new Set<Measure>([...measures, 'lastAt'])];
  const result = await turns.aggregate({
    filter,
    groupBy: ['session'],
    measures: wanted,
    orderBy: { measure: 'lastAt', direction: 'desc' },
    offset: page.offset,
    limit: page.limit,
  });
  return {
    rows: result.rows.map((row) => ({ sessionId: String(row.keys[0]), values: row.values })),
    totalGroups: result.totalGroups,
  };
}
