import type { JsonObject } from '@convokit/core';

/** Deeper than this the fast check gives up and the schema decides (as it does for cycles). */
const MAX_DEPTH = 64;

function plainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function jsonValue(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (depth >= MAX_DEPTH) return false;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false;
        for (let i = 0; i < value.length; i++) {
          // A hole reads as undefined: not JSON.
          if (!jsonValue(value[i], depth + 1)) return false;
        }
        return true;
      }
      return jsonObjectAt(value, depth);
    }
    default:
      return false;
  }
}

function jsonObjectAt(value: object, depth: number): boolean {
  if (!plainObject(value)) return false;
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (!jsonValue(record[key], depth + 1)) return false;
  }
  return true;
}

/**
 * True when `value` is plainly a JSON object as JsonObjectSchema accepts it (plain objects and
 * arrays of strings, finite numbers, booleans and null), checked without zod because it runs on
 * every write. False means "not plainly": the caller then asks the schema, which either accepts
 * the value or throws the typed VALIDATION error naming the field.
 */
export function isPlainJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && jsonObjectAt(value, 0);
}
