import type { ChatContextManager } from '@convokit/context-manager';
import {
  type Clock,
  type ConversationalQueryInput,
  ConvokitError,
  type DataResponse,
  type JsonObject,
  type PrincipalInput,
  type SearchHit,
  systemClock,
  type TurnFilter,
} from '@convokit/core';
import type {
  ConversationalDataManager,
  FrameworkAnalyticsData,
  PersonaUsageData,
} from '@convokit/data-manager';
import { chartFor, chartForSearch, type VegaLiteSpec } from './chart-spec.js';
import {
  type ParsedQuery,
  type ParsedRequest,
  type ParsedSearch,
  parseChatQuery,
  type Vocabulary,
} from './parse.js';
import { CAPABILITIES, summarize, summarizeSearch } from './summary.js';
import { toConversationalQuery } from './to-query.js';

export interface ChatWorkflowOptions {
  dataManager: ConversationalDataManager;
  contexts: ChatContextManager;
  clock?: Clock;
  /**
   * Names the parser recognises. Default: personas and frameworks found in the stored turns
   * (all time), refreshed every `vocabularyTtlMs`.
   */
  vocabulary?: Vocabulary | (() => Promise<Vocabulary>);
  /** Default 60 000. */
  vocabularyTtlMs?: number;
  /** Matches a search returns. Default 20. */
  searchLimit?: number;
}

export interface ChatAnswer {
  question: string;
  understood: boolean;
  request: ParsedRequest;
  /** The data-manager query that ran, for questions read as analytics. */
  query?: ConversationalQueryInput;
  /** The search that ran, for questions read as a search. */
  search?: { text: string; filter: TurnFilter; limit: number };
  response?: DataResponse;
  /** Vega-Lite v5 JSON, or null when there is nothing to draw. */
  chart: VegaLiteSpec | null;
  /** Markdown. */
  summary: string;
  processingTimeMs: number;
}

interface ChatState extends JsonObject {
  previous: JsonObject | null;
  questions: number;
}

const EMPTY: Vocabulary = { personas: [], frameworks: [], users: [], tools: [] };

/**
 * Turns plain-English analytics questions into data-manager queries and answers them with data,
 * a chart and a summary. The previous question of each principal and session is kept in an
 * `analytics` context, so follow-ups work across restarts and processes.
 */
export class ChatAnalyticsWorkflow {
  readonly #dm: ConversationalDataManager;
  readonly #contexts: ChatContextManager;
  readonly #clock: Clock;
  readonly #ttl: number;
  readonly #searchLimit: number;
  readonly #vocabularySource: () => Promise<Vocabulary>;
  #vocabulary: { value: Vocabulary; at: number } | null = null;

  constructor(options: ChatWorkflowOptions) {
    this.#dm = options.dataManager;
    this.#contexts = options.contexts;
    this.#clock = options.clock ?? systemClock;
    this.#ttl = options.vocabularyTtlMs ?? 60_000;
    this.#searchLimit = options.searchLimit ?? 20;
    const v = options.vocabulary;
    this.#vocabularySource =
      v === undefined ? () => this.#storedVocabulary() : typeof v === 'function' ? v : async () => v;
  }

  async processChatQuery(
    text: string,
    context: { principal: PrincipalInput; sessionId: string },
  ): Promise<ChatAnswer> {
    const started = performance.now();
    if (typeof text !== 'string' || text.length > 2000) {
      throw new ConvokitError('VALIDATION', 'The question must be a string of at most 2000 characters', {
        issues: [{ path: 'text', message: 'must be a string of at most 2000 characters' }],
      });
    }
    const handle = this.#contexts.as(context.principal);
    const stateId = `chat:${handle.principal.id}:${context.sessionId}`;
    const stored = await handle.get(stateId);
    const previous = (stored?.data as ChatState | undefined)?.previous as
      | ParsedQuery
      | ParsedSearch
      | null
      | undefined;
    const now = this.#clock.now();
    const request = parseChatQuery(text, {
      now,
      vocabulary: await this.vocabulary(),
      principalId: handle.principal.id,
      ...(previous ? { previous } : {}),
    });

    const done = (answer: Omit<ChatAnswer, 'processingTimeMs' | 'question'>): ChatAnswer => ({
      question: text,
      ...answer,
      processingTimeMs: performance.now() - started,
    });

    if (request.kind === 'unknown') {
      return done({
        understood: false,
        request,
        chart: null,
        summary: [
          `${request.reason} I can answer questions like:`,
          ...CAPABILITIES.map((c) => `- ${c}`),
        ].join('\n'),
      });
    }

    const state: ChatState = { previous: request as unknown as JsonObject, questions: 0 };
    if (stored) {
      state.questions = Number((stored.data as ChatState).questions ?? 0) + 1;
      await handle.update(stateId, state, { strategy: 'replace' });
    } else {
      await handle.create('analytics', state, { id: stateId, sessionId: context.sessionId });
    }

    if (request.kind === 'search') {
      const filter: TurnFilter = { ...request.filters, ...request.timeRange };
      const limit = request.limit ?? this.#searchLimit;
      const response = await this.#dm.search(request.text, filter, limit);
      const hits = (response.data ?? []) as SearchHit[];
      return done({
        understood: true,
        request,
        search: { text: request.text, filter, limit },
        response,
        chart: response.success ? chartForSearch(hits) : null,
        summary: response.success ? summarizeSearch(request, hits) : failure(response),
      });
    }

    const query = toConversationalQuery(request);
    const response = await this.#dm.query(query);
    return done({
      understood: true,
      request,
      query,
      response,
      chart: response.success ? chartFor(request, response.data) : null,
      summary: response.success ? summarize(request, response.data) : failure(response),
    });
  }

  /** The names the parser currently recognises. */
  async vocabulary(): Promise<Vocabulary> {
    const now = this.#clock.now();
    if (this.#vocabulary && now - this.#vocabulary.at < this.#ttl) return this.#vocabulary.value;
    const value = await this.#vocabularySource();
    this.#vocabulary = { value, at: now };
    return value;
  }

  async #storedVocabulary(): Promise<Vocabulary> {
    const allTime = { from: 0, to: this.#clock.now() + 1 };
    const [personas, frameworks] = await Promise.all([
      this.#dm.query<PersonaUsageData>({ type: 'persona_usage', timeRange: allTime, aggregation: 'monthly' }),
      this.#dm.query<FrameworkAnalyticsData>({
        type: 'framework_analytics',
        timeRange: allTime,
        aggregation: 'monthly',
      }),
    ]);
    return {
      ...EMPTY,
      personas: personas.data?.personas.flatMap((p) => (p.persona === null ? [] : [p.persona])) ?? [],
      frameworks: frameworks.data?.frameworks.map((f) => f.framework) ?? [],
    };
  }
}

function failure(response: DataResponse): string {
  return `The query failed: ${response.error?.code ?? 'STORAGE'}: ${response.error?.message ?? 'unknown error'}`;
}

export function createChatAnalyticsWorkflow(options: ChatWorkflowOptions): ChatAnalyticsWorkflow {
  return new ChatAnalyticsWorkflow(options);
}
