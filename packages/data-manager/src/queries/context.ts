import type { ConversationalQuery, TurnFilter, TurnStore } from '@convokit/core';
import type { InsightThresholds } from '../insights/thresholds.js';
import type { Period } from '../period.js';

/** What every query module is handed: the validated query, its period and the store. */
export interface QueryContext {
  turns: TurnStore;
  query: ConversationalQuery;
  period: Period;
  /** The query's filters over its period, as the store takes them. */
  filter: TurnFilter;
  thresholds: InsightThresholds;
}

export interface QueryOutput<T> {
  data: T;
  totalRecords: number;
  nextCursor?: string | null;
}
