import type { JsonObject, JsonValue } from '@convokit/core';
import { ConvokitError } from '@convokit/core';

export function isPlainObject(value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function invalid(where: string, path: string, message: string): ConvokitError {
  return new ConvokitError('VALIDATION', `Invalid input to ${where}: ${path}: ${message}`, {
    where,
    issues: [{ path, message }],
  });
}

/**
 * Checks that `value` is plain JSON (what JsonValueSchema accepts) and returns its nesting depth:
 * 0 for a primitive, 1 for an object or array of primitives, and so on. A hand walk rather than the
 * zod schema because it runs on every create and update, and it names the offending path.
 */
export function checkJson(value: unknown, where: string, path: string): number {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return 0;
    case 'number':
      if (Number.isFinite(value)) return 0;
      throw invalid(where, path, 'must be a finite number');
    case 'object': {
      if (value === null) return 0;
      let depth = 0;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) throw invalid(where, `${path}.${i}`, 'must not be a hole in an array');
          const d = checkJson(value[i], where, `${path}.${i}`);
          if (d > depth) depth = d;
        }
        return depth + 1;
      }
      if (!isPlainObject(value)) throw invalid(where, path, 'must be plain JSON (no class instances)');
      if (Object.getOwnPropertySymbols(value).length > 0)
        throw invalid(where, path, 'must not have symbol keys');
      for (const key in value) {
        const d = checkJson((value as JsonObject)[key], where, `${path}.${key}`);
        if (d > depth) depth = d;
      }
      return depth + 1;
    }
    default:
      throw invalid(where, path, `must be JSON, got ${typeof value}`);
  }
}

/** Nesting depth of a value already known to be JSON. */
export function jsonDepth(value: JsonValue): number {
  if (typeof value !== 'object' || value === null) return 0;
  let depth = 0;
  if (Array.isArray(value)) {
    for (const item of value) {
      const d = jsonDepth(item);
      if (d > depth) depth = d;
    }
  } else {
    for (const key in value) {
      const d = jsonDepth(value[key]!);
      if (d > depth) depth = d;
    }
  }
  return depth + 1;
}

/** Structural equality of two JSON values (object key order does not matter). */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  for (const k of ak) {
    if (!Object.hasOwn(b, k) || !jsonEqual(a[k], b[k])) return false;
  }
  return true;
}

/** Sets an own property, including one named `__proto__`, which plain assignment would not. */
export function setOwn(target: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/** A shallow copy; spread defines properties, so an own `__proto__` key stays data. */
export function copyObject(source: JsonObject): JsonObject {
  return { ...source };
}
