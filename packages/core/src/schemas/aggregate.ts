import { z } from 'zod';
import { TurnFilterSchema } from './turn.js';

/**
 * Dimensions a turn aggregate can be grouped by. Time buckets are UTC:
 * - `hour`, `day`: start of the UTC hour/day, epoch ms.
 * - `week`: start of the ISO week (Monday 00:00 UTC), epoch ms.
 * - `month`: first day of the UTC month 00:00, epoch ms.
 * - `hourOfDay`: 0..23 (UTC); `dayOfWeek`: 0 = Monday .. 6 = Sunday (ISO order, UTC).
 *
 * `framework`, `tool` and `mcpServer` are multi-valued: a turn counts once in the group of each
 * of its names, and a turn with none is in no group of that dimension. Naming the same
 * multi-valued dimension twice groups by unordered pairs of distinct names used in one turn,
 * the smaller name first (how often two frameworks are used together).
 * Single-valued dimensions (`persona`, `user`, `conversation`) put turns without a value in the
 * group whose key is `null`.
 */
export const GroupKeySchema = z.enum([
  'persona',
  'framework',
  'tool',
  'mcpServer',
  'session',
  'user',
  'conversation',
  'outcome',
  'hour',
  'day',
  'week',
  'month',
  'hourOfDay',
  'dayOfWeek',
]);
export type GroupKey = z.infer<typeof GroupKeySchema>;

export const MULTI_VALUED_KEYS = ['framework', 'tool', 'mcpServer'] as const satisfies readonly GroupKey[];
export const TIME_BUCKET_KEYS = ['hour', 'day', 'week', 'month'] as const satisfies readonly GroupKey[];

/**
 * Measures over the turns of a group.
 * - `count`: turns. `errors`: turns with outcome `error`. `errorRate`: errors / count.
 * - `sessions`, `users`: distinct session ids, distinct non-null user ids.
 * - `latencyAvg`: mean `latencyMs` of the turns that have one; `latencyP50/P95/P99`: from the core
 *   latency histogram (relative error <= 1%) over the same turns; `latencyCount`: how many had one.
 *   All null when no turn in the group has a latency.
 * - `tokensIn`, `tokensOut`: sums (0 when none recorded).
 * - `feedbackAvg`: mean feedback of the turns that have one, null when none; `feedbackCount`.
 * - `firstAt`, `lastAt`: earliest and latest `at`.
 */
export const MeasureSchema = z.enum([
  'count',
  'errors',
  'errorRate',
  'sessions',
  'users',
  'latencyAvg',
  'latencyP50',
  'latencyP95',
  'latencyP99',
  'latencyCount',
  'tokensIn',
  'tokensOut',
  'feedbackAvg',
  'feedbackCount',
  'firstAt',
  'lastAt',
]);
export type Measure = z.infer<typeof MeasureSchema>;

export const AggregateSpecSchema = z
  .object({
    filter: TurnFilterSchema.default({}),
    /** Zero keys gives one row over all matching turns (present even when none match). */
    groupBy: z.array(GroupKeySchema).max(3).default([]),
    measures: z.array(MeasureSchema).min(1).max(MeasureSchema.options.length),
    /**
     * Row order. Default: by keys ascending (null first, then numbers or strings ascending).
     * With `orderBy`, by that measure (nulls last), ties by keys ascending.
     */
    orderBy: z
      .object({ measure: MeasureSchema, direction: z.enum(['asc', 'desc']).default('desc') })
      .strict()
      .optional(),
    /** Skip this many rows after ordering, then return at most `limit`. */
    offset: z.number().int().nonnegative().default(0),
    limit: z.number().int().min(1).max(1_000_000).optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (spec.orderBy && !spec.measures.includes(spec.orderBy.measure)) {
      ctx.addIssue({ code: 'custom', path: ['orderBy', 'measure'], message: 'must be one of `measures`' });
    }
    const seen = new Map<string, number>();
    for (const key of spec.groupBy) seen.set(key, (seen.get(key) ?? 0) + 1);
    for (const [key, times] of seen) {
      const multi = (MULTI_VALUED_KEYS as readonly string[]).includes(key);
      if (times > (multi ? 2 : 1)) {
        ctx.addIssue({
          code: 'custom',
          path: ['groupBy'],
          message: multi ? `\`${key}\` may appear at most twice (pairs)` : `\`${key}\` may appear only once`,
        });
      }
    }
  });
export type AggregateSpecInput = z.input<typeof AggregateSpecSchema>;
export type AggregateSpec = z.output<typeof AggregateSpecSchema>;

export type GroupValue = string | number | null;

export interface AggregateRow {
  /** One value per `groupBy` entry, in the same order. */
  keys: GroupValue[];
  /** One value per requested measure; null where the measure has no data (see MeasureSchema). */
  values: Partial<Record<Measure, number | null>>;
}

export interface AggregateResult {
  rows: AggregateRow[];
  /** Groups before `offset`/`limit` were applied. */
  totalGroups: number;
}
