import type { z } from 'zod';
import { ConvokitError } from './errors.js';

export interface ValidationIssue {
  /** Dotted path of the offending field, `''` for the value itself. */
  path: string;
  message: string;
}

/**
 * Parses `value` with `schema` or throws `VALIDATION` naming each bad field.
 * `where` names the call (for example `turns.append`) so the caller knows which input was wrong.
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues: ValidationIssue[] = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
  const first = issues[0];
  const summary = first ? `${first.path || '(value)'}: ${first.message}` : 'invalid input';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  throw new ConvokitError('VALIDATION', `Invalid input to ${where}: ${summary}${more}`, { where, issues });
}
