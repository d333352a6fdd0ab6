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

// Characters JSON escapes or UTF-8 encodes in more than one byte.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what JSON escapes
const NOT_PLAIN = /[\u0000-\u001f"\\\u007f-\uffff]/;

/** UTF-8 bytes of `JSON.stringify(s)`, without building the JSON when the string is plain ASCII. */
export function stringBytes(s: string): number {
  const n = s.length;
  if (n <= 32) {
    // A char loop beats the regex on the short strings (keys, labels) that dominate real data.
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c)
        return Buffer.byteLength(JSON.stringify(s), 'utf8');
    }
    return n + 2;
  }
  return NOT_PLAIN.test(s) ? Buffer.byteLength(JSON.stringify(s), 'utf8') : n + 2;
}

/** Length of the JSON text of a finite number (what `String(n)` gives), without a string for small integers. */
function numberBytes(n: number): number {
  if ((n | 0) === n && !Object.is(n, -0)) {
    let len = n < 0 ? 2 : 1;
    let v = n < 0 ? -n : n;
    while (v >= 10) {
      v = (v / 10) | 0;
      len++;
    }
    return len;
  }
  return String(n).length;
}

/** At most this many bytes of JSON per UTF-16 code unit of a string (`\u001f`, a lone surrogate). */
const MAX_BYTES_PER_UNIT = 6;
/** The longest JSON text of a finite number (`-2.2250738585072014e-308`). */
const MAX_NUMBER_BYTES = 24;

/**
 * One walk that measures a JSON value: its nesting depth (0 for a primitive, 1 for an object or
 * array of primitives, ...) and the UTF-8 bytes of its JSON text, exactly
 * `Buffer.byteLength(JSON.stringify(value))`. With `where` set it also checks that the value is
 * plain JSON (what JsonValueSchema accepts) and names the offending path; without, the value is
 * trusted. A hand walk rather than the zod schema plus `JSON.stringify`, because it runs on every
 * create and update.
 *
 * With `bound` the bytes are an upper bound instead (a string counts six bytes per code unit, a
 * number that is not a small integer 24), which needs no look at the characters: the limit check
 * then measures exactly only data whose bound exceeds the limit.
 */
export class JsonMeter {
  depth = 0;
  readonly #where: string | undefined;
  readonly #path: Array<string | number>;
  readonly #bound: boolean;

  constructor(where?: string, root = '', bound = false) {
    this.#where = where;
    this.#path = root ? [root] : [];
    this.#bound = bound;
  }

  #string(s: string): number {
    return this.#bound ? MAX_BYTES_PER_UNIT * s.length + 2 : stringBytes(s);
  }

  /** Bytes of `value`; `depth` afterwards holds the deepest nesting seen so far. */
  bytes(value: unknown, level = 0): number {
    switch (typeof value) {
      case 'string':
        return this.#string(value);
      case 'boolean':
        return value ? 4 : 5;
      case 'number':
        if (Number.isFinite(value)) {
          if (this.#bound && (value | 0) !== value) return MAX_NUMBER_BYTES;
          return numberBytes(value);
        }
        throw this.#invalid('must be a finite number');
      case 'object': {
        if (value === null) return 4;
        const inner = level + 1;
        if (inner > this.depth) this.depth = inner;
        // Only a checking walk keeps the path, for its error messages.
        const path = this.#where === undefined ? undefined : this.#path;
        if (Array.isArray(value)) {
          let total = value.length > 0 ? 1 + value.length : 2;
          for (let i = 0; i < value.length; i++) {
            if (path) {
              path.push(i);
              if (!(i in value)) throw this.#invalid('must not be a hole in an array');
            }
            total += this.bytes(value[i], inner);
            path?.pop();
          }
          return total;
        }
        if (path) {
          if (!isPlainObject(value)) throw this.#invalid('must be plain JSON (no class instances)');
          if (Object.getOwnPropertySymbols(value).length > 0)
            throw this.#invalid('must not have symbol keys');
        }
        let total = 1;
        for (const key in value) {
          path?.push(key);
          total += this.#string(key) + 2 + this.bytes((value as JsonObject)[key], inner);
          path?.pop();
        }
        return total === 1 ? 2 : total;
      }
      default:
        throw this.#invalid(`must be JSON, got ${typeof value}`);
    }
  }

  #invalid(message: string): ConvokitError {
    return invalid(this.#where ?? 'json', this.#path.join('.'), message);
  }
}

/** The deepest nesting the last `jsonBound` walk saw (read it right after the call). */
let boundDepth = 0;

/**
 * What `new JsonMeter(where, root, true).bytes(value)` gives for plain JSON (the upper bound of
 * the bytes, with the depth in `lastBoundDepth()`), or -1 for anything that walk would refuse:
 * the caller then runs that walk, which names the offending path. The same walk without its
 * bookkeeping (no path kept, no meter object), because it runs on every create and update.
 */
export function jsonBoundFast(value: unknown): number {
  boundDepth = 0;
  return boundWalk(value, 0);
}

/**
 * The bytes bound of a JSON value as `new JsonMeter(where, root, true).bytes(value)` gives it, with
 * the depth in `lastBoundDepth()`: the fast walk, then the checking walk for anything it refuses,
 * which throws the VALIDATION error naming the path.
 */
export function jsonBound(value: unknown, where: string, root: string): number {
  const fast = jsonBoundFast(value);
  if (fast >= 0) return fast;
  const meter = new JsonMeter(where, root, true);
  const bytes = meter.bytes(value);
  // Reached only by a value whose getters answer differently the second time they are read.
  boundDepth = meter.depth;
  return bytes;
}

export function lastBoundDepth(): number {
  return boundDepth;
}

function boundWalk(value: unknown, level: number): number {
  switch (typeof value) {
    case 'string':
      return MAX_BYTES_PER_UNIT * value.length + 2;
    case 'boolean':
      return value ? 4 : 5;
    case 'number':
      if ((value | 0) === value) return numberBytes(value);
      return Number.isFinite(value) ? MAX_NUMBER_BYTES : -1;
    case 'object': {
      if (value === null) return 4;
      const inner = level + 1;
      if (inner > boundDepth) boundDepth = inner;
      if (Array.isArray(value)) {
        const n = value.length;
        let total = n > 0 ? 1 + n : 2;
        for (let i = 0; i < n; i++) {
          if (!(i in value)) return -1;
          const b = boundWalk(value[i], inner);
          if (b < 0) return -1;
          total += b;
        }
        return total;
      }
      if (!isPlainObject(value) || Object.getOwnPropertySymbols(value).length > 0) return -1;
      let total = 1;
      for (const key in value) {
        const b = boundWalk((value as JsonObject)[key], inner);
        if (b < 0) return -1;
        total += MAX_BYTES_PER_UNIT * key.length + 4 + b;
      }
      return total === 1 ? 2 : total;
    }
    default:
      return -1;
  }
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
