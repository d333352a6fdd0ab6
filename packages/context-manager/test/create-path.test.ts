import type { JsonObject } from '@convokit/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { checkJsonObject } from '../src/checks.js';
import { JsonMeter, jsonBound, jsonBoundFast, lastBoundDepth } from '../src/json.js';
import { measureBound } from '../src/limits.js';
import { alice, availableBackends, rejection, removeTempDirs, setup } from './helpers.js';

afterAll(removeTempDirs);

type Outcome = { bytes: number; depth: number } | { error: string };

/** The checking walk (the reference): its bound and depth, or its error. */
function full(value: unknown): Outcome {
  const meter = new JsonMeter('where', 'root', true);
  try {
    const bytes = meter.bytes(value);
    return { bytes, depth: meter.depth };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function fast(value: unknown): Outcome | 'refused' {
  const bytes = jsonBoundFast(value);
  return bytes < 0 ? 'refused' : { bytes, depth: lastBoundDepth() };
}

function viaBound(value: unknown): Outcome {
  try {
    const bytes = jsonBound(value, 'where', 'root');
    return { bytes, depth: lastBoundDepth() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

class Point {
  x = 1;
}

/** Values the fast walk must refuse exactly when the checking walk does, built by hand. */
function oddities(): unknown[] {
  const withSymbol: Record<string | symbol, unknown> = { a: 1 };
  withSymbol[Symbol('s')] = 2;
  const hidden = { a: 1 };
  Object.defineProperty(hidden, Symbol('h'), { value: 1, enumerable: false });
  const holey = new Array(3);
  holey[0] = 1;
  holey[2] = 3;
  const nullProto = Object.create(null) as Record<string, unknown>;
  nullProto.a = [1, 2];
  const getter = {
    get a() {
      return 'x';
    },
  };
  const protoKey = JSON.parse('{"__proto__": {"a": 1}}') as unknown;
  return [
    withSymbol,
    hidden,
    holey,
    nullProto,
    getter,
    protoKey,
    { a: new Point() },
    { a: new Date(0) },
    { a: new Map() },
    { a: undefined },
    { a: () => 1 },
    { a: 10n },
    { a: Symbol('v') },
    { a: Number.NaN },
    { a: Number.POSITIVE_INFINITY },
    { a: -0, b: 0.5, c: -1e21, d: 2 ** 31, e: -(2 ** 31) },
    { a: [[[[]]]], b: {} },
    { a: [{ b: [null, true, false, ''] }] },
    { 'k\u0000"é😀': 'v\u001f\\' },
    [],
    [1, [2, [3]]],
    'text',
    42,
    null,
    undefined,
  ];
}

describe('the fast walk of create and update', () => {
  it('refuses exactly what the checking walk refuses, and otherwise gives its bound and depth', () => {
    const check = (value: unknown) => {
      const reference = full(value);
      const quick = fast(value);
      if ('error' in reference) expect(quick).toBe('refused');
      else expect(quick).toEqual(reference);
      // What the callers use: the fast walk backed by the checking walk, same answer and error.
      expect(viaBound(value)).toEqual(reference);
    };
    for (const value of oddities()) check(value);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything({
            maxDepth: 4,
            withBigInt: true,
            withBoxedValues: true,
            withDate: true,
            withMap: true,
            withSet: true,
            withNullPrototype: true,
            withObjectString: true,
            withSparseArray: true,
            withTypedArray: true,
            withUnicodeString: true,
          }),
          fc.jsonValue({ maxDepth: 4 }),
          fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }),
        ),
        check,
      ),
      { numRuns: 1000 },
    );
  });

  it('gives hand-computed bounds and depths', () => {
    // {"a":"xy"}: braces 1 + key 6*1+4 + string 6*2+2 = 25; one level deep.
    expect(fast({ a: 'xy' })).toEqual({ bytes: 25, depth: 1 });
    // {"n":[1,-20,0.5]}: 1 + (6+4) + array (1 + 3 items) + 1 + 3 + 24 = 43; two levels deep.
    expect(fast({ n: [1, -20, 0.5] })).toEqual({ bytes: 43, depth: 2 });
    expect(fast({})).toEqual({ bytes: 2, depth: 1 });
    expect(fast([])).toEqual({ bytes: 2, depth: 1 });
    expect(fast('ab')).toEqual({ bytes: 14, depth: 0 });
    expect(fast({ a: { b: { c: null } } })).toEqual({ bytes: 37, depth: 3 });
  });

  it('checkJsonObject names the offending path, as the checking walk does', () => {
    const error = (value: unknown) => {
      try {
        checkJsonObject(value, 'ContextHandle.create', 'data');
        return 'accepted';
      } catch (e) {
        return (e as { details: { issues: Array<{ path: string; message: string }> } }).details.issues[0];
      }
    };
    expect(error({ a: [1, { b: Number.NaN }] })).toEqual({
      path: 'data.a.1.b',
      message: 'must be a finite number',
    });
    expect(error([1])).toEqual({ path: 'data', message: 'must be a plain JSON object' });
    expect(error({ a: new Point() })).toEqual({
      path: 'data.a',
      message: 'must be plain JSON (no class instances)',
    });
    expect(checkJsonObject({ a: 'xy' }, 'w', 'data')).toBe(25);
    expect(lastBoundDepth()).toBe(1);
  });

  it('measureBound sums data and metadata and keeps the deeper nesting', () => {
    expect(measureBound({ a: 'xy' }, { m: { n: 1 } })).toEqual({
      bytes: 25 + (1 + 10 + (1 + 10 + 1)),
      depth: 2,
    });
    expect(measureBound({}, {})).toEqual({ bytes: 4, depth: 1 });
  });
});

