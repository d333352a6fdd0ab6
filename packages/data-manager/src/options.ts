import { type Clock, ConvokitError, type IdGenerator, type Logger, type Storage } from '@convokit/core';
import type { CircuitBreakerOptions } from './circuit-breaker.js';
import { DEFAULT_THRESHOLDS, type InsightThresholds } from './insights/thresholds.js';

export interface CacheOptions {
  /** How long an answer is served from the cache, ms. Default 60 000. */
  ttlMs?: number;
  /** At most this many answers are kept (least recently used go first). Default 1000. */
  maxEntries?: number;
  /**
   * When the store fails, answer from an expired entry for the same query (if one is left) with
   * `degraded: true` and the STORAGE error attached. Default true.
   */
  serveStaleOnError?: boolean;
}

export interface DataManagerOptions {
  /** Any convokit storage that serves `turns`; the manager never closes it (the caller owns it). */
  storage: Storage;
  /** `false` turns caching off. */
  cache?: CacheOptions | false;
  /** A pino logger; silent when absent. Conversation text is redacted. */
  logger?: Logger;
  /** Time source for default periods, ids, `at`, cache TTL and the circuit breaker. Default the system clock. */
  clock?: Clock;
  insights?: { thresholds?: Partial<InsightThresholds> };
  circuitBreaker?: Partial<CircuitBreakerOptions>;
  /** Ids for turns recorded without one. Default ULIDs from `clock`. */
  idGenerator?: IdGenerator;
  /** Turns `getSessionContext` lists, newest first. Default 10. */
  recentTurns?: number;
}

export interface ResolvedOptions {
  cache: Required<CacheOptions> | false;
  thresholds: InsightThresholds;
  circuitBreaker: CircuitBreakerOptions;
  recentTurns: number;
}

const WHERE = 'createConversationalDataManager';

export function resolveOptions(options: DataManagerOptions): ResolvedOptions {
  if (
    typeof options !== 'object' ||
    options === null ||
    typeof options.storage !== 'object' ||
    !options.storage
  ) {
    throw invalid('storage', 'a convokit Storage is required');
  }
  const cache =
    options.cache === false
      ? false
      : {
          ttlMs: positive('cache.ttlMs', options.cache?.ttlMs ?? 60_000, true),
          maxEntries: positive('cache.maxEntries', options.cache?.maxEntries ?? 1000, true),
          serveStaleOnError: options.cache?.serveStaleOnError ?? true,
        };
  const thresholds: InsightThresholds = { ...DEFAULT_THRESHOLDS };
  for (const [key, value] of Object.entries(options.insights?.thresholds ?? {})) {
    if (!(key in DEFAULT_THRESHOLDS)) throw invalid(`insights.thresholds.${key}`, 'is not a threshold');
    if (value === undefined) continue;
    thresholds[key as keyof InsightThresholds] = nonNegative(`insights.thresholds.${key}`, value);
  }
  const circuitBreaker: CircuitBreakerOptions = {
    failureThreshold: positive(
      'circuitBreaker.failureThreshold',
      options.circuitBreaker?.failureThreshold ?? 5,
      true,
    ),
    cooldownMs: nonNegative('circuitBreaker.cooldownMs', options.circuitBreaker?.cooldownMs ?? 30_000),
  };
  const recentTurns = positive('recentTurns', options.recentTurns ?? 10, true);
  if (recentTurns > 1000) throw invalid('recentTurns', 'must be at most 1000');
  return { cache, thresholds, circuitBreaker, recentTurns };
}

function positive(path: string, value: unknown, integer: boolean): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value <= 0 ||
    (integer && !Number.isInteger(value))
  ) {
    throw invalid(path, integer ? 'must be a positive integer' : 'must be a positive number');
  }
  return value;
}

function nonNegative(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalid(path, 'must be a finite number >= 0');
  }
  return value;
}

function invalid(path: string, message: string): ConvokitError {
  return new ConvokitError('VALIDATION', `Invalid input to ${WHERE}: ${path}: ${message}`, {
    where: WHERE,
    issues: [{ path, message }],
  });
}
