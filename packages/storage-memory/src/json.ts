import type { JsonObject, JsonValue } from '@convokit/core';

/**
 * Stored values are frozen once, when written, and handed out as they are: reads cost nothing and
 * no caller can change what the store holds. `Frozen` remembers the objects of each created
 * context (already validated, already immutable) so writes that reuse them, as a shallow merge of
 * a value read earlier does, need not copy or check them again.
 *
 * Copies are made with `Object.assign({}, value)`, not key by key: V8 then gives them fast
 * properties, while an object filled one computed key at a time (as schema parsers do) often
 * ends up a slow dictionary that costs every later reader, and every caller's own spread, ten
 * times more. (Object spread would do too, but freezing a spread copy is pathologically slow in
 * V8, about 15 µs for 20 keys against 1 µs.)
 */
export class Frozen {
  readonly #ours = new WeakSet<object>();

  /** A frozen, fast-property copy of a value that is already valid (a schema's output). */
  fresh<T>(value: T): T {
    if (typeof value !== 'object' || value === null || this.#ours.has(value)) return value;
    let out: unknown[] | Record<string, unknown>;
    if (Array.isArray(value)) {
      out = value.map((item) => this.fresh(item));
    } else {
      const source = value as Record<string, unknown>;
      const keys = Object.keys(source);
      // Object.assign is the fast copy, but it would turn an own `__proto__` key into the copy's
      // prototype, and keys holding `undefined` (optional fields a parser kept) must go.
      const plain = !Object.hasOwn(source, '__proto__') && keys.every((key) => source[key] !== undefined);
      const record: Record<string, unknown> = plain ? Object.assign({}, source) : {};
      for (const key of keys) {
        const item = source[key];
        if (item === undefined) continue;
        const copy = typeof item === 'object' && item !== null ? this.fresh(item) : item;
        if (!plain)
          Object.defineProperty(record, key, {
            value: copy,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        else if (copy !== item) record[key] = copy;
      }
      out = record;
    }
    Object.freeze(out);
    this.#ours.add(out);
    return out as T;
  }

  /**
   * A frozen copy of `value` if it is certainly a JSON object as JsonObjectSchema accepts it,
   * else `undefined`: the caller then validates with the schema, which names what is wrong.
   * Conservative on purpose: anything unusual (symbol keys, `__proto__`, sparse arrays, class
   * instances) goes the schema's way.
   */
  jsonObject(value: unknown, remember = false): JsonObject | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    return this.#copy(value, remember) as JsonObject | undefined;
  }

  /**
   * As `jsonObject`, for new data replacing `stored` (a frozen object this store made): top-level
   * values the two share (`===`, own keys of `stored`) were checked and frozen when stored, so they
   * are kept as they are, and only what changed is checked and copied. A shallow merge of data read
   * earlier thus costs one object copy plus the changed values. A top-level object or array equal
   * to the stored one at its key (`sameJson`: same keys in the same order, same items) is replaced
   * by the stored one too: a caller that merges into its own copy of the data (not the one it
   * read) then costs a comparison, which reads, instead of a copy, which allocates and freezes,
   * and the versions of a context share those members.
   */
  jsonObjectOver(value: unknown, stored: JsonObject): JsonObject | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    if (this.#ours.has(value)) return value as JsonObject;
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return undefined;
    if (Object.getOwnPropertySymbols(value).length > 0) return undefined;
    if (Object.hasOwn(value, '__proto__')) return undefined;
    // One read of every property (a getter runs once), into an object with fast properties.
    const record = Object.assign({}, value) as Record<string, JsonValue>;
    for (const key in record) {
      const item = record[key];
      if (typeof item === 'object' && item !== null && Object.hasOwn(stored, key)) {
        const kept = stored[key]!;
        if (item === kept) continue;
        if (sameJson(item, kept)) {
          record[key] = kept;
          continue;
        }
      }
      const copy = this.#member(item, false);
      if (copy === undefined) return undefined;
      if (copy !== item) record[key] = copy;
    }
    return Object.freeze(record);
  }

  /**
   * Copies are remembered only when asked (on create): a WeakSet entry per update costs more, in
   * the collector above all, than copying again the few objects a later write might hand back.
   */
  #copy(value: object, remember: boolean): JsonValue | undefined {
    if (this.#ours.has(value)) return value as JsonValue;
    let out: JsonValue[] | Record<string, JsonValue>;
    if (Array.isArray(value)) {
      const list: JsonValue[] = new Array(value.length);
      for (let i = 0; i < value.length; i++) {
        const item = this.#member(value[i], remember);
        if (item === undefined) return undefined;
        list[i] = item;
      }
      out = list;
    } else {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return undefined;
      if (Object.getOwnPropertySymbols(value).length > 0) return undefined;
      // Object.assign would set the copy's prototype from an own `__proto__` key.
      if (Object.hasOwn(value, '__proto__')) return undefined;
      const record: Record<string, JsonValue> = Object.assign({}, value as Record<string, JsonValue>);
      const keys = Object.keys(record);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const item = record[key];
        const copy = this.#member(item, remember);
        if (copy === undefined) return undefined;
        if (copy !== item) record[key] = copy;
      }
      out = record;
    }
    Object.freeze(out);
    if (remember) this.#ours.add(out);
    return out;
  }

  #member(value: unknown, remember: boolean): JsonValue | undefined {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        return Number.isFinite(value) ? value : undefined;
      case 'object':
        return value === null ? null : this.#copy(value, remember);
      default:
        return undefined;
    }
  }
}

/**
 * Whether `value` is JSON as JsonValueSchema accepts it and equal to `stored` (a valid, frozen JSON
 * value): numbers by `Object.is` (so `-0` is not `0`), arrays item by item with no holes, objects
 * plain, without symbol keys or an own `__proto__`, with the same keys in the same order. `false`
 * when unsure: the caller then checks and copies `value` as usual.
 */
export function sameJson(value: unknown, stored: JsonValue): boolean {
  if (value === stored) return typeof value !== 'number' || value !== 0 || Object.is(value, stored);
  if (typeof value !== 'object' || value === null || typeof stored !== 'object' || stored === null)
    return false;
  if (Array.isArray(stored)) {
    if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype) return false;
    const n = stored.length;
    if (value.length !== n) return false;
    for (let i = 0; i < n; i++) if (!(i in value) || !sameJson(value[i], stored[i]!)) return false;
    return true;
  }
  if (Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.getOwnPropertySymbols(value).length > 0 || Object.hasOwn(value, '__proto__')) return false;
  const keys = Object.keys(value);
  let i = 0;
  for (const key in stored) {
    if (keys[i] !== key || !sameJson((value as Record<string, unknown>)[key], stored[key]!)) return false;
    i++;
  }
  return i === keys.length;
}

/**
 * Freezes `value` in place, all the way down, and returns it. Only for values nobody else holds
 * (a decoder's fresh output): it spares the copy `Frozen.fresh` makes to keep a caller's objects
 * apart from the store's.
 */
export function freezeInPlace<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) freezeInPlace(value[i]);
  } else {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) freezeInPlace(record[key]);
  }
  return Object.freeze(value);
}
