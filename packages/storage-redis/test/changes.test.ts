import { ContextChangesSchema, JsonObjectSchema } from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { changeArgs, isVersion } from '../src/changes.js';
import { isPlainJsonObject } from '../src/json-check.js';

class Box {
  x = 1;
}

/** [1, <hole>, 3]. */
function holey(): unknown[] {
  const a = [1];
  a[2] = 3;
  return a;
}

/** Values zod's JSON schema refuses or that are not plainly JSON. */
const odd = fc.constantFrom<unknown>(
  undefined,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  -Infinity,
  () => 1,
  Symbol('s'),
  10n,
  new Date(0),
  new Box(),
  new Map([[1, 2]]),
  holey(),
  Object.create({ inherited: 1 }),
);
const loose = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 2 }),
    odd,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('value'), { maxKeys: 3 }),
  ),
})).value;

describe('isPlainJsonObject', () => {
  test('accepts only what JsonObjectSchema accepts (fast-check)', () => {
    fc.assert(
      fc.property(loose, (value) => {
        if (isPlainJsonObject(value)) expect(JsonObjectSchema.safeParse(value).success).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test('accepts every JSON object JSON.parse can give (fast-check)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (value) => {
        const parsed = JSON.parse(JSON.stringify(value));
        expect(isPlainJsonObject(parsed)).toBe(true);
      }),
    );
  });

  test('hand-picked cases', () => {
    expect(isPlainJsonObject({ a: [1, 'x', null, true, { b: -0 }] })).toBe(true);
    expect(isPlainJsonObject(Object.assign(Object.create(null), { a: 1 }))).toBe(true);
    expect(isPlainJsonObject([])).toBe(false);
    expect(isPlainJsonObject(null)).toBe(false);
    expect(isPlainJsonObject({ a: undefined })).toBe(false);
    expect(isPlainJsonObject({ a: Number.NaN })).toBe(false);
    expect(isPlainJsonObject({ a: new Date(0) })).toBe(false);
    expect(isPlainJsonObject({ a: holey() })).toBe(false);
    expect(isPlainJsonObject(new Box())).toBe(false);
    // Deeper than the fast check goes: the schema decides.
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 70; i++) deep = { d: deep };
    expect(isPlainJsonObject(deep)).toBe(false);
  });
});

describe('changeArgs', () => {
  test('sends exactly what the schema accepts; refuses the rest with VALIDATION (fast-check)', () => {
    const changes = fc.oneof(
      fc.record(
        {
          data: loose,
          metadata: loose,
          ownerId: fc.oneof(fc.constantFrom('o', '', 'a\u0001', 'x'.repeat(257), null), loose),
          parentId: fc.constantFrom('p', null, '', undefined, 5),
          expiresAt: fc.constantFrom(0, 1.5, -1, null, undefined, 9e15, 1_800_000_000_000),
          other: loose,
        },
        { requiredKeys: [] },
      ),
      loose,
    );
    fc.assert(
      fc.property(changes, (ch) => {
        const zod = ContextChangesSchema.safeParse(ch);
        const args: string[] = [];
        let error: unknown;
        try {
          changeArgs(ch as never, args);
        } catch (e) {
          error = e;
        }
        if (!zod.success) {
          expect(error).toMatchObject({ code: 'VALIDATION', details: { where: 'contexts.update' } });
          return;
        }
        expect(error).toBeUndefined();
        const sent: Record<string, string> = {};
        for (let i = 0; i < args.length; i += 2) sent[args[i]!] = args[i + 1]!;
        const z = zod.data;
        expect(sent).toEqual({
          ...(z.data !== undefined ? { data: JSON.stringify(z.data) } : {}),
          ...(z.metadata !== undefined ? { metadata: JSON.stringify(z.metadata) } : {}),
          ...(z.ownerId !== undefined ? { owner: z.ownerId } : {}),
          ...(z.parentId !== undefined ? { parent: z.parentId ?? '' } : {}),
          ...(z.expiresAt !== undefined ? { exp: z.expiresAt === null ? '' : String(z.expiresAt) } : {}),
        });
      }),
      { numRuns: 3000 },
    );
  });

  test('hand-picked: removals are empty values, times are decimal text', () => {
    const args: string[] = [];
    const sent = changeArgs({ data: { a: 1 }, parentId: null, expiresAt: 1_800_000_000_123 }, args);
    expect(args).toEqual(['data', '{"a":1}', 'parent', '', 'exp', '1800000000123']);
    expect(sent).toEqual({ data: '{"a":1}', metadata: undefined });
    expect(() => changeArgs({ data: { a: 1 }, extra: 1 } as never, [])).toThrow(/contexts.update/);
  });
});

test('isVersion is ContextSchema.shape.version without zod', () => {
  for (const v of [1, 2, 2 ** 53 - 1, 0, -1, 1.5, 2 ** 53, Number.NaN, '1', null]) {
    expect(isVersion(v)).toBe(Number.isSafeInteger(v) && (v as number) >= 1);
  }
});
