import { z } from 'zod';

/** Epoch milliseconds. */
export const EpochMsSchema = z.number().int('must be whole milliseconds').nonnegative().max(8.64e15);

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** An identifier chosen by a caller: non-empty, bounded, no control characters. */
export const KeySchema = z
  .string()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .refine((s) => !CONTROL_CHARACTER.test(s), 'must not contain control characters');

/** Exactly what KeySchema accepts, without zod: for hot paths that validate every call. */
export function isKey(value: unknown): value is string {
  return (
    typeof value === 'string' && value.length > 0 && value.length <= 256 && !CONTROL_CHARACTER.test(value)
  );
}

/** Exactly what EpochMsSchema accepts, without zod. */
export function isEpochMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 8.64e15;
}

/** One value, or several of which any may match (an IN list). */
export const OneOrManyKeysSchema = z.union([KeySchema, z.array(KeySchema).min(1).max(1000)]);

export const PageSchema = z
  .object({
    /** At most this many items; 1 to 1000, default 50. */
    limit: z.number().int().min(1).max(1000).default(50),
    /** The `nextCursor` of the previous page; absent for the first page. */
    cursor: z.string().min(1).max(2048).optional(),
  })
  .strict();
export type PageInput = z.input<typeof PageSchema>;
export type Page = z.output<typeof PageSchema>;

export interface PageResult<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; `null` when there is none. */
  nextCursor: string | null;
}
