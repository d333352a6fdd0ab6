import type { ContextScope } from '@convokit/core';
import { CONTEXT_SCOPES, isKey } from '@convokit/core';
import { invalid, isPlainObject, jsonBound } from './json.js';

const SCOPES: ReadonlySet<string> = new Set(CONTEXT_SCOPES);

/** An id or other key, by the rules of KeySchema, checked by hand because it runs on every call. */
export function checkKey(value: unknown, where: string, field: string): string {
  if (isKey(value)) return value;
  const reason =
    typeof value !== 'string'
      ? 'must be a string'
      : value.length === 0
        ? 'must not be empty'
        : value.length > 256
          ? 'must be at most 256 characters'
          : 'must not contain control characters';
  throw invalid(where, field, reason);
}

export function checkOptionalKey(value: unknown, where: string, field: string): string | undefined {
  return value === undefined ? undefined : checkKey(value, where, field);
}

export function checkScope(value: unknown, where: string): ContextScope {
  if (typeof value === 'string' && SCOPES.has(value)) return value as ContextScope;
  throw invalid(where, 'scope', `must be one of ${CONTEXT_SCOPES.join(', ')}`);
}

/**
 * A JSON object argument (`data`, a patch, `metadata`), measured while it is checked: returns the
 * bytes as an upper bound (see `JsonMeter`; `checkDataLimits` makes them exact when the bound
 * exceeds the limit), and the depth, exactly, is then `lastBoundDepth()`. Plain JSON takes the fast
 * walk (`jsonBoundFast`); anything it refuses goes through the checking walk, which throws the
 * VALIDATION error naming the path.
 */
export function checkJsonObject(value: unknown, where: string, field: string): number {
  if (!isPlainObject(value)) throw invalid(where, field, 'must be a plain JSON object');
  return jsonBound(value, where, field);
}

export function checkTtl(value: unknown, where: string, field: string): number | null {
  if (value === null) return null;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  throw invalid(where, field, 'must be a whole number of milliseconds >= 1, or null for no expiry');
}

export function checkVersion(value: unknown, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return value;
  throw invalid(where, 'expectedVersion', 'must be a whole number >= 1');
}

export function checkOptions(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return value as Record<string, unknown>;
  throw invalid(where, 'options', 'must be an object');
}
