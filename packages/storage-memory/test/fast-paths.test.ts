import {
  ContextChangesSchema,
  ContextSchema,
  ConvokitError,
  JsonObjectSchema,
  TurnSchema,
} from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkContext } from '../src/context-check.js';
import { createMemoryStorage } from '../src/index.js';
import { Frozen } from '../src/json.js';
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
