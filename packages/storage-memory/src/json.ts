import type { JsonObject, JsonValue } from '@convokit/core';

/**
 * Stored values are frozen once, when written, and handed out as they are: reads cost nothing and
 * no caller can change what the store holds. `Frozen` remembers the objects a store froze itself
 * (already validated, already immutable) so writes that reuse them, as a shallow merge of a value
 * read earlier does, need not copy or check them again.
 */
export class Frozen {
  readonly #ours = new WeakSet<object>();

  /** Freezes a value the store just made (a fresh zod output, say) in place. */
  deep<T>(value: T): T {
    if (typeof value !== 'object' || value === null || this.#ours.has(value)) return value;
    for (const key of Object.keys(value)) this.deep((value as Record<string, unknown>)[key]);
    Object.freeze(value);
    this.#ours.add(value);
    return value;
  }

  /** Marks a fresh object whose members are already frozen (structural sharing), and freezes it. */
  shallow<T extends object>(value: T): T {
    Object.freeze(value);
    this.#ours.add(value);
    return value;
  }

  /**
   * A frozen copy of `value` if it is certainly a JSON object as JsonObjectSchema accepts it,
   * else `undefined`: the caller then validates with the schema, which names what is wrong.
   * Conservative on purpose: anything unusual (symbol keys, `__proto__`, sparse arrays, class
   * instances) goes the schema's way.
   */
  jsonObject(value: unknown): JsonObject | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    return this.#copy(value) as JsonObject | undefined;
  }

  #copy(value: unknown): JsonValue | undefined {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        return Number.isFinite(value) ? value : undefined;
      case 'object': {
        if (value === null) return null;
        if (this.#ours.has(value)) return value as JsonValue;
        if (Array.isArray(value)) {
          const out: JsonValue[] = new Array(value.length);
          for (let i = 0; i < value.length; i++) {
            const item = this.#copy(value[i]);
            if (item === undefined) return undefined;
            out[i] = item;
          }
          return this.shallow(out);
        }
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) return undefined;
        if (Object.getOwnPropertySymbols(value).length > 0) return undefined;
        const out: Record<string, JsonValue> = {};
        for (const key in value) {
          if (key === '__proto__' || !Object.hasOwn(value, key)) return undefined;
          const item = this.#copy((value as Record<string, unknown>)[key]);
          if (item === undefined) return undefined;
          out[key] = item;
        }
        return this.shallow(out);
      }
      default:
        return undefined;
    }
  }
}
