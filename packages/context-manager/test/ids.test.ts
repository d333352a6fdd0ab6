import { createIdGenerator, createManualClock, ulidAdd } from '@convokit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFlatIdGenerator } from '../src/ids.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const ENCODING = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const timeOf = (id: string) => [...id.slice(0, 10)].reduce((t, c) => t * 32 + ENCODING.indexOf(c), 0);

describe('flat ULID generator', () => {
  it('gives ULIDs whose time part is the clock, as core encodes it, strictly increasing', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 50 }),
        // From 1: core's generator (the `ulid` package) takes a time of 0 as "none" and uses the
        // wall clock, so the two can only be compared from 1 ms on.
        fc.integer({ min: 1, max: 2 ** 47 }),
        (steps, start) => {
          const clock = createManualClock(start);
          const next = createFlatIdGenerator(clock);
          const core = createIdGenerator(clock);
          let last = '';
          for (const step of steps) {
            clock.advance(step);
            const id = next();
            expect(id).toMatch(ULID);
            expect(timeOf(id)).toBe(clock.now());
            expect(id.slice(0, 10)).toBe(core().slice(0, 10));
            expect(id > last).toBe(true);
            last = id;
          }
        },
      ),
    );
  });

  it('within one millisecond, and when the clock steps back, the random part counts up by one', () => {
    const clock = createManualClock(1_000);
    const next = createFlatIdGenerator(clock);
    const a = next();
    const b = next();
    clock.set(900);
    const c = next();
    expect(b.slice(0, 10)).toBe(a.slice(0, 10));
    expect(c.slice(0, 10)).toBe(a.slice(0, 10));
    const value = (id: string) =>
      [...id.slice(10)].reduce((v, ch) => v * 32n + BigInt(ENCODING.indexOf(ch)), 0n);
    expect(value(b) - value(a)).toBe(1n);
    expect(value(c) - value(b)).toBe(1n);
    clock.set(1_001);
    expect(timeOf(next())).toBe(1_001);
  });

  it('random parts differ between generators and milliseconds', () => {
    const clock = createManualClock(5);
    const ids = new Set<string>();
    for (let g = 0; g < 20; g++) {
      const next = createFlatIdGenerator(clock);
      for (let i = 0; i < 20; i++) {
        clock.advance(1);
        ids.add(next().slice(10));
      }
    }
    expect(ids.size).toBe(400);
  });

  it('a clock outside what a ULID holds is VALIDATION', () => {
    for (const bad of [-1, 1.5, 2 ** 48, Number.NaN]) {
      expect(() => createFlatIdGenerator(createManualClock(bad))()).toThrow(
        expect.objectContaining({ code: 'VALIDATION' }),
      );
    }
  });

  it('reserve(n) hands out the first of n ids that n calls would have given in its millisecond, then goes on after them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 40 })), {
          maxLength: 20,
        }),
        (steps) => {
          const clock = createManualClock(5_000);
          const reserving = createFlatIdGenerator(clock);
          const all: string[] = [];
          for (const [advance, n] of steps) {
            clock.advance(advance);
            if (n === 0) {
              all.push(reserving());
              continue;
            }
            const first = reserving.reserve(n);
            expect(timeOf(first)).toBe(clock.now());
            for (let k = 0; k < n; k++) all.push(ulidAdd(first, k)!);
          }
          // One strictly increasing sequence: no id of a range is ever handed out again.
          for (let i = 1; i < all.length; i++) expect(all[i]! > all[i - 1]!).toBe(true);
        },
      ),
    );
  });

  it('reserve: the ids one call after another would give within one millisecond; bad counts are VALIDATION', () => {
    const clock = createManualClock(7_000);
    const next = createFlatIdGenerator(clock);
    const first = next();
    expect([next(), next(), next()]).toEqual([1, 2, 3].map((k) => ulidAdd(first, k)));
    expect(next.reserve(5)).toBe(ulidAdd(first, 4));
    expect(next()).toBe(ulidAdd(first, 9));
    expect(() => next.reserve(0)).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
    expect(() => next.reserve(1.5)).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
  });
});
