import { ConvokitError, EpochMsSchema, isEpochMs, isKey, KeySchema, validate } from '@convokit/core';

/**
 * Fast paths for the hottest arguments. Each accepts exactly what its core schema accepts; on
 * anything else the schema runs through `validate` and its error names `field`.
 */
export { isEpochMs, isKey };

export function checkKey(value: unknown, where: string, field: string): string {
  if (isKey(value)) return value;
  return named(() => validate(KeySchema, value, where), field);
}

export function checkEpochMs(value: unknown, where: string, field: string): number {
  if (isEpochMs(value)) return value;
  return named(() => validate(EpochMsSchema, value, where), field);
}

export function checkPositiveInt(value: unknown, where: string, field: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1) return value;
  throw invalid(where, field, 'must be a whole number of at least 1');
}

export function checkObject(value: unknown, where: string, field: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return value as Record<string, unknown>;
  throw invalid(where, field, 'must be an object');
}

/** A VALIDATION error in the shape `validate` gives, for arguments without a schema of their own. */
export function invalid(where: string, path: string, message: string): ConvokitError {
  return new ConvokitError('VALIDATION', `Invalid input to ${where}: ${path}: ${message}`, {
    where,
    issues: [{ path, message }],
  });
}

/** Re-roots the paths of a VALIDATION error under `prefix` (a batch index, an argument name). */
export function underPath<T>(run: () => T, prefix: string): T {
  try {
    return run();
  } catch (error) {
    if (!ConvokitError.is(error, 'VALIDATION')) throw error;
    const issues = (error.details.issues as Array<{ path: string; message: string }> | undefined) ?? [];
    const rooted = issues.map((i) => ({ path: i.path ? `${prefix}.${i.path}` : prefix, message: i.message }));
    const first = rooted[0];
    const summary = first ? `${first.path}: ${first.message}` : 'invalid input';
    const more = rooted.length > 1 ? ` (and ${rooted.length - 1} more)` : '';
    throw new ConvokitError('VALIDATION', `Invalid input to ${error.details.where}: ${summary}${more}`, {
      ...error.details,
      issues: rooted,
    });
  }
}

const named = underPath;
