import { z } from 'zod';
import { EpochMsSchema, KeySchema, OneOrManyKeysSchema } from './common.js';
import { JsonObjectSchema } from './json.js';

const NameListSchema = z.array(KeySchema).max(100);

export const TokenUsageSchema = z
  .object({
    input: z.number().int().nonnegative(),
    output: z.number().int().nonnegative(),
  })
  .strict();
export type TokenUsage = z.infer<typeof TokenUsageSchema>;

export const OutcomeSchema = z.enum(['ok', 'error']);
export type Outcome = z.infer<typeof OutcomeSchema>;

const turnFields = {
  /** Time-ordered id (ULID) assigned on record. */
  id: KeySchema,
  sessionId: KeySchema,
  conversationId: KeySchema.optional(),
  userId: KeySchema.optional(),
  /** When the turn happened, epoch ms. */
  at: EpochMsSchema,
  userInput: z.string().max(1_000_000),
  assistantResponse: z.string().max(1_000_000),
  persona: KeySchema.optional(),
  /** Frameworks detected in or applied to this turn; distinct names. */
  frameworks: NameListSchema,
  /** Tools called while answering; distinct names. */
  tools: NameListSchema,
  /** MCP servers whose tools were called; distinct names. */
  mcpServers: NameListSchema,
  latencyMs: z.number().nonnegative().max(1e9).refine(Number.isFinite).optional(),
  tokens: TokenUsageSchema.optional(),
  outcome: OutcomeSchema,
  errorCode: KeySchema.optional(),
  /** User feedback in [-1, 1]: -1 thumbs down, 1 thumbs up, anything between for graded scores. */
  feedback: z.number().min(-1).max(1).optional(),
  metadata: JsonObjectSchema.optional(),
};

function distinct(list: string[]): boolean {
  return new Set(list).size === list.length;
}

const distinctLists = <T extends { frameworks: string[]; tools: string[]; mcpServers: string[] }>(
  schema: z.ZodType<T>,
) =>
  schema.superRefine((turn, ctx) => {
    for (const field of ['frameworks', 'tools', 'mcpServers'] as const) {
      if (!distinct(turn[field])) {
        ctx.addIssue({ code: 'custom', path: [field], message: 'must not repeat a name' });
      }
    }
  });

/** A stored turn: every field resolved. This is what stores hold and hand out. */
export const TurnSchema = distinctLists(z.object(turnFields).strict());
export type Turn = z.infer<typeof TurnSchema>;

/**
 * What a caller records: `id` and `at` are assigned when absent, lists default to empty and
 * `outcome` to `ok`. Repeated names in a list are collapsed.
 */
export const TurnInputSchema = z
  .object({
    ...turnFields,
    id: turnFields.id.optional(),
    at: turnFields.at.optional(),
    frameworks: NameListSchema.default([]).transform(dedupe),
    tools: NameListSchema.default([]).transform(dedupe),
    mcpServers: NameListSchema.default([]).transform(dedupe),
    outcome: OutcomeSchema.default('ok'),
  })
  .strict();
export type TurnInput = z.input<typeof TurnInputSchema>;

function dedupe(list: string[]): string[] {
  return [...new Set(list)];
}

/**
 * Which turns a read applies to. Every field narrows (AND); a list means any of its values.
 * `from` is inclusive, `to` exclusive.
 */
export const TurnFilterSchema = z
  .object({
    from: EpochMsSchema.optional(),
    to: EpochMsSchema.optional(),
    sessionId: OneOrManyKeysSchema.optional(),
    conversationId: OneOrManyKeysSchema.optional(),
    userId: OneOrManyKeysSchema.optional(),
    persona: OneOrManyKeysSchema.optional(),
    /** Turns that used this framework (any of these frameworks). */
    framework: OneOrManyKeysSchema.optional(),
    tool: OneOrManyKeysSchema.optional(),
    mcpServer: OneOrManyKeysSchema.optional(),
    outcome: OutcomeSchema.optional(),
  })
  .strict()
  .refine((f) => f.from === undefined || f.to === undefined || f.from <= f.to, {
    message: '`from` must not be after `to`',
    path: ['from'],
  });
export type TurnFilter = z.infer<typeof TurnFilterSchema>;

export const TurnOrderSchema = z.enum(['asc', 'desc']);
export type TurnOrder = z.infer<typeof TurnOrderSchema>;
