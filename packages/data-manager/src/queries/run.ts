import type { QueryType } from '@convokit/core';
import type { Period } from '../period.js';
import type { QueryContext, QueryOutput } from './context.js';
import { engagementPatterns } from './engagement-patterns.js';
import { frameworkAnalytics } from './framework-analytics.js';
import { conversationHistory } from './history.js';
import { performanceMetrics } from './performance-metrics.js';
import { personaUsage } from './persona-usage.js';
import { strategicInsights } from './strategic-insights.js';

type Runner = (ctx: QueryContext) => Promise<QueryOutput<unknown> & { period?: Period }>;

export const QUERY_RUNNERS: Record<QueryType, Runner> = {
  conversation_history: conversationHistory,
  persona_usage: personaUsage,
  framework_analytics: frameworkAnalytics,
  performance_metrics: performanceMetrics,
  engagement_patterns: engagementPatterns,
  strategic_insights: strategicInsights,
};
