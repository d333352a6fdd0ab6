export type { CircuitBreakerOptions, CircuitSnapshot, CircuitState } from './circuit-breaker.js';
export { CircuitBreaker, isStorageFailure } from './circuit-breaker.js';
export { confidence } from './insights/confidence.js';
export { runDetectors } from './insights/run.js';
export type { InsightThresholds } from './insights/thresholds.js';
export { DEFAULT_THRESHOLDS } from './insights/thresholds.js';
export type { Insight, InsightEvidence, InsightKind, PeriodStats } from './insights/types.js';
export { INSIGHT_KINDS } from './insights/types.js';
export type { ConversationalDataManager, DataManagerMetrics, RecordOptions } from './manager.js';
export { createConversationalDataManager } from './manager.js';
export type { CacheOptions, DataManagerOptions } from './options.js';
export type { Period } from './period.js';
export { DEFAULT_INSIGHTS_PERIOD_MS, DEFAULT_PERIOD_MS } from './period.js';
export type { Bin, Distribution, EngagementData } from './queries/engagement-patterns.js';
export type { Change, FrameworkAnalyticsData, FrameworkFigures } from './queries/framework-analytics.js';
export type { HistoryData, HistoryTurn, SessionSummary } from './queries/history.js';
export type {
  ManagerPerformance,
  PerformanceFigures,
  PerformanceMetricsData,
} from './queries/performance-metrics.js';
export type { PersonaFigures, PersonaUsageData } from './queries/persona-usage.js';
export type { SeriesPoint } from './queries/series.js';
export { MAX_BUCKETS } from './queries/series.js';
export type { StrategicInsightsData } from './queries/strategic-insights.js';
export type { SessionContext } from './session-context.js';
