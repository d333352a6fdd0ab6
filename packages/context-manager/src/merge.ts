import type { JsonObject, JsonValue } from '@convokit/core';
import { isPlainObject, jsonEqual, setOwn } from './json.js';

export type UpdateStrategy = 'replace' | 'shallow' | 'deep';
export const UPDATE_STRATEGIES: readonly UpdateStrategy[] = ['replace', 'shallow', 'deep'];

/**
 * Deep merge, exactly JSON Merge Patch (RFC 7386):
 * - a patch value that is an object is merged into the target's value at that key, recursively
 *   (a target value that is not an object is treated as `{}`);
 * - `null` deletes the key;
 * - anything else (string, number, boolean, array) replaces the target's value; arrays are never
 *   merged element by element.
 * The target is not modified: the result is a new object along the patched paths and shares every
 * untouched subtree with the target.
 */
export function mergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isPlainObject(patch)) return patch;
  const out: JsonObject = isPlainObject(target) ? { ...target } : {};
  for (const key in patch) {
    const value = patch[key]!;
    if (value === null) delete out[key];
    else setOwn(out, key, mergePatch(out[key], value));
  }
  return out;
}

export interface AppliedUpdate {
  data: JsonObject;
  /** Top-level keys whose value differs after the update (added, removed or changed). */
  changedKeys: string[];
}

/**
 * The new data of an update and the top-level keys it changed.
 * - `replace`: the patch becomes the data.
 * - `shallow`: top-level keys of the patch overwrite the data's (`null` is stored as `null`).
 * - `deep`: `mergePatch` (so `null` deletes).
 */
export function applyUpdate(current: JsonObject, patch: JsonObject, strategy: UpdateStrategy): AppliedUpdate {
  const changedKeys: string[] = [];
  if (strategy === 'replace') {
    for (const key in current) {
      if (!Object.hasOwn(patch, key) || !jsonEqual(current[key], patch[key])) changedKeys.push(key);
    }
    for (const key in patch) if (!Object.hasOwn(current, key)) changedKeys.push(key);
    return { data: patch, changedKeys };
  }
  const data: JsonObject = { ...current };
  for (const key in patch) {
    const value = patch[key]!;
    const had = Object.hasOwn(current, key);
    if (strategy === 'deep') {
      if (value === null) {
        if (had) {
          delete data[key];
          changedKeys.push(key);
        }
        continue;
      }
      const next = mergePatch(had ? current[key] : undefined, value);
      setOwn(data, key, next);
      if (!had || !jsonEqual(current[key], next)) changedKeys.push(key);
    } else {
      setOwn(data, key, value);
      if (!had || !jsonEqual(current[key], value)) changedKeys.push(key);
    }
  }
  return { data, changedKeys };
}

/**
 * Two stored values layered, `top` winning: objects merge recursively, anything else in `top`
 * (arrays, primitives and `null`, which is a stored value here, not a deletion) replaces.
 */
export function overlay(base: JsonValue | undefined, top: JsonValue): JsonValue {
  if (!isPlainObject(top) || !isPlainObject(base)) return top;
  const out: JsonObject = { ...base };
  for (const key in top) setOwn(out, key, overlay(out[key], top[key]!));
  return out;
}

/** What a context sees of its ancestors: `chain` root first, each one overlaid on the ones above. */
export function resolveChain(chain: readonly JsonObject[]): JsonObject {
  let data: JsonObject = {};
  for (const item of chain) data = overlay(data, item) as JsonObject;
  return data;
}
