import type { Clock, IdGenerator } from '@convokit/core';
import { ConvokitError } from '@convokit/core';

const ENCODING = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODES = Uint8Array.from(ENCODING, (c) => c.charCodeAt(0));
const TIME_LEN = 10;
const RANDOM_LEN = 16;
const MAX_TIME = 2 ** 48 - 1;

/**
 * Monotonic ULIDs from `clock`, as core's `createIdGenerator` makes them (Crockford base 32, 48-bit
 * time then 80 random bits; within one millisecond, or when the clock steps back, the random part
 * of the last id plus one), written into a byte buffer and made into a string in one call. Core's
 * ids are built by concatenation, and V8 keeps such a string as a tree of pieces (about 100 bytes
 * for 26 characters, and a copy whenever it is first hashed); these are flat, 48 bytes, and every
 * audit event holds one.
 */
export function createFlatIdGenerator(clock: Clock): ReservingIdGenerator {
  const chars = new Uint8Array(TIME_LEN + RANDOM_LEN);
  const digits = new Uint8Array(RANDOM_LEN);
  const pool = new Uint8Array(256);
  let poolAt = pool.length;
  let lastTime = -1;
  const next = () => {
    const now = clock.now();
    if (!Number.isInteger(now) || now < 0 || now > MAX_TIME) {
      throw new ConvokitError('VALIDATION', `The clock gave ${now}, not a time a ULID can hold`, {
        where: 'idGenerator',
        issues: [{ path: 'clock', message: 'must give whole milliseconds from 0 to 2^48 - 1' }],
      });
    }
    if (now > lastTime) {
      lastTime = now;
      let t = now;
      for (let i = TIME_LEN - 1; i >= 0; i--) {
        const mod = t % 32;
        chars[i] = CODES[mod]!;
        t = (t - mod) / 32;
      }
      if (poolAt + RANDOM_LEN > pool.length) {
        crypto.getRandomValues(pool);
        poolAt = 0;
      }
      for (let i = 0; i < RANDOM_LEN; i++) {
        // 256 is a multiple of 32, so the low five bits of a random byte are uniform.
        const d = pool[poolAt++]! & 31;
        digits[i] = d;
        chars[TIME_LEN + i] = CODES[d]!;
      }
    } else {
      let i = RANDOM_LEN - 1;
      while (i >= 0 && digits[i] === 31) {
        digits[i] = 0;
        chars[TIME_LEN + i] = CODES[0]!;
        i--;
      }
      if (i < 0) {
        throw new ConvokitError('LIMIT', 'More ULIDs in one millisecond than the random part can count', {
          limit: 'ulidRandom',
        });
      }
      const d = digits[i]! + 1;
      digits[i] = d;
      chars[TIME_LEN + i] = CODES[d]!;
    }
    // The 26 codes as arguments: one flat string, about twice as fast as `apply` over the buffer.
    const c = chars;
    return String.fromCharCode(
      c[0]!,
      c[1]!,
      c[2]!,
      c[3]!,
      c[4]!,
      c[5]!,
      c[6]!,
      c[7]!,
      c[8]!,
      c[9]!,
      c[10]!,
      c[11]!,
      c[12]!,
      c[13]!,
      c[14]!,
      c[15]!,
      c[16]!,
      c[17]!,
      c[18]!,
      c[19]!,
      c[20]!,
      c[21]!,
      c[22]!,
      c[23]!,
      c[24]!,
      c[25]!,
    );
  };
  const overflow = () =>
    new ConvokitError('LIMIT', 'More ULIDs in one millisecond than the random part can count', {
      limit: 'ulidRandom',
    });
  /** Adds `k` to the random part of the last id, as `k` more calls within its millisecond would. */
  const skip = (k: number) => {
    let carry = k;
    for (let i = RANDOM_LEN - 1; i >= 0 && carry > 0; i--) {
      const sum = digits[i]! + (carry % 32);
      carry = Math.floor(carry / 32) + (sum >= 32 ? 1 : 0);
      digits[i] = sum % 32;
      chars[TIME_LEN + i] = CODES[digits[i]!]!;
    }
    if (carry > 0) throw overflow();
  };
  return Object.assign(next, {
    reserve(n: number): string {
      if (!Number.isSafeInteger(n) || n < 1) {
        throw new ConvokitError('VALIDATION', `Cannot reserve ${n} ids: must be a positive integer`, {
          where: 'idGenerator.reserve',
          issues: [{ path: 'n', message: 'must be a positive integer' }],
        });
      }
      const first = next();
      // Checked before moving: a failed reservation leaves the generator where it was.
      const saved = digits.slice();
      try {
        skip(n - 1);
      } catch (error) {
        digits.set(saved);
        for (let i = 0; i < RANDOM_LEN; i++) chars[TIME_LEN + i] = CODES[saved[i]!]!;
        throw error;
      }
      return first;
    },
  });
}

/**
 * An id generator that can also reserve `n` consecutive ids at once (`first` and the `n - 1`
 * after it, core `ulidAdd`), returning `first`; later calls hand out ids after the range.
 */
export type ReservingIdGenerator = IdGenerator & { reserve(n: number): string };
