import type { AggregateSpecInput, ConversationalQueryInput, QueryType } from '@convokit/core';
import { DATA_END, DAY } from './data.js';

/** The six query types, in the order the issues list them. */
export const QUERY_TYPES_LIST: QueryType[] = [
  'conversation_history',
  'persona_usage',
  'framework_analytics',
  'performance_metrics',
  'engagement_patterns',
  'strategic_insights',
];

const FROM_90 = DATA_END - 90 * DAY;
const window = { from: FROM_90, to: DATA_END };

/**
 * What each query type asks of the store's one query engine over 90 days: the store-level
 * measurement for issue 3 and 9 ("aggregate for any of the six query types").
 */
export const AGGREGATE_SPECS: Record<QueryType, AggregateSpecInput> = {
  conversation_history: {
    filter: window,
    groupBy: ['session'],
    measures: ['count', 'firstAt', 'lastAt'],
    orderBy: { measure: 'lastAt', direction: 'desc' },
    limit: 50,
  },
  persona_usage: {
    filter: window,
    groupBy: ['persona'],
    measures: [
      'count',
      'sessions',
      'errorRate',
      'latencyAvg',
      'latencyP95',
      'feedbackAvg',
      'firstAt',
      'lastAt',
    ],
  },
  framework_analytics: {
    filter: window,
    groupBy: ['framework'],
    measures: ['count', 'sessions', 'errorRate', 'latencyAvg', 'latencyP95'],
  },
  performance_metrics: {
    filter: window,
    groupBy: ['day'],
    measures: ['count', 'latencyP50', 'latencyP95', 'latencyP99', 'errorRate', 'tokensIn', 'tokensOut'],
  },
  engagement_patterns: {
    filter: window,
    groupBy: ['hourOfDay'],
    measures: ['count', 'sessions', 'users'],
  },
  strategic_insights: {
    filter: window,
    groupBy: ['week', 'persona'],
    measures: ['count', 'latencyP95', 'errorRate'],
  },
};

/** The data-manager query of each type over the last 90 days, daily. */
export function managerQuery(
  type: QueryType,
  extra: Partial<ConversationalQueryInput> = {},
): ConversationalQueryInput {
  return { type, timeRange: { from: FROM_90, to: DATA_END }, aggregation: 'daily', ...extra };
}
