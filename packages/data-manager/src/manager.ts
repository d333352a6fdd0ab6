import {
  type AggregationLevel,
  type Clock,
  type ConversationalQuery,
  type ConversationalQueryInput,
  ConversationalQuerySchema,
  ConvokitError,
  createIdGenerator,
  createLogger,
  type DataResponse,
  type IdGenerator,
  type LatencySummary,
  type Logger,
  Metrics,
  QUERY_TYPES,
  type QueryFilters,
  type QueryType,
  type ResponseMetadata,
  requirePart,
  type SearchHit,
  SearchOptionsSchema,
  SearchTextSchema,
  stableStringify,
  systemClock,
  type Turn,
  type TurnFilter,
  type TurnInput,
  TurnInputSchema,
  type TurnStore,
  validate,
} from '@convokit/core';
import { CircuitBreaker, type CircuitSnapshot, isStorageFailure } from './circuit-breaker.js';
import {
  type FoldState,
  foldTurns,
  MAX_FOLD_ROWS,
  recordAggregates,
  replayStore,
  stateRows,
  Unfoldable,
} from './fold.js';
import { deepFreeze } from './freeze.js';
import { type DataManagerOptions, type ResolvedOptions, resolveOptions } from './options.js';
import {
  DEFAULT_INSIGHTS_PERIOD_MS,
  DEFAULT_PERIOD_MS,
  type Period,
  periodFilter,
  resolvePeriod,
} from './period.js';
import type { ManagerPerformance } from './queries/performance-metrics.js';
import { QUERY_RUNNERS } from './queries/run.js';
import { type Entry, QueryCache } from './query-cache.js';
import { ratio } from './ratio.js';
import { type ReadSet, recordReads } from './read-set.js';
import { type SessionContext, sessionContext } from './session-context.js';

export interface DataManagerMetrics {
  /** `queries.total`, `queries.<type>`, `queries.search`, `queries.session_context`, `queries.failed`,
   * `cache.hits`, `cache.misses`, `cache.revalidated`, `cache.folded`, `storage.failures`, `circuit.rejections`, `circuit.opened`,
   * `turns.recorded`, `validation.errors`. */
  counters: Record<string, number>;
  /** `query` (every query, search and session context) and `query.<type>`, ms. */
  latencies: Record<string, LatencySummary>;
  /**
   * `hits` counts every answer served without computing it: fresh ones, answers joined from a
   * computation already running, and `revalidated` ones (past their TTL, served again because the
   * store's turns version shows no write could have changed them), and `folded` ones (turns
   * written through this manager merged into the cached answer without computing the query
   * again; see the package README). `misses` were computed.
   */
  cache: {
    enabled: boolean;
    hits: number;
    misses: number;
    revalidated: number;
    folded: number;
    hitRate: number | null;
    size: number;
  };
  circuit: CircuitSnapshot;
}

export interface RecordOptions {
  /** A turn whose id is already stored: `error` (default) rejects the batch with CONFLICT; `skip` leaves it. */
  ifExists?: 'error' | 'skip';
}

export interface ConversationalDataManager extends AsyncDisposable {
  /** Validates, assigns `id` and `at` when absent, stores; returns the stored turn. Throws on any failure. */
  recordTurn(turn: TurnInput): Promise<Turn>;
  /** As `recordTurn`, for a batch stored atomically (all or none). */
  /**
   * Validates and stores a batch atomically. With `ifExists: 'skip'`, turns whose id is already
   * stored are left alone and left out of the result (idempotent imports).
   */
  recordTurns(turns: readonly TurnInput[], options?: RecordOptions): Promise<Turn[]>;
  /** One of the six analytics queries; never rejects. */
  query<T = unknown>(query: ConversationalQueryInput): Promise<DataResponse<T>>;
  /** Ranked full-text search over all stored turns (no default period); never rejects. */
  search(text: string, filter?: TurnFilter, limit?: number): Promise<DataResponse<SearchHit[]>>;
  /** A summary of one session; `NOT_FOUND` in the envelope when it has no turns. Never rejects. */
  getSessionContext(sessionId: string): Promise<DataResponse<SessionContext>>;
  getMetrics(): DataManagerMetrics;
  clearCache(): void;
  /** Drops the cache; later calls fail with STORAGE `reason: 'closed'`. Does not close the storage. */
  close(): Promise<void>;
}

