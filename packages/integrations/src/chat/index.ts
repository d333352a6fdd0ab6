export type { VegaLiteSpec } from './chart-spec.js';
export { chartFor, chartForSearch } from './chart-spec.js';
export type {
  MetricFocus,
  NotUnderstood,
  ParsedQuery,
  ParsedRequest,
  ParsedSearch,
  ParseOptions,
  TimeWindow,
  Vocabulary,
} from './parse.js';
export { parseChatQuery } from './parse.js';
export { CAPABILITIES, summarize, summarizeSearch } from './summary.js';
export type { TimePhrase } from './time-phrases.js';
export { readTimePhrase } from './time-phrases.js';
export { toConversationalQuery } from './to-query.js';
export type { ChatAnswer, ChatWorkflowOptions } from './workflow.js';
export { ChatAnalyticsWorkflow, createChatAnalyticsWorkflow } from './workflow.js';
