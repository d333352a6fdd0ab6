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
export type { TimePhrase } from './time-phrases.js';
export { readTimePhrase } from './time-phrases.js';