const MAX_BATCH = 10_000;
const PARSE_MEMO_SIZE = 1000;
const LATENCY_REFRESH_MS = 1000;

/** Metric names built once: a cached answer takes a few microseconds, string building shows. */
const COUNTER_NAMES = Object.fromEntries(QUERY_TYPES.map((t) => [t, `queries.${t}`])) as Record<
  QueryType,
  string
>;
const LATENCY_NAMES: Record<string, string> = Object.fromEntries(
  [...QUERY_TYPES, 'search', 'session_context'].map((t) => [t, `query.${t}`]),
);

interface Answer {
  response: DataResponse;
}

/**
 * Query types whose answers are folded (the others are dropped on a write that can change them).
 * Not `performance_metrics`: both its calls ask for `latencyAvg`, which is only ever re-read in
 * full (fold.ts), so folding it would be a recomputation.
 */
const FOLDED_TYPES: ReadonlySet<string> = new Set([
  'persona_usage',
  'framework_analytics',
  'engagement_patterns',
]);

/** What a foldable answer keeps: its recorded aggregates and how to derive the answer from them. */
interface FoldHandle {
  state: FoldState;
  run: (store: TurnStore) => Promise<Pick<Computed, 'data' | 'totalRecords' | 'metadata'>>;
}

/** A finished computation: the answer, what it read, and the store version read before it began. */
interface Flight extends Answer {
  reads: ReadSet;
  version: number | undefined;
  fold: FoldHandle | undefined;
}

/** What a computation hands back: the answer's parts and what it read to get them. */
interface Computed {
  data: unknown;
  totalRecords: number;
  metadata: ResponseMetadata;
  reads: ReadSet;
  /**
   * The answer's period ends at "now" (no `to`): a later computation covers another period even
   * when no turn changed, so it is never revalidated, only recomputed after the TTL.
   */
  movesWithClock: boolean;
  /** Present when the answer can be folded. */
  fold?: FoldHandle;
}

/** Creates a manager over a storage that serves turns; `UNSUPPORTED` when it does not. */
export function createConversationalDataManager(options: DataManagerOptions): ConversationalDataManager {
  const resolved = resolveOptions(options);
  const turns = requirePart(options.storage, 'turns', 'The conversational data manager');
  return new DataManager(options, resolved, turns);
}

class DataManager implements ConversationalDataManager {
  readonly #turns: TurnStore;
  readonly #adapter: string;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #log: Logger;
  readonly #metrics = new Metrics();
  readonly #options: ResolvedOptions;
  readonly #cache: QueryCache<Answer> | null;
  /** Raw query (its JSON text) -> validated query and its cache key; saves re-validating repeats. */
  readonly #parsed = new Map<string, { query: ConversationalQuery; key: string }>();
  readonly #breaker: CircuitBreaker;
  /** Computations running now, by cache generation and key. */
  readonly #inFlight = new Map<string, Promise<Flight>>();
  #closed = false;
  #latencyMemo: { at: number; value: LatencySummary } | undefined;

