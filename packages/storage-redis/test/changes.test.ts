import { ContextChangesSchema, JsonObjectSchema } from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { changeArgs, isVersion, type SentText } from '../src/changes.js';
import { plainJsonCopy } from '../src/json-check.js';

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

/** True when no object or array inside `copy` is one inside `original` (walked in parallel). */
function sharesNothing(copy: unknown, original: unknown): boolean {
  if (typeof copy !== 'object' || copy === null) return true;
  if (copy === original) return false;
  const from = original as Record<string, unknown>;
  return Object.entries(copy).every(([k, v]) => sharesNothing(v, from[k]));
}

describe('plainJsonCopy', () => {
  test('accepts only what JsonObjectSchema accepts, and copies it as a JSON round trip would (fast-check)', () => {
    fc.assert(
      fc.property(loose, (value) => {
        const copy = plainJsonCopy(value);
        if (copy === undefined) return;
        expect(JsonObjectSchema.safeParse(value).success).toBe(true);
        expect(copy).toStrictEqual(JSON.parse(JSON.stringify(value)));
        expect(sharesNothing(copy, value)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test('accepts every JSON object JSON.parse can give, as an equal copy (fast-check)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (value) => {
        const parsed = JSON.parse(JSON.stringify(value));
        const copy = plainJsonCopy(parsed);
        expect(copy).toStrictEqual(parsed);
        expect(sharesNothing(copy, parsed)).toBe(true);
      }),
    );
  });

  test('hand-picked cases', () => {
    const input = { a: [1, 'x', null, true, { b: -0 }] };
    const copy = plainJsonCopy(input);
    expect(copy).toEqual({ a: [1, 'x', null, true, { b: 0 }] });
    // -0 comes back as 0, as from the JSON text stored.
    expect(Object.is((copy!.a as { b: number }[])[4]!.b, 0)).toBe(true);
    expect(copy!.a).not.toBe(input.a);
    expect(plainJsonCopy(Object.assign(Object.create(null), { a: 1 }))).toStrictEqual({ a: 1 });
    // An own '__proto__' key stays an own property, as JSON.parse makes it; the prototype stays.
    const proto = plainJsonCopy(JSON.parse('{"__proto__":{"x":1},"y":2}'));
    expect(proto).toStrictEqual(JSON.parse('{"__proto__":{"x":1},"y":2}'));
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto!)).toEqual(['__proto__', 'y']);
    expect(plainJsonCopy([])).toBeUndefined();
    expect(plainJsonCopy(null)).toBeUndefined();
    expect(plainJsonCopy({ a: undefined })).toBeUndefined();
    expect(plainJsonCopy({ a: Number.NaN })).toBeUndefined();
    expect(plainJsonCopy({ a: new Date(0) })).toBeUndefined();
    expect(plainJsonCopy({ a: holey() })).toBeUndefined();
    expect(plainJsonCopy(new Box())).toBeUndefined();
    // Deeper than the fast check goes: the schema decides.
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 70; i++) deep = { d: deep };
    expect(plainJsonCopy(deep)).toBeUndefined();
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
        let result: SentText | undefined;
        try {
          result = changeArgs(ch as never, args);
        } catch (e) {
          error = e;
        }
        if (!zod.success) {
          expect(error).toMatchObject({ code: 'VALIDATION', details: { where: 'contexts.update' } });
          return;
        }
        expect(error).toBeUndefined();
        // What an update hands back: equal to the text sent, sharing nothing with the input.
        for (const field of ['data', 'metadata'] as const) {
          const given = (ch as Record<string, unknown>)[field];
          const out = result![field];
          if (out === undefined) continue;
          expect(out.value).toStrictEqual(JSON.parse(out.text));
          expect(sharesNothing(out.value, given)).toBe(true);
        }
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
    expect(sent).toEqual({ data: { text: '{"a":1}', value: { a: 1 } }, metadata: undefined });
    expect(() => changeArgs({ data: { a: 1 }, extra: 1 } as never, [])).toThrow(/contexts.update/);
  });
});

test('isVersion is ContextSchema.shape.version without zod', () => {
  for (const v of [1, 2, 2 ** 53 - 1, 0, -1, 1.5, 2 ** 53, Number.NaN, '1', null]) {
    expect(isVersion(v)).toBe(Number.isSafeInteger(v) && (v as number) >= 1);
  }
});
