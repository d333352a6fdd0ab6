import { z } from 'zod';
import { TurnFilterSchema } from './turn.js';

/** Snippets mark each matched term with these, unescaped. */
export const SNIPPET_OPEN = '<mark>';
export const SNIPPET_CLOSE = '</mark>';

/**
 * Full-text search over `userInput` and `assistantResponse`. The text is split into terms with
 * `tokenize` (lower-cased letters and digits); `mode: 'all'` (default) matches turns holding every
 * term, `'any'` turns holding at least one. Terms match whole words, case-insensitively, no stemming.
 */
export const SearchOptionsSchema = z
  .object({
    filter: TurnFilterSchema.default({}),
    limit: z.number().int().min(1).max(1000).default(20),
    mode: z.enum(['all', 'any']).default('all'),
  })
  .strict();
export type SearchOptionsInput = z.input<typeof SearchOptionsSchema>;
export type SearchOptions = z.output<typeof SearchOptionsSchema>;

export const SearchTextSchema = z
  .string()
  .max(1000, 'must be at most 1000 characters')
  .refine((text) => /[\p{L}\p{N}]/u.test(text), 'must contain at least one letter or digit');
