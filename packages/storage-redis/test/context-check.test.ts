import { type Context, ContextSchema } from '@convokit/core';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { plainContext } from '../src/context-check.js';

const T = 1_800_000_000_000;
const valid: Context = {
  id: 'c1',
  scope: 'session',
  ownerId: 'o',
  data: { a: [1, { b: null }] },
  metadata: {},
  version: 1,
  createdAt: T,
  updatedAt: T,
  accessCount: 0,
  lastAccessedAt: T,
};

/** One field of a valid context replaced by a value that may or may not be valid. */
const variant = fc.record({
  key: fc.constantFrom(
    'id',
    'scope',
    'ownerId',
    'sessionId',
    'persona',
    'parentId',
    'data',
    'metadata',
    'version',
    'createdAt',
    'updatedAt',
    'expiresAt',
    'accessCount',
    'lastAccessedAt',
    'extra',
  ),
  value: fc.oneof(
    fc.constantFrom<unknown>(
      undefined,
      null,
      '',
      'session',
      'nope',
      'x'.repeat(257),
      'a\u0000',
      0,
      1,
      -1,
      1.5,
      2 ** 53,
      9e15,
      T,
      Number.NaN,
      {},
      [],
      { d: new Date(0) },
      { u: undefined },
      new Date(0),
    ),
    fc.jsonValue({ maxDepth: 2 }),
  ),
});

test('plainContext accepts only what ContextSchema accepts, and gives what it gives (fast-check)', () => {
  fc.assert(
    fc.property(fc.array(variant, { maxLength: 3 }), (changes) => {
      const input: Record<string, unknown> = { ...valid };
      for (const { key, value } of changes) input[key] = value;
      const fast = plainContext(input);
      const zod = ContextSchema.safeParse(input);
      if (fast !== undefined) {
        expect(zod.success).toBe(true);
        expect(fast).toEqual(zod.data);
        // Data and metadata are fresh copies: what create hands back shares nothing with the input.
        expect(fast.data).not.toBe(input.data);
        expect(fast.metadata).not.toBe(input.metadata);
        expect(fast.data).toStrictEqual(JSON.parse(JSON.stringify(input.data)));
      }
    }),
    { numRuns: 3000 },
  );
});

test('plainContext takes a plainly valid context as it is', () => {
  const full: Context = { ...valid, sessionId: 's', persona: 'p', parentId: 'q', expiresAt: T + 1 };
  expect(plainContext(full)).toEqual(full);
  expect(plainContext(valid)).toEqual(valid);
  expect(plainContext({ ...valid, ownerId: undefined })).toEqual({ ...valid, ownerId: undefined });
  expect(plainContext({ ...valid, extra: undefined })).toBeUndefined();
  expect(plainContext({ ...valid, version: 0 })).toBeUndefined();
  expect(plainContext(null)).toBeUndefined();
});
