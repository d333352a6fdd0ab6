import { ConvokitError, type ValidationIssue } from '@convokit/core';

/** Runs a `validate` of one option of a call, prefixing the option's name to each issue path. */
export function underPath<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (!ConvokitError.is(error, 'VALIDATION')) throw error;
    const issues = ((error.details.issues ?? []) as ValidationIssue[]).map((issue) => ({
      ...issue,
      path: issue.path ? `${field}.${issue.path}` : field,
    }));
    const first = issues[0];
    const where = String(error.details.where ?? '');
    throw new ConvokitError(
      'VALIDATION',
      `Invalid input to ${where}: ${first ? `${first.path}: ${first.message}` : field}`,
      { ...error.details, issues },
    );
  }
}
