import type { JsonObject, JsonValue } from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyUpdate, mergePatch, overlay } from '../src/index.js';
import { resolveChain } from '../src/merge.js';

const key = fc.constantFrom('a', 'b', 'c', 'd', '__proto__');
const { object: jsonObject } = fc.letrec<{ value: JsonValue; object: JsonObject }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -5, max: 5 }),
    fc.constantFrom('x', 'y', ''),
    fc.array(tie('value'), { maxLength: 3 }),
    tie('object'),
  ),
  object: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
}));

type Path = string[];

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Paths to every non-object value and every empty object. */
function leafPaths(v: JsonValue, prefix: Path = []): Path[] {
  if (!isObject(v)) return [prefix];
  const keys = Object.keys(v);
  if (keys.length === 0) return [prefix];
  return keys.flatMap((k) => leafPaths(v[k]!, [...prefix, k]));
}

function at(v: JsonValue, path: Path): { found: boolean; value?: JsonValue } {
  let cur: JsonValue = v;
  for (const k of path) {
    if (!isObject(cur) || !Object.hasOwn(cur, k)) return { found: false };
    cur = cur[k]!;
  }
  return { found: true, value: cur };
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

describe('mergePatch (deep strategy): hand-computed cases', () => {
  it('merges nested objects, replaces arrays and primitives, deletes on null', () => {
    const current = { a: 1, b: { c: 2, d: [1, 2, 3], e: { f: 'x' } }, g: 'keep' };
    const patch = { a: 10, b: { d: [9], e: { h: true }, c: null }, i: { j: null, k: 1 } };
    expect(mergePatch(current, patch)).toEqual({
      a: 10,
      b: { d: [9], e: { f: 'x', h: true } },
      g: 'keep',
      i: { k: 1 },
    });
  });

  it('replaces a non-object with the patch object, dropping its nulls (RFC 7386)', () => {
    expect(mergePatch({ a: [1, 2] }, { a: { b: 1, c: null } })).toEqual({ a: { b: 1 } });
    expect(mergePatch({ a: 'str' }, { a: {} })).toEqual({ a: {} });
  });

  it('a null for an absent key is a no-op; nulls inside arrays are kept', () => {
    expect(mergePatch({ a: 1 }, { z: null })).toEqual({ a: 1 });
    expect(mergePatch({ a: 1 }, { a: [null, 1] })).toEqual({ a: [null, 1] });
  });

  it('shares untouched subtrees and never mutates its inputs', () => {
    const untouched = deepFreeze({ deep: { x: 1 } });
    const current = deepFreeze({ keep: untouched, change: { y: 1 } });
    const patch = deepFreeze({ change: { y: 2 } });
    const out = mergePatch(current, patch) as JsonObject;
    expect(out.keep).toBe(untouched);
    expect(out).toEqual({ keep: { deep: { x: 1 } }, change: { y: 2 } });
  });

  it('keeps a "__proto__" key as data without touching prototypes', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as JsonObject;
    const out = mergePatch({}, patch) as JsonObject;
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":true},"a":1}');
  });
});

describe('applyUpdate', () => {
  const current = { a: 1, b: { c: 2 }, d: [1] };

  it('replace: the patch is the data; changed keys are the added, removed and different ones', () => {
    const r = applyUpdate(current, { a: 1, b: { c: 3 }, e: true }, 'replace');
    expect(r.data).toEqual({ a: 1, b: { c: 3 }, e: true });
    expect(r.changedKeys.sort()).toEqual(['b', 'd', 'e']);
  });

  it('shallow: top-level keys overwrite, null is stored as null, nested objects are not merged', () => {
    const r = applyUpdate(current, { b: { x: 1 }, d: null, a: 1 }, 'shallow');
    expect(r.data).toEqual({ a: 1, b: { x: 1 }, d: null });
    expect(r.changedKeys.sort()).toEqual(['b', 'd']);
  });

  it('deep: merge patch; changed keys exclude no-op writes and absent deletions', () => {
    const r = applyUpdate(current, { b: { c: 2 }, d: null, z: null, e: 0 }, 'deep');
    expect(r.data).toEqual({ a: 1, b: { c: 2 }, e: 0 });
    expect(r.changedKeys.sort()).toEqual(['d', 'e']);
  });
});

