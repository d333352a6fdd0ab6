import {
  ContextChangesSchema,
  ContextSchema,
  ConvokitError,
  JsonObjectSchema,
  JsonValueSchema,
  TurnSchema,
} from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkContext } from '../src/context-check.js';
import { createMemoryStorage } from '../src/index.js';
import { Frozen, sameJson } from '../src/json.js';
import { checkTurn } from '../src/turn-check.js';
import { context, turn } from './helpers.js';

/** Values that sit on either side of some rule of the turn and context schemas. */
const edgy = fc.oneof(
  fc.constantFrom(
    undefined,
    null,
    '',
    'ok',
    'error',
    'x\u0001y',
    'a'.repeat(257),
    -1,
    -0,
    0,
    0.5,
    1,
    1.5,
    2,
    1e9 + 1,
    9e15,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    2 ** 60,
    true,
    [],
    ['a', 'a'],
    ['a', 'b'],
    [''],
    {},
    { input: 1, output: 2 },
    { input: 1, output: 2, extra: 3 },
    { input: -1, output: 2 },
    { nested: { ok: [1, 'two', null] } },
    { bad: Number.NaN },
    { fn: () => 1 },
    new Date(0),
  ),
  fc.string({ maxLength: 5 }),
  fc.integer(),
  fc.double(),
);

const FIELDS = [
  'id',
  'sessionId',
  'conversationId',
  'userId',
  'at',
  'userInput',
  'assistantResponse',
  'persona',
  'frameworks',
  'tools',
  'mcpServers',
  'latencyMs',
  'tokens',
  'outcome',
  'errorCode',
  'feedback',
  'metadata',
  'unknownField',
];

/** What the schema's output looks like once stored: no keys holding `undefined`. */
function defined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

