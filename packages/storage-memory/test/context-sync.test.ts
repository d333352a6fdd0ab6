import { type Context, ConvokitError, contextStoreSync, createManualClock } from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryStorage, type MemoryStorage } from '../src/index.js';
import { context } from './helpers.js';

/** What a call gave: its value, or its error's code and first issue path. */
function outcome(run: () => unknown): unknown {
  try {
    return { value: run() };
  } catch (error) {
    if (!ConvokitError.is(error)) throw error;
    return {
      code: error.code,
      path: (error.details.issues as Array<{ path: string }> | undefined)?.[0]?.path,
    };
  }
}

async function outcomeAsync(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return { value: await run() };
  } catch (error) {
    if (!ConvokitError.is(error)) throw error;
    return {
      code: error.code,
      path: (error.details.issues as Array<{ path: string }> | undefined)?.[0]?.path,
    };
  }
}

/** Every stored context, as the storage's snapshot gives them. */
function stored(s: MemoryStorage): Context[] {
  const out: Context[] = [];
  for (const m of s.snapshotMutations()) if (m.type === 'contexts.put') out.push(m.context);
  return out;
}

describe('the synchronous side of the context store', () => {
  it('is offered, and getNow/touchNow answer as get/touch do, on twin stores', async () => {
    const ids = ['a', 'b', 'c', '', 'x\u0001'];
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('get' as const),
        id: fc.constantFrom(...ids),
        now: fc.integer({ min: -1, max: 40 }),
      }),
      fc.record({
        kind: fc.constant('touch' as const),
        id: fc.constantFrom(...ids),
        at: fc.integer({ min: -1, max: 40 }),
        expiresAt: fc.option(fc.integer({ min: -1, max: 60 }), { nil: undefined }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        const [viaSync, viaAsync] = [0, 1].map(() => createMemoryStorage({ clock: createManualClock(0) }));
        for (const s of [viaSync!, viaAsync!]) {
          await s.contexts.create(context({ id: 'a', expiresAt: 20 }));
          await s.contexts.create(context({ id: 'b' }));
        }
        const side = contextStoreSync(viaSync!.contexts)!;
        expect(side).toBeDefined();
        for (const o of ops) {
          if (o.kind === 'get') {
            const got = outcome(() => side.getNow(o.id, o.now));
            expect(got).toEqual(await outcomeAsync(() => viaAsync!.contexts.get(o.id, { now: o.now })));
          } else {
            const touch = o.expiresAt === undefined ? { at: o.at } : { at: o.at, expiresAt: o.expiresAt };
            const touched = outcome(() => side.touchNow(o.id, touch)) as { value?: Context; code?: string };
            const asyncTouched = (await outcomeAsync(() => viaAsync!.contexts.touch(o.id, touch))) as {
              code?: string;
            };
            expect(touched.code).toEqual(asyncTouched.code);
            // The context touchNow returns is the one now stored (the async store holds its twin).
            if (touched.value !== undefined) {
              expect(stored(viaSync!).find((c) => c.id === o.id)).toBe(touched.value);
              expect(Object.isFrozen(touched.value)).toBe(true);
            } else if (touched.code === undefined) {
              expect(await viaSync!.contexts.get(o.id, { now: Math.max(0, o.at) })).toBeUndefined();
            }
          }
          expect(stored(viaSync!)).toEqual(stored(viaAsync!));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses calls once the storage is closed, as the async methods do', async () => {
    const s = createMemoryStorage();
    await s.contexts.create(context({ id: 'a' }));
    const side = contextStoreSync(s.contexts)!;
    await s.close();
    expect(() => side.getNow('a', 1)).toThrow(ConvokitError);
    expect(() => side.touchNow('a', { at: 1 })).toThrow(ConvokitError);
  });
});