describe.each(availableBackends())('create on $name', (backend) => {
  it('audits the keys of each create, whatever the keys of the one before', async () => {
    const s = await setup(backend);
    try {
      const h = s.manager.as(alice);
      const seen: Array<{ keys: string[]; frozen: boolean }> = [];
      s.manager.on('change', (e) =>
        seen.push({ keys: e.changedKeys, frozen: Object.isFrozen(e.changedKeys) }),
      );
      const datas: JsonObject[] = [
        { a: 1, b: 2 },
        { a: 1, b: 2 },
        { a: 1, b: 2, c: 3 },
        { a: 1 },
        { b: 2, a: 1 },
        {},
        { a: 1, b: 2 },
      ];
      for (let i = 0; i < datas.length; i++) await h.create('session', datas[i]!, { id: `c${i}` });
      const audit = await s.manager.audit({ action: 'create' }, { limit: 100 });
      const byContext = new Map(audit.items.map((e) => [e.contextId, e.changedKeys]));
      expect(datas.map((_, i) => byContext.get(`c${i}`))).toEqual([
        ['a', 'b'],
        ['a', 'b'],
        ['a', 'b', 'c'],
        ['a'],
        ['b', 'a'],
        [],
        ['a', 'b'],
      ]);
      // Listeners get their own lists, never the audit's shared frozen one.
      expect(seen.map((e) => e.keys)).toEqual(datas.map((d) => Object.keys(d)));
      expect(seen.every((e) => !e.frozen)).toBe(true);
      expect(s.manager.getMetrics().counters.create).toBe(7);
    } finally {
      await s.close();
    }
  });

  it('refuses over-limit data before writing, with a sync or an async policy', async () => {
    for (const policy of [undefined, async () => true]) {
      const s = await setup(backend, {
        limits: { maxBytes: 64, maxDepth: 2 },
        ...(policy ? { policy } : {}),
      });
      try {
        const h = s.manager.as(alice);
        const big = await rejection(h.create('session', { notes: 'n'.repeat(100) }, { id: 'big' }));
        expect(big.code).toBe('LIMIT');
        expect(big.details).toMatchObject({ limit: 'maxBytes', max: 64, actual: 100 + 12 + 2 });
        const deep = await rejection(h.create('session', { a: { b: { c: 1 } } }, { id: 'deep' }));
        expect(deep.details).toMatchObject({ limit: 'maxDepth', max: 2, actual: 3 });
        const bad = await rejection(h.create('session', { a: Number.NaN }, { id: 'nan' }));
        expect(bad.code).toBe('VALIDATION');
        expect(await h.get('big')).toBeUndefined();
        expect(await h.get('deep')).toBeUndefined();
        expect(await h.get('nan')).toBeUndefined();
        expect((await s.manager.audit({ action: 'create' })).items).toEqual([]);
        const ok = await h.create('session', { a: { b: 1 } }, { id: 'ok' });
        expect(ok.version).toBe(1);
        expect(s.manager.getMetrics().counters).toMatchObject({
          create: 4,
          'errors.LIMIT': 2,
          'errors.VALIDATION': 1,
        });
      } finally {
        await s.close();
      }
    }
  });

  it('a closed manager refuses a create with a rejection, not a throw', async () => {
    const s = await setup(backend);
    const h = s.manager.as(alice);
    await s.close();
    const pending = h.create('session', { a: 1 });
    expect(pending).toBeInstanceOf(Promise);
    expect((await rejection(pending)).details).toMatchObject({ reason: 'closed' });
  });
});