describe('fast validation paths agree with the core schemas', () => {
  it('a turn is accepted exactly when TurnSchema accepts it, and stored as the schema outputs it', () => {
    const frozen = new Frozen();
    const arb = fc.record({
      changes: fc.array(fc.tuple(fc.constantFrom(...FIELDS), edgy), { maxLength: 3 }),
      removed: fc.option(fc.constantFrom(...FIELDS), { nil: undefined }),
    });
    fc.assert(
      fc.property(arb, ({ changes, removed }) => {
        const input: Record<string, unknown> = {
          ...turn({
            id: 't1',
            persona: 'p',
            latencyMs: 5,
            tokens: { input: 1, output: 2 },
            metadata: { a: [1] },
          }),
        };
        for (const [field, value] of changes) input[field] = value;
        if (removed) delete input[removed];
        const expected = TurnSchema.safeParse(input);
        let stored: unknown;
        let error: unknown;
        try {
          stored = checkTurn(input, 0, frozen);
        } catch (e) {
          error = e;
        }
        expect(error === undefined, JSON.stringify(input)).toBe(expected.success);
        if (expected.success) expect(stored).toEqual(defined(expected.data as Record<string, unknown>));
        else expect(ConvokitError.is(error, 'VALIDATION')).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('JSON objects: the fast copy accepts only what JsonObjectSchema accepts, and copies it equal', () => {
    const frozen = new Frozen();
    const json = fc.oneof(fc.jsonValue(), edgy);
    const arb = fc.oneof(
      fc.dictionary(fc.string({ maxLength: 4 }), json, { maxKeys: 5 }),
      edgy,
      fc.array(json),
    );
    fc.assert(
      fc.property(arb, (value) => {
        const fast = frozen.jsonObject(value);
        if (fast === undefined) return; // the schema decides; nothing to compare
        const parsed = JsonObjectSchema.safeParse(value);
        expect(parsed.success, JSON.stringify(value)).toBe(true);
        expect(fast).toEqual(parsed.data);
        expect(Object.isFrozen(fast)).toBe(true);
      }),
      { numRuns: 1000 },
    );
    // The unusual shapes go to the schema.
    expect(frozen.jsonObject({ [Symbol('s')]: 1 })).toBeUndefined();
    expect(frozen.jsonObject(JSON.parse('{"__proto__": {"x": 1}}'))).toBeUndefined();
    // biome-ignore lint/suspicious/noSparseArray: a hole is the case under test
    expect(frozen.jsonObject({ a: [1, , 2] })).toBeUndefined();
    expect(frozen.jsonObject({ a: new Date(0) })).toBeUndefined();
  });

  it('update changes: accepted exactly when ContextChangesSchema accepts them', async () => {
    const keys = ['data', 'metadata', 'ownerId', 'parentId', 'expiresAt', 'other'];
    const arb = fc.array(fc.tuple(fc.constantFrom(...keys), edgy), { maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(arb, async (entries) => {
        const s = createMemoryStorage();
        await s.contexts.create(context({ id: 'c1' }));
        const changes = Object.fromEntries(entries);
        const expected = ContextChangesSchema.safeParse(changes);
        const result = await s.contexts.update('c1', 1, changes as never, 2_000).then(
          (c) => ({ ok: true as const, c }),
          (e: unknown) => ({ ok: false as const, e }),
        );
        expect(result.ok, JSON.stringify(changes)).toBe(expected.success);
        if (!result.ok) expect(ConvokitError.is(result.e, 'VALIDATION')).toBe(true);
        else if (expected.data?.data) expect(result.c.data).toEqual(expected.data.data);
      }),
      { numRuns: 1000 },
    );
  });

  it('fresh copies: frozen all the way down, undefined keys dropped, an own __proto__ key kept as data', () => {
    const frozen = new Frozen();
    const input = { a: { b: [1, { c: 2 }] }, gone: undefined };
    const copy = frozen.fresh(input);
    expect(copy).toEqual({ a: { b: [1, { c: 2 }] } });
    expect(Object.keys(copy)).toEqual(['a']);
    expect(Object.isFrozen(copy.a.b[1])).toBe(true);
    expect(Object.isFrozen(input.a)).toBe(false);
    const odd = frozen.fresh(JSON.parse('{"__proto__": {"x": 1}, "y": 2}'));
    expect(Object.getPrototypeOf(odd)).toBe(Object.prototype);
    expect(Object.keys(odd)).toEqual(['__proto__', 'y']);
  });

  it('a context to create is accepted exactly when ContextSchema accepts it, and stored as parsed', () => {
    const frozen = new Frozen();
    const fields = [...Object.keys(ContextSchema.shape), 'unknownField'];
    const arb = fc.record({
      changes: fc.array(
        fc.tuple(fc.constantFrom(...fields), fc.oneof(edgy, fc.constantFrom('global', 'analytics'))),
        {
          maxLength: 3,
        },
      ),
      removed: fc.option(fc.constantFrom(...fields), { nil: undefined }),
    });
    fc.assert(
      fc.property(arb, ({ changes, removed }) => {
        const input: Record<string, unknown> = {
          ...context({ id: 'c1', ownerId: 'o', expiresAt: 5, data: { a: [1] } }),
        };
        for (const [field, value] of changes) input[field] = value;
        if (removed) delete input[removed];
        const expected = ContextSchema.safeParse(input);
        let stored: unknown;
        let error: unknown;
        try {
          stored = checkContext(input, frozen);
        } catch (e) {
          error = e;
        }
        expect(error === undefined, JSON.stringify(input)).toBe(expected.success);
        if (expected.success) expect(stored).toEqual(defined(expected.data as Record<string, unknown>));
        else expect(ConvokitError.is(error, 'VALIDATION')).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('sameJson: a caller value equal to a stored one', () => {
  /** The plain reference: valid JSON whose JSON text and `-0`s match the stored value's. */
  function reference(value: unknown, stored: unknown): boolean {
    if (!JsonValueSchema.safeParse(value).success) return false;
    if (typeof value === 'object' && value !== null) {
      if (Object.getOwnPropertySymbols(value).length > 0 || Object.hasOwn(value, '__proto__')) return false;
      if (!Array.isArray(value) && Array.isArray(stored)) return false;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype || !Array.isArray(stored)) return false;
        if (value.length !== stored.length) return false;
        for (let i = 0; i < value.length; i++)
          if (!(i in value) || !reference(value[i], stored[i])) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return false;
      const a = Object.keys(value);
      const b = Object.keys(stored);
      if (a.length !== b.length || a.some((k, i) => k !== b[i])) return false;
      return a.every((k) =>
        reference((value as Record<string, unknown>)[k], (stored as Record<string, unknown>)[k]),
      );
    }
    return Object.is(value, stored);
  }

  it('agrees with the reference on random pairs, on near misses and on copies', () => {
    const frozen = new Frozen();
    const json = fc.oneof(fc.jsonValue({ maxDepth: 3 }), edgy);
    fc.assert(
      fc.property(json, json, fc.boolean(), (a, b, copy) => {
        const stored = frozen.jsonObject({ v: b })?.v;
        if (stored === undefined) return; // not storable: never a stored value
        const value = copy ? structuredClone(b) : a;
        expect(sameJson(value, stored), JSON.stringify([value, stored])).toBe(reference(value, stored));
      }),
      { numRuns: 2000 },
    );
    const stored = frozen.jsonObject({ v: { a: [1, 0, 'x'], b: { c: null } } })!.v!;
    expect(sameJson({ a: [1, 0, 'x'], b: { c: null } }, stored)).toBe(true);
    expect(sameJson({ b: { c: null }, a: [1, 0, 'x'] }, stored)).toBe(false); // key order
    expect(sameJson({ a: [1, -0, 'x'], b: { c: null } }, stored)).toBe(false); // -0 is not 0
    // A hole at index 1 (JSON has none: it reads as null).
    const holed: unknown[] = new Array(3);
    holed[0] = 1;
    holed[2] = 'x';
    expect(sameJson({ a: holed, b: { c: null } }, stored)).toBe(false);
    expect(sameJson({ a: [1, 0, 'x'], b: { c: null }, [Symbol('s')]: 1 }, stored)).toBe(false);
    expect(sameJson({ a: [1, 0, 'x'], b: Object.assign(Object.create({ c: null }), {}) }, stored)).toBe(
      false,
    );
  });

  it('an update that repeats a stored member keeps the stored (frozen) one; a changed one is copied', async () => {
    const s = createMemoryStorage();
    const created = await s.contexts.create(
      context({ id: 'c1', data: { prefs: { tz: 'UTC' }, list: [1, 2] } }),
    );
    const mine = { prefs: { tz: 'UTC' }, list: [1, 2, 3] };
    const updated = await s.contexts.update('c1', 1, { data: mine }, 2_000);
    expect(updated.data.prefs).toBe(created.data.prefs);
    expect(updated.data.list).not.toBe(mine.list);
    expect(updated.data).toEqual(mine);
    mine.list.push(4);
    mine.prefs.tz = 'CET';
    expect(updated.data).toEqual({ prefs: { tz: 'UTC' }, list: [1, 2, 3] });
    expect(Object.isFrozen(updated.data.list)).toBe(true);
  });
});
