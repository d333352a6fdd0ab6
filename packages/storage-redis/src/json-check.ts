import type { JsonObject } from '@convokit/core';

/** Deeper than this the fast check gives up and the schema decides (as it does for cycles). */
const MAX_DEPTH = 64;

/** Returned by the copy functions for "not plainly JSON"; no JSON value is this symbol. */
const NOT_PLAIN = Symbol('not plain JSON');

function plainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function copyValue(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      // -0 becomes 0, as JSON text stores it (and as a later read gives it back).
      return Number.isFinite(value) ? value + 0 : NOT_PLAIN;
    case 'object': {
      if (value === null) return null;
      if (depth >= MAX_DEPTH) return NOT_PLAIN;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return NOT_PLAIN;
        const out = new Array<unknown>(value.length);
        for (let i = 0; i < value.length; i++) {
          // A hole reads as undefined: not JSON.
          const item = copyValue(value[i], depth + 1);
          if (item === NOT_PLAIN) return NOT_PLAIN;
          out[i] = item;
        }
        return out;
      }
      return copyObjectAt(value, depth);
    }
    default:
      return NOT_PLAIN;
  }
}

function copyObjectAt(value: object, depth: number): Record<string, unknown> | typeof NOT_PLAIN {
  if (!plainObject(value)) return NOT_PLAIN;
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key in record) {
    const item = copyValue(record[key], depth + 1);
    if (item === NOT_PLAIN) return NOT_PLAIN;
    if (key === '__proto__') {
      // Assigning would set the copy's prototype; JSON.parse makes it an own property, as here.
      Object.defineProperty(out, key, { value: item, writable: true, enumerable: true, configurable: true });
    } else {
      out[key] = item;
    }
  }
  return out;
}

/**
 * A fresh copy of `value` when it is plainly a JSON object as JsonObjectSchema accepts it (plain
 * objects and arrays of strings, finite numbers, booleans and null), equal to what
 * `JSON.parse(JSON.stringify(value))` gives; undefined when not plainly JSON, and the caller then
 * asks the schema, which either accepts the value or throws the typed VALIDATION error naming the
 * field. One walk both checks and copies, without zod, because it runs on every write; the copy
 * is what a write hands back, so the result shares nothing with the caller's input (a walk is
 * several times cheaper than parsing the JSON text sent).
 */
export function plainJsonCopy(value: unknown): JsonObject | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const copy = copyObjectAt(value, 0);
  return copy === NOT_PLAIN ? undefined : (copy as JsonObject);
}
