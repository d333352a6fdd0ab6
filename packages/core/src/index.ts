export { compareGroupKeys, sortAggregateRows } from './aggregate-order.js';
export type { Clock, ManualClock } from './clock.js';
export { createManualClock, systemClock } from './clock.js';
export { contextOf, warmContextShapes } from './context-shape.js';
export type { ContextStoreSync } from './context-sync.js';
export { CONTEXT_STORE_SYNC, contextStoreSync } from './context-sync.js';
export {
  decodeCursor,
  encodeCursor,
  fingerprint,
  stableStringify,
} from './cursor.js';
export type { ConvokitErrorJSON, ErrorCode, ErrorDetails } from './errors.js';
export { ConvokitError, ERROR_CODES } from './errors.js';
export { warmAuditEventShapes } from './event-shape.js';
export type { NormalizedTurnFilter } from './filter.js';
export { matchesTurnFilter, normalizeTurnFilter } from './filter.js';
export type { MultiValuedKey } from './group-values.js';
export { groupValuesOf, multiGroupValues, singleGroupValue } from './group-values.js';
export type { HistogramJSON } from './histogram.js';
export {
  bucketValue,
  HISTOGRAM_RELATIVE_ERROR,
  LatencyHistogram,
  latencyBucket,
  ZERO_BUCKET,
} from './histogram.js';
export type { IdGenerator } from './ids.js';
export { createIdGenerator, isUlid, ulidAdd } from './ids.js';
export type { Logger } from './logger.js';
export { createLogger, REDACTED_FIELDS, REDACTION_CENSOR } from './logger.js';
export type { LatencySummary, MetricsSnapshot } from './metrics.js';
export { latencySummary, Metrics } from './metrics.js';
export * from './persona-preference.js';
export * from './schemas/aggregate.js';
export * from './schemas/chart.js';
export * from './schemas/common.js';
export * from './schemas/context.js';
export * from './schemas/json.js';
export * from './schemas/query.js';
export * from './schemas/search.js';
export * from './schemas/turn.js';
export * from './session-stats.js';
export type {
  AppendOptions,
  AppendResult,
  AuditLog,
  ContextStore,
  ContextTouch,
  ExpireAuditCountOptions,
  ExpireAuditOptions,
  ExpireDeferredOptions,
  GetContextByIdOptions,
  GetContextOptions,
  ListTurnsOptions,
  SearchHit,
  Storage,
  StorageCapabilities,
  TurnStore,
} from './storage.js';
export { closedError, requirePart, STORAGE_CONTRACT_VERSION } from './storage.js';
export { distinctTerms, makeSnippet, tokenize } from './text.js';
export type { TimeBucket } from './time-buckets.js';
export {
  bucketStart,
  bucketStarts,
  DAY_MS,
  dayOfWeek,
  HOUR_MS,
  hourOfDay,
  nextBucketStart,
  WEEK_MS,
} from './time-buckets.js';
export type { ValidationIssue } from './validate.js';
export { validate } from './validate.js';