describe('deep update properties', () => {
  it('patch paths read the patch values (null: absent) and every other path is unchanged', () => {
    fc.assert(
      fc.property(jsonObject, jsonObject, (current, patch) => {
        const before = clone(current);
        const { data } = applyUpdate(deepFreeze(current), deepFreeze(patch), 'deep');
        // inputs untouched
        expect(current).toEqual(before);
        for (const p of leafPaths(patch)) {
          if (p.length === 0) continue; // empty patch
          const pv = at(patch, p).value!;
          const got = at(data, p);
          if (pv === null) expect(got.found).toBe(false);
          else if (isObject(pv))
            expect(isObject(got.value)).toBe(true); // empty object patch
          else expect(got).toEqual({ found: true, value: pv });
        }
        for (const q of leafPaths(current)) {
          if (q.length === 0) continue;
          // q is untouched when the patch stops having keys along it before reaching it
          let touched = true;
          let cur: JsonValue = patch;
          for (const k of q) {
            if (!isObject(cur) || !Object.hasOwn(cur, k)) {
              touched = !isObject(cur);
              break;
            }
            cur = cur[k]!;
            if (!isObject(cur)) break;
          }
          if (!touched) expect(at(data, q)).toEqual(at(current, q));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('changedKeys are exactly the top-level keys whose value differs', () => {
    fc.assert(
      fc.property(
        jsonObject,
        jsonObject,
        fc.constantFrom('replace', 'shallow', 'deep'),
        (current, patch, strategy) => {
          const { data, changedKeys } = applyUpdate(current, patch, strategy as 'deep');
          const keys = new Set([...Object.keys(current), ...Object.keys(data)]);
          const expected = [...keys].filter((k) => {
            const a = Object.hasOwn(current, k) ? JSON.stringify(canonical(current[k]!)) : undefined;
            const b = Object.hasOwn(data, k) ? JSON.stringify(canonical(data[k]!)) : undefined;
            return a !== b;
          });
          expect([...changedKeys].sort()).toEqual(expected.sort());
        },
      ),
      { numRuns: 300 },
    );
  });

  it('deep with an empty patch changes nothing; deep is idempotent', () => {
    fc.assert(
      fc.property(jsonObject, jsonObject, (current, patch) => {
        expect(applyUpdate(current, {}, 'deep')).toEqual({ data: current, changedKeys: [] });
        const once = applyUpdate(current, patch, 'deep').data;
        const twice = applyUpdate(once, patch, 'deep');
        expect(twice.data).toEqual(once);
        expect(twice.changedKeys).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});

function canonical(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(canonical);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const k of Object.keys(v).sort())
    Object.defineProperty(out, k, { value: canonical(v[k]!), enumerable: true });
  return out;
}

describe('overlay and resolveChain (resolve)', () => {
  it('the child wins; objects merge; arrays and null replace', () => {
    expect(overlay({ a: { b: 1, c: 2 }, d: [1], e: 1 }, { a: { c: 3 }, d: [2], e: null })).toEqual({
      a: { b: 1, c: 3 },
      d: [2],
      e: null,
    });
    expect(
      resolveChain([{ theme: 'dark', lang: 'en', ui: { size: 1 } }, { lang: 'fr' }, { ui: { font: 'x' } }]),
    ).toEqual({
      theme: 'dark',
      lang: 'fr',
      ui: { size: 1, font: 'x' },
    });
  });

  it('a single context resolves to its own data', () => {
    fc.assert(
      fc.property(jsonObject, (data) => {
        expect(resolveChain([data])).toEqual(data);
      }),
    );
  });
});