  constructor(options: DataManagerOptions, resolved: ResolvedOptions, turns: TurnStore) {
    this.#turns = turns;
    this.#adapter = options.storage.name;
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.idGenerator ?? createIdGenerator(this.#clock);
    this.#log = createLogger('data-manager', options.logger);
    this.#options = resolved;
    this.#cache = resolved.cache ? new QueryCache<Answer>(resolved.cache, this.#clock) : null;
    this.#breaker = new CircuitBreaker(
      resolved.circuitBreaker,
      this.#clock,
      this.#adapter,
      (state, snapshot) => {
        if (state === 'open') this.#metrics.increment('circuit.opened');
        this.#log.warn(
          { circuit: state, consecutiveFailures: snapshot.consecutiveFailures },
          `storage circuit ${state}`,
        );
      },
    );
  }

  async recordTurn(turn: TurnInput): Promise<Turn> {
    const [stored] = await this.recordTurns([turn]);
    return stored!;
  }

  async recordTurns(inputs: readonly TurnInput[], options: RecordOptions = {}): Promise<Turn[]> {
    this.#assertOpen();
    if (!Array.isArray(inputs)) {
      throw new ConvokitError('VALIDATION', 'Invalid input to recordTurns: expected an array of turns', {
        where: 'recordTurns',
        issues: [{ path: '', message: 'expected an array' }],
      });
    }
    if (inputs.length > MAX_BATCH) {
      throw new ConvokitError(
        'LIMIT',
        `recordTurns takes at most ${MAX_BATCH} turns per call, got ${inputs.length}`,
        {
          where: 'recordTurns',
          max: MAX_BATCH,
          got: inputs.length,
        },
      );
    }
    let prepared: Turn[];
    try {
      prepared = inputs.map((input, i) => {
        const parsed = validate(TurnInputSchema, input, `recordTurns[${i}]`);
        return { ...parsed, id: parsed.id ?? this.#ids(), at: parsed.at ?? this.#clock.now() } as Turn;
      });
    } catch (error) {
      this.#metrics.increment('validation.errors');
      throw error;
    }
    if (prepared.length === 0) return [];
    const ifExists = options.ifExists ?? 'error';
    if (ifExists !== 'error' && ifExists !== 'skip') {
      throw new ConvokitError(
        'VALIDATION',
        "Invalid input to recordTurns: ifExists must be 'error' or 'skip'",
        {
          where: 'recordTurns',
          issues: [{ path: 'options.ifExists', message: "must be 'error' or 'skip'" }],
        },
      );
    }
    let version: number | undefined;
    try {
      const result = await this.#guard(() => this.#turns.append(prepared, { ifExists }));
      // An append that stored nothing reports the current version, which is not this write's.
      if (result.appended > 0) version = result.version;
      if (result.skippedIds.length > 0) {
        const skipped = new Set(result.skippedIds);
        prepared = prepared.filter((t) => !skipped.has(t.id));
      }
    } catch (error) {
      const failure = ConvokitError.is(error)
        ? error
        : ConvokitError.storage('Recording turns failed', error);
      this.#log.error({ err: failure.toJSON(), turns: prepared.length }, 'recording turns failed');
      throw failure;
    } finally {
      // Even a failed append may have reached the store (a driver can fail after committing).
      this.#cache?.invalidate(prepared, version);
    }
    this.#metrics.increment('turns.recorded', prepared.length);
    return prepared;
  }

  async query<T = unknown>(input: ConversationalQueryInput): Promise<DataResponse<T>> {
    const started = performance.now();
    let parsed: { query: ConversationalQuery; key: string };
    try {
      this.#assertOpen();
      parsed = this.#parse(input);
    } catch (error) {
      return this.#failure(error, null, started, null) as DataResponse<T>;
    }
    const { query, key } = parsed;
    const type = query.type;
    this.#metrics.increment('queries.total');
    this.#metrics.increment(COUNTER_NAMES[type]);

    return this.#cached(
      key,
      type,
      started,
      async () => {
        const aggregates = FOLDED_TYPES.has(type) && this.#cache ? recordAggregates(this.#turns) : null;
        const recorder = recordReads(aggregates?.store ?? this.#turns);
        const period = resolvePeriod(
          query.timeRange,
          this.#clock.now(),
          type === 'strategic_insights' ? DEFAULT_INSIGHTS_PERIOD_MS : DEFAULT_PERIOD_MS,
        );
        // The answer from a store; run again over folded aggregates, it gives the folded answer.
        const run = async (turns: TurnStore) => {
          const out = await QUERY_RUNNERS[type]({
            turns,
            query,
            period,
            filter: periodFilter(query.filters, period),
            thresholds: this.#options.thresholds,
          });
          const metadata: ResponseMetadata = {
            queryType: type,
            scope: query.filters,
            period: out.period ?? period,
            aggregation: query.aggregation,
            cacheHit: false,
            degraded: false,
          };
          if (out.nextCursor !== undefined) metadata.nextCursor = out.nextCursor;
          return { data: out.data, totalRecords: out.totalRecords, metadata };
        };
        const out = await run(recorder.store);
        // Without `to` the period ends at "now": a later computation reads later turns.
        const reads = recorder.reads({
          openEnd: query.timeRange.to === undefined,
          movingStart: query.timeRange.from !== undefined,
        });
        const movesWithClock = query.timeRange.to === undefined;
        const state = movesWithClock ? undefined : aggregates?.state();
        return { ...out, reads, movesWithClock, ...(state ? { fold: { state, run } } : {}) };
      },
      (error) => this.#failure(error, query, started, type),
    ) as Promise<DataResponse<T>>;
  }

  async search(text: string, filter: TurnFilter = {}, limit = 20): Promise<DataResponse<SearchHit[]>> {
    const started = performance.now();
    let key: string;
    let options: ReturnType<typeof SearchOptionsSchema.parse>;
    try {
      this.#assertOpen();
      validate(SearchTextSchema, text, 'search.text');
      options = validate(SearchOptionsSchema, { filter, limit }, 'search');
      key = `search:${stableStringify({ text, options })}`;
    } catch (error) {
      return this.#failure(error, null, started, null) as DataResponse<SearchHit[]>;
    }
    this.#metrics.increment('queries.total');
    this.#metrics.increment('queries.search');
    const { from, to, ...scope } = options.filter;
    const metadata: ResponseMetadata = {
      queryType: null,
      scope: scope as QueryFilters,
      period: from !== undefined && to !== undefined ? { from, to } : null,
      aggregation: null,
      cacheHit: false,
      degraded: false,
    };
    return this.#cached(
      key,
      'search',
      started,
      async () => {
        const hits = await this.#turns.search(text, options);
        // Ranking reads corpus-wide statistics: any write can change it.
        return {
          data: hits,
          totalRecords: hits.length,
          metadata,
          reads: 'all' as const,
          movesWithClock: false,
        };
      },
      (error) => ({ ...this.#failure(error, null, started, 'search'), metadata: { ...metadata } }),
    ) as Promise<DataResponse<SearchHit[]>>;
  }

  async getSessionContext(sessionId: string): Promise<DataResponse<SessionContext>> {
    const started = performance.now();
    try {
      this.#assertOpen();
      if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > 256) {
        throw new ConvokitError(
          'VALIDATION',
          'Invalid input to getSessionContext: sessionId must be a non-empty string',
          {
            where: 'getSessionContext',
            issues: [{ path: 'sessionId', message: 'must be a non-empty string of at most 256 characters' }],
          },
        );
      }
    } catch (error) {
      return this.#failure(error, null, started, null) as DataResponse<SessionContext>;
    }
    this.#metrics.increment('queries.total');
    this.#metrics.increment('queries.session_context');
    const metadata: ResponseMetadata = {
      queryType: null,
      scope: { sessionId },
      period: null,
      aggregation: null,
      cacheHit: false,
      degraded: false,
    };
    return this.#cached(
      `session:${sessionId}`,
      'session_context',
      started,
      async () => {
        const recorder = recordReads(this.#turns);
        const summary = await sessionContext(recorder.store, sessionId, this.#options.recentTurns);
        if (!summary) {
          throw new ConvokitError(
            'NOT_FOUND',
            `No turns are stored for session ${JSON.stringify(sessionId)}`,
            {
              sessionId,
            },
          );
        }
        const reads = recorder.reads({ openEnd: false, movingStart: false });
        return { data: summary, totalRecords: summary.turns, metadata, reads, movesWithClock: false };
      },
      (error) => ({ ...this.#failure(error, null, started, 'session_context'), metadata: { ...metadata } }),
    ) as Promise<DataResponse<SessionContext>>;
  }

  getMetrics(): DataManagerMetrics {
    const snapshot = this.#metrics.snapshot();
    const hits = this.#metrics.counter('cache.hits');
    const misses = this.#metrics.counter('cache.misses');
    return {
      counters: snapshot.counters,
      latencies: snapshot.latencies,
      cache: {
        enabled: this.#cache !== null,
        hits,
        misses,
        revalidated: this.#metrics.counter('cache.revalidated'),
        folded: this.#metrics.counter('cache.folded'),
        hitRate: ratio(hits, hits + misses),
        size: this.#cache?.size ?? 0,
      },
      circuit: this.#breaker.snapshot(),
    };
  }

  clearCache(): void {
    this.#cache?.clear();
    this.#parsed.clear();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.clearCache();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * The one path of every read: cache, then a computation already running for the same key (two
   * dashboards asking the same thing at once share one), then the store through the breaker.
   * A computation is shared only within one cache generation, so a call that starts after a
   * write never joins one that started before it. The answer is stored with what it read, so
   * later writes drop it only when they can change it.
   */
  async #cached(
    key: string,
    kind: string,
    started: number,
    compute: () => Promise<Computed>,
    fail: (error: unknown) => DataResponse,
  ): Promise<DataResponse> {
    const cache = this.#cache;
    const hit = cache?.get(key);
    if (hit) {
      this.#metrics.increment('cache.hits');
      return this.#fromCache(hit, kind, started, false);
    }
    const waiting = cache?.toFold(key) ?? cache?.expired(key);
    if (waiting?.pending) {
      const folded = await this.#fold(key, waiting);
      if (folded) {
        this.#metrics.increment('cache.hits');
        this.#metrics.increment('cache.folded');
        return this.#fromCache(folded, kind, started, false);
      }
    }
    const expired = waiting?.pending ? undefined : cache?.expired(key);
    if (expired) {
      const current = await this.#storeVersion();
      if (current !== undefined && cache!.revalidate(key, expired, current)) {
        this.#metrics.increment('cache.hits');
        this.#metrics.increment('cache.revalidated');
        return this.#fromCache(expired.value, kind, started, false);
      }
    }
    const generation = cache?.generation ?? 0;
    const flightKey = `${generation}\u0000${key}`;
    let flight: Promise<Flight> | undefined = cache ? this.#inFlight.get(flightKey) : undefined;
    const joined = flight !== undefined;
    if (cache) this.#metrics.increment(joined ? 'cache.hits' : 'cache.misses');
    if (!flight) {
      flight = (async () => {
        // Read before computing, so the answer reflects at least this version (for revalidation).
        const version = cache ? await this.#storeVersion() : undefined;
        const out = await this.#guard(compute);
        return {
          response: deepFreeze({
            success: true,
            data: out.data,
            metadata: out.metadata,
            totalRecords: out.totalRecords,
            processingTimeMs: 0,
          }),
          reads: out.reads,
          version: out.movesWithClock ? undefined : version,
          fold: out.fold,
        };
      })();
      if (cache) {
        this.#inFlight.set(flightKey, flight);
        const done = () => this.#inFlight.delete(flightKey);
        flight.then(done, done);
      }
    }
    try {
      const answer = await flight;
      if (joined) return this.#fromCache(answer, kind, started, false);
      const fold = answer.fold && { state: answer.fold, rows: stateRows(answer.fold.state) };
      cache?.set(key, { response: answer.response }, answer.reads, generation, answer.version, fold);
      return this.#finish(answer.response, kind, started);
    } catch (error) {
      const stale = this.#staleAnswer(key, error);
      if (stale) return this.#fromCache(stale, kind, started, true, error);
      return fail(error);
    }
  }

  /**
   * Folds the turns `entry` waits on into its answer (see fold.ts): the store is read only for
   * narrowed re-reads, and only when every store version since the entry's was this manager's
   * own write, and no version changed while folding (so the reads saw exactly the cached state
   * plus the pending turns). Undefined when the answer cannot be folded: the caller computes it.
   */
  async #fold(key: string, entry: Entry<Answer>): Promise<Answer | undefined> {
    const cache = this.#cache!;
    const handle = entry.fold as FoldHandle | undefined;
    const pending = entry.pending;
    if (!handle || !pending || entry.version === undefined) return undefined;
    const generation = cache.generation;
    const before = await this.#storeVersion();
    if (before === undefined || !cache.ownSince(entry.version, before)) return undefined;
    let state: FoldState;
    let fullReads: number;
    try {
      ({ state, fullReads } = await this.#guard(() => foldTurns(handle.state, pending, this.#turns)));
    } catch (error) {
      if (error instanceof Unfoldable || isStorageFailure(error)) return undefined;
      throw error;
    }
    if ((await this.#storeVersion()) !== before) return undefined;
    let out: Awaited<ReturnType<FoldHandle['run']>>;
    try {
      out = await handle.run(replayStore(state));
    } catch (error) {
      if (error instanceof Unfoldable) return undefined;
      throw error;
    }
    const answer: Answer = {
      response: deepFreeze({
        success: true,
        data: out.data,
        metadata: out.metadata,
        totalRecords: out.totalRecords,
        processingTimeMs: 0,
      }),
    };
    this.#metrics.increment('cache.foldFullReads', fullReads);
    const next: Entry<Answer> = { value: answer, reads: entry.reads, version: before };
    const rows = stateRows(state);
    if (rows <= MAX_FOLD_ROWS) {
      next.fold = { state, run: handle.run } satisfies FoldHandle;
      next.foldRows = rows;
    }
    cache.replace(key, entry, next, generation);
    return answer;
  }

  /**
   * A query is read as its JSON form (a Date becomes its ISO string, undefined fields vanish), as
   * it would arrive over MCP. The JSON text memoizes validation: a repeat costs one
   * JSON.stringify and a map lookup, not a schema parse.
   */
  #parse(input: unknown): { query: ConversationalQuery; key: string } {
    let raw: string | undefined;
    try {
      raw = JSON.stringify(input);
    } catch (error) {
      raw = undefined;
      if (!(error instanceof TypeError)) throw error;
    }
    if (raw === undefined) {
      throw new ConvokitError('VALIDATION', 'Invalid input to query: the query must be a JSON value', {
        where: 'query',
        issues: [{ path: '', message: 'must be a JSON value (no cycles, bigints or functions)' }],
      });
    }
    const memo = this.#parsed.get(raw);
    if (memo) return memo;
    const query = validate(ConversationalQuerySchema, JSON.parse(raw), 'query');
    const parsed = { query, key: `query:${stableStringify(query)}` };
    if (this.#parsed.size >= PARSE_MEMO_SIZE) this.#parsed.delete(this.#parsed.keys().next().value!);
    this.#parsed.set(raw, parsed);
    return parsed;
  }

  /**
   * The store's turns version, or undefined when it keeps none or cannot say now. Failing to read
   * it only costs the revalidation (the answer is recomputed, and that call reports any failure).
   */
  async #storeVersion(): Promise<number | undefined> {
    if (!this.#turns.version) return undefined;
    try {
      return await this.#turns.version();
    } catch {
      return undefined;
    }
  }

  #staleAnswer(key: string, error: unknown): Answer | undefined {
    if (!this.#cache || this.#options.cache === false || !this.#options.cache.serveStaleOnError)
      return undefined;
    if (!isStorageFailure(error)) return undefined;
    return this.#cache.getStale(key);
  }

  /** Runs storage work through the circuit breaker, counting failures. */
  async #guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.#breaker.run(fn, isStorageFailure);
    } catch (error) {
      if (ConvokitError.is(error) && error.details.circuit !== undefined) {
        this.#metrics.increment('circuit.rejections');
      } else if (isStorageFailure(error)) {
        this.#metrics.increment('storage.failures');
        this.#log.warn(
          { err: ConvokitError.is(error) ? error.toJSON() : String(error), adapter: this.#adapter },
          'storage call failed',
        );
      }
      throw error;
    }
  }

  #fromCache(
    answer: Answer,
    kind: string,
    started: number,
    degraded: boolean,
    error?: unknown,
  ): DataResponse {
    const base = answer.response;
    const response: DataResponse = {
      success: true,
      data: base.data,
      metadata: { ...base.metadata, cacheHit: true, degraded },
      totalRecords: base.totalRecords,
      processingTimeMs: 0,
    };
    if (error !== undefined) response.error = toResponseError(error);
    if (kind === 'performance_metrics') {
      response.data = { ...(base.data as object), manager: this.#managerPerformance() };
    }
    const ms = performance.now() - started;
    response.processingTimeMs = ms;
    this.#observe(kind, ms);
    return response;
  }

  #finish(stored: DataResponse, kind: string, started: number): DataResponse {
    const ms = performance.now() - started;
    this.#observe(kind, ms);
    const response = { ...stored, processingTimeMs: ms };
    if (kind === 'performance_metrics') {
      response.data = { ...(stored.data as object), manager: this.#managerPerformance() };
    }
    return response;
  }

  #failure(
    error: unknown,
    query: ConversationalQuery | null,
    started: number,
    kind: string | null,
  ): DataResponse {
    const ms = performance.now() - started;
    const e = toResponseError(error);
    if (e.code === 'VALIDATION') this.#metrics.increment('validation.errors');
    this.#metrics.increment('queries.failed');
    if (kind) this.#observe(kind, ms);
    return {
      success: false,
      data: null,
      metadata: {
        queryType: (query?.type ?? null) as QueryType | null,
        scope: query?.filters ?? {},
        period: null,
        aggregation: (query?.aggregation ?? null) as AggregationLevel | null,
        cacheHit: false,
        degraded: false,
      },
      totalRecords: 0,
      processingTimeMs: ms,
      error: e,
    };
  }

  #observe(kind: string, ms: number): void {
    this.#metrics.observe('query', ms);
    this.#metrics.observe(LATENCY_NAMES[kind] ?? `query.${kind}`, ms);
  }

  #managerPerformance(): ManagerPerformance {
    // Percentiles cost ~1 ms on a full histogram, far more than a cached answer: refresh them at
    // most once a second. The counters are always current.
    const now = performance.now();
    if (!this.#latencyMemo || now - this.#latencyMemo.at >= LATENCY_REFRESH_MS) {
      this.#latencyMemo = { at: now, value: this.#metrics.latency('query') };
    }
    const latency = this.#latencyMemo.value;
    const hits = this.#metrics.counter('cache.hits');
    const misses = this.#metrics.counter('cache.misses');
    return {
      queries: this.#metrics.counter('queries.total'),
      queryLatencyMs: {
        count: latency.count,
        avg: latency.avg,
        p50: latency.p50,
        p95: latency.p95,
        p99: latency.p99,
      },
      cacheHits: hits,
      cacheMisses: misses,
      cacheHitRate: ratio(hits, hits + misses),
    };
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new ConvokitError('STORAGE', 'The conversational data manager is closed', {
        reason: 'closed',
        adapter: this.#adapter,
      });
    }
  }
}

function toResponseError(error: unknown): {
  code: string;
  message: string;
  details: Record<string, unknown>;
} {
  if (ConvokitError.is(error)) {
    const details = { ...error.details };
    const cause = error.cause;
    if (cause !== undefined && details.cause === undefined) {
      details.cause = cause instanceof Error ? cause.message : String(cause);
    }
    return { code: error.code, message: error.message, details };
  }
  const wrapped = ConvokitError.storage('Storage call failed', error);
  return {
    code: wrapped.code,
    message: wrapped.message,
    details: { ...wrapped.details, cause: String(error instanceof Error ? error.message : error) },
  };
}

export type { Period };
