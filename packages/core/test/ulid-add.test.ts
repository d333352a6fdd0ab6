import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createIdGenerator, isUlid, ulidAdd } from '../src/index.js';

const ENCODING = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** The random part (last 16 characters) as a number, exactly (80 bits: BigInt). */
const randomOf = (id: string) =>
  [...id.slice(10)].reduce((n, c) => n * 32n + BigInt(ENCODING.indexOf(c)), 0n);

describe('ulidAdd / isUlid', () => {
  it('adds to the random part with carries, hand-computed', () => {
    const head = '01JD000000';
    expect(ulidAdd(`${head}000000000000000Z`, 1)).toBe(`${head}0000000000000010`);
    expect(ulidAdd(`${head}00000000000000ZZ`, 1)).toBe(`${head}0000000000000100`);
    // 32 + 5 = 37 = "15" in base 32; 1,000,000 = 30 * 32^3 + 16 * 32^2 + 18 * 32 + 0 = "YGJ0".
    expect(ulidAdd(`${head}0000000000000000`, 37)).toBe(`${head}0000000000000015`);
    expect(ulidAdd(`${head}0000000000000000`, 1_000_000)).toBe(`${head}000000000000YGJ0`);
    expect(ulidAdd(`${head}0000000000000007`, 0)).toBe(`${head}0000000000000007`);
    // The time part never changes: past the last random value there is no ULID.
    expect(ulidAdd(`${head}ZZZZZZZZZZZZZZZZ`, 1)).toBeUndefined();
    expect(ulidAdd(`${head}ZZZZZZZZZZZZZZZY`, 1)).toBe(`${head}ZZZZZZZZZZZZZZZZ`);
  });

  it('equals BigInt addition on the random part, and sorts as the numbers do', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        (id, k) => {
          const sum = ulidAdd(id, k);
          const expected = randomOf(id) + BigInt(k);
          if (expected >= 2n ** 80n) {
            expect(sum).toBeUndefined();
            return;
          }
          expect(sum).toBeDefined();
          expect(isUlid(sum)).toBe(true);
          expect(sum!.slice(0, 10)).toBe(id.slice(0, 10));
          expect(randomOf(sum!)).toBe(expected);
          expect(k === 0 ? sum === id : sum! > id).toBe(true);
        },
      ),
    );
  });

  it('isUlid: what the generators make, nothing else', () => {
    expect(isUlid(createIdGenerator()())).toBe(true);
    expect(isUlid('01JD0000000000000000000000')).toBe(true);
    expect(isUlid('81JD0000000000000000000000')).toBe(false);
    expect(isUlid('01jd0000000000000000000000')).toBe(false);
    expect(isUlid('01JD000000000000000000000I')).toBe(false);
    expect(isUlid('01JD000000000000000000000')).toBe(false);
    expect(isUlid(42)).toBe(false);
  });
});
