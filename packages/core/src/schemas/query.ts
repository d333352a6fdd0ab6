import { z } from 'zod';
import { EpochMsSchema, OneOrManyKeysSchema, PageSchema } from './common.js';
import { OutcomeSchema } from './turn.js';

export const QUERY_TYPES = [
  'conversation_history',
  'persona_usage',
  'framework_analytics',
  'performance_metrics',
  'engagement_patterns',
  'strategic_insights',
] as const;
export const QueryTypeSchema = z.enum(QUERY_TYPES);
export type QueryType = z.infer<typeof QueryTypeSchema>;

/** A time given as epoch ms or an ISO-8601 date-time with offset; always epoch ms once parsed. */
export const TimeInstantSchema = z.union([
  EpochMsSchema,
  z.iso.datetime({ offset: true }).transform((iso) => Date.parse(iso)),
]);

/** `from` inclusive, `to` exclusive. Either may be left out; the manager documents its defaults. */
export const TimeRangeSchema = z
  .object({ from: TimeInstantSchema.optional(), to: TimeInstantSchema.optional() })
  .strict()
  .refine((r) => r.from === undefined || r.to === undefined || r.from < r.to, {
    message: '`from` must be before `to`',
    path: ['from'],
  });
export type TimeRange = z.output<typeof TimeRangeSchema>;

export const QueryFiltersSchema = z
  .object({
    sessionId: OneOrManyKeysSchema.optional(),
    conversationId: OneOrManyKeysSchema.optional(),
    userId: OneOrManyKeysSchema.optional(),
    persona: OneOrManyKeysSchema.optional(),
    framework: OneOrManyKeysSchema.optional(),
    tool: OneOrManyKeysSchema.optional(),
    mcpServer: OneOrManyKeysSchema.optional(),
    outcome: OutcomeSchema.optional(),
  })
  .strict();
export type QueryFilters = z.infer<typeof QueryFiltersSchema>;

/** `session` groups by session; the others are UTC calendar buckets (day, ISO week, month). */
export const AggregationLevelSchema = z.enum(['session', 'daily', 'weekly', 'monthly']);
export type AggregationLevel = z.infer<typeof AggregationLevelSchema>;

export const ConversationalQuerySchema = z
  .object({
    type: QueryTypeSchema,
    timeRange: TimeRangeSchema.default({}),
    filters: QueryFiltersSchema.default({}),
    aggregation: AggregationLevelSchema.default('daily'),
    pagination: PageSchema.default({ limit: 50 }),
    options: z
      .object({
        /** `conversation_history`: list sessions (default) or single turns. */
        view: z.enum(['sessions', 'turns']).default('sessions'),
        /** How many entries in "top N" lists (co-occurrences, preferences). */
        topN: z.number().int().min(1).max(100).default(5),
        /** `conversation_history` turns view: include user input and response text (default true). */
        includeText: z.boolean().default(true),
      })
      .strict()
      .default({ view: 'sessions', topN: 5, includeText: true }),
  })
  .strict();
export type ConversationalQueryInput = z.input<typeof ConversationalQuerySchema>;
export type ConversationalQuery = z.output<typeof ConversationalQuerySchema>;

export interface ResponseError {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

export interface ResponseMetadata {
  queryType: QueryType | null;
  /** The filters the answer covers. */
  scope: QueryFilters;
  /** The period the answer covers, epoch ms, `to` exclusive. */
  period: { from: number; to: number } | null;
  aggregation: AggregationLevel | null;
  cacheHit: boolean;
  /** True when part of the answer could not be computed (the rest is still exact). */
  degraded: boolean;
  /** Cursor for the next page of a paginated answer. */
  nextCursor?: string | null;
}

/** The envelope every data-manager query resolves to; it never rejects. */
export interface DataResponse<T = unknown> {
  success: boolean;
  data: T | null;
  metadata: ResponseMetadata;
  totalRecords: number;
  processingTimeMs: number;
  error?: ResponseError;
}
